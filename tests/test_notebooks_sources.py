"""Every notebook is built from its Jupytext source and committed with outputs that any
machine reproduces: markers are cell tags, and live figures are checked with a tolerance."""

import configparser
import importlib.util
import json
import re

import jupytext
import nbformat
import pytest

from course_utils import config
from course_utils.checks import approx

_spec = importlib.util.spec_from_file_location("nbtool", config.ROOT / "tools" / "notebooks.py")
nbtool = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(nbtool)

NB_DIR = config.ROOT / "notebooks"
SOURCES = sorted(nbtool.SRC_DIR.glob("*.py"))
LEARNER = sorted(NB_DIR.glob("*.ipynb"))
NOTEBOOKS = LEARNER + sorted(nbtool.SOLVED_DIR.glob("*.ipynb"))     # both editions


def test_notebooks_agree_with_their_sources():
    assert nbtool.mismatches() == []


def test_a_changed_source_is_caught(tmp_path, monkeypatch):
    """The check fails, once per edition (learner's, solved, lecture), when a source's text or
    tags differ from its notebooks."""
    src_dir, learner, solved, lectures = (tmp_path / name for name in ("src", "learner", "solved", "lectures"))
    for folder in (src_dir, learner, solved, lectures):
        folder.mkdir()
    src = next(p for p in SOURCES if '# %% tags=["nbval-ignore-output"]' in p.read_text())
    (learner / (src.stem + ".ipynb")).write_bytes((NB_DIR / (src.stem + ".ipynb")).read_bytes())
    (solved / (src.stem + ".ipynb")).write_bytes((nbtool.SOLVED_DIR / (src.stem + ".ipynb")).read_bytes())
    (lectures / (src.stem + ".ipynb")).write_bytes((nbtool.LECTURE_DIR / (src.stem + ".ipynb")).read_bytes())
    monkeypatch.setattr(nbtool, "SRC_DIR", src_dir)
    monkeypatch.setattr(nbtool, "LECTURE_DIR", lectures)
    monkeypatch.setitem(nbtool.EDITIONS, "learner", (nbtool.learner_version, learner))
    monkeypatch.setitem(nbtool.EDITIONS, "solved", (nbtool.solved_version, solved))
    text = src.read_text()
    (src_dir / src.name).write_text(text)
    assert nbtool.mismatches() == []
    (src_dir / src.name).write_text(text.replace("# %% tags=[\"nbval-ignore-output\"]", "# %%", 1))
    assert len(nbtool.mismatches()) == 3
    (src_dir / src.name).write_text(text + "\n# %%\nprint('new cell')\n")
    assert len(nbtool.mismatches()) == 3
    (learner / (src.stem + ".ipynb")).unlink()
    assert any("learner edition was never built" in m for m in nbtool.mismatches())


def test_only_the_solved_edition_syncs_back_to_a_source():
    with pytest.raises(SystemExit, match="only the solved edition"):
        nbtool.sync(LEARNER[0])


@pytest.mark.parametrize("src", SOURCES, ids=lambda p: p.name)
def test_sources_are_in_jupytext_canonical_form(src):
    """Jupytext writes each source back unchanged, so `tools/notebooks.py sync` and the
    JupyterLab extension give no spurious diffs."""
    nb = jupytext.read(src, fmt=nbtool.SOURCE_FORMAT)
    nb.metadata = {"jupytext": nbtool.JUPYTEXT_FILTERS}
    assert jupytext.writes(nb, fmt=nbtool.SOURCE_FORMAT) == src.read_text()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_committed_with_outputs_and_no_errors(path):
    """Every code cell run top to bottom, but in the learner's edition a cell tagged
    ``reveal``, saved unrun (its output answers a question above it)."""
    nb = json.loads(path.read_text())
    learner = path.parent == nbtool.NB_DIR
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    unrun = [c for c in code if learner and nbtool.REVEAL_TAG in c["metadata"].get("tags", [])]
    assert all(c.get("execution_count") is None and not c["outputs"] for c in unrun)
    code = [c for c in code if c not in unrun]
    assert code and all(c.get("execution_count") for c in code), "notebook not executed in order"
    counts = [c["execution_count"] for c in code]
    assert counts == sorted(set(counts)) and counts[0] == 1, "cells were not run top to bottom"
    assert not [o for c in code for o in c["outputs"] if o["output_type"] == "error"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_marker_comments_in_cells(path):
    """nbval markers are cell tags; a learner never sees `# NBVAL_...` in a cell."""
    for cell in nbformat.read(path, as_version=4).cells:
        assert "NBVAL_" not in cell.source, cell.source[:80]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_live_figures_are_backed_by_checks(path):
    """A notebook that prints figures marked ≈ (their last digit may differ on another CPU,
    and the notebook tests mask it) also checks figures with a tolerance, in visible
    check cells (tagged hide-input: collapsed, not removed)."""
    nb = nbformat.read(path, as_version=4)
    shows_live = any("≈" in o.get("text", "") and "✓" not in o.get("text", "")
                     for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    checks = [c for c in nb.cells if c.cell_type == "code" and "check_close(" in c.source]
    if shows_live:
        assert checks, f"{path.name} prints ≈ figures but never checks one with check_close"
    for cell in checks:
        assert "nbval-ignore-output" not in cell.metadata.get("tags", []), "a check's output must be compared"


def test_no_lax_mode_anywhere():
    for name in ("Makefile", "pyproject.toml", ".ci/run"):
        assert "--nbval-lax" not in (config.ROOT / name).read_text(), name


def test_sanitizer_masks_only_approximate_figures():
    """The ≈ rule of tests/nbval_sanitize.cfg masks what `approx` prints, not a check line."""
    parser = configparser.ConfigParser()
    parser.read(config.ROOT / "tests" / "nbval_sanitize.cfg")
    rule = parser["live figures"]
    mask = lambda text: re.sub(rule["regex"], rule["replace"], text)
    assert mask(f"error {approx(0.8031)}") == mask(f"error {approx(0.8024)}") != mask("error 0.803")
    assert mask(approx(-1.5e-3, 4)) == mask(approx(2.0, 4))
    line = "✓ dnn4, FGSM error ≈ 0.803 (± 0.005)"
    assert mask(line) == line


def test_notebooks_are_numbered_in_order():
    """00_notation first (no exercises), then 01, 02, ... without gaps."""
    names = sorted(p.name for p in LEARNER)
    assert names and [n[:2] for n in names] == [f"{i:02d}" for i in range(len(names))]


def test_readme_counts_what_the_notebook_tests_compare_loosely():
    """The README's sentence on loosely compared outputs states today's counts."""
    text = " ".join((config.ROOT / "README.md").read_text().split())
    found = re.search(r"print (\d+) figures marked `≈`, (\d+) figures are checked with a tolerance, "
                      r"and (\d+) cells' outputs are not compared", text)
    assert found, "the README's sentence on loosely compared outputs is missing or reworded"
    stats = nbtool.output_stats()
    stated = tuple(int(v) for v in found.groups())
    actual = (stats["approximate figures"], stats["tolerance checks"], stats["ignored cells"])
    assert stated == actual, f"README says {stated}, the notebooks have {actual}: update the README"


@pytest.mark.parametrize("src", [p for p in SOURCES if not p.name.startswith("00_")], ids=lambda p: p.name)
def test_every_lesson_has_questions_for_the_room_and_ends_like_the_others(src):
    """2-3 questions a lecturer asks (the lecture plan points to them), then Exercises, What we
    learned and References, in that order, at the end."""
    cells = nbtool.read_source(src).cells
    questions = [c for c in cells if "question" in c.metadata.get("tags", [])]
    assert 2 <= len(questions) <= 3, f"{src.name}: {len(questions)} questions for the room"
    assert all(c.cell_type == "markdown" and c.source.startswith("**Ask the room.**") for c in questions)
    headings = [line for c in cells if c.cell_type == "markdown" for line in c.source.splitlines()
                if line.startswith("## ")]
    assert headings[-3:] == ["## Exercises", "## What we learned", "## References"], headings[-3:]


@pytest.mark.parametrize("src", SOURCES, ids=lambda p: p.stem)
def test_a_lecture_runs_the_learners_code_but_the_exercises(src):
    """The lecture edition (not executed, not run by nbval) holds the learner's code cells in
    order, less the exercises, their checks and the "## Exercises" sections; no cell it keeps uses a name that only an
    exercise cell defines. So it runs top to bottom wherever the learner's edition does."""
    import ast

    learner = nbtool.learner_version(src).cells
    lecture = [c.source for c in nbtool.lecture_version(src).cells if c.cell_type == "code"]
    is_exercise, in_section = [], False
    for c in learner:             # an exercise, its check, or any cell of a "## Exercises" section
        if c.cell_type == "markdown" and c.source.startswith("## "):
            in_section = c.source.startswith("## Exercises")
        is_exercise.append(in_section or "exercise" in c.metadata.get("tags", [])
                           or bool(nbtool.CHECK_CALL.search(c.source)))
    kept = [c.source for c, ex in zip(learner, is_exercise) if c.cell_type == "code" and not ex]
    assert lecture == kept
    defined_by_exercises = set()
    for cell, ex in zip(learner, is_exercise):
        if cell.cell_type != "code":
            continue
        tree = ast.parse(cell.source)
        if ex:
            defined_by_exercises |= {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)
                                     and isinstance(n.ctx, ast.Store)}
            defined_by_exercises |= {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
        else:
            defined_here = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
            used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
            assert not (used & defined_by_exercises) - defined_here, (src.stem, cell.source[:80])
            defined_by_exercises -= defined_here
