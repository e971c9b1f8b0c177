"""Solvers for the verification programs (chapter 3, "A mixed integer programming
formulation"): which ones are installed, and a direct HiGHS model of a ReLU network.

Two layers of solver code:

* ``solve_cvxpy`` solves the chapter's cvxpy problems (``form_milp`` / ``form_lp``)
  with any installed cvxpy solver: HiGHS (open source, the default), Gurobi (needs
  ``gurobipy`` and a licence), SCIP (needs ``pyscipopt``). A status other than
  optimal is returned as such, never as a number.
* ``ReluProgram`` writes the same big-M program straight into ``highspy`` (no cvxpy
  compile step), once per image and box; targets only change the objective. This is
  the fast path that ``course_utils.verify`` uses for whole certification tables.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import numpy as np

DEFAULT_SOLVER = "HIGHS"


def installed_solvers() -> List[str]:
    """cvxpy's names of the installed solvers that can handle mixed-integer LPs or LPs."""
    import cvxpy as cp
    return list(cp.installed_solvers())


def check_solver(solver: str, integer: bool = True) -> str:
    """Return the cvxpy solver name (upper case) or raise ``ValueError`` listing those
    installed. With ``integer`` the solver must accept binary variables."""
    import cvxpy as cp
    if not isinstance(solver, str):
        raise ValueError(f"solver must be a solver name such as 'HIGHS', got {solver!r}")
    name = solver.upper()
    installed = installed_solvers()
    from cvxpy.reductions.solvers import defines
    mip = [s for s in installed if s in defines.MI_SOLVERS]
    allowed = mip if integer else installed
    if name not in installed:
        raise ValueError(f"solver {solver!r} is not installed; installed solvers: {', '.join(installed)}"
                         + (f" (mixed-integer capable: {', '.join(mip)})" if integer else ""))
    if name not in allowed:
        raise ValueError(f"solver {solver!r} cannot solve mixed-integer programs; use one of {', '.join(mip)}")
    return name


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


def solve_cvxpy(problem, solver: str = DEFAULT_SOLVER, integer: bool = True, **options) -> Solution:
    """Solve a cvxpy problem and translate its status; the value only when optimal."""
    import time

    import cvxpy as cp
    name = check_solver(solver, integer=integer)
    if name == "HIGHS":
        _highspy()            # keep HiGHS's banner out of the output
    start = time.perf_counter()
    try:
        problem.solve(solver=name, **options)
    except cp.error.SolverError as exc:
        return Solution(status=f"solver_error: {exc}", seconds=time.perf_counter() - start)
    seconds = time.perf_counter() - start
    status = problem.status
    if status == cp.OPTIMAL:
        return Solution("optimal", float(problem.value), float(problem.value), seconds)
    words = {cp.INFEASIBLE: "infeasible", cp.UNBOUNDED: "unbounded",
             cp.OPTIMAL_INACCURATE: "optimal_inaccurate", cp.USER_LIMIT: "time_limit"}
    return Solution(words.get(status, str(status)), None, None, seconds)


# --- the direct HiGHS model of a ReLU network -----------------------------------------


_BANNER_SHOWN = False

CUT_CHUNK_WEIGHTS = 2_000_000
"""``ReluProgram.ideal_cuts`` handles this many weights at a time (memory stays bounded)."""

PROCESS_OPTIONS: dict = {}
"""HiGHS options every ``ReluProgram`` of this process gets. Set ``{"threads": 1}``
here *before the first solve* in a worker process (HiGHS fixes its thread pool at the
first run; a different count later makes every run fail)."""


def _highspy():
    """``highspy``, imported with its one-time start-up banner kept off stdout (it would
    land in notebook outputs)."""
    global _BANNER_SHOWN
    import highspy
    if not _BANNER_SHOWN:
        import os
        import sys
        sys.stdout.flush()
        saved = os.dup(1)
        try:
            with open(os.devnull, "w") as devnull:
                os.dup2(devnull.fileno(), 1)
                highspy.Highs()
        finally:
            os.dup2(saved, 1)
            os.close(saved)
        _BANNER_SHOWN = True
    return highspy


class ReluProgram:
    """The big-M program of a ReLU network over an input box, in HiGHS.

    Columns: the input ``x`` (n0), then for every hidden layer its activations ``a_k``,
    and for each *unstable* neuron (``l < 0 < u``) a binary ``v`` and its
    pre-activation ``p`` (so the dense row ``p = W a_prev + b`` is written once). A neuron with
    ``u <= 0`` is fixed to 0, one with ``l >= 0`` is an equality ``a = W a_prev + b``;
    only unstable neurons get the chapter's four big-M inequalities. The logits are
    not columns: the objective ``c^T (W_d a_{d-1} + b_d)`` is written on ``a_{d-1}``.

    Args:
        layers: ``[(W, b), ...]`` of every affine layer (last = logits): ``W`` a float64
            array or a ``scipy.sparse`` matrix (a lowered convolution), ``b`` an array.
        box: ``(l0, u0)`` flattened input box.
        pre_bounds: ``(l, u)`` of the pre-activations of every hidden layer.
        relax: when true the binaries become ``0 <= v <= 1`` (the chapter's LP).
        hidden_layers: build only the first this-many hidden layers (for tightening).
    """

    def __init__(self, layers: Sequence[Tuple[np.ndarray, np.ndarray]], box: Tuple[np.ndarray, np.ndarray],
                 pre_bounds: Sequence[Tuple[np.ndarray, np.ndarray]], relax: bool = False,
                 hidden_layers: Optional[int] = None):
        from scipy import sparse
        hp = _highspy()
        self.layers = [(W.tocsr().astype(float) if sparse.issparse(W) else np.asarray(W, float),
                        np.asarray(b, float)) for W, b in layers]
        self.relax = relax
        nh = len(self.layers) - 1 if hidden_layers is None else hidden_layers
        self.num_hidden = nh
        l0, u0 = (np.asarray(t, float).ravel() for t in box)
        col_lo, col_hi, integ = [l0], [u0], [np.zeros(l0.size, dtype=bool)]
        self.x_cols = np.arange(l0.size)
        ncol = l0.size
        rows_lo, rows_hi, r_idx, c_idx, vals = [], [], [], [], []
        nrow = 0
        self.a_cols, self.v_cols, self.p_cols, self.unstable, self.pre_bounds = [], [], [], [], []
        prev_cols = self.x_cols
        for k in range(nh):
            W, b = self.layers[k]
            l, u = (np.asarray(t, float).ravel() for t in pre_bounds[k])
            self.pre_bounds.append((l, u))
            n = W.shape[0]
            a_cols = ncol + np.arange(n)
            ncol += n
            inactive, active = u <= 0, l >= 0
            unstable = ~(inactive | active)
            a_hi = np.where(inactive, 0.0, np.maximum(u, 0.0))
            a_lo = np.where(active, np.maximum(l, 0.0), 0.0)
            col_lo.append(a_lo)
            col_hi.append(a_hi)
            integ.append(np.zeros(n, dtype=bool))
            iu = np.flatnonzero(unstable)
            v_cols = ncol + np.arange(iu.size)
            ncol += iu.size
            col_lo.append(np.zeros(iu.size))
            col_hi.append(np.ones(iu.size))
            integ.append(np.full(iu.size, not relax))
            prev = np.asarray(prev_cols)
            Wr = sparse.csr_matrix(W)        # rows of W, zeros dropped

            def affine_rows(neurons, own_cols):
                # one row  own_j - W_j a_prev  per neuron j (its bounds are set by the caller)
                nonlocal nrow
                sub = Wr[neurons].tocoo()
                order = np.lexsort((sub.col, sub.row))
                r_idx.append(nrow + sub.row[order]); c_idx.append(prev[sub.col[order]])
                vals.append(-sub.data[order])
                r_idx.append(nrow + np.arange(len(neurons))); c_idx.append(np.asarray(own_cols))
                vals.append(np.ones(len(neurons)))
                nrow += len(neurons)

            ia = np.flatnonzero(active)
            affine_rows(ia, a_cols[ia])                           # a - W a_prev = b
            rows_lo.append(b[ia]); rows_hi.append(b[ia])
            # each unstable neuron gets a pre-activation column p in [l, u] (one row
            # p - W a_prev = b); its ReLU rows then touch only p, a and v.
            p_cols = ncol + np.arange(iu.size)
            ncol += iu.size
            col_lo.append(l[iu]); col_hi.append(u[iu]); integ.append(np.zeros(iu.size, dtype=bool))
            affine_rows(iu, p_cols)
            rows_lo.append(b[iu]); rows_hi.append(b[iu])

            def relu_rows(cols_coefs, lo, hi):
                # one row per unstable neuron: sum of coef * column over (columns, coefs)
                nonlocal nrow
                rows = nrow + np.arange(iu.size)
                for cols, coef in cols_coefs:
                    r_idx.append(rows); c_idx.append(cols); vals.append(np.broadcast_to(coef, (iu.size,)))
                nrow += iu.size
                rows_lo.append(lo); rows_hi.append(hi)

            none, inf = np.full(iu.size, -np.inf), np.full(iu.size, np.inf)
            relu_rows([(a_cols[iu], 1.0), (p_cols, -1.0)], np.zeros(iu.size), inf)       # a >= p
            relu_rows([(a_cols[iu], 1.0), (p_cols, -1.0), (v_cols, -l[iu])], none, -l[iu])  # a <= p - l (1 - v)
            relu_rows([(a_cols[iu], 1.0), (v_cols, -u[iu])], none, np.zeros(iu.size))     # a <= u v
            self.a_cols.append(a_cols)
            self.v_cols.append(v_cols)
            self.p_cols.append(p_cols)
            self.unstable.append(iu)
            prev_cols = a_cols
        self.num_col, self.num_row = ncol, nrow

        from scipy.sparse import csc_matrix
        A = csc_matrix((np.concatenate(vals) if vals else np.zeros(0),
                        (np.concatenate(r_idx) if r_idx else np.zeros(0, int),
                         np.concatenate(c_idx) if c_idx else np.zeros(0, int))), shape=(nrow, ncol))
        lp = hp.HighsLp()
        lp.num_col_, lp.num_row_ = ncol, nrow
        lp.col_cost_ = np.zeros(ncol)
        lp.col_lower_, lp.col_upper_ = np.concatenate(col_lo), np.concatenate(col_hi)
        lp.row_lower_ = np.concatenate(rows_lo) if rows_lo else np.zeros(0)
        lp.row_upper_ = np.concatenate(rows_hi) if rows_hi else np.zeros(0)
        lp.a_matrix_.format_ = hp.MatrixFormat.kColwise
        lp.a_matrix_.start_ = A.indptr
        lp.a_matrix_.index_ = A.indices
        lp.a_matrix_.value_ = A.data
        integrality = np.concatenate(integ)
        if integrality.any():
            lp.integrality_ = [hp.HighsVarType.kInteger if i else hp.HighsVarType.kContinuous
                               for i in integrality]
        self.lp = lp
        # no "threads" option: HiGHS keeps one global scheduler per process, and asking
        # for a thread count other than the one it started with (e.g. by cvxpy's HiGHS
        # earlier in the same process) makes run() fail
        self.options = {"random_seed": 0, **PROCESS_OPTIONS}
        self.integrality = integrality
        self.prev_cols = prev_cols
        self._cost = np.zeros(ncol)
        self._offset = 0.0
        self._start = None
        self._last_status = None
        self._extra_rows: List[Tuple[np.ndarray, np.ndarray, float]] = []
        self.highs = self._fresh()

    def _fresh(self):
        """A new HiGHS instance holding this program (current objective, options)."""
        h = _highspy().Highs()
        h.silent()
        for name, value in self.options.items():
            h.setOptionValue(name, value)
        self.lp.col_cost_ = self._cost
        self.lp.offset_ = self._offset
        h.passModel(self.lp)
        for cols, coefs, upper in self._extra_rows:
            h.addRow(-math.inf, upper, len(cols), cols, coefs)
        return h

    def add_rows(self, rows) -> None:
        """Add inequalities ``coefs . columns[cols] <= upper`` (cuts) to this program, kept
        for every later solve; ``rows`` is an iterable of ``(cols, coefs, upper)``."""
        for cols, coefs, upper in rows:
            cols = np.asarray(cols, dtype=np.int32)
            coefs = np.asarray(coefs, dtype=float)
            self._extra_rows.append((cols, coefs, float(upper)))
            self.highs.addRow(-math.inf, float(upper), len(cols), cols, coefs)

    def set_option(self, name: str, value) -> None:
        """Set a HiGHS option for every later solve."""
        self.options[name] = value
        self.highs.setOptionValue(name, value)

    # --- objectives ----------------------------------------------------------------

    def set_objective(self, cols: np.ndarray, coef: np.ndarray, offset: float = 0.0) -> None:
        """Minimise ``coef . columns[cols] + offset`` (every other cost becomes 0)."""
        cost = np.zeros(self.num_col)
        cost[np.asarray(cols)] = coef
        changed = np.flatnonzero(cost != self._cost)
        if changed.size:
            self.highs.changeColsCost(changed.size, changed.astype(np.int32), cost[changed])
        self.highs.changeObjectiveOffset(float(offset))
        self._cost, self._offset = cost, float(offset)

    def set_logit_objective(self, c: np.ndarray) -> None:
        """Minimise ``c^T z_{d+1}`` where ``z_{d+1} = W_d a_{d-1} + b_d`` are the logits."""
        W, b = self.layers[self.num_hidden]
        self.set_objective(self.prev_cols, W.T @ c, float(c @ b))

    # --- cuts from the convex hull of one ReLU over a box ---------------------------

    def ideal_cuts(self, values: np.ndarray, tol: float = 1e-5) -> List[Tuple[np.ndarray, np.ndarray, float]]:
        """The most violated inequality of each unstable neuron's ideal formulation at
        the point ``values`` (all columns), for those it cuts off by more than ``tol``.

        For a neuron ``a = max(0, w . s + b)`` whose inputs ``s`` lie in a box, with
        indicator ``v``, let ``s_lo`` / ``s_hi`` be the box corner that minimises /
        maximises each ``w_i s_i``. Every subset ``I`` of the inputs gives a valid
        inequality (Anderson et al., "Strong mixed-integer programming formulations for
        trained neural networks", 2020)::

            a <= sum_{i in I} w_i (s_i - s_lo_i (1 - v)) + (b + sum_{i not in I} w_i s_hi_i) v

        and together with ``a >= 0``, ``a >= w . s + b`` and the box they describe the convex
        hull of the neuron's graph over the box, where the big-M rows (``I`` = all or none)
        only describe a relaxation of it. The
        most violated one picks ``i`` into ``I`` exactly when its term is the smaller.
        The inputs are ``x`` (first layer) or the previous layer's activations, boxed by
        their column bounds.

        Returns:
            ``[(cols, coefs, upper), ...]``, rows ``coefs . columns[cols] <= upper``.
        """
        values = np.asarray(values, float)
        lo, hi = np.asarray(self.lp.col_lower_), np.asarray(self.lp.col_upper_)
        cuts = []
        for k in range(self.num_hidden):
            W, b = self.layers[k]
            cols = self.x_cols if k == 0 else self.a_cols[k - 1]
            s = values[cols]
            # neurons in chunks of about two million weights (a lowered convolution is wide)
            step = max(1, CUT_CHUNK_WEIGHTS // max(1, cols.size))
            for start in range(0, self.unstable[k].size, step):
                q_range = np.arange(start, min(start + step, self.unstable[k].size))
                iu = self.unstable[k][q_range]
                Wu = W[iu].toarray() if hasattr(W, "tocsr") else W[iu]
                s_lo = np.where(Wu >= 0, lo[cols], hi[cols])
                s_hi = np.where(Wu >= 0, hi[cols], lo[cols])
                v = values[self.v_cols[k][q_range]][:, None]
                a = values[self.a_cols[k][iu]]
                inside = Wu * (s - s_lo * (1 - v))        # term of i when i is in I
                outside = Wu * s_hi * v                   # term of i when it is not
                pick = inside < outside
                rhs_at_point = np.where(pick, inside, outside).sum(1) + b[iu] * v[:, 0]
                for r in np.flatnonzero(a > rhs_at_point + tol):
                    I, w = pick[r], Wu[r]
                    v_coef = -(w[I] @ s_lo[r, I] + w[~I] @ s_hi[r, ~I] + b[iu[r]])
                    c = np.concatenate([[self.a_cols[k][iu[r]]], cols[I], [self.v_cols[k][q_range[r]]]])
                    coef = np.concatenate([[1.0], -w[I], [v_coef]])
                    keep = coef != 0
                    cuts.append((c[keep].astype(np.int32), coef[keep], float(-(w[I] @ s_lo[r, I]))))
        return cuts

    def solve_with_cuts(self, rounds: int = 8, stop_above: float = 0.0, time_limit: float = math.inf,
                        give_up: bool = True) -> Tuple[Solution, List[float], List[int]]:
        """Solve this LP relaxation, then add ``ideal_cuts`` at its optimum and solve again,
        up to ``rounds`` times. It stops early when no cut is violated, once the value is
        above ``stop_above`` (the question is settled), and, with ``give_up``, when the
        rounds left could not close the gap to ``stop_above`` even at the last round's gain
        (gains only shrink). The cuts stay in the program.

        Returns:
            ``(solution, values, cuts)``: the last solution, the LP minimum before any cut
            and after each round, and the number of cuts each round added.
        """
        if not self.relax:
            raise ValueError("solve_with_cuts needs the LP relaxation (relax=True)")
        s = self.solve(time_limit=time_limit)
        values, added = [s.value], []
        for _ in range(rounds):
            if s.status != "optimal" or s.value > stop_above:
                break
            cuts = self.ideal_cuts(np.asarray(self.highs.getSolution().col_value))
            if not cuts:
                break
            self.add_rows(cuts)
            added.append(len(cuts))
            s = self.solve(time_limit=time_limit)
            if s.status != "optimal":
                break
            values.append(s.value)
            rounds_left = rounds - len(added)
            if give_up and len(values) >= 3 and rounds_left * (values[-1] - values[-2]) < stop_above - values[-1]:
                break
        return s, values, added

    # --- solving -------------------------------------------------------------------

    def start_from(self, x: np.ndarray) -> None:
        """Give the solver the point of input ``x`` (e.g. from PGD) as a starting solution."""
        hp = _highspy()
        values = np.zeros(self.num_col)
        values[self.x_cols] = x
        a = np.asarray(x, float)
        for k in range(self.num_hidden):
            W, b = self.layers[k]
            pre = W @ a + b
            a = np.maximum(pre, 0.0)
            values[self.a_cols[k]] = a
            values[self.v_cols[k]] = (pre[self.unstable[k]] > 0).astype(float)
            values[self.p_cols[k]] = pre[self.unstable[k]]
        self._start = values

    def solve(self, time_limit: float = math.inf, stop_at_sign: bool = False) -> Solution:
        """Run HiGHS and translate its status.

        With ``stop_at_sign`` a MIP only decides the sign of its minimum: HiGHS gets
        the cutoff ``objective_bound = 0`` and is interrupted at the first solution
        below 0; the status is then ``"infeasible"`` (minimum > 0: robust) or
        ``"interrupted"`` with ``primal < 0`` (an attack), or a time limit."""
        import time
        hp = _highspy()
        mip = bool(self.integrality.any()) and not self.relax
        if mip or self._last_status in ("time_limit", "interrupted"):
            # a fresh instance per MIP solve: an interrupted HiGHS MIP (or any run that
            # hit its time limit) leaves state behind that makes the next run() stop at once
            self.highs = self._fresh()
        h = self.highs
        h.setOptionValue("time_limit", float(time_limit))
        if stop_at_sign and mip:
            # only "is there a point with objective <= 0?": every node whose bound is
            # above 0 is cut off, and "infeasible" means the objective is > 0 everywhere
            h.setOptionValue("objective_bound", 0.0)
            # presolve removes next to nothing from these programs and costs about a
            # sixth of a sign decision (measured on the small net)
            h.setOptionValue("presolve", "off")
            self._start = None   # a start with a positive objective is of no use here
        if mip and self._start is not None:
            sol = hp.HighsSolution()
            sol.col_value = list(self._start)
            sol.value_valid = True
            h.setSolution(sol)
            self._start = None
        sign = {}

        def interrupt(event):
            if event.data_out.mip_primal_bound < 0 or event.data_out.mip_dual_bound > 0:
                sign["primal"] = event.data_out.mip_primal_bound
                sign["dual"] = event.data_out.mip_dual_bound
                event.interrupt()

        if stop_at_sign and mip:
            h.cbMipInterrupt.subscribe(interrupt)
        start = time.perf_counter()
        try:
            run_status = h.run()
        finally:
            if stop_at_sign and mip:
                h.cbMipInterrupt.unsubscribe(interrupt)
        seconds = time.perf_counter() - start
        status = h.getModelStatus()
        M = hp.HighsModelStatus
        info = h.getInfo()
        bound = info.mip_dual_bound if mip else None
        has_sol = info.primal_solution_status == 2  # kSolutionStatusFeasible
        if status == M.kOptimal:
            word = "optimal"
        elif status == M.kInfeasible:
            word = "infeasible"
        elif status == M.kTimeLimit:
            word = "time_limit"
        elif status == M.kInterrupt:
            word = "interrupted"
        elif run_status == hp.HighsStatus.kError:
            word = "solver_error"
        else:
            word = h.modelStatusToString(status)
        self.last_sign = sign
        self._last_status = word
        out = Solution(word, None, bound if (bound is not None and math.isfinite(bound)) else None, seconds)
        if has_sol:
            col = np.asarray(h.getSolution().col_value)
            out.x = col[self.x_cols]
            a = col[self.prev_cols]
            if self.num_hidden == len(self.layers) - 1:
                W, b = self.layers[-1]
                out.logits = W @ a + b
            if word == "optimal":
                out.value = float(info.objective_function_value)
                if not mip:
                    out.bound = out.value
            out.primal = float(info.objective_function_value)
        if "dual" in sign:
            # the callback saw the sign settled: keep the proven bound it saw
            out.bound = max(out.bound if out.bound is not None else -math.inf, sign["dual"])
        return out


# --- several sign decisions at once, in worker processes ------------------------------

_POOL = None
_POOL_SIZE = 0


def _pool_init() -> None:
    PROCESS_OPTIONS["threads"] = 1          # each worker gets one core's worth


def _decide_job(args) -> "Solution":
    """One MILP sign decision in a worker: build the program, solve with the cutoff at 0."""
    layers, box, pre_bounds, c, time_limit, options = args
    prog = ReluProgram(layers, box, pre_bounds, relax=False)
    for name, value in options.items():
        prog.set_option(name, value)
    prog.set_logit_objective(c)
    return prog.solve(time_limit=time_limit, stop_at_sign=True)


def decide_in_parallel(layers, box, pre_bounds, objectives: Sequence[np.ndarray], time_limit: float,
                       options: dict, workers: int) -> List["Solution"]:
    """Decide the sign of ``min c^T z_{d+1}`` for each ``c`` in ``objectives``, one MILP
    per worker process (a pool of ``workers`` processes, started once and kept). The
    workers import only numpy and highspy, so the first call costs about a second and
    later ones almost nothing."""
    global _POOL, _POOL_SIZE
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    if _POOL is None or _POOL_SIZE != workers:
        if _POOL is not None:
            _POOL.shutdown()
        _POOL = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                                    initializer=_pool_init)
        _POOL_SIZE = workers
        import atexit
        atexit.register(_POOL.shutdown)
    jobs = [(layers, box, pre_bounds, np.asarray(c, float), float(time_limit), dict(options)) for c in objectives]
    return list(_POOL.map(_decide_job, jobs))
