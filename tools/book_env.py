"""The book's own environment: ``python tools/book_env.py .venv-book`` (``make book``).

The book and the slides are rendered from the committed notebooks, so they need only the
``book`` extra of ``pyproject.toml`` (Sphinx, myst-nb, the theme, the toggle button,
nbconvert): not PyTorch, not JupyterLab, not the course's package. This script makes a
virtual environment with exactly those, and when pip cannot get them (no network and no
cache) it stops with one sentence saying what is needed instead of pip's traceback.
"""

from __future__ import annotations

import re
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def book_requirements(pyproject: Path = ROOT / "pyproject.toml") -> list[str]:
    """The ``book`` extra's requirements, read from ``pyproject`` (without a TOML parser:
    Python 3.10 has none; ``tests/test_publishing.py`` checks it against ``tomllib``)."""
    block = re.search(r"^book = \[(.*?)\]", pyproject.read_text(), re.S | re.M)
    if block is None:
        raise SystemExit(f"{pyproject} has no [project.optional-dependencies] book = [...] list")
    return re.findall(r'"([^"]+)"', block[1])


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        raise SystemExit("usage: python tools/book_env.py FOLDER (e.g. .venv-book)")
    folder = Path(argv[0])
    python = folder / "bin" / "python"
    if not python.exists():
        venv.create(folder, with_pip=True)
    requirements = book_requirements()
    run = subprocess.run([str(python), "-m", "pip", "install", "--quiet", *requirements],
                         capture_output=True, text=True)
    if run.returncode != 0:
        last = (run.stderr.strip().splitlines() or ["(pip printed nothing)"])[-1]
        print(f"make book needs the book's tools ({', '.join(requirements)}) from the Python package index, "
              f"and pip could not install them (no network, and not in pip's cache?): connect once, or set "
              f"PIP_INDEX_URL to a mirror. pip said: {last}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
