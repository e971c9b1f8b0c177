"""The learner's edition gives nothing away, and the exercises make people think.

Every notebook exists twice (``tools/notebooks.py``): the learner's edition in
``notebooks/`` (what Colab, Binder, a clone and the book open) and the solved edition in
``notebooks/solutions/``. These tests read the committed notebooks and the sources:

* in the learner's edition no exercise's answer can be read before the learner answers:
  no line of a reference solution, no model answer, no "right" verdict;
* every check says "not yet" there and "right" in the solved edition;
* the exercises: at least 30, every kind present, at least one "investigate" per
  lesson, multiple-choice answers spread over the letters with options of similar length,
  no coding exercise whose reference solution retypes code the notebook shows;
* the lesson without the scaffolding: a prose budget, a few check lines per section, no
  "≈" on a count, no build plumbing in the text.
"""

from __future__ import annotations

import importlib.util
import re
from collections import Counter
from pathlib import Path

import nbformat
import pytest

from course_utils import config
from course_utils.exercises import KINDS, all_exercises

_spec = importlib.util.spec_from_file_location("nbtool", config.ROOT / "tools" / "notebooks.py")
nbtool = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(nbtool)

SOURCES = sorted(nbtool.SRC_DIR.glob("*.py"))
LESSONS = [p for p in SOURCES if not p.stem.startswith("00_")]
CHECK_CALL = re.compile(r'^check\("(?P<id>\d+\.\d+)", (?P<name>\w+)\)', re.M)

MIN_EXERCISES = 30
MAX_SHARE_OF_A_LETTER = 0.40
MAX_PROSE_WORDS = 2100           # "no notebook above about 2,000 words of prose"
MAX_TOTAL_PROSE_WORDS = 15_500   # two thirds of the 23,266 words the course had before
MAX_CHECK_LINES_PER_SECTION = 4
RETYPED_LINES = 3


def _learner(src: Path) -> nbformat.NotebookNode:
    return nbformat.read(nbtool.NB_DIR / f"{src.stem}.ipynb", as_version=4)


def _solved(src: Path) -> nbformat.NotebookNode:
    return nbformat.read(nbtool.SOLVED_DIR / f"{src.stem}.ipynb", as_version=4)


def _text(cell) -> str:
    """A cell's source and every text it displays."""
    parts = [cell.source]
    for out in cell.get("outputs", []):
        parts.append(out.get("text", ""))
        parts.extend(str(v) for k, v in out.get("data", {}).items() if k.startswith("text/"))
    return "\n".join(parts)


def _solution_blocks(cell_source: str) -> list[list[str]]:
    blocks, current = [], None
    for line in cell_source.splitlines():
        if line.strip() == nbtool.BEGIN:
            current = []
        elif line.strip() == nbtool.END:
            blocks.append(current)
            current = None
        elif current is not None:
            current.append(line)
    return blocks


def _normal(line: str) -> str:
    return " ".join(line.split())


def _code_lines(source: str) -> list[str]:
    """The statements of a cell: stripped, blank lines and comments left out."""
    return [_normal(line) for line in source.splitlines()
            if line.strip() and not line.strip().startswith("#")]


def _exercise_cells(src: Path):
    """``(exercise id, exercise cell, index)`` of every exercise in the solved source."""
    cells = nbtool.read_source(src).cells
    code = [(i, c) for i, c in enumerate(cells) if c.cell_type == "code"]
    for (i, cell), (_, following) in zip(code, code[1:]):
        if "exercise" in cell.metadata.get("tags", []):
            match = CHECK_CALL.search(following.source)
            assert match, f"{src.name}: the cell after an exercise must call check(\"N.M\", name)"
            yield match["id"], cell, i


# --- nothing given away -----------------------------------------------------------------------


@pytest.mark.parametrize("src", LESSONS, ids=lambda p: p.stem)
def test_the_learners_edition_shows_no_solution_line_and_no_model_answer(src):
    source_text = src.read_text()
    outside = "\n".join(line for cell in nbtool.read_source(src).cells
                        for line in nbtool.strip_solutions(cell.source).splitlines()
                        if "solution" not in cell.metadata.get("tags", []))
    learner = "\n".join(_text(c) for c in _learner(src).cells)
    for exercise_id, cell, _ in _exercise_cells(src):
        for block in _solution_blocks(cell.source):
            distinctive = [line.strip() for line in block if len(line.strip()) >= 8
                           and not line.strip().startswith("#") and line.strip() not in outside]
            shown = [line for line in distinctive if line in learner]
            assert not shown, f"exercise {exercise_id}: the learner's edition shows its solution: {shown}"
    for ex in all_exercises().values():
        if ex.notebook == src.stem and ex.model_answer:
            assert ex.model_answer[:60] not in learner, f"exercise {ex.id}'s model answer is in the learner's edition"
    assert "✓ Exercise" not in learner
    assert nbtool.BEGIN not in learner and nbtool.BEGIN in source_text
    assert not [c for c in _learner(src).cells if "solution" in c.metadata.get("tags", [])]


@pytest.mark.parametrize("src", LESSONS, ids=lambda p: p.stem)
def test_a_prediction_is_answered_only_by_a_cell_the_learner_runs_after_it(src):
    """After each "predict" exercise a cell tagged ``reveal`` shows the answer: saved without
    its output in the learner's edition (they run it after answering), with it in the
    solved edition."""
    exercises = all_exercises()
    cells = nbtool.read_source(src).cells
    ids = [(i, m["id"]) for i, c in enumerate(cells) if c.cell_type == "code"
           for m in [CHECK_CALL.search(c.source)] if m]
    for (i, exercise_id), end in zip(ids, [j for j, _ in ids[1:]] + [len(cells)]):
        if exercises[exercise_id].kind == "predict":
            assert any(nbtool.REVEAL_TAG in c.metadata.get("tags", []) for c in cells[i + 1:end]), \
                f"exercise {exercise_id}: no cell tagged 'reveal' shows the answer after it"
    learner = [c for c in _learner(src).cells if nbtool.REVEAL_TAG in c.metadata.get("tags", [])]
    solved = [c for c in _solved(src).cells if nbtool.REVEAL_TAG in c.metadata.get("tags", [])]
    assert len(learner) == len(solved)
    for mine, theirs in zip(learner, solved):
        assert mine.outputs == [] and "nbval-ignore-output" in mine.metadata["tags"], mine.source[:60]
        assert theirs.outputs, f"a reveal cell shows nothing in the solved edition: {theirs.source[:60]!r}"


@pytest.mark.parametrize("src", LESSONS, ids=lambda p: p.stem)
def test_a_question_for_the_room_is_answered_by_the_next_cell_the_learner_runs(src):
    """A question (a markdown cell tagged ``question``) is answered by the code cell after
    it, tagged ``reveal``: in the learner's edition its output appears only when run."""
    cells = nbtool.read_source(src).cells
    for k, cell in enumerate(cells):
        if cell.cell_type == "markdown" and "question" in cell.metadata.get("tags", []):
            answer = next(c for c in cells[k + 1:] if c.cell_type == "code")
            assert nbtool.REVEAL_TAG in answer.metadata.get("tags", []), \
                f"the cell after the question {cell.source[:60]!r} is not tagged 'reveal'"


@pytest.mark.parametrize("src", LESSONS, ids=lambda p: p.stem)
def test_every_check_says_not_yet_to_the_learner_and_right_in_the_solved_edition(src):
    ids = [exercise_id for exercise_id, _, _ in _exercise_cells(src)]
    for nb, verdict in ((_learner(src), "✗ Exercise {id} "), (_solved(src), "✓ Exercise {id} ")):
        checks = {m["id"]: _text(c) for c in nb.cells if c.cell_type == "code"
                  for m in [CHECK_CALL.search(c.source)] if m}
        assert sorted(checks) == sorted(ids)
        for exercise_id, text in checks.items():
            assert verdict.format(id=exercise_id) in text, text
    for exercise_id, text in ((m["id"], _text(c)) for c in _learner(src).cells if c.cell_type == "code"
                              for m in [CHECK_CALL.search(c.source)] if m):
        assert "not yet" in text and "Hint:" in text, text


# --- exercises that make people think ---------------------------------------------------------


def test_enough_exercises_of_every_kind_and_an_investigation_per_lesson():
    exercises = all_exercises()
    assert len(exercises) >= MIN_EXERCISES
    kinds = Counter(ex.kind for ex in exercises.values())
    assert set(kinds) == set(KINDS), kinds
    for src in LESSONS:
        mine = [ex for ex in exercises.values() if ex.notebook == src.stem]
        assert any(ex.kind == "investigate" for ex in mine), f"{src.stem} has no 'investigate' exercise"
        assert all(ex.model_answer for ex in mine if ex.kind in ("explain", "investigate", "predict")), \
            f"{src.stem}: every explain, predict and investigate exercise has a model answer behind its check"


def _choice_answers():
    """``(exercise id, right letter, {letter: option text})`` of every multiple-choice exercise."""
    option = re.compile(r'^- `"(?P<letter>[a-z])"`: (?P<text>.+?)(?=^- `"|\Z)', re.M | re.S)
    for src in LESSONS:
        cells = nbtool.read_source(src).cells
        for exercise_id, cell, index in _exercise_cells(src):
            answer = re.search(r'^answer = "([a-z])"$', "\n".join(sum(_solution_blocks(cell.source), [])), re.M)
            if answer:
                prompt = next(c.source for c in reversed(cells[:index]) if c.cell_type == "markdown")
                options = {m["letter"]: _normal(m["text"]) for m in option.finditer(prompt)}
                yield exercise_id, answer[1], options


def test_multiple_choice_answers_are_spread_and_the_right_option_is_not_the_longest():
    answers = list(_choice_answers())
    assert len(answers) >= 8
    letters = Counter(right for _, right, _ in answers)
    assert max(letters.values()) <= MAX_SHARE_OF_A_LETTER * len(answers), letters
    longest = 0
    for exercise_id, right, options in answers:
        assert right in options and len(options) >= 3, f"exercise {exercise_id}: options {sorted(options)}"
        lengths = {k: len(v) for k, v in options.items()}
        assert max(lengths.values()) <= 2.5 * min(lengths.values()), f"exercise {exercise_id}: option lengths {lengths}"
        longest += lengths[right] == max(lengths.values())
    assert longest <= MAX_SHARE_OF_A_LETTER * len(answers), f"the right option is the longest in {longest} of {len(answers)}"


@pytest.mark.parametrize("src", LESSONS, ids=lambda p: p.stem)
def test_no_coding_exercise_retypes_code_the_notebook_shows(src):
    cells = nbtool.read_source(src).cells
    for exercise_id, cell, index in _exercise_cells(src):
        shown = [_code_lines(c.source) for c in cells[:index] if c.cell_type == "code"]
        runs = {tuple(lines[k:k + RETYPED_LINES]) for lines in shown for k in range(len(lines) - RETYPED_LINES + 1)}
        for block in _solution_blocks(cell.source):
            lines = _code_lines("\n".join(block))
            retyped = [lines[k:k + RETYPED_LINES] for k in range(len(lines) - RETYPED_LINES + 1)
                       if tuple(lines[k:k + RETYPED_LINES]) in runs]
            assert not retyped, f"exercise {exercise_id} retypes lines the notebook shows: {retyped[0]}"


# --- the lesson without the scaffolding -------------------------------------------------------


def test_prose_fits_a_lecture():
    words = {src.stem: nbtool.reading_stats(nbtool.NB_DIR / f"{src.stem}.ipynb")["prose words"] for src in SOURCES}
    assert all(n <= MAX_PROSE_WORDS for n in words.values()), words
    assert sum(words.values()) <= MAX_TOTAL_PROSE_WORDS, sum(words.values())


@pytest.mark.parametrize("src", SOURCES, ids=lambda p: p.stem)
def test_a_few_check_lines_per_section_and_no_approximate_counts(src):
    per_section, section = Counter(), "(top)"
    for cell in _learner(src).cells:
        if cell.cell_type == "markdown":
            headings = re.findall(r"^## (.+)$", cell.source, re.M)
            section = headings[-1] if headings else section
            continue
        for out in cell.get("outputs", []):
            text = out.get("text", "")
            per_section[section] += sum(line.startswith("✓") and not line.startswith("✓ Exercise")
                                        for line in text.splitlines())
            assert not re.search(r"≈-?\d+(?![.\d])", text), f"a count printed as approximate: {text[:200]}"
    crowded = {k: v for k, v in per_section.items() if v > MAX_CHECK_LINES_PER_SECTION}
    assert not crowded, f"{src.stem}: sections with more than {MAX_CHECK_LINES_PER_SECTION} check lines: {crowded}"


PLUMBING = ("COURSE_", "tools/", "test suite", "nbval", "offline copy", "make test", "pytest", "build machine")


@pytest.mark.parametrize("src", SOURCES, ids=lambda p: p.stem)
def test_no_build_plumbing_in_the_learners_text(src):
    for cell in _learner(src).cells:
        if cell.cell_type == "markdown":
            found = [word for word in PLUMBING if word in cell.source]
            assert not found, f"{src.stem}: learner text mentions {found}: {cell.source[:120]}"
