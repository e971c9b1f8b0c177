"""Decks for the live lecture: slide metadata derived from each notebook's structure, and
the export of every lecture to a reveal.js deck that works offline.

A deck is the **lecture edition** of a notebook (``notebooks/lectures/NN_name.ipynb``, made
by ``tools/notebooks.py``): the learner's text without its checks and exercises, with the
cells written for the room (tag ``room``) in place of those kept for the reader (tag
``notebook-only``), and the speaker's notes (tag ``notes``). RISE runs that notebook live
in JupyterLab; ``make slides`` exports it, with the outputs of the executed learner's
edition, to a static deck.

**Slide metadata** (what RISE and nbconvert's reveal.js export read, the cell's
``metadata.slideshow.slide_type``) is not written by hand: :func:`add_slide_metadata`
derives it, so it follows the notebook as the notebook changes.

* the first cell (the title) and every markdown cell that starts with a ``## `` heading
  start a new slide; a ``### `` heading starts a sub-slide (reveal.js: one step down);
* any other markdown cell that follows a code cell starts a sub-slide too, so each
  explanation is shown with the code and output that follow it, one screen at a time;
* a question for the room (tag ``question``) is alone on its slide, and the cell after it
  (its answer) starts the next one;
* the notebook's first code cell (its imports) and the set-up cell are left out;
* any other cell continues the current slide (``-``);
* cell tags override the structure: ``slide`` starts a slide, ``subslide`` a sub-slide,
  ``fragment`` appears on the next key press, ``slide-skip`` leaves the cell out of the
  slides, ``notes`` makes it speaker notes.

**Export**: ``python tools/slides.py [NAME ...]`` (``make slides``) writes
``build/slides/NN_name.slides.html`` for every lecture, with reveal.js, MathJax and
require.js copied beside the decks (:mod:`web_assets`): the folder can be opened from disk
or put on any web server. Widgets show their captioned still (a deck has no kernel);
present them live with RISE in JupyterLab.
"""

from __future__ import annotations

import argparse
import copy
import re
import sys
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))
import web_assets  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
NB_DIR = ROOT / "notebooks"
OUT_DIR = ROOT / "build" / "slides"
TEMPLATES = ROOT / "tools" / "templates"

TAG_TYPES = {"slide": "slide", "subslide": "subslide", "fragment": "fragment",
             "slide-skip": "skip", "course-setup": "skip", "notes": "notes"}
"""Cell tag -> slide type; a tag wins over the cell's place in the structure."""


def slide_type(cell: dict, previous: dict | None, first_code: bool = False) -> str:
    """The reveal.js slide type of ``cell``, which follows the shown cell ``previous``
    (``None`` for the first cell); ``first_code``: it is the notebook's first code cell
    other than the set-up cell. The rules are in the module docstring."""
    tags = cell.get("metadata", {}).get("tags", [])
    for tag in tags:
        if tag in TAG_TYPES:
            return TAG_TYPES[tag]
    if previous is None or "question" in tags:
        return "slide"
    if "question" in previous.get("metadata", {}).get("tags", []):
        return "subslide"
    if first_code:
        return "skip"
    if cell.get("cell_type") == "markdown":
        source = cell.get("source", "")
        if source.startswith("## "):
            return "slide"
        if source.startswith("### ") or previous.get("cell_type") == "code":
            return "subslide"
    return "-"


def add_slide_metadata(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Set ``metadata.slideshow.slide_type`` on every cell of ``nb`` (in place; returns ``nb``)."""
    previous, seen_code = None, False
    for cell in nb.cells:
        setup = "course-setup" in cell.get("metadata", {}).get("tags", [])
        first_code = cell.get("cell_type") == "code" and not setup and not seen_code
        kind = slide_type(cell, previous, first_code)
        cell.setdefault("metadata", {})["slideshow"] = {"slide_type": kind}
        seen_code |= cell.get("cell_type") == "code" and not setup
        if kind not in ("skip", "notes"):
            previous = cell
    return nb


def with_outputs(lecture: nbformat.NotebookNode, learner: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """``lecture`` (unexecuted) with each code cell's outputs taken from the executed
    ``learner`` edition: the code cells of a lecture are the learner's, in the same order."""
    code = iter(c for c in learner.cells if c.cell_type == "code")
    for cell in lecture.cells:
        if cell.cell_type != "code":
            continue
        match = next((c for c in code if c.source == cell.source), None)
        if match is None:
            raise ValueError(f"a lecture's code cell is not in the learner's edition: {cell.source[:80]!r}; "
                             "rebuild the notebooks")
        cell.outputs, cell.execution_count = match.outputs, match.execution_count
    return lecture


def deck_notebook(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of ``nb`` ready for a static deck: slide metadata derived, widget state
    dropped (so each widget output falls back to its saved picture, not to a widget that
    would need a kernel and a CDN)."""
    nb = add_slide_metadata(copy.deepcopy(nb))
    nb.metadata.pop("widgets", None)
    return nb


def exporter():
    """nbconvert's reveal.js exporter, pointed at the local copies of every script."""
    from nbconvert import SlidesExporter
    from traitlets.config import Config

    c = Config()
    c.SlidesExporter.reveal_url_prefix = "assets/reveal.js"
    c.SlidesExporter.reveal_theme = "white"  # its fonts ship with reveal.js (others load them from a CDN)
    c.SlidesExporter.reveal_scroll = True
    c.SlidesExporter.reveal_number = "c/t"
    c.SlidesExporter.font_awesome_url = ""
    c.HTMLExporter.mathjax_url = "assets/mathjax2/MathJax.js?config=TeX-AMS_SVG-full,Safe"
    c.HTMLExporter.require_js_url = "assets/requirejs/require.js"
    c.HTMLExporter.jquery_url = "assets/jquery/dist/jquery.min.js"
    c.TemplateExporter.extra_template_basedirs = [str(TEMPLATES)]
    c.TemplateExporter.template_name = "course-reveal"
    c.TemplateExporter.exclude_input_prompt = True
    c.TemplateExporter.exclude_output_prompt = True
    return SlidesExporter(config=c)


def export(names: list[str] | None = None, out_dir: Path = OUT_DIR) -> list[Path]:
    """Export the named lectures (default: all) to ``out_dir``; returns the decks' paths."""
    lectures = NB_DIR / "lectures"
    paths = sorted(lectures.glob("*.ipynb")) if not names else [lectures / f"{Path(n).stem}.ipynb" for n in names]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"no such notebook: {', '.join(missing)}")
    out_dir.mkdir(parents=True, exist_ok=True)
    web_assets.copy_tree(web_assets.SLIDES, out_dir / "assets")
    exp, decks = exporter(), []
    for path in paths:
        learner = nbformat.read(NB_DIR / path.name, as_version=4)
        nb = deck_notebook(with_outputs(nbformat.read(path, as_version=4), learner))
        html, _ = exp.from_notebook_node(nb, resources={"metadata": {"name": path.stem}})
        deck = out_dir / f"{path.stem}.slides.html"
        deck.write_text(html)
        decks.append(deck)
    return decks


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help="notebooks (e.g. 02_fgsm); default: all")
    parser.add_argument("--out", type=Path, default=OUT_DIR)
    args = parser.parse_args(argv)
    for deck in export(args.names, args.out):
        print(deck.relative_to(ROOT) if deck.is_relative_to(ROOT) else deck)
    return 0


if __name__ == "__main__":
    sys.exit(main())
