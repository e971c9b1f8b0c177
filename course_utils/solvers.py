"""Solvers for the verification programs (chapter 3, "A mixed integer programming
formulation"): which ones may certify, how each is given a time limit, and HiGHS runs
that an interrupt can stop.

* A verdict "robust" or an exact minimum rests on a solver's "optimal", so only
  solvers whose "optimal" is a proof are accepted (``check_solver``): simplex and
  branch-and-bound solvers (HiGHS, the default; SciPy's HiGHS; GLPK; CBC; SCIP; Gurobi;
  CPLEX). First-order and interior-point solvers (OSQP, SCS, Clarabel, ECOS, ...) stop
  within a tolerance of the optimum, on either side of it, and are refused.
* Time limits: ``None`` means no limit, everywhere; otherwise a number of seconds
  > 0. A step's time limit bounds its whole wall time (bound tightening included):
  it becomes a ``deadline`` (a ``time.monotonic()`` moment) and each solve gets the
  ``seconds_left``. A solver that cannot be given a time limit through cvxpy refuses one.
* ``import_whole`` imports the solver stack (scipy, cvxpy, highspy) with an interrupt
  held back until the import has ended: an interrupt in the middle of a first import
  of cvxpy would leave it half-loaded, and every later LP of the process broken.
* ``solve_cvxpy`` solves the chapter's cvxpy programs; a status other than optimal is
  returned as such, never as a number.
* ``new_highs`` and ``run_highs`` drive ``highspy`` directly (``course_utils.programs``):
  an interrupt (Ctrl-C, or JupyterLab's "Interrupt kernel") stops a run within a
  fraction of a second and raises ``KeyboardInterrupt``.
"""

from __future__ import annotations

import importlib
import math
import numbers
import os
import signal
import sys
import threading
import time
from contextlib import contextmanager, nullcontext, suppress
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional

import numpy as np

DEFAULT_SOLVER = "HIGHS"

EXACT_SOLVERS: Dict[str, Optional[Callable[[float], dict]]] = {
    "HIGHS": lambda t: {"time_limit": t},
    "SCIPY": lambda t: {"scipy_options": {"time_limit": t}},       # SciPy's HiGHS
    "GUROBI": lambda t: {"TimeLimit": t},
    "SCIP": lambda t: {"scip_params": {"limits/time": t}},
    "CPLEX": lambda t: {"cplex_params": {"timelimit": t}},
    "GLPK": None, "GLPK_MI": None, "CBC": None,
}
"""Solvers whose "optimal" is a proof (simplex, branch and bound), and how cvxpy passes
each a time limit of ``t`` seconds (``None``: it cannot, so a time limit is refused)."""


SOLVER_STACK = ("scipy.sparse", "highspy", "cvxpy", "cvxpy.reductions.solvers.defines")
"""What the verification steps import: ``course_utils.verify`` imports all of it at once
(``import_whole``), so that no first solve imports anything."""

SOLVER_STACK_INTERNALS = ("cvxpy.cvxcore.python.cppbackend",)
"""cvxpy's own import at its first solve, imported with ``SOLVER_STACK`` where it exists."""


def import_whole(*names: str) -> list:
    """The modules ``names`` (default: ``SOLVER_STACK``, and ``SOLVER_STACK_INTERNALS``
    where they exist), imported whole: in the main thread, an interrupt (SIGINT) that
    arrives during the import waits for it to end and is then raised
    (``KeyboardInterrupt``, or whatever the handler in place does).

    A package interrupted half-way through its first import stays broken for the rest of
    the process (cvxpy then fails in every later LP; taking it out of ``sys.modules``
    and importing again can crash the interpreter in its compiled parts), so an import
    is never cut: the interrupt comes after it, at most the import's duration later
    (cvxpy: about a second). Worker processes, which ignore SIGINT, import plainly."""
    optional = () if names else SOLVER_STACK_INTERNALS
    names = names or SOLVER_STACK
    if all(name in sys.modules for name in names + optional):
        return [sys.modules[name] for name in names]
    main = threading.current_thread() is threading.main_thread()
    guard = _sigint_sets(threading.Event()) if main and callable(signal.getsignal(signal.SIGINT)) \
        else nullcontext()
    with guard:
        modules = [importlib.import_module(name) for name in names]
        for name in optional:
            with suppress(ImportError):
                importlib.import_module(name)
    return modules


def deadline(time_limit: Optional[float]) -> Optional[float]:
    """The moment (``time.monotonic()``) ``time_limit`` seconds from now (``None``: never):
    a step's whole budget, started when the step starts."""
    time_limit = check_time_limit(time_limit)
    return None if time_limit is None else time.monotonic() + time_limit


def seconds_left(at: Optional[float]) -> Optional[float]:
    """The time limit of work that must end by the deadline ``at``: the seconds left, at
    least a millisecond (work started at the deadline then stops at once, as its own time
    limit stops it); ``None`` for no deadline."""
    return None if at is None else max(at - time.monotonic(), 1e-3)


def out_of_time(at: Optional[float]) -> bool:
    """Whether the deadline ``at`` has passed (never, for ``None``)."""
    return at is not None and time.monotonic() >= at


def solve_within(at: Optional[float], solve: Callable[..., "Solution"], **options) -> "Solution":
    """``solve(time_limit=<the seconds left until the deadline at>, **options)``, or, once
    ``at`` has passed, a ``Solution`` with status "time_limit" and nothing solved."""
    if at is None:
        return solve(time_limit=None, **options)
    left = at - time.monotonic()
    return solve(time_limit=left, **options) if left > 0 else Solution("time_limit")


def installed_solvers() -> List[str]:
    """cvxpy's names of the installed solvers."""
    (cp,) = import_whole("cvxpy")
    return list(cp.installed_solvers())


def check_solver(solver: str, integer: bool = True) -> str:
    """The cvxpy name (upper case) of an installed solver that may certify, else a
    ``ValueError`` naming the allowed ones. With ``integer`` it must accept binary
    variables."""
    (defines,) = import_whole("cvxpy.reductions.solvers.defines")
    if not isinstance(solver, str):
        raise ValueError(f"solver must be a solver name such as 'HIGHS', got {solver!r}")
    name, installed = solver.upper(), installed_solvers()
    exact = [s for s in installed if s in EXACT_SOLVERS and (not integer or s in defines.MI_SOLVERS)]
    if name not in installed:
        raise ValueError(f"solver {solver!r} is not installed; installed solvers: {', '.join(installed)}; "
                         f"of these, may certify: {', '.join(exact)}")
    if name not in EXACT_SOLVERS:
        raise ValueError(f"solver {solver!r} only reaches its optimum within a tolerance, so its 'optimal' "
                         f"proves nothing; a certificate needs one of {', '.join(EXACT_SOLVERS)} "
                         f"(installed: {', '.join(exact)})")
    if integer and name not in defines.MI_SOLVERS:
        raise ValueError(f"solver {solver!r} cannot solve mixed-integer programs; use one of {', '.join(exact)}")
    return name


def check_time_limit(time_limit, name: str = "time_limit") -> Optional[float]:
    """``None`` (no limit) or a finite number of seconds > 0, else a ``ValueError``."""
    if time_limit is None:
        return None
    real = isinstance(time_limit, numbers.Real) and not isinstance(time_limit, bool)
    seconds = float(time_limit) if real else math.nan
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"{name} must be a number of seconds > 0, or None for no limit; got {time_limit!r}")
    return seconds


def time_limit_options(solver: str, time_limit: Optional[float]) -> dict:
    """The cvxpy keyword arguments that give ``solver`` the time limit (``{}`` for none)."""
    if check_time_limit(time_limit) is None:
        return {}
    option = EXACT_SOLVERS.get(solver)
    if option is None:
        raise ValueError(f"solver {solver!r} cannot be given a time limit through cvxpy; pass time_limit=None "
                         f"or use one of {', '.join(s for s, o in EXACT_SOLVERS.items() if o is not None)}")
    return option(time_limit)


@dataclass
class Solution:
    """The outcome of one solve.

    ``status`` is ``"optimal"``, ``"infeasible"``, ``"time_limit"``, ``"interrupted"``
    or the solver's own word; ``value`` is the objective only when ``status`` is
    ``"optimal"`` (else ``None``); ``bound`` a proven lower bound when one is known;
    ``seconds`` the wall time of the solve.
    """
    status: str
    value: Optional[float] = None
    bound: Optional[float] = None
    seconds: float = 0.0
    x: Optional[np.ndarray] = None      # the input of the solution, flattened (when any)
    logits: Optional[np.ndarray] = None  # the program's last layer at that solution
    primal: Optional[float] = None       # objective of the best solution found (any status)


def solve_cvxpy(problem, solver: str = DEFAULT_SOLVER, integer: bool = True,
                time_limit: Optional[float] = None) -> Solution:
    """Solve a cvxpy problem (``programs.form_milp`` / ``form_lp``) with a solver that may
    certify, within ``time_limit`` seconds (``None``: no limit); the value only when the
    status is optimal. A solve through cvxpy stops on an interrupt only when the solver
    returns: give long ones a time limit."""
    (cp,) = import_whole("cvxpy")
    name, time_limit = check_solver(solver, integer=integer), check_time_limit(time_limit)
    options = time_limit_options(name, time_limit)
    start = time.perf_counter()
    try:
        with _quiet_stdout():
            problem.solve(solver=name, **options)
    except cp.error.SolverError as exc:
        seconds = time.perf_counter() - start
        # cvxpy calls a solver stopped by its time limit before any solution "failed"
        stopped = time_limit is not None and seconds >= time_limit
        return Solution("time_limit" if stopped else f"solver_error: {exc}", seconds=seconds)
    seconds = time.perf_counter() - start
    if problem.status == cp.OPTIMAL:
        return Solution("optimal", float(problem.value), float(problem.value), seconds)
    words = {cp.INFEASIBLE: "infeasible", cp.UNBOUNDED: "unbounded",
             cp.OPTIMAL_INACCURATE: "optimal_inaccurate", cp.USER_LIMIT: "time_limit"}
    return Solution(words.get(problem.status, str(problem.status)), None, None, seconds)


# --- HiGHS, driven directly -----------------------------------------------------------------


@contextmanager
def _quiet_stdout():
    """File descriptor 1 sent to /dev/null: HiGHS prints a banner when the first instance
    of a process is made, which would land in notebook outputs."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 1)
            yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def new_highs(options: Optional[dict] = None):
    """A silent ``highspy.Highs`` with ``options`` set. Never set ``"threads"`` in the
    main process: HiGHS keeps one scheduler per process, fixed at its first run, and a
    later run asking for another thread count fails (worker processes all ask for 1)."""
    (highspy,) = import_whole("highspy")
    with _quiet_stdout():
        h = highspy.Highs()
    h.silent()
    for name, value in (options or {}).items():
        if h.setOptionValue(name, value) != highspy.HighsStatus.kOk:
            raise ValueError(f"options: HiGHS has no option {name!r} taking the value {value!r} (see HiGHS's "
                             f"list of options)")
    return h


def fix_highs_threads(threads: int) -> None:
    """Start this process's HiGHS scheduler with ``threads`` threads (a tiny LP run with that
    option). For worker processes, which share the cores: every later HiGHS run of the
    process keeps that count (one that asks for another count fails)."""
    if isinstance(threads, bool) or not isinstance(threads, numbers.Integral) or threads < 1:
        raise ValueError(f"threads must be an integer >= 1, got {threads!r}")    # (no torch in the workers)
    h = new_highs({"threads": int(threads)})
    h.addVar(0.0, 1.0)
    h.run()


def _wait_interruptibly(thread: threading.Thread, stop: threading.Event) -> None:
    """Wait for ``thread``; on an interrupt, ask the run to stop (``stop``), give it a
    second and a half, and raise. (HiGHS looks at ``stop`` between its steps; a step that
    outlasts the wait, such as a long presolve, finishes in the background.)"""
    try:
        while thread.is_alive():
            thread.join(0.1)
    except KeyboardInterrupt:
        stop.set()
        thread.join(1.5)
        raise


@contextmanager
def _sigint_sets(stop: threading.Event):
    """While the block runs, SIGINT sets ``stop`` instead of raising (HiGHS then stops at
    its next check); afterwards the handler that was there gets the signal."""
    previous = signal.getsignal(signal.SIGINT)
    signal.signal(signal.SIGINT, lambda signum, frame: stop.set())
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if stop.is_set():
        if callable(previous):
            previous(signal.SIGINT, None)
        raise KeyboardInterrupt


def run_highs(h, stop: threading.Event, in_thread: bool):
    """``h.run()``, stoppable by an interrupt. ``stop``: the event that ``h``'s interrupt
    callbacks watch (see ``programs.HighsProgram``). In the main thread, a MIP
    (``in_thread``) runs in a helper thread while this one waits, so that even HiGHS's
    callback-free phases cannot delay the ``KeyboardInterrupt``; an LP runs here, with
    SIGINT turned into ``stop``. Elsewhere (worker processes ignore SIGINT; their
    parent stops them) it is a plain run."""
    stop.clear()
    main = threading.current_thread() is threading.main_thread()
    if not main or signal.getsignal(signal.SIGINT) in (signal.SIG_IGN, None):
        return h.run()
    if not in_thread:
        with _sigint_sets(stop):
            return h.run()
    result = {}
    thread = threading.Thread(target=lambda: result.setdefault("status", h.run()), daemon=True)
    thread.start()
    _wait_interruptibly(thread, stop)
    return result["status"]
