"""The tools that put the course where its readers are, without a browser: slide metadata
derived from a notebook's structure, the notebooks' set-up cell, the book's link checker,
the Binder configuration and the licences (browser checks: tests/test_site.py)."""

from __future__ import annotations

import copy
import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent


def _tool(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(ROOT / "tools"))
    spec.loader.exec_module(module)
    return module


slides, launch, book = _tool("slides"), _tool("launch"), _tool("book")


def _nb(*cells) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    for kind, source, *tags in cells:
        cell = (nbformat.v4.new_markdown_cell if kind == "md" else nbformat.v4.new_code_cell)(source)
        if tags:
            cell.metadata["tags"] = list(tags)
        nb.cells.append(cell)
    return nb


# --- slides --------------------------------------------------------------------------------


def test_slide_types_follow_the_structure_and_tags():
    nb = _nb(("md", "# Title"), ("code", "import x"), ("md", "Some prose"), ("code", "plot()"),
             ("md", "## A section"), ("md", "more prose"), ("code", "y"), ("md", "### Detail"),
             ("code", "long_derivation()", "slide-skip"), ("md", "Now a question", "slide"),
             ("md", "say this aloud", "notes"), ("code", "widget()", "fragment"),
             ("md", "text\n\n## Heading inside a cell"))
    got = [c.metadata.slideshow["slide_type"] for c in slides.add_slide_metadata(nb).cells]
    # the first code cell (the imports) is skipped; a "## " inside a cell starts no slide
    assert got == ["slide", "skip", "-", "-", "slide", "-", "-", "subslide", "skip", "slide",
                   "notes", "fragment", "subslide"]


def test_slide_metadata_is_idempotent_and_skips_the_setup_cell():
    nb = launch.insert_setup_cell(_nb(("md", "# Title"), ("code", "a"), ("md", "after code")),
                                  "https://example.org/course")
    once = [c.metadata.slideshow["slide_type"] for c in slides.add_slide_metadata(nb).cells]
    twice = [c.metadata.slideshow["slide_type"] for c in slides.add_slide_metadata(nb).cells]
    assert once == twice == ["slide", "skip", "skip", "-"]      # the set-up cell and the first code cell


def test_every_notebook_gets_a_deck_with_several_slides():
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        nb = slides.deck_notebook(nbformat.read(path, as_version=4))
        types = [c.metadata.slideshow["slide_type"] for c in nb.cells]
        assert types[0] == "slide" and types.count("slide") >= 2, path.name
        assert "widgets" not in nb.metadata


@pytest.mark.parametrize("path", sorted((ROOT / "notebooks").glob("*.ipynb")), ids=lambda p: p.name)
def test_committed_notebooks_carry_the_setup_cell_and_slide_types(path):
    """What the build derives is in the committed notebook: the set-up cell (the first code
    cell, from the template and pyproject's address) and every cell's slide type (for RISE)."""
    nb = nbformat.read(path, as_version=4)
    first_code = next(c for c in nb.cells if c.cell_type == "code")
    assert launch.SETUP_TAG in first_code.metadata.get("tags", [])
    assert first_code.source == launch.setup_cell_source(launch.repository_url())
    assert first_code.outputs == []  # where the course is installed it prints nothing
    derived = slides.add_slide_metadata(copy.deepcopy(nb))
    assert [c.metadata.get("slideshow") for c in nb.cells] == [c.metadata["slideshow"] for c in derived.cells]


def test_deck_uses_no_outside_script(tmp_path, monkeypatch):
    """The exporter's configuration: every script and style sheet is a relative path."""
    pytest.importorskip("nbconvert", reason="nbconvert comes with the lab and book extras")
    html, _ = slides.exporter().from_notebook_node(
        slides.deck_notebook(_nb(("md", "# T\n\n$x^2$"), ("code", "1"))), resources={"metadata": {"name": "t"}})
    loads = re.findall(r'<(?:script|link)[^>]*(?:src|href)="([^"]+)"', html)
    assert loads and all(not re.match(r"[a-z]+:|//", url) for url in loads), loads


# --- the set-up cell -----------------------------------------------------------------------


def test_setup_cell_is_the_first_code_cell_once():
    nb = _nb(("md", "# Title"), ("md", "intro"), ("code", "import course_utils"))
    for _ in range(2):
        launch.insert_setup_cell(nb, "https://example.org/course")
    kinds = [(c.cell_type, launch.SETUP_TAG in c.metadata.get("tags", [])) for c in nb.cells]
    assert kinds == [("markdown", False), ("markdown", False), ("code", True), ("code", False)]
    assert '"git+https://example.org/course"' in nb.cells[2].source


def test_setup_cell_url_comes_from_pyproject_and_is_checked():
    assert launch.repository_url().startswith("https://")
    with pytest.raises(ValueError, match="url must be the repository's https:// address"):
        launch.setup_cell_source("ftp://example.org/course")


def test_setup_cell_does_nothing_where_the_course_is_installed():
    """Here course_utils is importable: the cell prints nothing and runs no pip."""
    source = launch.setup_cell_source("https://example.org/course")
    out = subprocess.run([sys.executable, "-c", source], capture_output=True, text=True, check=True,
                         env={"PATH": "/nonexistent", "COURSE_PACKAGE_SOURCE": "/nonexistent"})
    assert out.stdout == "" and out.stderr == ""


# --- the book's link checker ---------------------------------------------------------------


def test_link_checker_finds_broken_links_and_outside_scripts(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "index.html").write_text(
        '<a href="sub/page.html#there">ok</a> <a href="sub/page.html#nowhere">bad anchor</a>'
        '<a href="missing.html">missing</a> <a href="https://example.org/">outside link, fine</a>'
        '<script src="https://cdn.example.org/x.js"></script> <img src="sub/pic.png">')
    (tmp_path / "sub" / "page.html").write_text('<h1 id="there">x</h1><img src="../index.html">')
    (tmp_path / "sub" / "pic.png").write_bytes(b"\x89PNG")
    problems = book.check_links(tmp_path)
    assert len(problems) == 3, problems
    assert any("#nowhere" in p and "missing anchor" in p for p in problems)
    assert any("missing.html" in p and "missing file" in p for p in problems)
    assert any("cdn.example.org" in p and "another host" in p for p in problems)


# --- Binder, licences ----------------------------------------------------------------------


def test_binder_installs_the_cpu_build_of_the_makefiles_torch():
    makefile_pin = re.search(r"pip install --quiet (torch==[0-9.]+)", (ROOT / "Makefile").read_text()).group(1)
    requirements = (ROOT / "binder" / "requirements.txt").read_text()
    assert f"{makefile_pin}+cpu" in requirements.split()
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in requirements
    post = ROOT / "binder" / "postBuild"
    assert post.stat().st_mode & 0o111 and 'pip install --no-cache-dir ".[lab]"' in post.read_text()


def test_licences_are_the_real_texts():
    code = (ROOT / "LICENSE").read_text()
    content = (ROOT / "LICENSE-content").read_text()
    assert code.startswith("MIT License") and "THE SOFTWARE IS PROVIDED \"AS IS\"" in code
    assert "Creative Commons Attribution 4.0 International Public License" in content
    assert "Section 8 – Interpretation." in content and len(content) > 15_000
