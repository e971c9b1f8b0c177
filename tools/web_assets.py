"""The JavaScript that the book and the slides serve themselves: reveal.js, MathJax,
require.js and jQuery, from the npm registry at the versions pinned in
``tools/web/package-lock.json``, copied next to the pages so nothing is loaded from a CDN.

``npm ci`` runs once into ``build/web/`` (git-ignored) and again only when the lock file
changes; :func:`copy_tree` then copies the listed parts of a package into a site.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PINS = ROOT / "tools" / "web"
NODE_DIR = ROOT / "build" / "web"

SLIDES = {
    # reveal.js 4 (nbconvert's reveal template is written for its API), its notes plugin
    "reveal.js": ["dist", "plugin/notes"],
    # MathJax 2: nbconvert's reveal template configures MathJax through its v2 API; SVG
    # output needs no web fonts, so the decks also work opened as local files
    "mathjax2": ["MathJax.js", "config/TeX-AMS_SVG-full.js", "config/Safe.js", "extensions",
                 "jax/element", "jax/input/TeX", "jax/output/SVG/jax.js", "jax/output/SVG/autoload",
                 "jax/output/SVG/config.js", "jax/output/SVG/fonts/TeX", "localization/en"],
    "requirejs": ["require.js"],
    "jquery": ["dist/jquery.min.js"],
}
"""What the slides need: package in node_modules -> paths inside it."""

BOOK = {
    # MathJax 3, SVG output (no web fonts); extensions load on demand from input/
    "mathjax": ["es5/tex-svg.js", "es5/input", "es5/ui", "es5/a11y", "es5/adaptors"],
}
"""What the book needs."""


def _lock_hash() -> str:
    return hashlib.sha256((PINS / "package-lock.json").read_bytes()).hexdigest()


def node_modules() -> Path:
    """``build/web/node_modules`` installed from the pinned lock file (``npm ci``, offline
    from npm's cache when it has the packages); returns its path."""
    stamp = NODE_DIR / ".lock-sha256"
    modules = NODE_DIR / "node_modules"
    if modules.is_dir() and stamp.is_file() and stamp.read_text() == _lock_hash():
        return modules
    if shutil.which("npm") is None:
        raise SystemExit("The book and the slides need npm, to fetch reveal.js and MathJax "
                         "(Debian/Ubuntu: apt-get install npm).")
    NODE_DIR.mkdir(parents=True, exist_ok=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copy2(PINS / name, NODE_DIR / name)
    run = subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error"],
                         cwd=NODE_DIR, capture_output=True, text=True)
    if run.returncode != 0:
        last = (run.stderr.strip().splitlines() or ["(npm printed nothing)"])[-1]
        raise SystemExit(f"The book and the slides need reveal.js and MathJax from the npm registry (the "
                         f"versions in tools/web/package-lock.json), and npm could not get them (no network, "
                         f"and not in npm's cache?): connect once, or copy build/web/ from a machine that "
                         f"built the book. npm said: {last}")
    stamp.write_text(_lock_hash())
    return modules


def copy_tree(parts: dict[str, list[str]], dest: Path) -> None:
    """Copy ``{package: [path, ...]}`` from ``node_modules`` into ``dest/package/path``."""
    modules = node_modules()
    for package, paths in parts.items():
        for rel in paths:
            src, dst = modules / package / rel, dest / package / rel
            if not src.exists():
                raise FileNotFoundError(f"{src} missing: is tools/web/package-lock.json's {package} the expected version?")
            dst.parent.mkdir(parents=True, exist_ok=True)
            if src.is_dir():
                shutil.copytree(src, dst, dirs_exist_ok=True)
            else:
                shutil.copy2(src, dst)
