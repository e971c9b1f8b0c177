"""Every exercise's check passes its reference solution and fails, with the intended hint,
on the blank starter and on plausible wrong answers; the student version runs.

The reference solutions are read from the notebook sources (the one place they live): the
cell tagged ``exercise`` is run with its ``# BEGIN SOLUTION`` block as written, stubbed out
(the student's starter), or replaced by a wrong answer from ``WRONG`` below, after the
notebook's first code cell (its imports), and graded by the ``check("N.M", name)`` call in
the next cell.
"""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

from course_utils import config
from course_utils.exercises import all_exercises, evaluate

_spec = importlib.util.spec_from_file_location("nbtool", config.ROOT / "tools" / "notebooks.py")
nbtool = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(nbtool)

CHECK_CALL = re.compile(r'^check\("(?P<id>\d+\.\d+)", (?P<name>\w+)\)$', re.M)

def _wrong_answers() -> dict:
    """``WRONG`` of every ``tests/wrong_answers/nbNN.py``, merged."""
    merged = {}
    for path in sorted((Path(__file__).parent / "wrong_answers").glob("nb*.py")):
        spec = importlib.util.spec_from_file_location(f"wrong_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        assert not set(module.WRONG) & set(merged), f"{path.name} repeats an exercise id"
        merged.update(module.WRONG)
    return merged


WRONG = _wrong_answers()


@dataclass
class Site:
    """Where an exercise lives: its notebook source, setup code, exercise cell, answer name."""

    source: Path
    setup: str
    cell: str
    name: str


def _sites() -> dict[str, Site]:
    sites = {}
    for src in sorted(nbtool.SRC_DIR.glob("*.py")):
        cells = nbtool.read_source(src).cells
        # the notebook's own code; the set-up cell the build puts first installs nothing here
        code = [c for c in cells if c.cell_type == "code" and "course-setup" not in c.metadata.get("tags", [])]
        for i, cell in enumerate(code[:-1]):
            if "exercise" in cell.metadata.get("tags", []):
                match = CHECK_CALL.search(code[i + 1].source)
                assert match, f"{src.name}: the cell after an exercise must call check(\"N.M\", name)"
                assert match["id"] not in sites, f"exercise {match['id']} appears twice"
                sites[match["id"]] = Site(src, code[0].source, cell.source, match["name"])
    return sites


SITES = _sites()
IDS = sorted(all_exercises())


def _answer(site: Site, cell: str):
    namespace: dict = {}
    exec(compile(site.setup, f"{site.source.name}:setup", "exec"), namespace)
    exec(compile(cell, f"{site.source.name}:exercise", "exec"), namespace)
    return namespace[site.name]


def _replace_solution(cell: str, text: str) -> str:
    """The exercise cell with its solution block replaced by ``text`` (re-indented)."""
    lines = cell.splitlines()
    begin = next(i for i, l in enumerate(lines) if l.strip() == nbtool.BEGIN)
    end = next(i for i, l in enumerate(lines) if l.strip() == nbtool.END)
    indent = lines[begin][: len(lines[begin]) - len(lines[begin].lstrip())]
    return "\n".join(lines[:begin] + [indent + l for l in text.splitlines()] + lines[end + 1:])


MIN_PER_NOTEBOOK = 3


def test_every_exercise_sits_in_a_notebook_and_notebooks_have_enough():
    assert sorted(SITES) == IDS
    lessons = sorted(int(p.stem[:2]) for p in nbtool.SRC_DIR.glob("[0-9][0-9]_*.py"))
    modules = sorted(int(p.stem[2:]) for p in (config.ROOT / "course_utils" / "exercises").glob("nb*.py"))
    assert modules == [n for n in lessons if n > 0], "every notebook after 00 (notation) has its exercises"
    for number in modules:
        count = sum(int(k.split(".")[0]) == number for k in IDS)
        assert count >= MIN_PER_NOTEBOOK, f"notebook {number:02d} has {count} exercises"
        assert all(int(site.source.stem[:2]) == int(k.split(".")[0]) for k, site in SITES.items())


@pytest.mark.parametrize("exercise_id", IDS)
def test_the_reference_solution_passes(exercise_id):
    site = SITES[exercise_id]
    outcome = evaluate(exercise_id, _answer(site, site.cell))
    assert outcome.passed, outcome.message
    assert outcome.message.startswith(f"✓ Exercise {exercise_id}")


@pytest.mark.parametrize("exercise_id", IDS)
def test_the_blank_starter_is_not_yet(exercise_id):
    site = SITES[exercise_id]
    outcome = evaluate(exercise_id, _answer(site, nbtool.strip_solutions(site.cell)))
    assert not outcome.passed and "not yet" in outcome.message and "replace the `...`" in outcome.message


@pytest.mark.parametrize("exercise_id, wrong, hint",
                         [(k, w, h) for k, cases in WRONG.items() for w, h in cases])
def test_wrong_answers_get_their_hint(exercise_id, wrong, hint):
    site = SITES[exercise_id]
    outcome = evaluate(exercise_id, _answer(site, _replace_solution(site.cell, wrong)))
    assert not outcome.passed and "not yet" in outcome.message
    assert hint in outcome.message, outcome.message


def test_every_exercise_has_a_wrong_answer():
    assert set(WRONG) == set(IDS)


def test_unknown_exercise_and_kind_are_refused():
    with pytest.raises(ValueError, match="exercise_id must be one of"):
        evaluate("99.9", None)
    from course_utils.exercises import Exercise
    with pytest.raises(ValueError, match="kind"):
        Exercise("1.1", "x", "guess", lambda a: "")


def test_strip_solutions_keeps_indentation_and_refuses_unbalanced_markers():
    cell = "def f(x):\n    # BEGIN SOLUTION\n    return 2 * x\n    # END SOLUTION\n"
    assert nbtool.strip_solutions(cell) == "def f(x):\n    ...  # your code here"
    for bad in ("# BEGIN SOLUTION\nx = 1\n", "x = 1\n# END SOLUTION\n",
                "# BEGIN SOLUTION\n# BEGIN SOLUTION\n# END SOLUTION\n"):
        with pytest.raises(ValueError):
            nbtool.strip_solutions(bad)


def test_the_student_version_has_no_solutions(tmp_path):
    for path in nbtool.write_students(tmp_path):
        assert nbtool.BEGIN not in path.read_text()
        for cell in nbformat.read(path, as_version=4).cells:
            assert "solution" not in cell.metadata.get("tags", [])
            assert not cell.get("outputs")
