"""Helpers of the install tests: a clean copy of the checkout, its wheel, throw-away
virtual environments outside the repository, and commands run in them from ``/``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# What a learner's shell would not have: nothing of this checkout or its .venv leaks in.
_DROPPED_ENV = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP", "PYTHONUSERBASE")


def clean_env(**extra: str) -> dict:
    """``os.environ`` without Python path variables, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k not in _DROPPED_ENV}
    env.update(extra)
    return env


def run(cmd, cwd: Path = Path("/"), env=None, timeout: float = 600) -> str:
    """Run ``cmd`` (from ``/`` by default), fail with its output if it fails; returns stdout+stderr."""
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env or clean_env(), text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
    if proc.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, cmd))} exited {proc.returncode}:\n{proc.stdout[-6000:]}")
    return proc.stdout


def copy_checkout(dest: Path) -> Path:
    """The files git tracks or would track (not ignored ones: no .venv, build/, MNIST)."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=ROOT, check=True, capture_output=True).stdout.decode().split("\0")
    for rel in filter(None, listed):
        src = ROOT / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    return dest


def build_wheel(source: Path, out: Path) -> Path:
    """Build ``source``'s wheel (pip fetches the build backend pyproject.toml asks for)."""
    run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
         "-w", out, source], cwd=source)
    (wheel,) = out.glob("course_utils-*.whl")
    return wheel


def make_venv(path: Path, with_pip: bool = True, borrow_site_packages: bool = False) -> Path:
    """A new virtual environment at ``path``; returns its python.

    ``borrow_site_packages`` appends this interpreter's site-packages (torch and the
    other dependencies, already installed) *after* the new environment's own, through a
    ``.pth`` line. Such a path is not a site folder, so the ``.pth`` files inside it (the
    editable install of this checkout) are not run: ``course_utils`` must come from what
    is installed into the new environment.
    """
    args = [sys.executable, "-m", "venv", path] + ([] if with_pip else ["--without-pip"])
    run(args)
    python = path / "bin" / "python"
    if borrow_site_packages:
        site = Path(run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"]).strip())
        (site / "borrowed.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return python
