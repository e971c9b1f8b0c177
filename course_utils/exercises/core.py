"""The machinery behind ``check``: one exercise = an id, a title and a grading function.

A grading function takes the learner's answer (and keyword context from the notebook) and
either returns a sentence saying what was verified, or raises :class:`NotYet` with what is
wrong and a hint. :func:`evaluate` turns anything else the learner's code raises into a
``NotYet`` too, so a check never ends in a traceback.
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
import traceback
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable, Dict, Optional, Sequence

import torch

BLANK = "nothing to check yet: replace the `...` (or None) with your answer and run the cell again"
STUCK = 'read the exercise again; if you are stuck, solution("{id}") shows the model answer'
"""The hint of a "not yet" whose grader gave none (a blank answer, for one)."""


class NotYet(Exception):
    """The answer is not right yet: ``reason`` says what is wrong, ``hint`` what to try."""

    def __init__(self, reason: str, hint: str = ""):
        super().__init__(reason)
        self.reason, self.hint = reason, hint


KINDS = ("implement", "predict", "explain", "investigate")
"""``implement``: write a function (or a few lines) that extends what the notebook shows;
``predict``: commit to a number, a sign or an outcome before running the cell that shows
it; ``explain``: pick the explanation, each wrong option a misconception with its own hint;
``investigate``: change a setting, measure, and report what was measured."""


@dataclass(frozen=True)
class Exercise:
    """One exercise: ``grade(answer, **context) -> str`` (what was verified) or ``NotYet``.

    ``kind``: one of ``KINDS``. ``model_answer``: the explanation a learner reads once the
    answer is right (or after asking for it with :func:`solution`), in Markdown; never
    shown before. ``notebook``: the notebook's name (``"02_fgsm"``), filled in from the
    exercise module's ``NOTEBOOK`` by :func:`all_exercises`.
    """

    id: str
    title: str
    kind: str
    grade: Callable[..., str]
    model_answer: str = ""
    notebook: str = ""

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(repr(k) for k in KINDS)}, got {self.kind!r}")


@dataclass(frozen=True)
class Outcome:
    """What a check found: ``passed`` and the line it printed."""

    id: str
    passed: bool
    message: str

    def __bool__(self) -> bool:
        return self.passed


@lru_cache(maxsize=1)
def all_exercises() -> Dict[str, Exercise]:
    """Every exercise of the course, by id (``"2.1"``), from the ``nbNN`` modules."""
    table: Dict[str, Exercise] = {}
    package = importlib.import_module(__package__)
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if info.name.startswith("nb"):
            module = importlib.import_module(f"{__package__}.{info.name}")
            for key, ex in module.EXERCISES.items():
                if key in table or key != ex.id:
                    raise RuntimeError(f"exercise id {key!r} is duplicated or mislabelled")
                table[key] = dataclasses.replace(ex, notebook=module.NOTEBOOK)
    return table


def _learner_error(exc: BaseException) -> NotYet:
    """``NotYet`` for an exception raised inside the learner's code, naming where."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "course_utils" not in f.filename]
    where = f" (line {frames[-1].lineno}: `{frames[-1].line}`)" if frames and frames[-1].line else ""
    return NotYet(f"your code raised {type(exc).__name__}: {exc}{where}",
                  "read the error above, fix that line and run the exercise cell again")


def evaluate(exercise_id: str, answer: Any, **context) -> Outcome:
    """Grade ``answer`` for exercise ``exercise_id`` without printing."""
    exercises = all_exercises()
    if exercise_id not in exercises:
        raise ValueError(f"exercise_id must be one of {sorted(exercises)}, got {exercise_id!r}")
    ex = exercises[exercise_id]
    head = f"Exercise {ex.id} ({ex.title})"
    try:
        if answer is None or answer is Ellipsis:
            raise NotYet(BLANK)
        verified = ex.grade(answer, **context)
    except NotYet as e:
        hint = e.hint or STUCK.format(id=ex.id)
        return Outcome(ex.id, False, f"✗ {head}: not yet -- {e.reason}. Hint: {hint}")
    except Exception as e:  # the learner's code failed inside the grader
        e = _learner_error(e)
        return Outcome(ex.id, False, f"✗ {head}: not yet -- {e.reason}. Hint: {e.hint}")
    return Outcome(ex.id, True, f"✓ {head}: right. {verified}")


def check(exercise_id: str, answer: Any, **context) -> None:
    """Grade ``answer`` and print one line: ``✓ ...`` or ``✗ ... not yet -- ... Hint: ...``;
    after a right answer, the exercise's model answer follows (if it has one)."""
    outcome = evaluate(exercise_id, answer, **context)
    print(outcome.message)
    if outcome.passed and all_exercises()[outcome.id].model_answer:
        _show_markdown(f"**Model answer ({outcome.id}).** " + all_exercises()[outcome.id].model_answer)


SOLVED_EDITION = "notebooks/solutions/{notebook}.ipynb"
"""Where the solved edition of a notebook lives in the course's repository."""


def solution(exercise_id: str) -> None:
    """Show exercise ``exercise_id``'s model answer, and where its reference solution is:
    the deliberate way to see an answer before finding it."""
    exercises = all_exercises()
    if exercise_id not in exercises:
        print(f"There is no exercise {exercise_id!r}; the exercises are {', '.join(sorted(exercises, key=_order))}.")
        return
    ex = exercises[exercise_id]
    where = (f"The reference solution of exercise {ex.id} is in the solved edition, "
             f"`{SOLVED_EDITION.format(notebook=ex.notebook)}`.")
    _show_markdown((f"**Model answer ({ex.id}).** {ex.model_answer}\n\n" if ex.model_answer else "") + where)


def _order(exercise_id: str):
    return tuple(int(part) for part in exercise_id.split("."))


def _show_markdown(text: str) -> None:
    """``text`` rendered as Markdown in a notebook (mathematics included), printed elsewhere."""
    from IPython import get_ipython
    from IPython.display import Markdown, display

    if get_ipython() is not None:
        display(Markdown(text))
    else:
        print(text)


# --- helpers for grading functions -----------------------------------------------------


def call(fn: Any, *args, **kwargs) -> Any:
    """Call the learner's function; a non-function, or a function returning None, is not yet."""
    if not callable(fn):
        raise NotYet(f"expected a function, got {type(fn).__name__}", "define it with `def ...:`")
    try:
        result = fn(*args, **kwargs)
    except NotYet:
        raise
    except Exception as e:
        raise _learner_error(e) from None
    if result is None or result is Ellipsis:
        raise NotYet(f"`{getattr(fn, '__name__', 'your function')}` returned None: {BLANK}")
    return result


def tensor(value: Any, shape: Optional[Sequence[int]] = None, what: str = "the result") -> torch.Tensor:
    """``value`` as a tensor of the given shape, or ``NotYet`` saying how it differs."""
    if not isinstance(value, torch.Tensor):
        raise NotYet(f"{what} should be a torch.Tensor, got {type(value).__name__}")
    if shape is not None and tuple(value.shape) != tuple(shape):
        raise NotYet(f"{what} has shape {tuple(value.shape)}, expected {tuple(shape)}",
                     "keep one entry per input entry (the same shape as X)")
    if not torch.isfinite(value).all():
        raise NotYet(f"{what} contains NaN or infinite entries", "look for a division by zero")
    return value.detach()


def close(got: torch.Tensor, want: torch.Tensor, atol: float, what: str, hint: str) -> float:
    """The largest gap between two tensors; ``NotYet`` with ``hint`` when it exceeds ``atol``."""
    gap = float((got.double() - want.double()).abs().max()) if want.numel() else 0.0
    if not gap <= atol:
        raise NotYet(f"{what} differs from the reference by up to {gap:.3g}", hint)
    return gap


def choice(answer: Any, options: Sequence[str]) -> str:
    """A multiple-choice answer, checked to be one of ``options``."""
    if not isinstance(answer, str) or answer.strip().lower() not in [o.lower() for o in options]:
        raise NotYet(f"answer with one of {list(options)}, got {answer!r}")
    return answer.strip().lower()


def multiple_choice(right: str, verified: str, wrong: dict):
    """A grader for an explain-why question: ``right`` is the correct letter, ``verified``
    what a right answer prints, ``wrong`` maps every other letter to ``(reason, hint)``.
    Every wrong option gets its own reason and hint."""
    def grade(answer) -> str:
        picked = choice(answer, sorted([right, *wrong]))
        if picked == right:
            return verified
        raise NotYet(*wrong[picked])
    return grade
