"""Build the course notebooks from their percent-format sources, and check they agree.

Each notebook is written as ``notebooks/src/NN_name.py`` in the "percent" format that
Jupytext and VS Code understand (``# %%`` starts a code cell, ``# %% [markdown]`` a
markdown cell whose lines start with ``# ``). This tool turns it into
``notebooks/NN_name.ipynb``, executes it top to bottom and saves it with its outputs,
which is what learners open and what nbval tests.

    python tools/notebooks.py build                 # every notebook
    python tools/notebooks.py build 02_fgsm         # one (name or path)
    python tools/notebooks.py check                 # sources and .ipynb cells agree
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
NB_DIR = ROOT / "notebooks"
SRC_DIR = NB_DIR / "src"
CELL_TIMEOUT_S = 600


def parse_percent(text: str) -> list[tuple[str, str]]:
    """Split a percent-format script into ``(cell_type, source)`` pairs."""
    cells: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        if line.startswith("# %%"):
            cells.append(("markdown" if "[markdown]" in line else "code", []))
        elif cells:
            cells[-1][1].append(line)
    out = []
    for kind, lines in cells:
        if kind == "markdown":
            lines = [l[2:] if l.startswith("# ") else l.lstrip("#") for l in lines]
        source = "\n".join(lines).strip("\n")
        if source:
            out.append((kind, source))
    return out


def to_notebook(src: Path) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    for kind, source in parse_percent(src.read_text()):
        maker = nbformat.v4.new_markdown_cell if kind == "markdown" else nbformat.v4.new_code_cell
        nb.cells.append(maker(source))
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    return nb


def build(src: Path) -> Path:
    target = NB_DIR / (src.stem + ".ipynb")
    nb = to_notebook(src)
    start = time.perf_counter()
    NotebookClient(nb, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                   resources={"metadata": {"path": str(NB_DIR)}}).execute()
    # Cell ids are random; number them so rebuilds give small diffs.
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i:02d}"
        cell.get("metadata", {}).pop("execution", None)
    nbformat.write(nb, target)
    print(f"{target.relative_to(ROOT)}: {len(nb.cells)} cells, executed in {time.perf_counter() - start:.0f} s")
    return target


def mismatches() -> list[str]:
    """Names of notebooks whose cells differ from their source (or lack one)."""
    problems = []
    sources = {p.stem: p for p in SRC_DIR.glob("*.py")}
    for ipynb in sorted(NB_DIR.glob("*.ipynb")):
        src = sources.get(ipynb.stem)
        if src is None:
            problems.append(f"{ipynb.name}: no source notebooks/src/{ipynb.stem}.py")
            continue
        nb = nbformat.read(ipynb, as_version=4)
        got = [(c.cell_type, c.source) for c in nb.cells]
        if got != parse_percent(src.read_text()):
            problems.append(f"{ipynb.name}: cells differ from {src.relative_to(ROOT)}; "
                            "run `make notebooks` (or tools/notebooks.py build NAME)")
    for stem in sorted(set(sources) - {p.stem for p in NB_DIR.glob('*.ipynb')}):
        problems.append(f"notebooks/src/{stem}.py: never built")
    return problems


def _resolve(name: str) -> Path:
    path = SRC_DIR / (Path(name).stem + ".py")
    if not path.is_file():
        raise SystemExit(f"no notebook source {path}")
    return path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="convert and execute notebooks")
    b.add_argument("names", nargs="*")
    sub.add_parser("check", help="fail if a notebook differs from its source")
    args = parser.parse_args(argv)
    if args.command == "build":
        sources = [_resolve(n) for n in args.names] or sorted(SRC_DIR.glob("*.py"))
        for src in sources:
            build(src)
        return 0
    problems = mismatches()
    print("\n".join(problems) or "notebooks agree with their sources")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
