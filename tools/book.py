"""Build the course's book: a static website of every notebook, offline.

``python tools/book.py`` (``make book``) stages ``book/*.md`` and the learner's edition of
every committed, executed notebook into ``build/book/src`` (the notebooks are not run
again). Under each exercise's check it adds the solution, collapsed: the solved edition's
exercise cell and what its check printed (the verdict and the model answer), one
deliberate click away. It copies MathJax into the site (:mod:`web_assets`), runs Sphinx
with myst-nb and the sphinx-book-theme with every warning an error, then checks the built
site: every internal link and every image resolves, and no page loads a script, style
sheet or image from another host. Open ``build/book/html/index.html``.

Only the book's tools are needed (the ``book`` extra: Sphinx, myst-nb, the theme, the
toggle button), not PyTorch or JupyterLab: ``make book`` installs them into
``.venv-book``.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))
import web_assets  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"
BUILD = ROOT / "build" / "book"


def stage(src: Path = BUILD / "src") -> Path:
    """Copy the book's pages and the learner's edition of every notebook, each with its
    solutions collapsed under their exercises, into ``src`` (replacing what was there)."""
    shutil.rmtree(src, ignore_errors=True)
    (src / "notebooks").mkdir(parents=True)
    for page in BOOK.glob("*.md"):
        shutil.copy2(page, src / page.name)
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        learner = nbformat.read(path, as_version=4)
        solved = nbformat.read(ROOT / "notebooks" / "solutions" / path.name, as_version=4)
        nbformat.write(with_solutions(learner, solved), src / "notebooks" / path.name)
    web_assets.copy_tree(web_assets.BOOK, BUILD / "static")
    shutil.copy2(BOOK / "course.css", BUILD / "static" / "course.css")
    return src


CHECK = re.compile(r'^check\("(\d+\.\d+)"', re.M)
BEGIN_OR_END = re.compile(r"^\s*# (BEGIN|END) SOLUTION\s*$\n?", re.M)


def _printed(cell) -> str:
    """What a check cell printed, as Markdown: its text lines, then any Markdown it showed."""
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream":
            parts.append(f"```text\n{out['text'].rstrip()}\n```")
        elif "text/markdown" in out.get("data", {}):
            parts.append(out["data"]["text/markdown"])
    return "\n\n".join(parts)


def solution_cell(exercise_id: str, exercise, check) -> nbformat.NotebookNode:
    """A markdown cell holding, collapsed, the solved edition's ``exercise`` cell (solution
    markers dropped) and what its ``check`` cell printed."""
    code = BEGIN_OR_END.sub("", exercise.source).rstrip()
    body = (f":::{{admonition}} Solution of exercise {exercise_id}\n:class: dropdown\n\n"
            f"```python\n{code}\n```\n\n{_printed(check)}\n:::\n")
    cell = nbformat.v4.new_markdown_cell(body)
    cell.metadata["tags"] = ["book-solution"]
    return cell


def with_solutions(learner, solved):
    """``learner`` with a collapsed solution after each exercise's check cell (taken from
    ``solved``, the same notebook's solved edition). Raises ``ValueError`` when an
    exercise of one edition is missing in the other."""
    def checks(nb):
        return {m[1]: i for i, c in enumerate(nb.cells) if c.cell_type == "code" for m in [CHECK.search(c.source)] if m}
    mine, theirs = checks(learner), checks(solved)
    if set(mine) != set(theirs):
        raise ValueError(f"the editions' exercises differ: {sorted(mine)} vs {sorted(theirs)}; rebuild the notebooks")
    cells = list(learner.cells)
    for exercise_id, i in sorted(mine.items(), key=lambda item: -item[1]):
        j = theirs[exercise_id]
        exercise = next(c for c in reversed(solved.cells[:j]) if c.cell_type == "code")
        cells.insert(i + 1, solution_cell(exercise_id, exercise, solved.cells[j]))
    learner = nbformat.from_dict(learner)
    learner.cells = cells
    return learner


def sphinx(src: Path, out: Path = BUILD / "html") -> Path:
    """``sphinx-build -W --keep-going``: any warning fails the build (after reporting all)."""
    shutil.rmtree(out, ignore_errors=True)
    cmd = [sys.executable, "-m", "sphinx", "-b", "html", "-W", "--keep-going", "-q", "-c", str(BOOK),
           "-d", str(BUILD / "doctrees"), str(src), str(out)]
    subprocess.run(cmd, check=True)
    return out


class _Refs(HTMLParser):
    """Collects ``(tag, attribute, value)`` of every link, script, style sheet and image, and the ids."""

    def __init__(self):
        super().__init__()
        self.refs: list[tuple[str, str, str]] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        for attr in ("href", "src"):
            if attrs.get(attr) and tag in ("a", "link", "script", "img", "source", "iframe"):
                self.refs.append((tag, attr, attrs[attr]))


def _parse(page: Path) -> _Refs:
    parser = _Refs()
    parser.feed(page.read_text(errors="replace"))
    return parser


def check_links(site: Path) -> list[str]:
    """Problems in the built ``site``: internal links or anchors that do not resolve, and
    scripts, style sheets or images that would be loaded from another host."""
    pages = {p: _parse(p) for p in site.rglob("*.html") if "_static" not in p.relative_to(site).parts}
    problems = []
    for page, parsed in pages.items():
        for tag, attr, value in parsed.refs:
            parts = urlsplit(value)
            where = f"{page.relative_to(site)}: <{tag} {attr}={value!r}>"
            if parts.scheme or value.startswith("//"):
                if tag != "a" and parts.scheme != "data":
                    problems.append(f"{where} loads from another host")
                continue
            target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
            if target.is_dir():
                target = target / "index.html"
            if not target.is_file():
                problems.append(f"{where} points to a missing file")
            elif parts.fragment and target.suffix == ".html":
                ids = pages[target].ids if target in pages else _parse(target).ids
                if unquote(parts.fragment) not in ids:
                    problems.append(f"{where} points to a missing anchor")
    return problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.parse_args(argv)
    site = sphinx(stage())
    problems = check_links(site)
    print("\n".join(problems) or f"{site.relative_to(ROOT)}: links and images checked")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
