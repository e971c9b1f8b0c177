"""The verification programs of a ReLU network over an input box (chapter 3, "A mixed
integer programming formulation" and "Convex relaxations"; notebooks 06 and 07).

Two writers, one set of ReLU rows (``relu.relu_bigm_rows``):

``form_milp(model, c, initial_bound, bounds)``  the chapter's MILP in cvxpy: minimise ``c^T z_{d+1}``
``form_lp(model, c, initial_bound, bounds)``    the same with ``0 <= v <= 1``
``build_program(layers, box, pre_bounds)``      the same program as plain arrays, for HiGHS

and what HiGHS does with the second: ``hull_cuts`` separates cuts from each ReLU's
convex hull over its input box, ``HighsProgram`` is a thin wrapper that solves it (an
objective, starting points, added cuts, a sign-only mode), ``solve_with_cuts`` alternates
the two, and ``decide_sign`` is one sign decision for a worker process.

Only numpy, scipy and highspy are needed here (worker processes start fast); the
model-facing ``form_milp`` / ``form_lp`` lower the model first.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Tuple

import numpy as np
from scipy import sparse

from .relu import relu_bigm_rows, relu_hull_cuts, relu_phases
from .solvers import Solution, check_time_limit, new_highs, run_highs

Layers = Sequence[Tuple[object, np.ndarray]]
"""``[(W, b), ...]`` of every affine layer, the last giving the logits (``LoweredNetwork.matrices()``)."""

Cut = Tuple[np.ndarray, np.ndarray, float]
"""A row ``coefs . columns[cols] <= upper`` as ``(cols, coefs, upper)``."""

CUT_CHUNK_WEIGHTS = 2_000_000
"""``hull_cuts`` handles this many weights at a time (memory stays bounded)."""

QUIET_MIP_OPTIONS = {
    "mip_heuristic_effort": 0.0, "mip_heuristic_run_feasibility_jump": False,
    "mip_heuristic_run_root_reduced_cost": False, "mip_heuristic_run_rins": False,
    "mip_heuristic_run_rens": False, "mip_allow_cut_separation_at_nodes": False, "mip_pscost_minreliable": 1}
"""HiGHS options that pay off on these small MILPs: the sub-MIP heuristics (RINS, RENS,
feasibility jump) cost far more than they save once PGD has given a starting solution;
cuts only at the root; strong branching trusted after one observation per variable (on
the small net's hardest sign decision, image 0, ε 0.1, target 0: 2.2 s instead of 3.7 s)."""


# --- the program as arrays ------------------------------------------------------------------


@dataclass
class ReluProgram:
    """The big-M program of a ReLU network over an input box, as arrays.

    Columns: the input ``x`` (``x_cols``), then per hidden layer ``k`` its activations
    (``a_cols[k]``) and, for each unstable neuron (``unstable[k]``, ``l < 0 < u``), a
    binary ``v`` (``v_cols[k]``) and its pre-activation ``p`` (``p_cols[k]``: the dense row
    ``p = W a_prev + b`` is written once). A neuron with ``u <= 0`` is fixed to 0, one with
    ``l >= 0`` is the equality ``a = W a_prev + b``; unstable ones get the big-M rows. The
    logits are not columns: ``logit_objective`` writes ``c^T (W_d a_{d-1} + b_d)`` on the
    last activations (``prev_cols``). ``A`` is ``(num_row, num_col)`` CSC.
    """
    layers: List[Tuple[object, np.ndarray]]
    relax: bool
    num_hidden: int
    col_lower: np.ndarray
    col_upper: np.ndarray
    integrality: np.ndarray
    A: sparse.csc_matrix
    row_lower: np.ndarray
    row_upper: np.ndarray
    x_cols: np.ndarray
    a_cols: List[np.ndarray]
    v_cols: List[np.ndarray]
    p_cols: List[np.ndarray]
    unstable: List[np.ndarray]

    @property
    def num_col(self) -> int:
        return self.col_lower.size

    @property
    def prev_cols(self) -> np.ndarray:
        return self.a_cols[-1] if self.a_cols else self.x_cols


@dataclass
class _Builder:
    """Columns and sparse rows, appended in order."""
    col_lower: list = field(default_factory=list)
    col_upper: list = field(default_factory=list)
    integer: list = field(default_factory=list)
    triplets: list = field(default_factory=list)
    row_lower: list = field(default_factory=list)
    row_upper: list = field(default_factory=list)
    num_col: int = 0
    num_row: int = 0

    def columns(self, lower: np.ndarray, upper: np.ndarray, integer: bool = False) -> np.ndarray:
        self.col_lower.append(np.asarray(lower, float))
        self.col_upper.append(np.asarray(upper, float))
        self.integer.append(np.full(len(lower), integer))
        self.num_col += len(lower)
        return np.arange(self.num_col - len(lower), self.num_col)

    def rows(self, terms, lower: np.ndarray, upper: np.ndarray) -> None:
        """One row per entry of ``lower``: ``sum_terms coef * column`` with ``terms`` a list of
        ``(row offsets, columns, coefs)``."""
        for rows, cols, coefs in terms:
            self.triplets.append((self.num_row + np.asarray(rows), np.asarray(cols),
                                  np.broadcast_to(np.asarray(coefs, float), np.shape(rows))))
        self.row_lower.append(np.asarray(lower, float))
        self.row_upper.append(np.asarray(upper, float))
        self.num_row += len(lower)

    def affine_rows(self, W, neurons: np.ndarray, prev_cols: np.ndarray, own_cols: np.ndarray,
                    b: np.ndarray) -> None:
        """``own_j - W_j a_prev = b_j`` for each neuron ``j`` of ``neurons``."""
        sub = W[neurons].tocoo()
        order = np.lexsort((sub.col, sub.row))
        n = len(neurons)
        self.rows([(sub.row[order], prev_cols[sub.col[order]], -sub.data[order]), (np.arange(n), own_cols, 1.0)],
                  b[neurons], b[neurons])


def _hidden_layer(builder: _Builder, W, b: np.ndarray, l: np.ndarray, u: np.ndarray, prev_cols: np.ndarray,
                  relax: bool):
    """Columns and rows of one hidden layer; returns its ``(a_cols, v_cols, p_cols, unstable)``."""
    inactive, active, unstable = relu_phases(l, u)
    a_cols = builder.columns(np.where(active, np.maximum(l, 0.0), 0.0),
                             np.where(inactive, 0.0, np.maximum(u, 0.0)))
    iu = np.flatnonzero(unstable)
    v_cols = builder.columns(np.zeros(iu.size), np.ones(iu.size), integer=not relax)
    Wr = sparse.csr_matrix(W)                         # rows of W, zeros dropped
    ia = np.flatnonzero(active)
    builder.affine_rows(Wr, ia, prev_cols, a_cols[ia], b)               # a - W a_prev = b
    p_cols = builder.columns(l[iu], u[iu])
    builder.affine_rows(Wr, iu, prev_cols, p_cols, b)                   # p - W a_prev = b
    index = np.arange(iu.size)
    for row in relu_bigm_rows(l[iu], u[iu]):
        terms = [(index, cols, coef) for cols, coef in ((a_cols[iu], row.a_coef), (p_cols, row.p_coef),
                                                         (v_cols, row.v_coef)) if np.any(coef != 0)]
        builder.rows(terms, row.lower, row.upper)
    return a_cols, v_cols, p_cols, iu


def build_program(layers: Layers, box: Tuple[np.ndarray, np.ndarray],
                  pre_bounds: Sequence[Tuple[np.ndarray, np.ndarray]], relax: bool = False,
                  hidden_layers: Optional[int] = None) -> ReluProgram:
    """The big-M program of the network ``layers`` (see ``ReluProgram``).

    Args:
        layers: ``[(W, b), ...]`` of every affine layer (last = logits): ``W`` a float64
            array or a ``scipy.sparse`` matrix (a lowered convolution).
        box: ``(l0, u0)`` flattened input box.
        pre_bounds: ``(l, u)`` of the pre-activations of every hidden layer.
        relax: the LP relaxation (``0 <= v <= 1``) instead of binaries.
        hidden_layers: build only the first this-many hidden layers (bound tightening).
    """
    layers = [(W.tocsr().astype(float) if sparse.issparse(W) else np.asarray(W, float), np.asarray(b, float))
              for W, b in layers]
    num_hidden = len(layers) - 1 if hidden_layers is None else hidden_layers
    _check_program_args(layers, box, pre_bounds, num_hidden)
    builder = _Builder()
    x_cols = builder.columns(*(np.asarray(t, float).ravel() for t in box))
    prev, per_layer = x_cols, []
    for k in range(num_hidden):
        l, u = (np.asarray(t, float).ravel() for t in pre_bounds[k])
        per_layer.append(_hidden_layer(builder, *layers[k], l, u, prev, relax))
        prev = per_layer[-1][0]
    rows, cols, vals = (np.concatenate([t[i] for t in builder.triplets]) if builder.triplets
                        else np.zeros(0, int if i < 2 else float) for i in range(3))
    A = sparse.csc_matrix((vals, (rows, cols)), shape=(builder.num_row, builder.num_col))
    a_cols, v_cols, p_cols, unstable = (list(t) for t in zip(*per_layer)) if per_layer else ([], [], [], [])
    cat = lambda parts: np.concatenate(parts) if parts else np.zeros(0)
    return ReluProgram(layers, relax, num_hidden, cat(builder.col_lower), cat(builder.col_upper),
                       np.concatenate(builder.integer).astype(bool), A, cat(builder.row_lower),
                       cat(builder.row_upper), x_cols, a_cols, v_cols, p_cols, unstable)


def _check_program_args(layers, box, pre_bounds, num_hidden: int) -> None:
    """``build_program``'s box (``layers[0]``'s inputs) and bounds (one pair per hidden
    layer, each neuron's): finite where they must be, lower <= upper."""
    def pair(bounds, n: int, name: str, finite: bool) -> None:
        l, u = (np.asarray(t, float).ravel() for t in bounds)
        if l.shape != (n,) or u.shape != (n,):
            raise ValueError(f"{name} must be a pair (l, u) of {n} numbers each, got {l.size} and {u.size}")
        if np.isnan(l).any() or np.isnan(u).any() or (finite and not (np.isfinite(l).all() and np.isfinite(u).all())):
            raise ValueError(f"{name} must be finite (no nan or inf)")
        if (l > u).any():
            raise ValueError(f"{name} is empty: l > u somewhere; need l <= u")

    pair(box, layers[0][0].shape[1], "box", True)
    if len(pre_bounds) < num_hidden:
        raise ValueError(f"pre_bounds must hold one (l, u) per hidden layer ({num_hidden}), got {len(pre_bounds)}")
    for k in range(num_hidden):
        pair(pre_bounds[k], layers[k][0].shape[0], f"pre_bounds[{k}]", True)


def logit_objective(program: ReluProgram, c: np.ndarray) -> Tuple[np.ndarray, np.ndarray, float]:
    """``c^T z_{d+1}``, with ``z_{d+1} = W_d a_{d-1} + b_d`` the logits, as ``(cols, coefs, offset)``."""
    W, b = program.layers[program.num_hidden]
    return program.prev_cols, W.T @ c, float(c @ b)


def start_values(program: ReluProgram, x: np.ndarray) -> np.ndarray:
    """Every column's value at the network's own computation from input ``x`` (a MIP start)."""
    values = np.zeros(program.num_col)
    values[program.x_cols] = x
    a = np.asarray(x, float)
    for k in range(program.num_hidden):
        W, b = program.layers[k]
        pre = W @ a + b
        a = np.maximum(pre, 0.0)
        values[program.a_cols[k]] = a
        values[program.v_cols[k]] = (pre[program.unstable[k]] > 0).astype(float)
        values[program.p_cols[k]] = pre[program.unstable[k]]
    return values


# --- cuts from the convex hull of each ReLU over its input box --------------------------


def hull_cuts(program: ReluProgram, values: np.ndarray, tol: float = 1e-5,
              chunk_weights: int = CUT_CHUNK_WEIGHTS) -> List[Cut]:
    """The most violated inequality of each unstable neuron's convex hull over its input
    box (``relu.relu_hull_cuts``) at the point ``values`` (all columns), for those it
    cuts off by more than ``tol``. A neuron's inputs are ``x`` (first layer) or the
    previous layer's activations, boxed by their column bounds. Neurons are handled
    about ``chunk_weights`` weights at a time (a lowered convolution is wide)."""
    values = np.asarray(values, float)
    if values.shape != (program.num_col,):
        raise ValueError(f"values must hold every column of the program ({program.num_col}), got shape {values.shape}")
    cuts = []
    for k in range(program.num_hidden):
        W, b = program.layers[k]
        cols = program.x_cols if k == 0 else program.a_cols[k - 1]
        step = max(1, chunk_weights // max(1, cols.size))
        for start in range(0, program.unstable[k].size, step):
            q = np.arange(start, min(start + step, program.unstable[k].size))
            iu = program.unstable[k][q]
            Wu = W[iu].toarray() if sparse.issparse(W) else W[iu]
            found = relu_hull_cuts(Wu, b[iu], values[cols], program.col_lower[cols], program.col_upper[cols],
                                   values[program.v_cols[k][q]], values[program.a_cols[k][iu]], tol)
            for r, I, v_coef, upper in found:
                c = np.concatenate([[program.a_cols[k][iu[r]]], cols[I], [program.v_cols[k][q[r]]]])
                coef = np.concatenate([[1.0], -Wu[r, I], [v_coef]])
                keep = coef != 0
                cuts.append((c[keep].astype(np.int32), coef[keep], upper))
    return cuts


# --- HiGHS: a thin wrapper ------------------------------------------------------------------


class HighsProgram:
    """A ``ReluProgram`` loaded into HiGHS: set an objective, give a start, add cuts, solve.

    ``options``: HiGHS options for every solve (``QUIET_MIP_OPTIONS`` suit MILPs).
    ``cuts``: the rows added so far (``add_rows``), kept for every later solve. A MIP
    gets a fresh HiGHS instance per solve (an interrupted or time-limited HiGHS MIP
    leaves state behind that stops the next run at once)."""

    def __init__(self, program: ReluProgram, options: Optional[dict] = None):
        self.program = program
        self.options = {"random_seed": 0, **(options or {})}
        self.cuts: List[Cut] = []
        self.mip = bool(program.integrality.any())
        self._cost, self._offset, self._start, self._stale = np.zeros(program.num_col), 0.0, None, False
        self._stop = threading.Event()
        self.highs = self._fresh()

    def _fresh(self):
        """A new HiGHS instance holding the program, its cuts and the current objective."""
        import highspy as hp
        p = self.program
        lp = hp.HighsLp()
        lp.num_col_, lp.num_row_ = p.num_col, p.A.shape[0]
        lp.col_cost_, lp.offset_ = self._cost, self._offset
        lp.col_lower_, lp.col_upper_ = p.col_lower, p.col_upper
        lp.row_lower_, lp.row_upper_ = p.row_lower, p.row_upper
        lp.a_matrix_.format_ = hp.MatrixFormat.kColwise
        lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = p.A.indptr, p.A.indices, p.A.data
        if self.mip:
            lp.integrality_ = [hp.HighsVarType.kInteger if i else hp.HighsVarType.kContinuous
                               for i in p.integrality]
        h = new_highs(self.options)
        h.passModel(lp)
        for cols, coefs, upper in self.cuts:
            h.addRow(-math.inf, upper, len(cols), cols, coefs)
        watch = lambda event: event.interrupt() if self._stop.is_set() else None
        for callback in (h.cbSimplexInterrupt, h.cbIpmInterrupt, h.cbMipInterrupt):
            callback.subscribe(watch)
        return h

    def with_binding_cuts(self, tol: float = 1e-7) -> "HighsProgram":
        """A new program with the same objective and only the cuts that hold with equality
        (within ``tol``) at the last solution: the same LP optimum, a smaller LP."""
        rows = np.asarray(self.highs.getSolution().row_value)[self.program.A.shape[0]:]
        copy = HighsProgram(self.program, self.options)
        copy.set_objective(np.arange(self.program.num_col), self._cost, self._offset)
        copy.add_rows([c for c, value in zip(self.cuts, rows) if value >= c[2] - tol * (1 + abs(c[2]))])
        return copy

    def add_rows(self, rows: Sequence[Cut]) -> None:
        """Add inequalities ``coefs . columns[cols] <= upper`` (cuts), kept for every later solve."""
        for cols, coefs, upper in rows:
            cut = (np.asarray(cols, dtype=np.int32), np.asarray(coefs, dtype=float), float(upper))
            self.cuts.append(cut)
            self.highs.addRow(-math.inf, cut[2], len(cut[0]), cut[0], cut[1])

    def set_objective(self, cols: np.ndarray, coef: np.ndarray, offset: float = 0.0) -> None:
        """Minimise ``coef . columns[cols] + offset`` (every other cost becomes 0)."""
        cost = np.zeros(self.program.num_col)
        cost[np.asarray(cols)] = coef
        changed = np.flatnonzero(cost != self._cost)
        if changed.size:
            self.highs.changeColsCost(changed.size, changed.astype(np.int32), cost[changed])
        self.highs.changeObjectiveOffset(float(offset))
        self._cost, self._offset = cost, float(offset)

    def set_logit_objective(self, c: np.ndarray) -> None:
        """Minimise ``c^T z_{d+1}``, the logits' combination ``c``."""
        n = self.program.layers[self.program.num_hidden][0].shape[0]
        if np.shape(c) != (n,) or not np.isfinite(np.asarray(c, float)).all():
            raise ValueError(f"c must be {n} finite numbers, one per logit; got shape {np.shape(c)}")
        self.set_objective(*logit_objective(self.program, np.asarray(c, float)))

    def start_from(self, x: np.ndarray) -> None:
        """Give the next MIP solve the network's own point at input ``x`` (e.g. from PGD)."""
        if np.shape(x) != (self.program.x_cols.size,):
            raise ValueError(f"x must be a flattened input of {self.program.x_cols.size} numbers, got shape {np.shape(x)}")
        self._start = start_values(self.program, x)

    def column_values(self) -> np.ndarray:
        """Every column at the last solution."""
        return np.asarray(self.highs.getSolution().col_value)

    def solve(self, time_limit: Optional[float] = None, stop_at_sign: bool = False) -> Solution:
        """Run HiGHS (``time_limit`` seconds, ``None`` for no limit) and translate its status.

        With ``stop_at_sign`` a MIP only decides the sign of its minimum: HiGHS gets the
        cutoff ``objective_bound = 0`` and is interrupted at the first solution below 0 or
        once its bound is above 0; the status is then ``"infeasible"`` (minimum > 0:
        robust) or ``"interrupted"`` with ``primal < 0`` (an attack), or a time limit.
        An interrupt (SIGINT) stops the run and raises ``KeyboardInterrupt``."""
        time_limit = check_time_limit(time_limit)
        if self.mip or self._stale:
            self.highs = self._fresh()
        h = self.highs
        h.setOptionValue("time_limit", math.inf if time_limit is None else float(time_limit))
        sign = _sign_watch(h) if (stop_at_sign and self.mip) else None
        if self.mip and self._start is not None and sign is None:
            _give_start(h, self._start)
        self._start = None
        start = time.perf_counter()
        run_status = run_highs(h, self._stop, in_thread=self.mip)
        out = _solution(h, self.program, self.mip, run_status, time.perf_counter() - start, sign)
        self._stale = out.status in ("time_limit", "interrupted")
        return out


def _give_start(h, values: np.ndarray) -> None:
    import highspy as hp
    sol = hp.HighsSolution()
    sol.col_value = list(values)
    sol.value_valid = True
    h.setSolution(sol)


def _sign_watch(h) -> dict:
    """Cut off at 0 and stop as soon as the sign of the minimum is known; returns the dict
    in which the watcher leaves the bounds it saw."""
    sign: dict = {}

    def watch(event):
        if event.data_out.mip_primal_bound < 0 or event.data_out.mip_dual_bound > 0:
            sign["primal"], sign["dual"] = event.data_out.mip_primal_bound, event.data_out.mip_dual_bound
            event.interrupt()

    # only "is there a point with objective <= 0?": every node whose bound is above 0 is
    # cut off, and "infeasible" means the objective is > 0 everywhere. Presolve removes
    # next to nothing from these programs and costs about a sixth of a sign decision.
    h.setOptionValue("objective_bound", 0.0)
    h.setOptionValue("presolve", "off")
    h.cbMipInterrupt.subscribe(watch)
    return sign


def _solution(h, program: ReluProgram, mip: bool, run_status, seconds: float, sign: Optional[dict]) -> Solution:
    """HiGHS's answer as a ``Solution`` (the value only when optimal)."""
    import highspy as hp
    M = hp.HighsModelStatus
    status = h.getModelStatus()
    words = {M.kOptimal: "optimal", M.kInfeasible: "infeasible", M.kTimeLimit: "time_limit",
             M.kInterrupt: "interrupted"}
    word = words.get(status, "solver_error" if run_status == hp.HighsStatus.kError else h.modelStatusToString(status))
    info = h.getInfo()
    bound = info.mip_dual_bound if mip else None
    out = Solution(word, None, bound if (bound is not None and math.isfinite(bound)) else None, seconds)
    if info.primal_solution_status == 2:          # kSolutionStatusFeasible
        col = np.asarray(h.getSolution().col_value)
        out.x = col[program.x_cols]
        if program.num_hidden == len(program.layers) - 1:
            W, b = program.layers[-1]
            out.logits = W @ col[program.prev_cols] + b
        if word == "optimal":
            out.value = float(info.objective_function_value)
            out.bound = out.bound if mip else out.value
        out.primal = float(info.objective_function_value)
    if sign and "dual" in sign:
        # the watcher saw the sign settled: keep the proven bound it saw
        out.bound = max(out.bound if out.bound is not None else -math.inf, sign["dual"])
    return out


def solve_with_cuts(program: HighsProgram, rounds: int = 8, stop_above: float = 0.0,
                    time_limit: Optional[float] = None, give_up: bool = True) -> Tuple[Solution, List[float], List[int]]:
    """Solve an LP relaxation, then add ``hull_cuts`` at its optimum and solve again, up to
    ``rounds`` times (notebook 07). It stops early when no cut is violated, once the value
    is above ``stop_above`` (the question is settled), and, with ``give_up``, when the
    rounds left could not close the gap to ``stop_above`` even at the last round's gain
    (gains only shrink). The cuts stay in the program.

    Returns:
        ``(solution, values, cuts)``: the last solution, the LP minimum before any cut and
        after each round, and the number of cuts each round added.
    """
    if program.mip:
        raise ValueError("solve_with_cuts needs the LP relaxation (build_program(..., relax=True))")
    from .threat import check_count      # here: worker processes import this module without torch
    rounds, time_limit = check_count(rounds, "rounds", 0), check_time_limit(time_limit)
    s = program.solve(time_limit=time_limit)
    values, added = [s.value], []
    for _ in range(rounds):
        if s.status != "optimal" or s.value > stop_above:
            break
        cuts = hull_cuts(program.program, program.column_values())
        if not cuts:
            break
        program.add_rows(cuts)
        added.append(len(cuts))
        s = program.solve(time_limit=time_limit)
        if s.status != "optimal":
            break
        values.append(s.value)
        rounds_left = rounds - len(added)
        if give_up and len(values) >= 3 and rounds_left * (values[-1] - values[-2]) < stop_above - values[-1]:
            break
    return s, values, added


def decide_sign(job) -> Solution:
    """One MILP sign decision (for a worker process): ``job`` is ``(layers, box,
    pre_bounds, c, time_limit, options)``; builds the program and solves it with the
    cutoff at 0 (``HighsProgram.solve(stop_at_sign=True)``)."""
    layers, box, pre_bounds, c, time_limit, options = job
    program = HighsProgram(build_program(layers, box, pre_bounds), options)
    program.set_logit_objective(c)
    return program.solve(time_limit=time_limit, stop_at_sign=True)


# --- the chapter's cvxpy programs -----------------------------------------------------------


def cvxpy_program(layers: Layers, c, box: Tuple[np.ndarray, np.ndarray],
                  pre_bounds: Sequence[Tuple[np.ndarray, np.ndarray]], relax: bool, stable_binaries: bool = False):
    """``form_milp`` / ``form_lp`` on an already lowered network (``layers`` as in
    ``build_program``, flattened ``box``, numpy ``pre_bounds`` per hidden layer)."""
    import cvxpy as cp
    W, b = [w for w, _ in layers], [np.asarray(v, float) for _, v in layers]
    try:
        c = np.asarray(c, dtype=float).reshape(-1)
    except (TypeError, ValueError):
        raise ValueError(f"c must be numbers, one per logit ({W[-1].shape[0]}), got {c!r}") from None
    if c.shape[0] != W[-1].shape[0] or not np.isfinite(c).all():
        raise ValueError(f"c must have one finite entry per logit ({W[-1].shape[0]}), got {c.shape[0]}")
    d = len(W) - 1
    z = [cp.Variable(W[0].shape[1])] + [cp.Variable(w.shape[0]) for w in W]
    v, constraints = [], [z[0] >= box[0], z[0] <= box[1]]
    for i in range(d):
        l, u = (np.asarray(t, float).ravel() for t in pre_bounds[i])
        pre = W[i] @ z[i] + b[i]
        inactive, active, unstable = relu_phases(l, u)
        if stable_binaries:
            idx = np.arange(W[i].shape[0])              # the chapter: a binary for every neuron
        else:
            idx = np.flatnonzero(unstable)              # stable neurons are fixed, no binary
            off, on = np.flatnonzero(inactive), np.flatnonzero(active)
            constraints += [z[i + 1][off] == 0] if off.size else []
            constraints += [z[i + 1][on] == pre[on]] if on.size else []
        v.append(cp.Variable(idx.size, boolean=not relax))
        if idx.size:
            constraints += _cvxpy_relu(z[i + 1][idx], pre[idx], v[-1], l[idx], u[idx], relax)
    constraints.append(z[d + 1] == W[d] @ z[d] + b[d])
    return cp.Problem(cp.Minimize(c @ z[d + 1]), constraints), (z, v)


def _cvxpy_relu(a, p, v, l: np.ndarray, u: np.ndarray, relax: bool) -> list:
    """The big-M rows of ``relu.relu_bigm_rows`` as cvxpy constraints, with ``a >= 0`` (and
    ``0 <= v <= 1`` when relaxed)."""
    import cvxpy as cp
    constraints = [a >= 0] + ([v >= 0, v <= 1] if relax else [])
    for row in relu_bigm_rows(l, u):
        expr = row.a_coef * a + row.p_coef * p + cp.multiply(row.v_coef, v)
        if np.isfinite(row.lower).all():
            constraints.append(expr >= row.lower)
        if np.isfinite(row.upper).all():
            constraints.append(expr <= row.upper)
    return constraints


def _chapter_program(model, c, initial_bound, bounds, relax: bool, stable_binaries: bool):
    from .bounds import check_box
    from .guard import check_network
    from .network import lower
    from .threat import check_flag
    check_network(model)
    stable_binaries = check_flag(stable_binaries, "stable_binaries")
    l0, u0 = check_box(initial_bound)
    if l0.shape[0] != 1:
        raise ValueError(f"initial_bound must hold one box (batch 1), got a batch of {l0.shape[0]}")
    if len(bounds) != len(model):
        raise ValueError(f"bounds must have one (l, u) per layer of the model ({len(model)}), got {len(bounds)}")
    net = lower(model, l0.shape[1:])
    box = tuple(t[0].reshape(-1).double().cpu().numpy() for t in (l0, u0))
    return cvxpy_program(net.matrices(), c, box, net.hidden_bounds(bounds), relax, stable_binaries)


def form_milp(model, c, initial_bound, bounds, stable_binaries: bool = False):
    """The chapter's mixed-integer program (chapter 3, "A final integer programming
    formulation"; notebook 06) as a cvxpy problem.

    Minimise ``c^T z_{d+1}`` over ``l0 <= z_1 <= u0`` and, for each hidden layer with
    pre-activation bounds ``l <= W z + b <= u``, the big-M encoding of
    ``z_{i+1} = max(0, W z_i + b)`` with binaries ``v``::

        z_{i+1} >= W z_i + b,  z_{i+1} >= 0,  u * v >= z_{i+1},  W z_i + b >= z_{i+1} + (1 - v) * l

    Args:
        model: ``Flatten``/``Linear``/``Conv2d``/``ReLU`` network (a convolution becomes
            a sparse matrix).
        c: objective vector, one entry per logit (e.g. ``e_y - e_target``).
        initial_bound: ``(l0, u0)`` of batch 1, e.g. shape (1, 1, 28, 28).
        bounds: per-layer bounds as from ``bound_propagation``; ``bounds[i]`` of an
            affine layer ``i`` are used as its ``l, u``.
        stable_binaries: ``True`` gives every neuron a binary, as the chapter does; the
            default fixes stable neurons (``u <= 0``: off, ``l >= 0``: on) without one.

    Returns:
        ``(problem, (z, v))``: ``z[0]`` is the flattened input, ``z[-1]`` the logits.
    """
    return _chapter_program(model, c, initial_bound, bounds, False, stable_binaries)


def form_lp(model, c, initial_bound, bounds, stable_binaries: bool = False):
    """The linear relaxation of ``form_milp`` (chapter 3, "Convex relaxations of the
    verification problem"; notebook 07): every binary relaxed to ``0 <= v <= 1``, which
    replaces each bounded ReLU by its convex hull. Same arguments and return value."""
    return _chapter_program(model, c, initial_bound, bounds, True, stable_binaries)
