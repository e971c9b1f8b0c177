"""environment.yml (conda) and pyproject.toml (pip) must name the same packages."""

import re
import tomllib

from course_utils import config

# conda names that differ from pip names, and conda-only packages
CONDA_TO_PIP = {"pytorch": "torch"}
CONDA_ONLY = {"python", "torchvision"}
REQUIRED = {"torch", "numpy", "matplotlib", "cvxpy", "highspy", "jupyterlab", "nbval",
            "ipywidgets", "tqdm", "pytest", "hypothesis"}


def _name(spec: str) -> str:
    return re.split(r"[<>=!~\[ ]", spec.strip(), maxsplit=1)[0].lower()


def _pip_names():
    project = tomllib.loads((config.ROOT / "pyproject.toml").read_text())["project"]
    specs = list(project["dependencies"])
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


def test_conda_and_pip_lists_agree():
    conda = {CONDA_TO_PIP.get(n, n) for n in _conda_names() - CONDA_ONLY}
    assert conda == _pip_names()


def test_required_packages_listed():
    assert REQUIRED <= _pip_names()
    assert "torchvision" in _conda_names() and "torchvision" not in _pip_names()


def test_course_utils_never_imports_torchvision():
    for path in (config.ROOT / "course_utils").rglob("*.py"):
        assert not re.search(r"^\s*(import|from)\s+torchvision", path.read_text(), re.M), path
