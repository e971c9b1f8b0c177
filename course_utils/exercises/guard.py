"""What runs around a learner's code during a check (the exercises of notebooks 01-09).

:class:`course_utils.exercises.core.LearnerFunction` calls a learner's function only through
this module, so that whatever the function does, every later check still works:

- :func:`private_copy` gives it copies of its arguments that share nothing mutable with the
  grader's objects, and :func:`same` tells afterwards whether it changed them;
- :class:`Clock` stops it with :class:`TimeUp` once the check's wall-time limit is spent;
- :func:`exit_refused` turns ``exit()`` / ``quit()`` into ``SystemExit`` also in IPython and
  Jupyter (where they would otherwise ask the kernel to shut down after the cell);
- :func:`switches_kept` puts torch's grad mode and default dtype and NumPy's error handling
  back as they were.

How the time limit stops the learner's code. On Unix, in the main thread (a Jupyter kernel,
a script, pytest), a ``SIGALRM`` timer raises :class:`TimeUp` in the learner's code at the
deadline, and again every ``REPEAT_S`` while the learner's code still runs (it may catch one):
a busy loop and a ``time.sleep`` stop alike. Elsewhere (Windows has no ``SIGALRM``; a check
run from another thread; a ``SIGALRM`` timer already in use) a watching thread raises it in
the checking thread instead (``PyThreadState_SetAsyncExc``): a Python loop stops at its next
step, but one long call into C (``time.sleep(3600)``, one huge tensor operation) only when that
call returns -- never worse than without a limit. Either way :class:`TimeUp` is raised only
while the learner's code (or what it calls) runs, never in the grader's own code, and a
user's interrupt (Ctrl-C, "Interrupt kernel") raises ``KeyboardInterrupt`` as always. Code
that catches every exception (a bare ``except:``) inside an endless loop swallows each
time-up, as it swallows Ctrl-C: no limit inside the process can stop it; ``os._exit()``
ends the process, as it would without a check.
"""

from __future__ import annotations

import builtins
import copy
import functools
import signal
import sys
import threading
import time
import types
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Optional, Sequence

import numpy as np
import torch

REPEAT_S = 0.25
_SHARED_MODULES = ("cvxpy",)  # symbolic variables the learner builds constraints on: copies would be other variables


class TimeUp(BaseException):
    """The learner's code ran past the check's time limit. A ``BaseException``, like
    ``KeyboardInterrupt``, so that ``except Exception`` in the learner's code lets it through."""


# --- private copies ----------------------------------------------------------------------


class _CopyingFunction:
    """A grader's function as the learner receives it: what it returns is a private copy."""

    def __init__(self, function: Callable):
        self.__wrapped__ = function
        self.__name__ = getattr(function, "__name__", "function")
        self.__doc__ = getattr(function, "__doc__", None)

    def __call__(self, *args, **kwargs):
        return private_copy(self.__wrapped__(*args, **kwargs))


def _is_shared(value: Any) -> bool:
    return type(value).__module__.split(".")[0] in _SHARED_MODULES


def private_copy(value: Any, memo: Optional[dict] = None) -> Any:
    """A copy of ``value`` that shares no mutable state with it, for the learner's code.

    Tensors keep their dtype, device and ``requires_grad``; a tensor inside an autograd graph
    (not a leaf) is cloned, so gradients still flow back through it. Arrays, models (every
    layer keeps its train/eval mode and its weights' ``requires_grad``), generators and
    containers are copied deeply, each object once (two arguments sharing a tensor get
    copies sharing one). A Python function is wrapped so that what it returns is a private
    copy too. Immutable values and cvxpy expressions (the variables a learner's constraints
    must be built on) are shared.

    Raises:
        TypeError: ``value`` holds an object that cannot be copied, named by its type.
    """
    memo = {} if memo is None else memo
    if id(value) in memo:
        return memo[id(value)]
    if isinstance(value, torch.Tensor) and not value.is_leaf:
        out = value.clone()
    elif isinstance(value, (list, dict)):
        out = copy.copy(value)
        memo[id(value)] = out
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in list(items):
            out[key] = private_copy(item, memo)
    elif isinstance(value, tuple):
        items = [private_copy(item, memo) for item in value]
        out = type(value)(*items) if hasattr(value, "_fields") else type(value)(items)
    elif isinstance(value, (types.FunctionType, types.MethodType, functools.partial)):
        out = _CopyingFunction(value)
    elif _is_shared(value) or isinstance(value, _CopyingFunction):
        out = value
    else:
        try:
            out = copy.deepcopy(value, memo)
        except Exception as e:
            raise TypeError(f"the check cannot give the learner a private copy of a "
                            f"{type(value).__qualname__}: {e}") from None
    memo[id(value)] = out
    return out


def _same_tensor(a: torch.Tensor, b: torch.Tensor) -> bool:
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    a, b = a.detach(), b.detach()
    if a.is_floating_point() or a.is_complex():
        return bool(((a == b) | (a.isnan() & b.isnan())).all())
    return torch.equal(a, b)


def _same_model(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    modes = [m.training for m in a.modules()] == [m.training for m in b.modules()]
    sa, sb = a.state_dict(), b.state_dict()
    return modes and sa.keys() == sb.keys() and all(_same(sa[k], sb[k]) for k in sa)


def _same(before: Any, after: Any) -> bool:
    """Whether ``after`` still equals ``before`` (a :func:`private_copy` of it made first)."""
    if type(before) is not type(after):
        return False
    if isinstance(before, torch.Tensor):
        return _same_tensor(before, after)
    if isinstance(before, np.ndarray):
        return before.shape == after.shape and np.array_equal(before, after, equal_nan=before.dtype.kind in "fc")
    if isinstance(before, torch.nn.Module):
        return _same_model(before, after)
    if isinstance(before, torch.Generator):
        return torch.equal(before.get_state(), after.get_state())
    if isinstance(before, (list, tuple)):
        return len(before) == len(after) and all(_same(x, y) for x, y in zip(before, after))
    if isinstance(before, dict):
        return before.keys() == after.keys() and all(_same(before[k], after[k]) for k in before)
    if isinstance(before, (_CopyingFunction, types.FunctionType)) or _is_shared(before):
        return True
    if type(before).__eq__ is object.__eq__:    # no equality of its own: compare its attributes
        return _same(vars(before), vars(after)) if hasattr(before, "__dict__") else True
    try:
        return bool(before == after)
    except Exception:                # no equality to judge by: not counted as a change
        return True


def same(before: Any, after: Any) -> bool:
    """Whether the learner's code left ``after`` (what it was given) equal to ``before`` (a
    :func:`private_copy` made before the call): values of tensors and arrays (NaN equals NaN),
    a model's weights, buffers and train/eval modes, containers' items, a generator's state.
    ``requires_grad`` and ``.grad`` are not compared: turning gradients on is not a change."""
    return _same(before, after)


# --- the time limit ----------------------------------------------------------------------


def _run(alarm: "_Alarm", function: Callable, args: tuple, kwargs: dict) -> Any:
    """Call ``function``: the frame below which the alarm may raise :class:`TimeUp`."""
    alarm.run_frame = sys._getframe()
    return function(*args, **kwargs)


class _Alarm:
    """Raises :class:`TimeUp` in the learner's code ``seconds`` after the ``with`` block is
    entered, and again every ``REPEAT_S`` while that code still runs; never elsewhere."""

    def __init__(self, seconds: float):
        self.seconds, self.run_frame = max(float(seconds), 1e-3), None

    def in_learner_code(self, frame) -> bool:
        """Whether ``frame`` runs below this alarm's call of the learner's function."""
        return frame is not self.run_frame and self.in_call(frame)

    def in_call(self, frame) -> bool:
        """Whether ``frame`` is this alarm's call of the learner's function or runs below it."""
        while frame is not None and self.run_frame is not None:
            if frame is self.run_frame:
                return True
            frame = frame.f_back
        return False


class _SignalAlarm(_Alarm):
    """``SIGALRM`` (Unix, main thread): stops a busy loop and a sleep alike."""

    def __enter__(self):
        self.previous = signal.signal(signal.SIGALRM, self._ring)
        signal.setitimer(signal.ITIMER_REAL, self.seconds, REPEAT_S)
        return self

    def _ring(self, signum, frame):
        if self.in_learner_code(frame):
            raise TimeUp()

    def __exit__(self, *exc) -> bool:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, self.previous)
        return False


def _raise_in_thread(thread_id: int, exc: Optional[type]) -> None:
    """Raise ``exc`` in thread ``thread_id`` at its next Python step (``None``: drop a pending one)."""
    try:
        import ctypes
        ctypes.pythonapi.PyThreadState_SetAsyncExc(
            ctypes.c_ulong(thread_id), ctypes.py_object(exc) if exc else ctypes.py_object())
    except (ImportError, AttributeError):  # not CPython: no limit, as without this module
        pass


class _ThreadAlarm(_Alarm):
    """A watching thread (Windows, other threads): stops a Python loop at its next step; one
    long call into C only when it returns."""

    def __enter__(self):
        self.target, self.done = threading.get_ident(), threading.Event()
        self.watcher = threading.Thread(target=self._watch, name="exercise time limit", daemon=True)
        self.watcher.start()
        return self

    def _watch(self) -> None:
        wait = self.seconds
        while not self.done.wait(wait):
            frame = sys._current_frames().get(self.target)
            if self.in_learner_code(frame):
                _raise_in_thread(self.target, TimeUp)
            elif self.run_frame is not None and not self.in_call(frame):
                return                     # the call is over
            wait = REPEAT_S

    def __exit__(self, *exc) -> bool:
        for _ in range(100):               # a TimeUp sent just as the call returned may land here
            try:
                self.done.set()
                self.watcher.join()
                _raise_in_thread(self.target, None)
                return False
            except TimeUp:
                continue
        return False


def _alarm(seconds: float) -> _Alarm:
    """The way to stop the learner's code here (module docstring)."""
    if (hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGALRM) in (signal.SIG_DFL, signal.SIG_IGN)
            and signal.getitimer(signal.ITIMER_REAL)[0] == 0):
        return _SignalAlarm(seconds)
    return _ThreadAlarm(seconds)


class Clock:
    """The wall time one check allows the learner's code: ``limit`` seconds over all its calls.

    ``used`` counts only the time inside the learner's functions (and what they call), not
    the grader's own work, so a slow reference computation never eats the learner's time.
    """

    def __init__(self, limit: float):
        self.limit, self.used = float(limit), 0.0

    @property
    def expired(self) -> bool:
        return self.used >= self.limit

    def run(self, function: Callable, args: tuple, kwargs: dict) -> Any:
        """``function(*args, **kwargs)`` within the time left; :class:`TimeUp` when it runs out."""
        if self.expired:
            raise TimeUp()
        start = time.monotonic()
        try:
            with _alarm(self.limit - self.used) as alarm:
                return _run(alarm, function, args, kwargs)
        finally:
            self.used += time.monotonic() - start


# --- exit and global switches ------------------------------------------------------------


def _refuse_exit(code: Any = None, *args, **kwargs):
    """``exit(code)`` as a plain ``SystemExit(code)``."""
    raise SystemExit(code)


@contextmanager
def _replaced(namespace: dict, names: Sequence[str], value: Any) -> Iterator[None]:
    """``namespace[name] = value`` for each name during the block; afterwards each name is
    back as it was (or absent again)."""
    saved = {name: namespace[name] for name in names if name in namespace}
    for name in names:
        namespace[name] = value
    try:
        yield
    finally:
        for name in names:
            if name in saved:
                namespace[name] = saved[name]
            else:
                namespace.pop(name, None)


@contextmanager
def exit_refused() -> Iterator[None]:
    """While the block runs, ``exit()`` and ``quit()`` raise ``SystemExit`` and do nothing else:
    in IPython and Jupyter they would call the shell's ``ask_exit`` (which ends the kernel after
    the cell), in plain Python close ``sys.stdin`` first. ``sys.exit()`` raises ``SystemExit``
    anyway; ``os._exit()`` ends the process and cannot be stopped."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None and hasattr(ipython, "get_ipython") else None
    with _replaced(vars(builtins), ("exit", "quit"), _refuse_exit):
        if shell is None:
            yield
            return
        with _replaced(shell.__dict__, ("ask_exit",), _refuse_exit), \
                _replaced(shell.__dict__, ("keepkernel_on_exit",), None):
            yield


@contextmanager
def switches_kept() -> Iterator[None]:
    """Torch's grad mode and default dtype and NumPy's error handling are, after the block,
    what they were before it, whatever the learner's code set."""
    grad, dtype, errors = torch.is_grad_enabled(), torch.get_default_dtype(), np.geterr()
    try:
        yield
    finally:
        torch.set_grad_enabled(grad)
        torch.set_default_dtype(dtype)
        np.seterr(**errors)
