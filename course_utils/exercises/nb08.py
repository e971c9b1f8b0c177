"""Exercises of notebook 08 (interval-propagation bounds): the first layer over an ℓ2 ball,
why a ReLU can more than double a width, why the interval bound never beats the LP, and
how far the interval bound reaches in ε."""

from __future__ import annotations

import numbers

import torch

from ..bounds import bound_propagation, interval_based_bound, objective_matrix
from ..data import eval_subset
from ..models import load_model
from ..threat import linf_box
from .core import Exercise, NotYet, call, close, multiple_choice, tensor

L2_EPSILON = 0.5
"""The ℓ2 radius of exercise 8.1's check."""


def _pair(result, shape, what: str):
    """``result`` as a pair of tensors of ``shape``, or ``NotYet``."""
    if not (isinstance(result, (tuple, list)) and len(result) == 2):
        raise NotYet(f"{what} should return a pair (l, u), got {type(result).__name__}",
                     "return both bounds: `return lower, upper`")
    return tuple(tensor(t, shape, f"{what}[{i}]") for i, t in enumerate(result))


def _l2_hint(got_l, W, b, X, epsilon) -> str:
    centre = X @ W.t() + b
    if torch.allclose(got_l, centre - epsilon * W.abs().sum(1), atol=1e-9):
        return ("ε‖w‖₁ is the worst case over the ℓ∞ box, which holds the ℓ2 ball: sound but loose. Over the "
                "ℓ2 ball, Cauchy–Schwarz gives w·δ ≥ -ε‖w‖₂")
    if torch.allclose(got_l, centre - epsilon * W.norm(), atol=1e-9):
        return "each output has its own row w: take the norm of each row, W.norm(dim=1), not of the whole matrix"
    if torch.allclose(got_l, X @ W.t() - epsilon * W.norm(dim=1), atol=1e-9):
        return "add the bias b to both bounds"
    return ("the worst case of w·δ over ‖δ‖₂ ≤ ε is ε‖w‖₂ (at δ = -ε w/‖w‖₂ for the lower bound): "
            "X @ W.t() + b ∓ ε W.norm(dim=1)")


def _l2_first_layer(fn) -> str:
    model = load_model("small", device="cpu")
    X, _ = eval_subset(20)
    X = X.double().flatten(1)
    W, b = model[1].weight.detach().double(), model[1].bias.detach().double()
    centre, radius = X @ W.t() + b, L2_EPSILON * W.norm(dim=1)
    want = (centre - radius, centre + radius)
    got_l, got_u = _pair(call(fn, W.clone(), b.clone(), X.clone(), L2_EPSILON), want[0].shape,
                         "l2_first_layer(W, b, X, epsilon)")
    hint = _l2_hint(got_l, W, b, X, L2_EPSILON)
    close(got_l, want[0], 1e-9, "the lower bound", hint)
    close(got_u, want[1], 1e-9, "the upper bound", hint)
    box = X @ W.t() + b - L2_EPSILON * W.abs().sum(1)
    looser = (want[0] - box).mean().item()
    return (f"the exact range of the small net's 50 first-layer outputs over the ℓ2 ball of radius "
            f"{L2_EPSILON} around {len(X)} test images; the ℓ∞ box of the same radius, which holds the ball, "
            f"would give lower bounds {looser:.1f} lower on average.")


_why_more_than_double = multiple_choice(
    "d", "a ReLU's output width is max(u, 0) - max(l, 0): for an interval mostly below 0 that is u alone, "
         "which grows by all of u's growth.", {
        "a": ("the bounds are computed in float64: rounding moves them by about 1e-15, not by factors",
              "write the ReLU's output width in terms of l and u, and let l and u move with ε"),
        "b": ("a ReLU never widens an interval: max(u, 0) − max(l, 0) ≤ u − l",
              "compare the ReLU's output width with its input width at ε = 0.01 and at ε = 0.02"),
        "c": ("the clamp only removes width: a clamped pixel's interval grows by less than ε does",
              "the first layer's widths at most double (the check above): the growth comes later"),
    })

_MORE_THAN_DOUBLE_MODEL = (
    "**d.** A ReLU maps $[l, u]$ to $[\\max(l, 0), \\max(u, 0)]$. Leave the clamp aside: a "
    "first-layer neuron's interval is then $[c - r, c + r]$ with $c = w^T x + b$ fixed and "
    "$r = \\epsilon \\|w\\|_1$ proportional to ε. If $c < 0$ the output width is $\\max(c + r, 0)$: 0 "
    "while $r \\le |c|$, then $r - |c|$. Doubling $r$ turns $r - |c|$ into $2r - |c|$, more "
    "than twice as much, and a width of 0 into a positive one (23 of the 96). If $c \\ge 0$ the "
    "output width is $\\min(2r, c + r)$, which at most doubles. The next layer adds these "
    "widths up with weights $|W|$, so some of its pre-activations more than double too. So "
    "interval widths are not proportional to ε: linear through the first affine layer (up to "
    "the clamp), and behind a ReLU piecewise linear, at times more than proportional. Rounding is far "
    "too small to matter (a), a ReLU never widens an interval (b), and the clamp only slows "
    "the growth (c).")


_why_below_lp = multiple_choice(
    "b", "the LP's feasible set lies inside the box the analytic last layer minimises over.", {
        "a": ("both are exact to about 1e-9; the gap between them is several units",
              "compare the sets the two minimise over, not the arithmetic"),
        "c": ("both start from the same box, the ε-ball clamped to [0, 1]",
              "what set of last-layer activations z_d does each method allow?"),
        "d": ("notebook 7's LP used bound_propagation's interval bounds, the same l and u",
              "with the same l and u, compare a triangle with the rectangle around it"),
    })

_BELOW_LP_MODEL = (
    "**b.** The analytic last layer minimises $c^T(W_d z_d + b_d)$ exactly over the box "
    "$\\hat l \\le z_d \\le \\hat u$. The LP minimises the same function over its own feasible "
    "$z_d$, and those lie in that box: by induction over the layers, the LP's input lies in the "
    "input box, so each $\\hat z = W z + b$ it allows lies in $[l, u]$, and each triangle lies "
    "inside the rectangle $[l, u] \\times [\\max(l, 0), \\max(u, 0)]$. A minimum over a subset is "
    "at least the minimum over the whole set: interval $\\le$ LP, on every target and every "
    "network. Put differently, the interval bound is the LP with each triangle replaced by "
    "the rectangle around it, which cuts every link between one layer and the next. Both use "
    "the same $l, u$ and the same clamped box, and both are exact to rounding.")


def _interval_radius(name: str) -> float:
    """The ε up to which the interval bound proves image 0 robust on ``name`` (bisection)."""
    model = load_model(name, device="cpu")
    X, y = eval_subset(1)
    label = int(y[0])
    C = objective_matrix(label)[:, [t for t in range(10) if t != label]]
    low, high = 0.0, 0.05
    for _ in range(16):
        middle = (low + high) / 2
        bound = interval_based_bound(model, C, bound_propagation(model, linf_box(X[:1].double(), middle)))
        low, high = (middle, high) if bool((bound > 0).all()) else (low, middle)
    return low


RADIUS_TOL = 1e-4


def _investigate_radius(answer) -> str:
    if not isinstance(answer, dict) or set(answer) != {"small", "dnn4"}:
        raise NotYet(f'answer with a dict {{"small": ..., "dnn4": ...}}, got {answer!r}')
    for key, value in answer.items():
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise NotYet(f'answer["{key}"] should be a number (a radius ε), got {value!r}')
    truth = {name: _interval_radius(name) for name in ("small", "dnn4")}
    if abs(answer["small"] - truth["dnn4"]) <= RADIUS_TOL and abs(answer["dnn4"] - truth["small"]) <= RADIUS_TOL:
        raise NotYet("the two radii are swapped", "dnn4 is the deeper network: its widths grow by a larger factor")
    for name, value in answer.items():
        if abs(value - truth[name]) > RADIUS_TOL:
            hint = ("at that ε some target's bound is not positive: every one of the nine must be > 0"
                    if value > truth[name] else
                    "a larger ε still proves all nine targets: bisect further (the check allows 1e-4)")
            raise NotYet(f"for {name} that is not the radius (the check allows ±{RADIUS_TOL:g})", hint)
    return (f"interval bounds prove image 0 robust up to ε ≈ {truth['small']:.4f} on the small net and "
            f"{truth['dnn4']:.4f} on dnn4.")


_RADIUS_MODEL = (
    "About 0.0083 for the small net and 0.0016 for `dnn4`. On the small net the LP of "
    "notebook 7 proves image 0 at ε = 0.02 and the MILP at 0.05, so intervals give away most "
    "of the radius that a tighter method can prove. The deeper `dnn4` fares five times worse: "
    "its widths grow by a factor of more than 4 per layer, so the same ε leaves its logits far "
    "more uncertain. That is why certified training (the tutorial's next chapter) trains a "
    "network so that its own bounds become tight, as the ten steps of this notebook began to do.")


NOTEBOOK = "08_interval_bounds"
"""The notebook these exercises belong to."""

EXERCISES = {
    "8.1": Exercise("8.1", "the first layer over an ℓ2 ball", "implement", _l2_first_layer),
    "8.2": Exercise("8.2", "why a ReLU can more than double a width", "explain", _why_more_than_double,
                    model_answer=_MORE_THAN_DOUBLE_MODEL),
    "8.3": Exercise("8.3", "why the interval bound never beats the LP", "explain", _why_below_lp,
                    model_answer=_BELOW_LP_MODEL),
    "8.4": Exercise("8.4", "how far the interval bound reaches", "investigate", _investigate_radius,
                    model_answer=_RADIUS_MODEL),
}
