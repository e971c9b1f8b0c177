"""The machinery behind ``check``: one exercise = an id, a title and a grading function.

A grading function takes the learner's answer (and keyword context from the notebook) and
either returns a sentence saying what was verified, or raises :class:`NotYet` with what is
wrong and a hint. :func:`evaluate` turns anything else the learner's code raises into a
``NotYet`` too, so a check never ends in a traceback.
"""

from __future__ import annotations

import importlib
import pkgutil
import traceback
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable, Dict, Optional, Sequence

import torch

BLANK = "nothing to check yet: replace the `...` (or None) with your answer and run the cell again"


class NotYet(Exception):
    """The answer is not right yet: ``reason`` says what is wrong, ``hint`` what to try."""

    def __init__(self, reason: str, hint: str = ""):
        super().__init__(reason)
        self.reason, self.hint = reason, hint


@dataclass(frozen=True)
class Exercise:
    """One exercise: ``grade(answer, **context) -> str`` (what was verified) or ``NotYet``.

    ``kind`` is ``"implement"`` (write a function), ``"predict"`` (predict an outcome before
    running the cell that shows it) or ``"explain"`` (pick the explanation; a model answer
    follows in the notebook).
    """

    id: str
    title: str
    kind: str
    grade: Callable[..., str]

    def __post_init__(self):
        if self.kind not in ("implement", "predict", "explain"):
            raise ValueError(f"kind must be 'implement', 'predict' or 'explain', got {self.kind!r}")


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
            for key, ex in importlib.import_module(f"{__package__}.{info.name}").EXERCISES.items():
                if key in table or key != ex.id:
                    raise RuntimeError(f"exercise id {key!r} is duplicated or mislabelled")
                table[key] = ex
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
        hint = f" Hint: {e.hint}" if e.hint else ""
        return Outcome(ex.id, False, f"✗ {head}: not yet -- {e.reason}.{hint}")
    except Exception as e:  # the learner's code failed inside the grader
        e = _learner_error(e)
        return Outcome(ex.id, False, f"✗ {head}: not yet -- {e.reason}. Hint: {e.hint}")
    return Outcome(ex.id, True, f"✓ {head}: right. {verified}")


def check(exercise_id: str, answer: Any, **context) -> None:
    """Grade ``answer`` and print one line: ``✓ ...`` or ``✗ ... not yet -- ... Hint: ...``."""
    print(evaluate(exercise_id, answer, **context).message)


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
