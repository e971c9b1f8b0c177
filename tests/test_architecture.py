"""The package's architecture note (``course_utils/__init__.py``) names every module, and
the verification half keeps the attack half's shape: short functions."""

import ast
import re

import course_utils
from course_utils import config

PACKAGE = config.ROOT / "course_utils"
VERIFICATION = ("relu", "layers", "guard", "network", "bounds", "alpha", "verdicts", "solvers", "programs", "splits", "workers", "verify",
                "certified")


def test_the_architecture_note_names_every_module_and_only_those():
    named = set(re.findall(r"``(\w+)``", course_utils.__doc__))
    modules = ({p.stem for p in PACKAGE.glob("*.py")} | {p.parent.name for p in PACKAGE.glob("*/__init__.py")}) \
        - {"__init__"}
    assert modules <= named, f"not in the note: {sorted(modules - named)}"
    listed = set(re.findall(r"^``(\w+)``", course_utils.__doc__, re.M))
    listed |= set(re.findall(r"^``\w+``, ``(\w+)``", course_utils.__doc__, re.M))
    assert listed <= modules, f"named but missing: {sorted(listed - modules)}"


def test_no_function_of_the_verification_half_is_longer_than_60_lines():
    for name in VERIFICATION:
        tree = ast.parse((PACKAGE / f"{name}.py").read_text())
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                assert node.end_lineno - node.lineno + 1 <= 60, f"{name}.{node.name}"


def test_the_worker_processes_import_no_torch():
    # the sign decisions run in spawned workers: programs, solvers and workers must load
    # without torch (an import of torch there made worker start-up slow and the pool fragile)
    import subprocess
    import sys
    code = "import sys, course_utils.programs, course_utils.workers; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=config.ROOT).returncode == 0
