"""What the package needs, declared once and consistently.

* pyproject.toml's runtime dependencies are exactly the third-party packages that
  ``course_utils`` imports; tools for the lab and the tests are extras.
* environment.yml (conda) names the same packages as pyproject.toml (pip).
"""

import ast
import re
import sys

from course_utils import config

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10
    import tomli as tomllib

# conda names that differ from pip names, and packages only one of the two lists needs
CONDA_TO_PIP = {"pytorch": "torch"}
CONDA_ONLY = {"python", "torchvision"}
PIP_ONLY = {"tomli"}  # a backport for Python 3.10 (conda installs a newer Python or has it)
# import names of course_utils's third-party imports -> their distribution names
IMPORT_TO_DIST = {"torch": "torch", "numpy": "numpy", "scipy": "scipy", "matplotlib": "matplotlib",
                  "cvxpy": "cvxpy", "highspy": "highspy", "ipywidgets": "ipywidgets", "tqdm": "tqdm",
                  "platformdirs": "platformdirs", "IPython": "ipython"}
TOOLS = {"pytest", "hypothesis", "nbval", "nbclient", "jupytext", "playwright", "jupyterlab"}


def _name(spec: str) -> str:
    return re.split(r"[<>=!~\[ ;]", spec.strip(), maxsplit=1)[0].lower()


def _project():
    return tomllib.loads((config.ROOT / "pyproject.toml").read_text())["project"]


def _pip_names(extras: bool = True):
    project = _project()
    specs = list(project["dependencies"])
    if extras:
        for extra in project.get("optional-dependencies", {}).values():
            specs += extra
    return {_name(s) for s in specs}


def _conda_names():
    names = set()
    in_deps = False
    for line in (config.ROOT / "environment.yml").read_text().splitlines():
        if line.startswith("dependencies:"):
            in_deps = True
        elif in_deps and line.strip().startswith("- "):
            names.add(_name(line.strip()[2:]))
        elif in_deps and line and not line.startswith(" "):
            in_deps = False
    return names


def _third_party_imports():
    """Top-level names of the modules course_utils imports that are not in the stdlib
    (``import`` statements, and names passed to ``import_whole`` / ``import_module``)."""
    found = set()
    for path in (config.ROOT / "course_utils").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
            elif (isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None))
                  in ("import_whole", "import_module")):      # solvers.import_whole("highspy")
                found |= {a.value.split(".")[0] for a in node.args
                          if isinstance(a, ast.Constant) and isinstance(a.value, str)}
    return {name for name in found if name not in sys.stdlib_module_names and name != "course_utils"}


def test_conda_and_pip_lists_agree():
    conda = {CONDA_TO_PIP.get(n, n) for n in _conda_names() - CONDA_ONLY}
    assert conda == _pip_names() - PIP_ONLY


def test_runtime_dependencies_are_what_the_package_imports():
    imported = _third_party_imports()
    assert imported <= set(IMPORT_TO_DIST), f"add to IMPORT_TO_DIST and pyproject: {imported - set(IMPORT_TO_DIST)}"
    assert {IMPORT_TO_DIST[name] for name in imported} == _pip_names(extras=False)


def test_tools_are_extras_not_runtime_dependencies():
    assert not TOOLS & _pip_names(extras=False)
    assert TOOLS <= _pip_names()
    assert "torchvision" in _conda_names() and "torchvision" not in _pip_names()


def test_course_utils_never_imports_torchvision():
    assert "torchvision" not in _third_party_imports()


def test_requires_python_matches_the_tested_versions():
    assert _project()["requires-python"] == ">=3.10"


def test_every_subpackage_ships_in_the_wheel():
    """setuptools' package list covers every folder of course_utils with an __init__.py."""
    import fnmatch

    setuptools = tomllib.loads((config.ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    include = setuptools["packages"]["find"]["include"]
    package_dir = config.ROOT / "course_utils"
    found = [".".join(p.parent.relative_to(config.ROOT).parts) for p in package_dir.rglob("__init__.py")]
    missing = [name for name in found if not any(fnmatch.fnmatch(name, pattern) for pattern in include)]
    assert not missing, f"subpackages left out of the wheel: {missing}"
