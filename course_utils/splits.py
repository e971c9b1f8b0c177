"""Branch and bound over ReLU phases on the LP relaxation: a first, cheap try at the sign
of ``min c^T f(x)`` over the box before the MILP solver is started (step "milp",
notebook 06; beyond the chapter).

The MILP's binaries ``v`` say which side of 0 each unstable neuron is on. Fixing one to
1 (active: ``a = p >= 0``) or 0 (inactive: ``a = 0 >= p``) splits the problem in two,
and the LP relaxation of each half (with the cuts already in the program) bounds its
minimum from below. A branch whose LP minimum is above 0, or whose LP is infeasible, holds
no attack; the LP's optimal input, run through the network, may be one. The search
goes depth first, splitting the neuron whose relaxation is most loose at the LP's optimum
(``a - max(p, 0)``), and gives up after ``max_nodes`` LPs: the MILP solver then takes
over (its own cuts and heuristics are worth their start-up cost only on harder signs).

``phase_tree`` is the textbook version that notebook 06 writes inline: the exact minimum
by best-first search, the neurons split in a fixed order, and the whole tree kept for its
picture (``plotting.plot_search_tree``).

Numpy and HiGHS only (worker processes import it without torch).
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass
from typing import Callable, List, Optional, Tuple

import numpy as np

from .programs import HighsProgram, Layers, build_program

SPLIT_NODES = 100
"""How many LPs the search may solve before it hands the sign to the MILP solver."""

LOOSE_TOL = 1e-9
"""A neuron whose relaxation is looser than this at the LP's optimum can be split."""


def _unstable_columns(program: HighsProgram) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(v, p, a)`` column indices of every unstable neuron, layer after layer."""
    P = program.program
    v = np.concatenate(P.v_cols).astype(np.int32) if P.v_cols else np.zeros(0, np.int32)
    p = np.concatenate(P.p_cols).astype(int) if P.p_cols else np.zeros(0, int)
    a = np.concatenate([P.a_cols[k][P.unstable[k]] for k in range(P.num_hidden)]) if P.v_cols \
        else np.zeros(0, int)
    return v, p, a


def split_search(program: HighsProgram, margin: Callable[[np.ndarray], float], max_nodes: int = SPLIT_NODES,
                 time_limit: Optional[float] = None) -> Tuple[str, Optional[np.ndarray], int]:
    """Is there an input with objective <= 0? Branch and bound on ``program`` (an LP
    relaxation, ``build_program(..., relax=True)``, its objective already set).

    Args:
        program: the LP relaxation (not changed: the search works on a copy that keeps
            only the cuts binding at its optimum).
        margin: the network's own objective at a flattened input (a float), to test the
            LPs' optimal inputs.
        max_nodes: at most this many LPs.
        time_limit: seconds per LP (``None``: none).

    Returns:
        ``(answer, x, nodes)``: ``"robust"`` (every branch has LP minimum > 0 or no
        point), ``"attacked"`` with ``x`` (flattened input, ``margin(x) <= 0``), or
        ``"unknown"`` (budget spent, or an LP not solved to optimality); ``nodes``: LPs solved.
    """
    if program.mip:
        raise ValueError("split_search needs the LP relaxation (build_program(..., relax=True))")
    root = program.solve(time_limit=time_limit)
    if root.status == "infeasible" or (root.status == "optimal" and root.value > 0):
        return "robust", None, 1
    if root.status != "optimal":
        return "unknown", None, 1
    program = program.with_binding_cuts()            # the cuts slack at the root only slow the LPs
    v, p_cols, a_cols = _unstable_columns(program)
    lower, upper = program.program.col_lower[v].copy(), program.program.col_upper[v].copy()
    todo, nodes = [{}], 1
    while todo:
        fixed = todo.pop()
        lo, hi = lower.copy(), upper.copy()
        for j, side in fixed.items():
            lo[j] = hi[j] = side
        program.highs.changeColsBounds(v.size, v, lo, hi)
        s = program.solve(time_limit=time_limit)
        nodes += 1
        if s.status == "infeasible" or (s.status == "optimal" and s.value > 0):
            continue
        if s.status != "optimal" or s.x is None:
            return "unknown", None, nodes
        if margin(s.x) <= 0:
            return "attacked", s.x, nodes
        values = program.column_values()
        loose = values[a_cols] - np.maximum(values[p_cols], 0.0)
        loose[list(fixed)] = -np.inf
        j = int(np.argmax(loose)) if loose.size else -1
        if nodes >= max_nodes or j < 0 or loose[j] <= LOOSE_TOL:
            return "unknown", None, nodes
        near = 1.0 if values[p_cols[j]] > 0 else 0.0          # the side the LP leans to, first
        todo += [{**fixed, j: 1.0 - near}, {**fixed, j: near}]
    return "robust", None, nodes


# --- the textbook search: the exact minimum, and its tree ------------------------------------

TIE_DECIMALS = 6
"""``phase_tree`` treats two LP bounds equal to this many decimals as a tie (the deeper
node goes first, then the older): two LP solvers then grow the same tree."""


@dataclass
class SearchTree:
    """What ``phase_tree`` did. ``nodes[k] = (parent, phase, bound)``: node ``k`` fixes the
    next neuron of the order (the ``depth``-th, counting from 1) to ``phase`` (0 off, 1 on)
    below node ``parent`` (the root: ``(None, None, bound)``), and ``bound`` is the minimum
    of the LP relaxation with the phases fixed on its path (``inf``: no input has them).
    ``status``: ``"optimal"`` (``minimum`` is the MILP's minimum, reached at node
    ``optimum``) or ``"lp limit"`` (``minimum`` and ``optimum`` are ``None``)."""
    nodes: List[Tuple[Optional[int], Optional[int], float]]
    status: str
    minimum: Optional[float] = None
    optimum: Optional[int] = None

    @property
    def lps(self) -> int:
        """How many LPs the search solved: one per node."""
        return len(self.nodes)

    def depth(self, k: int) -> int:
        """How many phases node ``k`` fixes."""
        d = 0
        while self.nodes[k][0] is not None:
            k, d = self.nodes[k][0], d + 1
        return d

    def split(self) -> List[int]:
        """The nodes the search split (those with children)."""
        return sorted({parent for parent, _, _ in self.nodes if parent is not None})


def _phase_bound(program: HighsProgram, v: np.ndarray, fixed: List[int], time_limit) -> float:
    """The LP relaxation's minimum with the first ``len(fixed)`` binaries fixed."""
    lo, hi = np.zeros(v.size), np.ones(v.size)
    lo[:len(fixed)] = hi[:len(fixed)] = fixed
    program.highs.changeColsBounds(v.size, v, lo, hi)
    s = program.solve(time_limit=time_limit)
    if s.status not in ("optimal", "infeasible"):
        raise RuntimeError(f"an LP of the search ended with status {s.status!r}: no minimum is claimed")
    return s.value if s.status == "optimal" else math.inf


def phase_tree(layers: Layers, box: Tuple[np.ndarray, np.ndarray], pre_bounds, c, max_lps: int = 10_000,
               time_limit: Optional[float] = None) -> SearchTree:
    """The exact minimum of ``c^T f(x)`` over the box by best-first branch and bound over
    ReLU phases (notebook 06, where it is written inline with cvxpy).

    Every node is the LP relaxation (``build_program(..., relax=True)``: each binary in
    [0, 1]) with the phases of the first unstable neurons fixed, in the program's order
    (layer after layer, neuron after neuron); its minimum bounds from below every input
    with those phases. The open node of lowest bound is split next (ties: see
    ``TIE_DECIMALS``). A node with every phase fixed is an exact linear program: when it
    has the lowest bound of all open nodes, no input does better, and its bound is the
    minimum.

    Args:
        layers, box, pre_bounds: as for ``programs.build_program`` (the lowered network,
            the flattened input box, the pre-activation bounds of every hidden layer).
        c: one entry per logit (``e_y - e_t`` for the margin of target ``t``).
        max_lps: stop (status ``"lp limit"``) once this many LPs are solved.
        time_limit: seconds per LP (``None``: none); an LP not solved to optimality or
            infeasibility raises ``RuntimeError``.
    """
    from .threat import check_count      # here: worker processes import this module without torch
    max_lps = check_count(max_lps, "max_lps", 1)
    program = HighsProgram(build_program(layers, box, pre_bounds, relax=True), {"presolve": "off"})
    program.set_logit_objective(c)
    v = np.concatenate(program.program.v_cols).astype(np.int32) if program.program.v_cols else np.zeros(0, np.int32)
    nodes = [(None, None, _phase_bound(program, v, [], time_limit))]
    heap = [(round(nodes[0][2], TIE_DECIMALS), 0, 0, [])] if nodes[0][2] < math.inf else []
    while heap:
        _, _, k, fixed = heapq.heappop(heap)
        if len(fixed) == v.size:
            return SearchTree(nodes, "optimal", nodes[k][2], k)
        if len(nodes) + 2 > max_lps:
            return SearchTree(nodes, "lp limit")
        for phase in (0, 1):
            nodes.append((k, phase, _phase_bound(program, v, fixed + [phase], time_limit)))
            if nodes[-1][2] < math.inf:
                heapq.heappush(heap, (round(nodes[-1][2], TIE_DECIMALS), -len(fixed) - 1, len(nodes) - 1,
                                      fixed + [phase]))
    raise RuntimeError("no phase pattern has a feasible LP: the pre-activation bounds exclude the network's "
                       "own values, so they are not valid bounds")
