"""Exercises of notebook 07 (the LP relaxation)."""

from __future__ import annotations

import numbers

import numpy as np

from ..data import eval_subset
from ..models import load_model
from .core import Exercise, NotYet, call, multiple_choice

# four unstable neurons (l < 0 < u) with fixed pre-activations
_L = np.array([-1.0, -2.0, -0.5, -1.5])
_U = np.array([2.0, 0.5, 1.0, 1.5])
_P = np.array([0.8, -1.2, 0.6, -0.3])


def _z_range(fn):
    """Lowest and highest ``z`` the learner's rows allow with ``z_hat = _P`` (per neuron: the
    problem is separable). Returns ``(status, z_min, z_max)``."""
    import cvxpy as cp
    n = len(_P)
    z, z_hat = cp.Variable(n), cp.Variable(n)
    rows = call(fn, z, z_hat, _L, _U, returns=(list, tuple, cp.constraints.constraint.Constraint))
    if isinstance(rows, cp.constraints.constraint.Constraint):
        rows = [rows]
    if not isinstance(rows, (list, tuple)) or not all(isinstance(r, cp.constraints.constraint.Constraint)
                                                      for r in rows):
        raise NotYet("return a list of cvxpy constraints, such as [z >= 0, ...]",
                     "a comparison between cvxpy expressions (>=, <=) is a constraint")
    out = []
    for sense in (cp.Minimize, cp.Maximize):
        problem = cp.Problem(sense(cp.sum(z)), list(rows) + [z_hat == _P, z >= -10, z <= 10])
        try:
            problem.solve(solver=cp.HIGHS)
        except cp.error.SolverError as e:
            raise NotYet(f"the solver could not handle your rows ({e})", "use only linear constraints") from None
        if problem.status != "optimal":
            return problem.status, None, None
        out.append(np.asarray(z.value, float))
    return "optimal", out[0], out[1]


def _triangle(fn) -> str:
    status, lo, hi = _z_range(fn)
    if status != "optimal":
        raise NotYet("for some pre-activations in [l, u] your rows allow no z at all",
                     "every point of the ReLU's graph must stay feasible: check (ẑ, max(0, ẑ)) against each row")
    relu, chord = np.maximum(_P, 0), _U * (_P - _L) / (_U - _L)
    tol = 1e-6
    if (lo < -tol).any():
        raise NotYet("your rows allow z < 0", "the triangle lies above z = 0: z >= 0")
    if (lo < relu - tol).any():
        raise NotYet("your rows allow z < ẑ", "the triangle lies above the line z = ẑ: z >= z_hat")
    if (lo > relu + tol).any() or (hi < chord - tol).any():
        raise NotYet("your rows cut off points of the triangle (or of the ReLU's graph itself)",
                     "the upper side is the chord through (l, 0) and (u, u): z <= u (ẑ - l) / (u - l)")
    if (hi > chord + tol).any():
        raise NotYet("your rows allow z above the chord",
                     "bound z above by the chord through (l, 0) and (u, u): z <= u (ẑ - l) / (u - l); "
                     "z <= u alone leaves a rectangle corner")
    return ("for each fixed ẑ your rows allow exactly max(0, ẑ) ≤ z ≤ u (ẑ − l)/(u − l): the convex hull "
            "of the bounded ReLU.")


def _lp_count() -> int:
    from ..verify import certify
    model = load_model("small", device="cpu")
    X, y = eval_subset(1)
    return sum(r.value is not None and r.value > 0 for r in certify(model, X, int(y[0]), 0.05, "lp").results)


def _predict_lp(answer) -> str:
    if isinstance(answer, bool) or not isinstance(answer, numbers.Integral) or not 0 <= answer <= 9:
        raise NotYet(f"answer with a whole number of targets from 0 to 9, got {answer!r}")
    truth = _lp_count()
    if answer != truth:
        hint = ("the LP is only a lower bound on each m_t*: a positive MILP value does not make the LP positive; "
                "at ε = 0.05 the interval bounds leave many neurons unstable, with wide triangles"
                if answer > truth else
                "the LP is not hopeless: a target whose m_t* is large can keep a positive LP value")
        raise NotYet(f"that is not what the LP gives (it is {'fewer' if answer > truth else 'more'})", hint)
    return (f"the LP certifies {truth} of the nine targets at ε = 0.05, where the MILP proves all nine: "
            "every other target stays 'unknown'.")


_why_lp_stops = multiple_choice(
    "b", "the relaxed set grows with the bounds' width: wider triangles, more fake points, lower minima.", {
        "a": ("the LP is solved to optimality at every ε; it answers a different question, the minimum over "
              "the relaxed set", "compare the LP's feasible set with the MILP's"),
        "c": ("the MILP proved all nine targets robust at ε = 0.05: no adversarial example exists there",
              "a method that cannot certify is not evidence of an attack"),
        "d": ("the LP keeps every neuron and every row; only v may now lie between 0 and 1",
              "what does 0 <= v <= 1 do to the set of (ẑ, z) one neuron allows?"),
    })


NOTEBOOK = "07_convex_relaxations"
"""The notebook these exercises belong to."""

EXERCISES = {
    "7.1": Exercise("7.1", "the triangle", "implement", _triangle),
    "7.2": Exercise("7.2", "what does the LP prove?", "predict", _predict_lp),
    "7.3": Exercise("7.3", "why the LP stops proving", "explain", _why_lp_stops),
}
