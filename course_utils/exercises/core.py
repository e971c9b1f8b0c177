"""The machinery behind ``check``: one exercise = an id, a title and a grading function.

A grading function takes the learner's answer (and keyword context from the notebook) and
either returns a sentence saying what was verified, or raises :class:`NotYet` with what is
wrong and a hint. :func:`evaluate` turns anything else into a ``NotYet`` too, so a check
never ends in a traceback.

A learner cannot break or fool a check. :func:`evaluate` hands a grader the learner's
function only as a :class:`LearnerFunction`: every call of it gives the learner private
copies of its arguments (:func:`~course_utils.exercises.guard.private_copy`), so whatever the
grader computes from its own objects -- before or after the call -- is computed from inputs
the learner never saw, and nothing a learner's code changes outlives its call. A call that
changes what it was given, raises, exits or runs past the exercise's ``time_limit`` is a
``NotYet`` naming what happened. A new grader gets all of this by calling the learner's
function with :func:`call` (or directly): there is nothing to remember.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import math
import numbers
import pkgutil
import sysconfig
import traceback
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable, Dict, Optional, Sequence

import torch

from .guard import Clock, TimeUp, exit_refused, private_copy, same, switches_kept

BLANK = "nothing to check yet: replace the `...` (or None) with your answer and run the cell again"
STUCK = 'read the exercise again; if you are stuck, solution("{id}") shows the model answer'
"""The hint of a "not yet" whose grader gave none (a blank answer, for one)."""
TIME_LIMIT_S = 10.0
"""Seconds of wall time a check allows the learner's code unless its exercise says otherwise:
the reference solutions take at most 0.01 s of CPU time here, and at most 0.8 s of wall time
measured on 2 cores shared by ~15 busy processes (1.1 and 3.1 take more, and allow more)."""


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
    ``time_limit``: the wall time, in seconds, that one check allows the learner's code (all
    its calls together; the grader's own work is not counted).
    """

    id: str
    title: str
    kind: str
    grade: Callable[..., str]
    model_answer: str = ""
    notebook: str = ""
    time_limit: float = TIME_LIMIT_S

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(repr(k) for k in KINDS)}, got {self.kind!r}")
        limit = self.time_limit
        if isinstance(limit, bool) or not isinstance(limit, numbers.Real) or not 0 < limit < math.inf:
            raise ValueError(f"time_limit must be a positive number of seconds, got {limit!r}")


@dataclass(frozen=True)
class Outcome:
    """What a check found: ``passed`` and the line it printed."""

    id: str
    passed: bool
    message: str
    learner_seconds: float = 0.0   # wall time spent in the learner's code during the check

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


def _is_library(filename: str) -> bool:
    """Whether ``filename`` is this package's, Python's or an installed package's code."""
    libraries = {sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib", "purelib", "platlib")}
    return "course_utils" in filename or any(filename.startswith(p) for p in libraries)


def _learner_error(exc: BaseException) -> NotYet:
    """``NotYet`` for an exception raised inside the learner's code, naming the learner's line
    it came from (not a line inside torch or this package)."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if not _is_library(f.filename)]
    where = f" (line {frames[-1].lineno}: `{frames[-1].line}`)" if frames and frames[-1].line else ""
    return NotYet(f"your code raised {type(exc).__name__}: {exc}{where}",
                  "read the error above, fix that line and run the exercise cell again")


def _too_slow(clock: Clock) -> NotYet:
    return NotYet(f"your code ran for more than {clock.limit:g} s, the time this check allows, and was "
                  "stopped", "look for a loop that never ends (a `while` whose condition never changes), "
                  "or work on whole tensors at once instead of element by element")


def _labels(function: Callable, n_args: int, kwargs: dict) -> list:
    """How to name each argument of a call of ``function``: its parameter's name if known."""
    try:
        params = [p.name for p in inspect.signature(function).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        params = []
    return [f"`{params[i]}`" if i < len(params) else f"number {i + 1}" for i in range(n_args)] + \
        [f"`{key}`" for key in kwargs]


def _changed(function: Callable, args: tuple, kwargs: dict, before: tuple) -> Optional[str]:
    """The first argument that the learner's call changed in place (named), or ``None``."""
    labels = _labels(function, len(args), kwargs)
    for label, old, new in zip(labels, [*before[0], *before[1].values()], [*args, *kwargs.values()]):
        if not same(old, new):
            return f"{label} ({type(new).__name__})"
    return None


class LearnerFunction:
    """The learner's function as :func:`evaluate` hands it to a grader.

    Each call gives the learner private copies of its arguments (tensors, arrays, models with
    their modes, generators, lists, dicts; cvxpy variables are shared), runs it under the
    check's :class:`~course_utils.exercises.guard.Clock` with ``exit()`` refused and torch's
    switches kept, and returns what it returned. A call that raises, exits, runs out of time
    or changes an argument in place raises :class:`NotYet` naming what happened;
    ``KeyboardInterrupt`` passes through.
    """

    def __init__(self, function: Callable, clock: Clock):
        self.function, self.clock = function, clock
        self.__name__ = getattr(function, "__name__", "your function")

    def __repr__(self) -> str:
        return repr(self.function)

    def __call__(self, *args, **kwargs) -> Any:
        given_args, given_kwargs = private_copy((args, kwargs))
        before = private_copy((given_args, given_kwargs))
        try:
            with exit_refused(), switches_kept():
                result = self.clock.run(self.function, given_args, given_kwargs)
        except TimeUp:
            raise _too_slow(self.clock) from None
        except (NotYet, KeyboardInterrupt):
            raise
        except SystemExit as e:
            code = "" if e.code is None else f": {e.code}"
            raise NotYet(f"your code called exit() or sys.exit() (SystemExit{code}), which would end the "
                         "notebook's kernel", "give the answer with `return`, and leave the exit out") from None
        except BaseException as e:
            raise _learner_error(e) from None
        if self.clock.expired:          # the learner's code caught the TimeUp and went on
            raise _too_slow(self.clock)
        changed = _changed(self.function, given_args, given_kwargs, before)
        if changed:
            raise NotYet(f"your function changed its argument {changed} in place; the caller still needs it "
                         "as it was", "compute into new tensors or arrays: no `out=`, no in-place methods such as "
                         "`.clamp_()` or `.zero_()`, no `+=` on an argument (copy it first with `.clone()` or "
                         "`.copy()` if you must), and leave a model's weights and train/eval mode alone")
        return result


def _for_grader(answer: Any, clock: Clock) -> Any:
    """The learner's answer as a grader receives it: a function (not a model) guarded, anything
    else a private copy."""
    if callable(answer) and not isinstance(answer, (torch.nn.Module, type)):
        return LearnerFunction(answer, clock)
    return private_copy(answer)


def _unknown(exercise_id: Any, ids: Sequence[str]) -> str:
    listed = ", ".join(ids)
    if not isinstance(exercise_id, str):
        return (f"✗ {exercise_id!r} is not an exercise id: write it as a string, e.g. check(\"2.1\", answer); "
                f"the exercises are {listed}")
    return f"✗ there is no exercise {exercise_id!r}: the exercises are {listed}"


def evaluate(exercise_id: str, answer: Any, **context) -> Outcome:
    """Grade ``answer`` for exercise ``exercise_id`` without printing.

    Never raises for what a learner can get wrong: an unknown id, an answer that raises,
    exits, loops or changes its inputs all give a failed :class:`Outcome` (its one line says
    what happened). ``KeyboardInterrupt`` (the user's Ctrl-C) passes through.
    """
    exercises = all_exercises()
    if not isinstance(exercise_id, str) or exercise_id not in exercises:
        return Outcome(str(exercise_id), False, _unknown(exercise_id, sorted(exercises, key=_order)))
    ex = exercises[exercise_id]
    head = f"Exercise {ex.id} ({ex.title})"
    clock = Clock(ex.time_limit)
    try:
        if answer is None or answer is Ellipsis:
            raise NotYet(BLANK)
        verified = ex.grade(_for_grader(answer, clock), **context)
    except NotYet as e:
        hint = e.hint or STUCK.format(id=ex.id)
        return Outcome(ex.id, False, f"✗ {head}: not yet -- {e.reason.rstrip('.')}. Hint: {hint}", clock.used)
    except KeyboardInterrupt:
        raise
    except BaseException as e:  # the grader could not use what the learner's code gave it
        return Outcome(ex.id, False, f"✗ {head}: not yet -- the check could not use your answer "
                       f"({type(e).__name__}: {e}). Hint: give it in the form the exercise asks for "
                       "(the types and shapes in its text)", clock.used)
    return Outcome(ex.id, True, f"✓ {head}: right. {verified}", clock.used)


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


_TYPE_NAMES = {numbers.Real: "a number", numbers.Integral: "a whole number", torch.Tensor: "a torch.Tensor",
               tuple: "a tuple", list: "a list", dict: "a dict"}


def _type_names(types_: Any) -> str:
    types_ = types_ if isinstance(types_, tuple) else (types_,)
    return " or ".join(_TYPE_NAMES.get(t, f"a {t.__qualname__}") for t in types_)


def call(fn: Any, *args, returns: Any = None, **kwargs) -> Any:
    """Call the learner's function ``fn`` with ``args`` and return its result.

    The learner gets private copies of the arguments (:class:`LearnerFunction`; a plain
    function is wrapped in one with the default time limit), so the grader's own objects stay
    as they were. A non-function, a call that fails (see :class:`LearnerFunction`), a result of
    None and, with ``returns`` (a type or a tuple of types), a result of another type are
    :class:`NotYet`.
    """
    if not callable(fn):
        raise NotYet(f"expected a function, got {type(fn).__name__}", "define it with `def ...:`")
    if not isinstance(fn, LearnerFunction):
        fn = LearnerFunction(fn, Clock(TIME_LIMIT_S))
    result = fn(*args, **kwargs)
    if result is None or result is Ellipsis:
        raise NotYet(f"`{fn.__name__}` returned None: {BLANK}")
    if returns is not None and not isinstance(result, returns):
        raise NotYet(f"`{fn.__name__}` returned a {type(result).__name__}, expected {_type_names(returns)}",
                     "return the kind of value the exercise asks for")
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
