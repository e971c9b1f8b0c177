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

Numpy and HiGHS only (worker processes import it without torch).
"""

from __future__ import annotations

from typing import Callable, Optional, Tuple

import numpy as np

from .programs import HighsProgram
from .solvers import deadline, solve_within

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
        time_limit: seconds for the whole search (``None``: none).

    Returns:
        ``(answer, x, nodes)``: ``"robust"`` (every branch has LP minimum > 0 or no
        point), ``"attacked"`` with ``x`` (flattened input, ``margin(x) <= 0``), or
        ``"unknown"`` (budget or time spent, or an LP not solved to optimality); ``nodes``:
        LPs solved.
    """
    if program.mip:
        raise ValueError("split_search needs the LP relaxation (build_program(..., relax=True))")
    at = deadline(time_limit)
    root = solve_within(at, program.solve)
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
        s = solve_within(at, program.solve)
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
