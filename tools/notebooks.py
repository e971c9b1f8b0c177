"""Build the course notebooks from their Jupytext sources, and check the two agree.

Each notebook is written as ``notebooks/src/NN_name.py`` in Jupytext's ``py:percent``
format (``# %%`` starts a code cell, ``# %% [markdown]`` a markdown cell; cell tags go on
the marker line, ``# %% tags=["nbval-ignore-output"]``). This tool turns a source into
``notebooks/NN_name.ipynb``, executes it top to bottom and saves it with its outputs, which
is what learners open and what nbval tests. ``notebooks/jupytext.toml`` pairs the two, so
the Jupytext extension of JupyterLab can also keep them in step.

Tags the course uses (a learner never sees a marker comment in a cell):

``nbval-ignore-output``  nbval runs the cell but does not compare its output (widgets, timings)
``nbval-skip``           nbval does not run the cell
``hide-input``           a check cell: its code starts collapsed in JupyterLab and in the book
``exercise``             a cell with ``# BEGIN SOLUTION`` ... ``# END SOLUTION`` blocks
``solution``             a whole cell that the student version drops (e.g. a model answer)

    python tools/notebooks.py build                 # every notebook
    python tools/notebooks.py build 02_fgsm         # one (name or path)
    python tools/notebooks.py check                 # sources and .ipynb cells agree
    python tools/notebooks.py sync 02_fgsm          # write an edited .ipynb back to its source
    python tools/notebooks.py student build/student # the notebooks without solutions, unexecuted
    python tools/notebooks.py stats                 # what nbval compares loosely (README: Tests)
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import jupytext
import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
NB_DIR = ROOT / "notebooks"
SRC_DIR = NB_DIR / "src"
CELL_TIMEOUT_S = 600
SOURCE_FORMAT = "py:percent"
# Only cell tags travel between a source and its notebook; everything else is derived.
JUPYTEXT_FILTERS = {"notebook_metadata_filter": "-all", "cell_metadata_filter": "tags,-all"}
KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}


def read_source(src: Path) -> nbformat.NotebookNode:
    """The notebook a source describes, unexecuted, with its derived cell metadata."""
    nb = jupytext.read(src, fmt=SOURCE_FORMAT)
    nb.metadata = nbformat.NotebookNode(kernelspec=KERNELSPEC, language_info={"name": "python"})
    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        cell.metadata = nbformat.NotebookNode({"tags": tags} if tags else {})
        if "hide-input" in tags:
            cell.metadata["jupyter"] = {"source_hidden": True}
    return nb


def signature(nb: nbformat.NotebookNode) -> list[tuple[str, str, tuple[str, ...]]]:
    """What must agree between a source and its notebook: type, text and tags of each cell."""
    return [(c.cell_type, c.source, tuple(c.metadata.get("tags", []))) for c in nb.cells]


def build(src: Path) -> Path:
    target = NB_DIR / (src.stem + ".ipynb")
    nb = read_source(src)
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


def sync(ipynb: Path) -> Path:
    """Write the cells of an edited ``.ipynb`` back to its source (outputs are not kept)."""
    nb = nbformat.read(ipynb, as_version=4)
    nb.metadata = nbformat.NotebookNode(jupytext=JUPYTEXT_FILTERS)
    target = SRC_DIR / (ipynb.stem + ".py")
    jupytext.write(nb, target, fmt=SOURCE_FORMAT)
    print(f"{ipynb.relative_to(ROOT)} -> {target.relative_to(ROOT)}")
    return target


BEGIN, END = "# BEGIN SOLUTION", "# END SOLUTION"
STUB = "...  # your code here"


def strip_solutions(source: str) -> str:
    """``source`` with every ``# BEGIN SOLUTION`` ... ``# END SOLUTION`` block replaced by
    ``...  # your code here`` at the block's indentation (a statement that does nothing)."""
    out, inside = [], False
    for number, line in enumerate(source.splitlines(), 1):
        marker = line.strip()
        if marker == BEGIN:
            if inside:
                raise ValueError(f"line {number}: {BEGIN} inside another solution block")
            inside = True
            out.append(line[: len(line) - len(line.lstrip())] + STUB)
        elif marker == END:
            if not inside:
                raise ValueError(f"line {number}: {END} without {BEGIN}")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError(f"{BEGIN} never closed")
    return "\n".join(out)


def student_version(src: Path) -> nbformat.NotebookNode:
    """The notebook of ``src`` for learners: solution blocks stubbed out, cells tagged
    ``solution`` dropped, no outputs."""
    nb = read_source(src)
    cells = []
    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        if "solution" in tags:
            continue
        if "exercise" in tags:
            cell.source = strip_solutions(cell.source)
        elif BEGIN in cell.source:
            raise ValueError(f"{src.name}: a solution block outside a cell tagged 'exercise'")
        cells.append(cell)
    nb.cells = cells
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i:02d}"
    return nb


def write_students(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for src in sorted(SRC_DIR.glob("*.py")):
        target = folder / (src.stem + ".ipynb")
        nbformat.write(student_version(src), target)
        written.append(target)
    print(f"{len(written)} student notebooks (no solutions, no outputs) in {folder}")
    return written


def mismatches() -> list[str]:
    """Names of notebooks whose cells differ from their source (or lack one)."""
    problems = []
    sources = {p.stem: p for p in SRC_DIR.glob("*.py")}
    for ipynb in sorted(NB_DIR.glob("*.ipynb")):
        src = sources.get(ipynb.stem)
        if src is None:
            problems.append(f"{ipynb.name}: no source notebooks/src/{ipynb.stem}.py")
            continue
        if signature(nbformat.read(ipynb, as_version=4)) != signature(read_source(src)):
            problems.append(f"{ipynb.name}: cells differ from src/{src.name}; "
                            "run `make notebooks NB=" + ipynb.stem + "` (or `tools/notebooks.py sync` "
                            "if you edited the .ipynb)")
    for stem in sorted(set(sources) - {p.stem for p in NB_DIR.glob('*.ipynb')}):
        problems.append(f"notebooks/src/{stem}.py: never built")
    return problems


def output_stats(notebooks=None) -> dict:
    """What the notebook tests compare loosely: cells whose output nbval ignores, figures a
    ``check_close`` accepts within a tolerance (one ``✓ ... ≈ x (± tol)`` line each), and
    figures printed ``≈`` (masked by nbval, backed by those checks). The README states them."""
    stats = {"ignored cells": 0, "tolerance checks": 0, "approximate figures": 0}
    for path in notebooks or sorted(NB_DIR.glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type != "code":
                continue
            stats["ignored cells"] += "nbval-ignore-output" in cell.metadata.get("tags", [])
            for out in cell.get("outputs", []):
                for line in out.get("text", "").splitlines():
                    if line.startswith("✓") and "(± " in line:
                        stats["tolerance checks"] += 1
                    elif "≈" in line:
                        stats["approximate figures"] += line.count("≈")
    return stats


def _resolve(name: str, folder: Path, suffix: str) -> Path:
    path = folder / (Path(name).stem + suffix)
    if not path.is_file():
        raise SystemExit(f"no such notebook file {path}")
    return path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="convert and execute notebooks")
    b.add_argument("names", nargs="*")
    s = sub.add_parser("sync", help="write edited .ipynb cells back to their sources")
    s.add_argument("names", nargs="+")
    sub.add_parser("check", help="fail if a notebook differs from its source")
    sub.add_parser("stats", help="count ignored cells and tolerance-checked figures")
    st = sub.add_parser("student", help="write the notebooks without solutions")
    st.add_argument("folder", type=Path)
    args = parser.parse_args(argv)
    if args.command == "build":
        for src in [_resolve(n, SRC_DIR, ".py") for n in args.names] or sorted(SRC_DIR.glob("*.py")):
            build(src)
        return 0
    if args.command == "sync":
        for name in args.names:
            sync(_resolve(name, NB_DIR, ".ipynb"))
        return 0
    if args.command == "stats":
        print(", ".join(f"{k}: {v}" for k, v in output_stats().items()))
        return 0
    if args.command == "student":
        write_students(args.folder)
        return 0
    problems = mismatches()
    print("\n".join(problems) or "notebooks agree with their sources")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
