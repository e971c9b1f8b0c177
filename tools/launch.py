"""The notebooks' set-up cell: run the course anywhere (Colab, Binder, a laptop).

Every notebook starts with the same code cell, made here from one template. Where
``course_utils`` is importable (a checkout with ``make lab``, a ``pip install``, Binder)
it does nothing and prints nothing; in a fresh hosted notebook (Colab) it installs the
package from the course's repository and says so. The repository's address is written in
one place, ``[project.urls] Repository`` in ``pyproject.toml``; the environment variable
``COURSE_PACKAGE_SOURCE`` (any requirement pip accepts: a URL, a folder, a wheel)
overrides it, which is how the tests install from a local checkout.

The notebook build calls :func:`insert_setup_cell` on every notebook::

    from launch import insert_setup_cell, repository_url
    insert_setup_cell(nb, repository_url())

The cell carries the tags ``course-setup`` (found again on the next build; skipped in
slides) and ``remove-cell`` (left out of the rendered book, whose readers run nothing).
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
SETUP_TAG = "course-setup"
SOURCE_ENV = "COURSE_PACKAGE_SOURCE"

TEMPLATE = '''\
# Set-up: on Colab (or any Python without the course's package) this installs `course_utils`;
# where the course is installed (make lab, pip, Binder) it does nothing.
import importlib, importlib.util, os, subprocess, sys
if importlib.util.find_spec("course_utils") is None:
    source = os.environ.get("{env}", "{requirement}")
    print(f"course_utils is not installed: installing it from {{source}} (a few minutes) ...")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", source], check=True)
    importlib.invalidate_caches()'''


def _load_toml(text: str) -> dict:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # Python 3.10: tomli is what tomllib was before it joined the standard library
        import tomli as tomllib
    return tomllib.loads(text)


def repository_url(pyproject: Path = ROOT / "pyproject.toml") -> str:
    """The course's repository, ``[project.urls] Repository`` of ``pyproject``."""
    urls = _load_toml(pyproject.read_text())["project"].get("urls", {})
    if "Repository" not in urls:
        raise KeyError(f"{pyproject} names no [project.urls] Repository; the set-up cell installs from it")
    return urls["Repository"]


def setup_cell_source(url: str) -> str:
    """The set-up cell's code for a repository at ``url`` (``https://...`` or ``git+https://...``)."""
    if not url.startswith(("https://", "git+https://")):
        raise ValueError(f"url must be the repository's https:// address, got {url!r}")
    requirement = url if url.startswith("git+") else f"git+{url}"
    return TEMPLATE.format(env=SOURCE_ENV, requirement=requirement)


def insert_setup_cell(nb: nbformat.NotebookNode, url: str) -> nbformat.NotebookNode:
    """Make the set-up cell ``nb``'s first code cell (in place; returns ``nb``).

    An existing set-up cell (tagged ``course-setup``) is replaced, so building twice gives
    one cell. The cell goes right before the first code cell, i.e. after the title and
    introduction, where a learner on Colab runs it first.
    """
    nb.cells = [c for c in nb.cells if SETUP_TAG not in c.get("metadata", {}).get("tags", [])]
    cell = nbformat.v4.new_code_cell(setup_cell_source(url))
    cell.metadata["tags"] = [SETUP_TAG, "remove-cell"]
    cell.metadata["jupyter"] = {"source_hidden": True}      # plumbing: shown collapsed
    first_code = next((i for i, c in enumerate(nb.cells) if c.cell_type == "code"), len(nb.cells))
    nb.cells.insert(first_code, cell)
    return nb


def launch_links(url: str, path: str, branch: str = "main") -> dict[str, str]:
    """Where the notebook at ``path`` (relative to the repository's root, e.g.
    ``notebooks/02_fgsm.ipynb``) opens, for a repository at ``url``: ``{"Colab": ...,
    "Binder": ..., "Repository": ...}``.

    Colab opens notebooks from GitHub: its link takes the owner and the repository's name
    from the last two parts of ``url``'s path (``https://github.com/OWNER/REPO``). Binder
    builds any git repository (``binder/`` holds its recipe) and opens JupyterLab there.
    """
    from urllib.parse import quote, urlsplit

    if not url.startswith("https://"):
        raise ValueError(f"url must be the repository's https:// address, got {url!r}")
    parts = [p for p in urlsplit(url).path.split("/") if p]
    if len(parts) < 2:
        raise ValueError(f"url must name an owner and a repository (https://host/OWNER/REPO), got {url!r}")
    owner, repo = parts[-2], parts[-1].removesuffix(".git")
    lab = f"urlpath={quote(f'lab/tree/{path}')}"
    binder = (f"https://mybinder.org/v2/gh/{owner}/{repo}/{branch}?{lab}" if urlsplit(url).netloc == "github.com"
              else f"https://mybinder.org/v2/git/{quote(url, safe='')}/{branch}?{lab}")
    return {"Colab": f"https://colab.research.google.com/github/{owner}/{repo}/blob/{branch}/{path}",
            "Binder": binder, "Repository": url}
