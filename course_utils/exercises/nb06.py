"""Exercises of notebook 06 (exact verification by mixed-integer programming)."""

from __future__ import annotations

import numpy as np
import torch

from ..bounds import bound_propagation
from ..data import eval_subset
from ..models import load_model
from ..relu import relu_phases
from ..threat import linf_box
from .core import Exercise, NotYet, call, multiple_choice

# four neurons with l < 0 < u and fixed pre-activations, two on and two off
_L = np.array([-1.0, -2.0, -0.5, -1.5])
_U = np.array([2.0, 0.5, 1.0, 1.5])
_P = np.array([0.8, -1.2, 0.6, -0.3])


def _constraints(fn, z, z_hat, v, l, u) -> list:
    """The learner's rows, checked to be a list of cvxpy constraints."""
    import cvxpy as cp
    rows = call(fn, z, z_hat, v, l, u, returns=(list, tuple, cp.constraints.constraint.Constraint))
    if isinstance(rows, cp.constraints.constraint.Constraint):
        rows = [rows]
    if not isinstance(rows, (list, tuple)) or not all(isinstance(r, cp.constraints.constraint.Constraint)
                                                      for r in rows):
        raise NotYet("return a list of cvxpy constraints, such as [z >= 0, ...]",
                     "a comparison between cvxpy expressions (>=, <=, ==) is a constraint; "
                     "comparing numpy arrays gives booleans instead")
    return list(rows)


def _z_range(fn, v_fixed: np.ndarray, relax_v: bool = False):
    """Solve min and max of z (each neuron separately: the problem is separable) under the
    learner's rows with z_hat = _P and v fixed (or v in [0, 1] with ``relax_v``).
    Returns ``(status, z_min, z_max)``."""
    import cvxpy as cp
    n = len(_P)
    z, z_hat, v = cp.Variable(n), cp.Variable(n), cp.Variable(n)
    rows = _constraints(fn, z, z_hat, v, _L, _U)
    fixed = [z_hat == _P] + ([v >= 0, v <= 1] if relax_v else [v == v_fixed])
    out = []
    for sense in (cp.Minimize, cp.Maximize):
        problem = cp.Problem(sense(cp.sum(z)), rows + fixed + [z >= -10, z <= 10])
        try:
            problem.solve(solver=cp.HIGHS)
        except cp.error.SolverError as e:
            raise NotYet(f"the solver could not handle your rows ({e})",
                         "use only linear constraints in z, z_hat and v") from None
        if problem.status != "optimal":
            return problem.status, None, None
        out.append(np.asarray(z.value, float))
    return "optimal", out[0], out[1]


def _relu_bigm(fn) -> str:
    on = (_P > 0).astype(float)
    status, lo, hi = _z_range(fn, on)
    relu = np.maximum(_P, 0)
    if status != "optimal":
        raise NotYet("with v = 1 on the neurons whose pre-activation is > 0 and v = 0 on the others, "
                     "your rows allow no z at all",
                     "check each row with v = 0 and with v = 1 by hand: the off branch must allow z = 0 "
                     "whenever ẑ ≤ 0, the on branch z = ẑ whenever ẑ ≥ 0; (1 - v) multiplies l, v multiplies u")
    tol = 1e-6
    if (lo < -tol).any():
        raise NotYet("your rows allow z < 0 on a neuron that is off", "a ReLU's output is never negative: z >= 0")
    if (lo < relu - tol).any():
        raise NotYet("your rows allow z < ẑ on a neuron that is on", "the ReLU is never below its input: z >= z_hat")
    if (hi[on == 0] > tol).any():
        raise NotYet("with v = 0 your rows allow z > 0",
                     "v = 0 must switch the neuron off: z <= u * v (cp.multiply(u, v) >= z)")
    if (hi > relu + tol).any():
        raise NotYet("with v = 1 your rows allow z > ẑ",
                     "v = 1 must make z equal to ẑ: z_hat >= z + (1 - v) * l, with cp.multiply for the "
                     "entrywise product")
    status, _, _ = _z_range(fn, 1 - on)
    if status == "optimal":
        raise NotYet("with v chosen opposite to the sign of ẑ your rows still allow some z",
                     "the binary must pick the branch: v = 0 needs ẑ ≤ 0, v = 1 needs ẑ ≥ 0")
    return ("for fixed ẑ and v the only z your rows allow is max(0, ẑ), and a v of the wrong "
            "sign leaves no z at all: the big-M encoding.")


def _phases_hint(got, want) -> str:
    names = ("off", "on", "unstable")
    wrong = [n for n, g, w in zip(names, got, want) if not torch.equal(g, w)]
    if "off" in wrong:
        return "a neuron is always off when its UPPER bound is at most 0 (u <= 0): then max(0, ẑ) = 0"
    if "on" in wrong:
        return "a neuron is always on when its LOWER bound is at least 0 (l >= 0): then max(0, ẑ) = ẑ"
    return "unstable means neither: l < 0 < u"


def _neuron_phases(fn) -> str:
    model = load_model("small", device="cpu")
    X = eval_subset(1)[0]
    cases = [(torch.tensor([0.0, -1.0, 0.0, -2.0, 0.5]), torch.tensor([0.0, 0.0, 1.0, 3.0, 2.0]))]
    for epsilon in (0.02, 0.05, 0.1):
        bounds = bound_propagation(model, linf_box(X, epsilon))
        cases += [bounds[1], bounds[3]]
    counts = []
    for l, u in cases:
        got = call(fn, l, u, returns=(tuple, list))
        if len(got) != 3:
            raise NotYet(f"return three boolean tensors (off, on, unstable), not {len(got)} values",
                         "return off, on, unstable")
        got = [torch.as_tensor(g) for g in got]
        if any(g.shape != l.shape for g in got):
            raise NotYet(f"each mask must have the shape of l, {tuple(l.shape)}", "compare l and u entrywise")
        got = [g.bool() for g in got]
        want = [torch.as_tensor(w) for w in relu_phases(l, u)]
        if not all(torch.equal(g, w) for g, w in zip(got, want)):
            raise NotYet("some neurons are put in the wrong group", _phases_hint(got, want))
        counts.append(int(want[2].sum()))
    return (f"unstable neurons of the small net's two hidden layers, image 0: {counts[1]} + {counts[2]} at "
            f"ε = 0.02, {counts[5]} + {counts[6]} at ε = 0.1 — one binary each.")


_negative_minimum = multiple_choice(
    "b", "a negative margin proves that the class changes somewhere in the ball, not to which class.", {
        "a": ("m_2 < 0 only says logit 2 beats logit 7; a third logit may beat both",
              "look at the logits at the witness above: which one is largest?"),
        "c": ("the MILP minimises the margin z_7 - z_2, a difference of two logits, not the cross-entropy",
              "write down the MILP's objective"),
        "d": ("a negative minimum means the opposite: logit 2 CAN beat logit 7",
              "m_2 = z_7 - z_2: what does m_2 < 0 say about z_2 and z_7?"),
    })


NOTEBOOK = "06_milp"
"""The notebook these exercises belong to."""

EXERCISES = {
    "6.1": Exercise("6.1", "the big-M rows of a ReLU", "implement", _relu_bigm),
    "6.2": Exercise("6.2", "stable and unstable neurons", "implement", _neuron_phases),
    "6.3": Exercise("6.3", "what a negative minimum says", "explain", _negative_minimum),
}
