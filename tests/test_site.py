"""The rendered book, the exported slides and RISE, in headless Chromium.

Run by ``make test-site`` after ``make book slides`` (``.ci/run`` does all three):

* the book (``build/book/html``, served on 127.0.0.1): the index lists every notebook in
  the course's order, the glossary and the references; a chapter's figures load and its
  math is typeset by the site's own MathJax; no request leaves the machine or fails;
  every notebook's page has Colab and Binder buttons and every page a link to the
  repository, all from the address in ``pyproject.toml``; each exercise's solution is
  collapsed under its check (one click away); the search box finds pages offline; a
  screenshot of a page (launch menu open, a collapsed solution, a widget's captioned
  still) is written to ``build/book-*.png`` for a reviewer;
* a widget's saved picture is what the book shows for it (a one-notebook book built here);
* one exported deck (``build/slides``, opened as a local file, as a lecturer would): it
  steps through several slides, shows a figure and typeset math;
* RISE in JupyterLab renders the derived slides and runs a cell. It cannot draw ipywidgets
  8 widgets yet (an open bug of jupyterlab-rise): that check is an expected failure that
  turns into an error when RISE is fixed, so the README can be updated then.

Needs Debian's Chromium and the playwright package (as tests/test_browser.py).
"""

from __future__ import annotations

import base64
import functools
import http.server
import importlib.util
import os
import subprocess
import sys
import threading
from pathlib import Path

import nbformat
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import browser_helpers as bh  # noqa: E402

pytestmark = pytest.mark.site

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "build" / "book" / "html"
SLIDES = ROOT / "build" / "slides"
WAIT_MS = bh.STEP_TIMEOUT_S * 1000

spec = importlib.util.spec_from_file_location("slides", ROOT / "tools" / "slides.py")
slides = importlib.util.module_from_spec(spec)
spec.loader.exec_module(slides)
sys.path.insert(0, str(ROOT / "tools"))
import launch  # noqa: E402

# The book's own environment (make book): Sphinx lives there, not in the course's.
BOOK_PYTHON = ROOT / ".venv-book" / "bin" / "python"


@pytest.fixture(scope="module")
def browser():
    if not bh.CHROMIUM.exists() or not bh.playwright_available():
        if os.environ.get("CI"):
            pytest.fail("the site tests cannot run in CI without Chromium and playwright")
        pytest.skip("needs Debian's Chromium and the playwright package")
    with bh.chromium() as chromium:
        yield chromium


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def book_url():
    if not (BOOK / "index.html").is_file():
        pytest.fail(f"{BOOK} not built: run `make book` first")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(BOOK)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def _watched_page(browser):
    """A page that records failed requests, page errors and console errors."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(WAIT_MS)
    page.problems = []
    page.on("requestfailed", lambda r: page.problems.append(f"request failed: {r.url}"))
    page.on("pageerror", lambda e: page.problems.append(f"page error: {e}"))
    page.on("response", lambda r: page.problems.append(f"HTTP {r.status}: {r.url}")
            if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)  # the browser's own request
    page.on("console", lambda m: page.problems.append(f"console: {m.text}")
            if m.type == "error" and "Failed to load resource" not in m.text else None)
    return page


def test_book_index_lists_the_course_in_order(browser, book_url):
    page = _watched_page(browser)
    page.goto(f"{book_url}/index.html")
    links = page.locator("nav.bd-links a.reference.internal").evaluate_all(
        "els => els.map(a => a.getAttribute('href'))")
    chapters = [h for h in links if h.startswith("notebooks/")]
    expected = [f"notebooks/{p.stem}.html" for p in sorted((ROOT / "notebooks").glob("*.ipynb"))]
    assert chapters == expected
    assert "glossary.html" in links and "references.html" in links
    assert page.problems == []


def test_book_chapter_shows_its_figures_and_math(browser, book_url):
    page = _watched_page(browser)
    page.goto(f"{book_url}/notebooks/02_fgsm.html")
    page.wait_for_load_state("load")
    widths = page.locator("article img").evaluate_all("imgs => imgs.map(i => i.complete && i.naturalWidth)")
    assert len(widths) >= 3 and all(w > 0 for w in widths), widths
    page.wait_for_function("window.MathJax && MathJax.startup && MathJax.startup.promise", timeout=WAIT_MS)
    page.evaluate("MathJax.startup.promise")
    assert page.locator("article mjx-container").count() >= 5
    text = page.locator("article").inner_text()
    assert "$$" not in text and "\\(" not in text and "$\\epsilon" not in text
    assert page.problems == []


def test_book_shows_a_widgets_saved_picture(tmp_path):
    """A notebook whose widget output carries a PNG of the widget's first state: the book
    (same configuration) shows the picture, not the widget's text or a dead widget."""
    png = base64.b64encode((ROOT / "docs" / "img" / "02_fgsm.png").read_bytes()).decode()
    nb = nbformat.v4.new_notebook()
    nb.metadata["language_info"] = {"name": "python"}
    nb.cells = [nbformat.v4.new_markdown_cell("# Widget"), nbformat.v4.new_code_cell("w", execution_count=1)]
    nb.cells[1].outputs = [nbformat.v4.new_output("display_data", data={
        "application/vnd.jupyter.widget-view+json": {"model_id": "abc", "version_major": 2, "version_minor": 0},
        "image/png": png, "text/plain": "interactive(children=(FloatSlider(value=0.1),))"})]
    src = tmp_path / "src"
    src.mkdir()
    (src / "index.md").write_text("# Test\n\n```{toctree}\nwidget\n```\n")
    nbformat.write(nb, src / "widget.ipynb")
    (ROOT / "build" / "book" / "static").mkdir(parents=True, exist_ok=True)
    python = str(BOOK_PYTHON) if BOOK_PYTHON.exists() else sys.executable
    subprocess.run([python, "-m", "sphinx", "-b", "html", "-W", "-q", "-c", str(ROOT / "book"),
                    str(src), str(tmp_path / "html")], check=True)
    html = (tmp_path / "html" / "widget.html").read_text()
    assert "<img" in html
    assert "interactive(children" not in html and "widget-view+json" not in html


NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_every_notebook_page_has_launch_buttons_and_every_page_the_repository(browser, book_url):
    page = _watched_page(browser)
    url = launch.repository_url()
    for path in NOTEBOOKS:
        page.goto(f"{book_url}/notebooks/{path.stem}.html")
        hrefs = page.locator("a").evaluate_all("els => els.map(a => a.getAttribute('href'))")
        links = launch.launch_links(url, f"notebooks/{path.name}")
        assert links["Colab"] in hrefs and links["Binder"] in hrefs and url in hrefs, path.stem
    for other in ("index.html", "glossary.html", "references.html"):
        page.goto(f"{book_url}/{other}")
        assert url in page.locator("a").evaluate_all("els => els.map(a => a.getAttribute('href'))"), other
    assert page.problems == []


def test_each_solution_is_collapsed_under_its_exercise(browser, book_url):
    page = _watched_page(browser)
    for path in NOTEBOOKS[1:]:                           # 00 (notation) has no exercises
        page.goto(f"{book_url}/notebooks/{path.stem}.html")
        page.wait_for_load_state("load")
        checks = nbformat.read(path, as_version=4).cells
        exercises = sum(c.cell_type == "code" and c.source.startswith('check("') for c in checks)
        dropdowns = page.locator("article .admonition.dropdown")
        assert exercises >= 3 and dropdowns.count() == exercises, path.stem
        assert "✓ Exercise" not in page.locator("article").inner_text(), path.stem   # nothing shown before a click
    first = dropdowns.first
    body = first.locator("pre").first
    assert not body.is_visible()
    first.locator("button.toggle-button").click()
    body.wait_for(state="visible")
    assert "✓ Exercise" in first.inner_text()
    assert page.problems == []


def test_the_search_box_finds_pages_offline(browser, book_url):
    page = _watched_page(browser)
    page.goto(f"{book_url}/search.html?q=clamp")
    page.wait_for_selector("#search-results ul.search li", timeout=WAIT_MS)
    found = page.locator("#search-results ul.search li a").evaluate_all("els => els.map(a => a.getAttribute('href'))")
    assert any("02_fgsm" in h for h in found), found
    assert page.problems == []


def test_a_reviewer_gets_screenshots_of_a_book_page(browser, book_url):
    """build/book-launch.png (the launch menu open), build/book-solution.png (an exercise,
    its solution collapsed), build/book-widget.png (a widget's captioned still)."""
    page = _watched_page(browser)
    page.goto(f"{book_url}/notebooks/02_fgsm.html")
    page.wait_for_load_state("load")
    page.locator(".dropdown-launch-buttons button").first.click()
    page.locator("a", has_text="Colab").first.wait_for(state="visible")
    page.screenshot(path=str(ROOT / "build" / "book-launch.png"))
    page.locator("article h1").first.click()                     # closes the launch menu
    page.locator("article .admonition.dropdown").first.scroll_into_view_if_needed()
    page.screenshot(path=str(ROOT / "build" / "book-solution.png"))
    still = page.locator("section#try-it img").first
    still.scroll_into_view_if_needed()
    assert still.evaluate("i => i.complete && i.naturalWidth") > 0
    page.screenshot(path=str(ROOT / "build" / "book-widget.png"))
    for name in ("launch", "solution", "widget"):
        assert (ROOT / "build" / f"book-{name}.png").stat().st_size > 10_000
    assert page.problems == []


LECTURES = sorted((ROOT / "notebooks" / "lectures").glob("*.ipynb"))
SLIDE_HEIGHT = 700          # reveal.js's slide height in nbconvert's template (scaled to the window)
MAX_SLIDE_WORDS = 80        # words of prose on one slide, all its fragments shown
CHECK_CODE = ("check(", "check_close(", "check_claim(", "check_same(", "BEGIN SOLUTION", "your code here")

SLIDE_FACTS = """(() => {
  const s = deck.getCurrentSlide();
  const prose = [...s.querySelectorAll('.jp-MarkdownOutput, .jp-RenderedMarkdown')]
      .filter(e => !e.closest('aside.notes')).map(e => e.innerText).join(' ');
  const cells = [...s.querySelectorAll(':scope > .jp-Cell, :scope .jp-Cell')].filter(c => !c.closest('aside.notes'));
  return {height: s.scrollHeight, words: prose.split(/\\s+/).filter(w => /[A-Za-z0-9]/.test(w)).length,
          text: s.innerText, question: s.querySelectorAll('.celltag_question').length, cells: cells.length,
          images: [...s.querySelectorAll('img')].map(i => i.complete && i.naturalWidth),
          rawMath: /\\$\\$|\\\\\\(|\\$\\\\/.test(s.innerText), math: s.querySelectorAll('.MathJax_SVG').length};
})()"""


def _open_deck(browser, lecture: Path):
    deck = SLIDES / f"{lecture.stem}.slides.html"
    if not deck.is_file():
        pytest.fail(f"{deck} not exported: run `make slides` first")
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    page.set_default_timeout(WAIT_MS)
    page.problems = []
    page.on("pageerror", lambda e: page.problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: page.problems.append(f"request failed: {r.url}"))
    page.goto(deck.as_uri())
    reveal = "assets/reveal.js/dist/reveal.js"
    page.evaluate(f"new Promise(ok => require(['{reveal}'], R => {{ window.deck = R; ok(); }}))")
    page.wait_for_function("deck.isReady()")
    return page


def _slides(page):
    """Every slide of the open deck with all its fragments shown: ``(index, facts)``."""
    for index in page.evaluate("deck.getSlides().map(s => deck.getIndices(s))"):
        page.evaluate(f"deck.slide({index['h']}, {index.get('v') or 0}, 1000)")
        page.wait_for_timeout(150)
        page.evaluate("MathJax.Hub.Queue(() => 0) && new Promise(ok => MathJax.Hub.Queue(ok))")
        yield index, page.evaluate(SLIDE_FACTS)


@pytest.mark.decks
@pytest.mark.parametrize("lecture", LECTURES, ids=lambda p: p.stem)
def test_a_lecturer_can_teach_from_the_deck(browser, lecture):
    """At 1280x720: every slide fits the screen, carries at most 80 words of prose, shows
    no check or solution code, its images loaded and its mathematics typeset; every
    question for the room is alone on its slide, with its answer after it; 15-25 slides.
    One slide with a figure is saved as build/slides/NN_name.png for a reviewer."""
    page = _open_deck(browser, lecture)
    slides, problems, saved = list(_slides(page)), [], False
    for number, (index, facts) in enumerate(slides, 1):
        where = f"{lecture.stem}, slide {number} ({index['h']}.{index.get('v') or 0})"
        if facts["height"] > SLIDE_HEIGHT + 4:
            problems.append(f"{where}: {facts['height']} px tall")
        if facts["words"] > MAX_SLIDE_WORDS:
            problems.append(f"{where}: {facts['words']} words of prose")
        problems += [f"{where}: shows {c!r}" for c in CHECK_CODE if c in facts["text"]]
        if not all(w and w > 0 for w in facts["images"]):
            problems.append(f"{where}: an image did not load")
        if facts["rawMath"]:
            problems.append(f"{where}: mathematics left untypeset")
        if facts["question"] and (facts["cells"] != 1 or number == len(slides)):
            problems.append(f"{where}: a question shares its slide or has no answer after it")
        if facts["images"] and not saved and number > 1:
            page.screenshot(path=str(SLIDES / f"{lecture.stem}.png"))
            saved = True
    assert 15 <= len(slides) <= 25, f"{lecture.stem}: {len(slides)} slides"
    assert not problems, "\n".join(problems)
    assert saved and page.problems == []


def _rise_notebook(folder: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Slides"),
                nbformat.v4.new_code_cell("import math"),        # the imports: skipped in slides
                nbformat.v4.new_code_cell("print(6 * 7)"),
                nbformat.v4.new_markdown_cell("## A widget"),
                nbformat.v4.new_code_cell("import ipywidgets\nipywidgets.IntSlider(description='k', value=3)")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = folder / "rise_demo.ipynb"
    nbformat.write(slides.add_slide_metadata(nb), path)
    return path


@pytest.fixture(scope="module")
def rise_frame(browser, tmp_path_factory):
    """The RISE slideshow of a two-slide notebook, opened from JupyterLab's toolbar button."""
    with bh.LabServer([_rise_notebook(tmp_path_factory.mktemp("rise"))]) as lab:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(WAIT_MS)
        bh.NotebookPage(page, lab, "rise_demo.ipynb").open()
        page.locator('[data-jp-item-name="RISE-button"] button').first.click()
        for _ in range(bh.STEP_TIMEOUT_S * 4):
            frame = next((f for f in page.frames if "/rise/" in f.url), None)
            if frame is not None:
                break
            page.wait_for_timeout(250)
        else:
            raise TimeoutError(f"no RISE slideshow after {bh.STEP_TIMEOUT_S} s")
        frame.wait_for_selector(".reveal .slides > section")
        yield frame
        page.close()


def test_rise_renders_the_derived_slides_and_runs_cells(rise_frame):
    assert rise_frame.locator(".reveal .slides > section").count() == 2  # "# Slides", "## A widget"
    rise_frame.locator(".jp-CodeCell:visible").first.click()
    rise_frame.page.keyboard.press("Shift+Enter")
    rise_frame.wait_for_function("document.body.innerText.includes('42')")


@pytest.mark.xfail(strict=True, reason="jupyterlab-rise cannot load the ipywidgets 8 widget manager "
                                       "(its slideshow lacks the shared module @jupyterlab/console)")
def test_rise_draws_widgets(rise_frame):
    rise_frame.locator(".jp-CodeCell:visible").nth(1).click()
    rise_frame.page.keyboard.press("Shift+Enter")
    rise_frame.wait_for_selector(".widget-slider", timeout=15_000)
