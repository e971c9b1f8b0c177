"""Slides for the live lecture: slide metadata derived from each notebook's structure, and
the export of every notebook to a reveal.js deck that works offline.

**Slide metadata** (what RISE in JupyterLab and nbconvert's reveal.js export read, the
cell's ``metadata.slideshow.slide_type``) is not written by hand: :func:`add_slide_metadata`
derives it, so it follows the notebook as the notebook changes.

* the first cell (the title) and every markdown cell with a ``## `` heading start a new
  slide; a ``### `` heading starts a sub-slide (reveal.js: one step down);
* any other markdown cell that follows a code cell starts a sub-slide too, so each
  explanation is shown with the code and output that follow it, one screen at a time;
* any other cell continues the current slide (``-``);
* cell tags override the structure: ``slide`` starts a slide (a widget, a question for
  the room), ``subslide`` a sub-slide, ``fragment`` appears on the next key press,
  ``slide-skip`` leaves the cell out of the slides (long derivations, plumbing; the
  set-up cell ``course-setup`` is always skipped), ``notes`` makes it speaker notes.

The notebook build calls it on every notebook before saving::

    from slides import add_slide_metadata
    add_slide_metadata(nb)

**Export**: ``python tools/slides.py [NAME ...]`` (``make slides``) writes
``build/slides/NN_name.slides.html`` for every notebook, from its committed outputs (no
re-execution), with reveal.js, MathJax and require.js copied beside the decks
(:mod:`web_assets`): the folder can be opened from disk or put on any web server.
Widgets show the static picture saved in their output (a deck has no kernel); present
them live with RISE in JupyterLab (``make lab``, then "Render as slideshow").
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


def slide_type(cell: dict, previous: dict | None) -> str:
    """The reveal.js slide type of ``cell``, which follows ``previous`` (``None`` for the
    first cell); the rules are in the module docstring."""
    for tag in cell.get("metadata", {}).get("tags", []):
        if tag in TAG_TYPES:
            return TAG_TYPES[tag]
    if previous is None:
        return "slide"
    if cell.get("cell_type") == "markdown":
        source = cell.get("source", "")
        if re.search(r"^## ", source, re.MULTILINE):
            return "slide"
        if re.search(r"^### ", source, re.MULTILINE) or previous.get("cell_type") == "code":
            return "subslide"
    return "-"


def add_slide_metadata(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Set ``metadata.slideshow.slide_type`` on every cell of ``nb`` (in place; returns ``nb``)."""
    previous = None
    for cell in nb.cells:
        cell.setdefault("metadata", {})["slideshow"] = {"slide_type": slide_type(cell, previous)}
        if slide_type(cell, previous) not in ("skip", "notes"):
            previous = cell
    return nb


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
    """Export the named notebooks (default: all) to ``out_dir``; returns the decks' paths."""
    paths = sorted(NB_DIR.glob("*.ipynb")) if not names else [NB_DIR / f"{Path(n).stem}.ipynb" for n in names]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"no such notebook: {', '.join(missing)}")
    out_dir.mkdir(parents=True, exist_ok=True)
    web_assets.copy_tree(web_assets.SLIDES, out_dir / "assets")
    exp, decks = exporter(), []
    for path in paths:
        nb = deck_notebook(nbformat.read(path, as_version=4))
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
