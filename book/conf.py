"""Sphinx configuration of the course's book (``make book``; tools/book.py stages the sources).

The book is rendered from the committed, executed notebooks (myst-nb, no execution), with
the sphinx-book-theme from PyPI and MathJax 3 served from the site itself (npm, copied by
tools/web_assets.py): building and reading it needs no network.
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

project = "Adversarial examples, solving the inner maximization"
author = "The authors of the course"
copyright = "2026, the authors of the course; text and figures CC BY 4.0, code MIT"

extensions = ["myst_nb"]
root_doc = "index"
exclude_patterns = ["_build", "**.ipynb_checkpoints"]

# Notebooks are shown as committed, outputs included: never executed here.
nb_execution_mode = "off"
# A reader without a kernel sees each widget's saved picture: PNG before the widget view,
# and no widget JavaScript (it would come from a CDN and draw controls that do nothing).
nb_mime_priority_overrides = [
    ("html", "image/png", 0),
    ("html", "application/vnd.jupyter.widget-view+json", None),
]
nb_ipywidgets_js = {}
nb_merge_streams = True
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_heading_anchors = 3

html_theme = "sphinx_book_theme"
html_title = "Adversarial examples: solving the inner maximization"
html_theme_options = {
    "show_toc_level": 2,
    "use_download_button": True,
    "use_fullscreen_button": False,
}
html_static_path = [str(ROOT / "build" / "book" / "static")]
html_last_updated_fmt = None

# MathJax 3 from the site itself (tools/web_assets.py copies it into the static folder).
mathjax_path = "mathjax/es5/tex-svg.js"
html_context = {"default_mode": "light"}
