"""Build the course's two editions of every notebook from one source, and check they agree.

Each notebook is written once, as ``notebooks/solutions/src/NN_name.py`` in Jupytext's
``py:percent`` format (``# %%`` starts a code cell, ``# %% [markdown]`` a markdown cell;
cell tags go on the marker line, ``# %% tags=["nbval-ignore-output"]``). This tool turns a
source into two executed notebooks, saved with their outputs:

``notebooks/NN_name.ipynb``            the **learner's edition**: what Colab, Binder, a clone
                                       and the book open. Every solution block is a stub,
                                       cells tagged ``solution`` are left out, and each
                                       exercise's check (run on the stub) says "not yet".
``notebooks/solutions/NN_name.ipynb``  the **solved edition**: the source as written, every
                                       check passing; one deliberate step away.

nbval tests both (``make test``). ``notebooks/solutions/jupytext.toml`` pairs the solved
edition with its source, so the Jupytext extension of JupyterLab can keep them in step;
the learner's edition is never paired (saving it would strip a source's solutions).

Tags the course uses (a learner never sees a marker comment in a cell):

``nbval-ignore-output``  nbval runs the cell but does not compare its output (widgets, timings)
``nbval-skip``           nbval does not run the cell
``hide-input``           a check cell: its code starts collapsed in JupyterLab and in the book
``exercise``             a cell with ``# BEGIN SOLUTION`` ... ``# END SOLUTION`` blocks
``solution``             a whole cell that only the solved edition has
``reveal``               a cell whose output answers an exercise asked above it (a prediction):
                         the learner's edition is saved without that output (the learner runs
                         the cell after answering; nbval runs it without comparing), the solved
                         edition, the book and the decks show it

    python tools/notebooks.py build                 # both editions of every notebook
    python tools/notebooks.py build 02_fgsm         # one (name or path)
    python tools/notebooks.py check                 # sources and both editions agree
    python tools/notebooks.py sync 02_fgsm          # write an edited solved edition back to its source
    python tools/notebooks.py student build/student # the learner's edition without outputs
    python tools/notebooks.py stats                 # prose words, visible check lines, loose comparisons
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

import jupytext
import nbformat
from nbclient import NotebookClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
import launch  # noqa: E402  (the set-up cell)
import slides  # noqa: E402  (slide metadata)

ROOT = Path(__file__).resolve().parent.parent
NB_DIR = ROOT / "notebooks"
SOLVED_DIR = NB_DIR / "solutions"
SRC_DIR = SOLVED_DIR / "src"
BANNER_TAG = "solved-banner"
CELL_TIMEOUT_S = 600
SOURCE_FORMAT = "py:percent"
# Only cell tags travel between a source and its notebook; everything else is derived.
JUPYTEXT_FILTERS = {"notebook_metadata_filter": "-all", "cell_metadata_filter": "tags,-all"}
KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}


def read_source(src: Path) -> nbformat.NotebookNode:
    """The notebook a source describes, unexecuted, with its derived parts: cell metadata,
    the set-up cell (first code cell, from ``tools/launch.py``'s template) and the slide
    metadata (``tools/slides.py``)."""
    nb = jupytext.read(src, fmt=SOURCE_FORMAT)
    nb.metadata = nbformat.NotebookNode(kernelspec=KERNELSPEC, language_info={"name": "python"})
    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        cell.metadata = nbformat.NotebookNode({"tags": tags} if tags else {})
        if "hide-input" in tags:
            cell.metadata["jupyter"] = {"source_hidden": True}
    launch.insert_setup_cell(nb, launch.repository_url())
    return slides.add_slide_metadata(nb)


def signature(nb: nbformat.NotebookNode) -> list[tuple[str, str, tuple[str, ...]]]:
    """What must agree between a source and its notebook: type, text and tags of each cell."""
    return [(c.cell_type, c.source, tuple(c.metadata.get("tags", []))) for c in nb.cells]


BEGIN, END = "# BEGIN SOLUTION", "# END SOLUTION"
STUB = "pass  # your code here"


def strip_solutions(source: str) -> str:
    """``source`` with every ``# BEGIN SOLUTION`` ... ``# END SOLUTION`` block replaced by
    ``pass  # your code here`` at the block's indentation (a statement that does nothing
    and, unlike ``...``, displays nothing when it ends a cell)."""
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


def _numbered(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Cell ids are random; number them so rebuilds give small diffs."""
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i:02d}"
    return nb


REVEAL_TAG = slides.REVEAL_TAG
LECTURE_ONLY = ("room", "notes")
"""Tags of cells only the lecture edition has: a shorter version of a cell written for the
room, and the speaker's notes."""


def _tags(cell) -> list[str]:
    return cell.metadata.get("tags", [])


def learner_version(src: Path) -> nbformat.NotebookNode:
    """The learner's edition of ``src``, unexecuted: solution blocks stubbed out, cells
    tagged ``solution`` and the lecture's own cells dropped."""
    nb = read_source(src)
    cells = []
    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        if "solution" in tags or set(LECTURE_ONLY) & set(tags):
            continue
        if "exercise" in tags:
            cell.source = strip_solutions(cell.source)
        elif BEGIN in cell.source or END in cell.source:
            raise ValueError(f"{src.name}: a solution block outside a cell tagged 'exercise'")
        if REVEAL_TAG in tags and "nbval-ignore-output" not in tags:
            cell.metadata["tags"] = tags + ["nbval-ignore-output"]
        cells.append(cell)
    nb.cells = cells
    return _numbered(slides.add_slide_metadata(nb))


def unrevealed(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """``nb`` (an executed learner's edition) without the outputs of its ``reveal`` cells."""
    for cell in nb.cells:
        if REVEAL_TAG in _tags(cell):
            cell.outputs, cell.execution_count = [], None
    return nb



def banner(src: Path) -> nbformat.NotebookNode:
    """The solved edition's note under its title (derived: no source repeats it)."""
    cell = nbformat.v4.new_markdown_cell(
        f"*Solved edition: every exercise of this notebook is answered below. The learner's "
        f"edition, with the exercises open, is [`../{src.stem}.ipynb`](../{src.stem}.ipynb).*")
    cell.metadata["tags"] = [BANNER_TAG]
    return cell


def solved_version(src: Path) -> nbformat.NotebookNode:
    """The solved edition of ``src``, unexecuted: the source as written, with the banner
    after its first cell (the title)."""
    nb = read_source(src)
    nb.cells = [c for c in nb.cells if not set(LECTURE_ONLY) & set(_tags(c))]
    nb.cells.insert(1, banner(src))
    return _numbered(slides.add_slide_metadata(nb))


CHECK_CALL = re.compile(r'^check\("\d+\.\d+"', re.M)
EXERCISE_HEADING = re.compile(r"^### (Exercise .+)$", re.M)


def _exercise_list(cells) -> nbformat.NotebookNode:
    """The lecture's one cell for the exercises: the heading and the exercises' titles."""
    titles = [m for c in cells if c.cell_type == "markdown" for m in EXERCISE_HEADING.findall(c.source)]
    return nbformat.v4.new_markdown_cell("## Exercises\n\n" + "\n".join(f"- {t}" for t in titles)
                                         + "\n\nIn the notebook, after the lecture.")


def lecture_version(src: Path) -> nbformat.NotebookNode:
    """The lecture edition of ``src`` (``notebooks/lectures/``: RISE runs it live, and the
    decks are exported from it), unexecuted: the learner's edition with the cells written
    for the room (``room``) and the speaker's notes (``notes``), without the exercises (one
    cell lists their titles) and the text kept for the reader (``notebook-only``); the
    code cells of checks (``hide-input``) and of the reader's parts stay, tagged
    ``slide-skip``: they run (later cells use what they define) but are not shown."""
    nb = read_source(src)
    cells, in_exercises, exercises = [], False, []
    for cell in nb.cells:
        tags, heading = _tags(cell), cell.source.startswith("## ") if cell.cell_type == "markdown" else False
        if heading:
            in_exercises = cell.source.startswith("## Exercises")
            if in_exercises:
                cells.append(None)                     # the place of the exercise list
        if in_exercises:
            exercises.append(cell)
        elif {"solution", "exercise"} & set(tags) or CHECK_CALL.search(cell.source):
            continue
        elif {"hide-input", "notebook-only"} & set(tags):
            if cell.cell_type == "code":               # it defines what later cells use: run, not shown
                cell.metadata["tags"] = tags + ["slide-skip"]
                cells.append(cell)
        else:
            cells.append(cell)
    nb.cells = [_exercise_list(exercises) if c is None else c for c in cells]
    return _numbered(slides.add_slide_metadata(nb))


EDITIONS = {"learner": (learner_version, NB_DIR), "solved": (solved_version, SOLVED_DIR)}
"""Edition -> (its unexecuted notebook from a source, the folder it is saved in)."""
LECTURE_DIR = NB_DIR / "lectures"
"""The lecture editions: not executed (a lecturer runs them; the decks borrow the learner's
edition's outputs)."""


def build(src: Path, editions=tuple(EDITIONS)) -> list[Path]:
    """Execute and save the ``editions`` of ``src`` (each in a fresh kernel, in its folder)."""
    targets = []
    for edition in editions:
        version, folder = EDITIONS[edition]
        nb, target = version(src), folder / (src.stem + ".ipynb")
        start = time.perf_counter()
        NotebookClient(nb, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                       resources={"metadata": {"path": str(folder)}}).execute()
        for cell in nb.cells:
            cell.get("metadata", {}).pop("execution", None)
        if edition == "learner":
            unrevealed(nb)
        nbformat.write(nb, target)
        print(f"{target.relative_to(ROOT)}: {len(nb.cells)} cells, executed in {time.perf_counter() - start:.0f} s")
        targets.append(target)
    lecture = LECTURE_DIR / (src.stem + ".ipynb")
    nbformat.write(lecture_version(src), lecture)
    return targets + [lecture]


def sync(ipynb: Path) -> Path:
    """Write the cells of an edited solved edition back to its source (outputs are not kept)."""
    if ipynb.resolve().parent != SOLVED_DIR.resolve():
        raise SystemExit(f"{ipynb}: only the solved edition (notebooks/solutions/) can be synced to its "
                         "source; the learner's edition has its solutions stripped")
    nb = nbformat.read(ipynb, as_version=4)
    derived = (launch.SETUP_TAG, BANNER_TAG)
    nb.cells = [c for c in nb.cells if not set(derived) & set(c.metadata.get("tags", []))]
    nb.metadata = nbformat.NotebookNode(jupytext=JUPYTEXT_FILTERS)
    target = SRC_DIR / (ipynb.stem + ".py")
    jupytext.write(nb, target, fmt=SOURCE_FORMAT)
    print(f"{ipynb.relative_to(ROOT)} -> {target.relative_to(ROOT)}")
    return target


def write_students(folder: Path) -> list[Path]:
    """The learner's edition without outputs, in ``folder`` (a hand-out to run from scratch)."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for src in sorted(SRC_DIR.glob("*.py")):
        target = folder / (src.stem + ".ipynb")
        nbformat.write(learner_version(src), target)
        written.append(target)
    print(f"{len(written)} notebooks of the learner's edition (no outputs) in {folder}")
    return written


def _shown(path: Path) -> Path:
    """``path`` relative to the repository when it lies inside it (a test's copies do not)."""
    try:
        return path.relative_to(ROOT)
    except ValueError:
        return path


def mismatches() -> list[str]:
    """What differs between the sources and the editions' cells (or is missing)."""
    problems = []
    sources = {p.stem: p for p in SRC_DIR.glob("*.py")}
    for edition, (version, folder) in EDITIONS.items():
        for ipynb in sorted(folder.glob("*.ipynb")):
            src = sources.get(ipynb.stem)
            if src is None:
                problems.append(f"{_shown(ipynb)}: no source {_shown(SRC_DIR)}/{ipynb.stem}.py")
            elif signature(nbformat.read(ipynb, as_version=4)) != signature(version(src)):
                problems.append(f"{_shown(ipynb)}: cells differ from its source; run `make notebooks "
                                f"NB={ipynb.stem}` (or `tools/notebooks.py sync` if you edited the solved edition)")
        for stem in sorted(set(sources) - {p.stem for p in folder.glob("*.ipynb")}):
            problems.append(f"{_shown(SRC_DIR)}/{stem}.py: its {edition} edition was never built")
    for stem, src in sorted(sources.items()):
        lecture = LECTURE_DIR / f"{stem}.ipynb"
        if not lecture.is_file() or signature(nbformat.read(lecture, as_version=4)) != signature(lecture_version(src)):
            problems.append(f"{_shown(lecture)}: missing or differs from its source; run `make notebooks NB={stem}`")
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
            for line in _output_lines(cell):
                if line.startswith("✓") and "(± " in line:
                    stats["tolerance checks"] += 1
                elif "≈" in line:
                    stats["approximate figures"] += line.count("≈")
    return stats


def _output_lines(cell) -> list[str]:
    return [line for out in cell.get("outputs", []) for line in out.get("text", "").splitlines()]


def reading_stats(path: Path) -> dict:
    """What a reader of one notebook meets: words of prose (markdown cells, formulas
    included), and check lines printed (``✓ ...`` lines other than exercise checks)."""
    nb = nbformat.read(path, as_version=4)
    words = sum(len(c.source.split()) for c in nb.cells if c.cell_type == "markdown")
    checks = sum(line.startswith("✓") and not line.startswith("✓ Exercise")
                 for c in nb.cells if c.cell_type == "code" for line in _output_lines(c))
    return {"prose words": words, "check lines": checks}


def _resolve(name: str, folder: Path, suffix: str) -> Path:
    path = folder / (Path(name).stem + suffix)
    if not path.is_file():
        raise SystemExit(f"no such notebook file {path}")
    return path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="convert and execute both editions of notebooks")
    b.add_argument("names", nargs="*")
    b.add_argument("--edition", choices=list(EDITIONS), action="append",
                   help="build only this edition (repeatable; default: both)")
    s = sub.add_parser("sync", help="write edited .ipynb cells back to their sources")
    s.add_argument("names", nargs="+")
    sub.add_parser("check", help="fail if a notebook differs from its source")
    sub.add_parser("stats", help="count ignored cells and tolerance-checked figures")
    st = sub.add_parser("student", help="write the learner's edition without outputs")
    st.add_argument("folder", type=Path)
    args = parser.parse_args(argv)
    if args.command == "build":
        for src in [_resolve(n, SRC_DIR, ".py") for n in args.names] or sorted(SRC_DIR.glob("*.py")):
            build(src, tuple(args.edition or EDITIONS))
        return 0
    if args.command == "sync":
        for name in args.names:
            sync(_resolve(name, SOLVED_DIR, ".ipynb"))
        return 0
    if args.command == "stats":
        for path in sorted(NB_DIR.glob("*.ipynb")):
            print(f"{path.stem:28s} " + ", ".join(f"{k} {v}" for k, v in reading_stats(path).items()))
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
