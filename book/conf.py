"""Sphinx configuration of the course's book (``make book``; tools/book.py stages the sources).

The book is rendered from the committed, executed notebooks (myst-nb, no execution), with
the sphinx-book-theme from PyPI and MathJax 3 served from the site itself (npm, copied by
tools/web_assets.py): building and reading it needs no network.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import launch  # noqa: E402  (the repository's address, and where a notebook opens)

REPOSITORY = launch.repository_url()

project = "Adversarial examples, solving the inner maximization"
author = "The authors of the course"
copyright = "2026, the authors of the course; text and figures CC BY 4.0, code MIT"

extensions = ["myst_nb", "sphinx_togglebutton"]
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
# The solutions under each exercise are collapsed: one deliberate click away.
togglebutton_hint = "Show the solution"
togglebutton_hint_hide = "Hide the solution"
html_static_path = [str(ROOT / "build" / "book" / "static")]
html_css_files = ["course.css"]
html_last_updated_fmt = None

# MathJax 3 from the site itself (tools/web_assets.py copies it into the static folder).
mathjax_path = "mathjax/es5/tex-svg.js"
html_context = {"default_mode": "light"}


def add_launch_buttons(app, pagename, templatename, context, doctree):
    """Colab and Binder buttons on every notebook's page, and a link to the repository on
    every page, all from the one address in ``pyproject.toml`` (``tools/launch.py``)."""
    buttons = context.get("header_buttons")
    if buttons is None:
        return
    links = launch.launch_links(REPOSITORY, f"{pagename}.ipynb")
    if context.get("page_source_suffix") == ".ipynb":
        buttons.append({"type": "group", "tooltip": "Run this notebook", "icon": "fas fa-rocket",
                        "label": "launch-buttons", "buttons": [
                            {"type": "link", "text": name, "tooltip": f"Open this notebook on {name}",
                             "icon": f"_static/images/logo_{name.lower()}.{'png' if name == 'Colab' else 'svg'}",
                             "url": links[name]} for name in ("Colab", "Binder")]})
    buttons.append({"type": "link", "text": "Repository", "tooltip": "The course's repository",
                    "icon": "fas fa-code-branch", "label": "repository-button", "url": links["Repository"]})


def setup(app):
    app.connect("html-page-context", add_launch_buttons, priority=502)
