"""Build the course's book: a static website of every notebook, offline.

``python tools/book.py`` (``make book``) stages ``book/*.md`` and the committed, executed
notebooks into ``build/book/src`` (the notebooks are not run again), copies MathJax into
the site (:mod:`web_assets`), runs Sphinx with myst-nb and the sphinx-book-theme with
every warning an error, then checks the built site: every internal link and every image
resolves, and no page loads a script, style sheet or image from another host.
Open ``build/book/html/index.html``.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
import web_assets  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"
BUILD = ROOT / "build" / "book"


def stage(src: Path = BUILD / "src") -> Path:
    """Copy the book's pages and the notebooks into ``src`` (replacing what was there)."""
    shutil.rmtree(src, ignore_errors=True)
    (src / "notebooks").mkdir(parents=True)
    for page in BOOK.glob("*.md"):
        shutil.copy2(page, src / page.name)
    for nb in sorted((ROOT / "notebooks").glob("*.ipynb")):
        shutil.copy2(nb, src / "notebooks" / nb.name)
    web_assets.copy_tree(web_assets.BOOK, BUILD / "static")
    return src


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
