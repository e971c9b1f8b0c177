"""Exercises of notebook 07 (the LP relaxation): a branch on one neuron, a prediction of
what the LP proves, what makes an "attacked" verdict sound, and what tighter bounds buy."""

from __future__ import annotations

import math
import numbers

import numpy as np

from ..bounds import bound_propagation
from ..data import eval_subset
from ..models import load_model
from ..relu import relu_phases
from ..threat import linf_box
from .core import Exercise, NotYet, call, multiple_choice

SPLIT_CASE = {"epsilon": 0.05, "target": 3}
SPLIT_NEURONS = ((1, 14), (0, 12))
"""Exercise 7.1 branches on these neurons ``(hidden layer k, neuron j)`` of the LP of image 0,
target 3, ε = 0.05 on the small net: the smaller side is v = 1 for the first, v = 0 for the
second (so that solving one side only is caught either way)."""


def _image0():
    X, y = eval_subset(1)
    return load_model("small", device="cpu"), X[:1], int(y[0])


def _split_problem():
    """The chapter's LP (every neuron with its v) for exercise 7.1's case: ``(problem, v)``."""
    from ..programs import form_lp
    model, x, label = _image0()
    box = tuple(t.double() for t in linf_box(x, SPLIT_CASE["epsilon"]))
    c = np.eye(10)[label] - np.eye(10)[SPLIT_CASE["target"]]
    problem, (_, v) = form_lp(model, c, box, bound_propagation(model, box), stable_binaries=True)
    return problem, v


def _sides(problem, v, k: int, j: int) -> list:
    """The LP's minimum with neuron ``j`` of layer ``k`` fixed off (v = 0) and on (v = 1)."""
    import cvxpy as cp
    out = []
    for phase in (0, 1):
        side = cp.Problem(problem.objective, problem.constraints + [v[k][j] == phase])
        side.solve(solver=cp.HIGHS)
        if side.status not in ("optimal", "infeasible"):
            raise RuntimeError(f"the reference LP of exercise 7.1 ended {side.status!r}")
        out.append(math.inf if side.status == "infeasible" else float(side.value))
    return out


def _as_bound(value, what: str) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.number)):
        raise NotYet(f"{what} should be a number (the smaller side's minimum), got {type(value).__name__}",
                     "return the value that `.solve(...)` gives, not the problem")
    return float(value)


def _same(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-5)


def _split_hint(got: list, base: float, sides: list) -> str:
    """The mistake behind ``got`` (one answer per case; ``sides``: the cases' two minima)."""
    if all(_same(g, max(s)) for g, s in zip(got, sides)):
        return ("that is the larger side: the input may lie on either side of the split, so only the smaller "
                "minimum bounds m_t*")
    if all(_same(g, base) for g in got):
        return ("that is the LP's own minimum: the phase never reached the solver (problem.constraints is a "
                "copy; build cp.Problem(problem.objective, problem.constraints + [v[k][j] == phase]))")
    if any(all(_same(g, s[phase]) for g, s in zip(got, sides)) for phase in (0, 1)):
        return "you solved one side only: solve v[k][j] == 0 and v[k][j] == 1, and keep the smaller minimum"
    return "fix v[k][j] to 0, solve; fix it to 1, solve; return the smaller of the two minima"


def _split(fn) -> str:
    problem, v = _split_problem()
    import cvxpy as cp
    base = problem.solve(solver=cp.HIGHS)
    sides = [_sides(problem, v, k, j) for k, j in SPLIT_NEURONS]
    got = [_as_bound(call(fn, problem, v, k, j), f"split_bound(problem, v, {k}, {j})") for k, j in SPLIT_NEURONS]
    for (k, j), g, s in zip(SPLIT_NEURONS, got, sides):
        if not _same(g, min(s)):
            raise NotYet(f"for neuron {j} of hidden layer {k} you return {g:.4g}; the two sides' minima are "
                         f"{s[0]:.4g} (v = 0) and {s[1]:.4g} (v = 1)", _split_hint(got, base, sides))
    gains = ", ".join(f"{min(s):.3f} (v[{k}][{j}])" for (k, j), s in zip(SPLIT_NEURONS, sides))
    return (f"the LP for target {SPLIT_CASE['target']} at ε = {SPLIT_CASE['epsilon']} is {base:.3f}; "
            f"one branch raises it to {gains}. Branching on every unstable neuron in turn, and again inside "
            f"each side, is the MILP solver's branch and bound.")


def _lp_count() -> int:
    from ..verify import certify
    model, x, label = _image0()
    return sum(r.value is not None and r.value > 0 for r in certify(model, x, label, 0.05, "lp").results)


def _predict_lp(answer) -> str:
    if isinstance(answer, bool) or not isinstance(answer, numbers.Integral) or not 0 <= answer <= 9:
        raise NotYet(f"answer with a whole number of targets from 0 to 9, got {answer!r}")
    truth = _lp_count()
    if abs(answer - truth) > 1:
        hint = ("the LP is only a lower bound on each m_t*: a positive MILP minimum does not make the LP "
                "positive, and at ε = 0.05 the interval bounds are wide" if answer > truth else
                "the LP is not hopeless: a target whose m_t* is large can keep a positive LP")
        raise NotYet(f"that is too {'many' if answer > truth else 'few'} (the check accepts one target either "
                     f"way)", hint)
    return f"the LP proves {truth} of the nine targets at ε = 0.05, where the MILP proves all nine."


_PREDICT_LP_MODEL = (
    "Target 6 only, whose worst case $m_6^*$ is by far the largest; the other eight stay "
    "\"unknown\". From $\\epsilon = 0.02$ to $0.05$ the interval bounds widen and more hidden "
    "neurons become unstable (25 of 70, then 42), each adding a triangle; each triangle is wider, "
    "and its gap above the ReLU, $-ul/(u-l)$ at $\\hat z = 0$, grows with it. The relaxed set "
    "gains points like the fake point of this notebook, whose margins lie far below every real "
    "input's, and the LP's minimum follows them down. The LP is still solved exactly; it answers "
    "a looser question.")


_attacked_sound = multiple_choice(
    "a", "a point of the ball where the network itself prefers 2 to 7 is an adversarial example, whatever "
         "the LP's value.", {
        "b": ("a negative LP minimum can come from a point of the relaxed set that no input produces (the "
              "fake point at ε = 0.05: LP -7.57, the network +1.50)",
              "the LP's value is a bound, not an input: what does the network itself say at the LP's input?"),
        "c": ("LP ≤ MILP says nothing about the MILP's sign when the LP is negative",
              "a lower bound below zero allows a minimum above zero"),
        "d": ("no triangle is tight for an unstable neuron; at ε = 0.1 more neurons are unstable, not fewer",
              "compare the relaxation's logits with the network's at the same input: they differ"),
    })

_ATTACKED_MODEL = (
    "**a.** `certify` runs the LP's optimal input $x + \\delta$ through the real network. That "
    "input lies in the ball (it satisfies the LP's box constraints), and the network's own "
    "logits prefer 2 to 7: an adversarial example, found by chance at the LP's optimum. The LP's "
    "value plays no part: a negative relaxation is not evidence of an attack (at "
    "$\\epsilon = 0.05$ the LP says $-7.57$ while every input keeps a margin above $1.14$), "
    "and $\\text{LP} \\le m^*$ bounds the MILP from below only. Unstable neurons keep their "
    "triangles at every $\\epsilon$, so the LP is not exact here: its logits differ from the "
    "network's at the same input.")


def _tightened_truth():
    """``(unstable, proven)`` for the LP on ``tighten_bounds`` at ε = 0.05, image 0."""
    from ..verify import lp_cuts, verification_problem
    model, x, label = _image0()
    p = verification_problem(model, x, label, 0.05)
    unstable = sum(int(relu_phases(l, u)[2].sum()) for l, u in p.tightened)
    cert = lp_cuts(p, rounds=0)
    if any(r.status != "optimal" for r in cert.results):
        raise RuntimeError("the reference LPs of exercise 7.4 did not all reach an optimum")
    return unstable, sum(r.bound > 0 for r in cert.results)


def _count(answer: dict, key: str) -> int:
    value = answer[key]
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, np.integer)):
        raise NotYet(f'answer["{key}"] should be a whole number, got {value!r}')
    return int(value)


def _investigate_bounds(answer) -> str:
    if not isinstance(answer, dict) or set(answer) != {"unstable", "proven"}:
        raise NotYet(f'answer with a dict {{"unstable": ..., "proven": ...}}, got {answer!r}')
    unstable, proven = _count(answer, "unstable"), _count(answer, "proven")
    truth_unstable, truth_proven = _tightened_truth()
    if unstable != truth_unstable:
        hint = ("42 is what the interval bounds leave: count on the pairs that tighten_bounds returns"
                if unstable == 42 else
                "count the neurons with l < 0 < u in both hidden layers (relu_phases(l, u)[2])")
        raise NotYet(f"the tightened bounds do not leave {unstable} neurons unstable", hint)
    if proven != truth_proven:
        hint = ("that is the LP on interval bounds: put the tightened pairs into bounds[1] and bounds[3] "
                "before calling form_lp" if proven == _lp_count() else
                "count the targets whose LP minimum is > 0, one LP per target on the tightened bounds")
        raise NotYet(f"the LP on the tightened bounds is not positive for {proven} targets", hint)
    return (f"the tightened bounds leave {truth_unstable} of 70 neurons unstable (intervals: 42), and the "
            f"LP on them proves {truth_proven} of the nine targets (on intervals: {_lp_count()}).")


_TIGHT_MODEL = (
    "Tighter bounds remove triangles (a neuron proven stable needs none) and shrink the others, "
    "so the relaxed set shrinks and no LP minimum can drop: here the LP proves seven targets "
    "instead of one, with no change to the LP itself. That is why the steps \"lp+cuts\" and "
    "\"milp\" of `certify` first tighten the bounds, up to two LPs (minimum and maximum) per "
    "unstable neuron, and why bounds matter more for the LP than for the MILP (whose optimum "
    "does not depend on them). The two targets still open, 3 and 9, are the ones the cuts of "
    "this notebook then close.")


NOTEBOOK = "07_convex_relaxations"
"""The notebook these exercises belong to."""

EXERCISES = {
    "7.1": Exercise("7.1", "branch on one neuron", "implement", _split),
    "7.2": Exercise("7.2", "what the LP proves at ε = 0.05", "predict", _predict_lp, model_answer=_PREDICT_LP_MODEL),
    "7.3": Exercise("7.3", "what makes \"attacked\" sound", "explain", _attacked_sound, model_answer=_ATTACKED_MODEL),
    "7.4": Exercise("7.4", "better bounds, smaller triangles", "investigate", _investigate_bounds,
                    model_answer=_TIGHT_MODEL),
}
