"""Exercises of notebook 08 (interval-propagation bounds, the analytic last layer)."""

from __future__ import annotations

import torch
import torch.nn as nn

from ..bounds import bound_propagation, interval_based_bound, objective_matrix
from ..data import eval_subset
from ..models import load_model
from ..threat import linf_box
from .core import Exercise, NotYet, call, close, multiple_choice, tensor


def _pair(result, shape, what: str):
    """``result`` as a pair of tensors of ``shape``, or ``NotYet``."""
    if not (isinstance(result, (tuple, list)) and len(result) == 2):
        raise NotYet(f"{what} should return a pair (l_hat, u_hat), got {type(result).__name__}",
                     "return both bounds: `return l_hat, u_hat`")
    return tuple(tensor(t, shape, f"{what}[{i}]") for i, t in enumerate(result))


def _linear_hint(got_l, got_u, W, b, l, u) -> str:
    if torch.allclose(got_l, l @ W.t() + b, atol=1e-6) and torch.allclose(got_u, u @ W.t() + b, atol=1e-6):
        return ("W l + b is not a lower bound where W is negative: there the smallest output comes "
                "from u. Split W into W⁺ = W.clamp(min=0) and W⁻ = W.clamp(max=0)")
    if torch.allclose(got_l, u @ W.clamp(min=0).t() + l @ W.clamp(max=0).t() + b, atol=1e-6):
        return "the two parts are swapped: the lower bound is W⁺ l + W⁻ u + b (positive weights take l)"
    if torch.allclose(got_l, l @ W.clamp(min=0).t() + u @ W.clamp(max=0).t(), atol=1e-6):
        return "add the bias b to both bounds"
    return "lower: W⁺ l + W⁻ u + b, upper: W⁺ u + W⁻ l + b, with W⁺ = max(W, 0), W⁻ = min(W, 0)"


def _interval_linear(fn) -> str:
    model = load_model("small", device="cpu")
    X, _ = eval_subset(20)
    l0, u0 = linf_box(X.double(), 0.05)
    want = bound_propagation(model, (l0, u0))
    layer, (l, u) = model[3], want[2]               # the second Linear layer, from the first ReLU's box
    W, b = layer.weight.detach().double(), layer.bias.detach().double()
    got_l, got_u = _pair(call(fn, W, b, l, u), (len(X), W.shape[0]), "interval_linear(W, b, l, u)")
    hint = _linear_hint(got_l, got_u, W, b, l, u)
    close(got_l, want[3][0], 1e-9, "the lower bound", hint)
    close(got_u, want[3][1], 1e-9, "the upper bound", hint)
    first = model[1]
    W1, b1 = first.weight.detach().double(), first.bias.detach().double()
    got = _pair(call(fn, W1, b1, l0.flatten(1), u0.flatten(1)), (len(X), W1.shape[0]), "interval_linear")
    close(got[0], want[1][0], 1e-9, "the first layer's lower bound", hint)
    close(got[1], want[1][1], 1e-9, "the first layer's upper bound", hint)
    return (f"the same bounds as bound_propagation on both Linear layers of the small net's hidden "
            f"part, for {len(X)} test images at ε = 0.05.")


def _proven(bound: torch.Tensor, y: torch.Tensor) -> int:
    """How many images a (batch, 10) bound on the margins proves robust (all targets > 0)."""
    return int(((bound > 0) | torch.eye(10, dtype=torch.bool)[y]).all(1).sum())


def _naive_bound(fn) -> str:
    model = load_model("small", device="cpu")
    X, y = eval_subset(20)
    bounds = bound_propagation(model, linf_box(X.double(), 0.01))
    l, u = bounds[-1]
    got = tensor(call(fn, bounds, y), (len(y), 10), "naive_bound(bounds, y)")
    want = (l.gather(1, y[:, None]) - u).scatter(1, y[:, None], 0.0)
    hints = []
    if torch.allclose(got, (u.gather(1, y[:, None]) - l).scatter(1, y[:, None], 0.0), atol=1e-9):
        hints.append("that is an UPPER bound on the margin: the smallest z_y - z_t takes z_y at its "
                     "lower bound and z_t at its upper bound")
    elif torch.allclose(got, (l.gather(1, y[:, None]) - l).scatter(1, y[:, None], 0.0), atol=1e-9):
        hints.append("l_y - l_t is not a bound: z_t can be as large as u_t")
    elif torch.allclose(got.scatter(1, y[:, None], 0.0), want, atol=1e-9):
        hints.append("put 0 in column y (the margin of y against itself): .scatter(1, y[:, None], 0.0)")
    hints.append("take l_y of each image's own label (l.gather(1, y[:, None])) minus the whole row u")
    close(got, want, 1e-9, "the naive bound", hints[0])
    analytic = interval_based_bound(model, torch.stack([objective_matrix(int(t)) for t in y]), bounds)
    gain = ((analytic - got).sum() / (len(y) * 9)).item()           # column y is 0 in both
    return (f"the naive bound on {len(y)} test images at ε = 0.01. The analytic last layer is on "
            f"average {gain:.1f} higher per target; it proves {_proven(analytic, y)} images "
            f"robust, the naive bound {_proven(got, y)}.")


_why_geometric = multiple_choice(
    "b", "the box lets every input neuron be at its worst end at once; the widths add up, weighted by |W|.", {
        "a": ("rounding errors are of order 1e-16, far too small to explain widths growing fivefold",
              "write the width of one neuron of the next layer in terms of the widths of its inputs"),
        "c": ("the ReLU never widens an interval: it maps [l, u] to [max(l, 0), max(u, 0)]",
              "look at the linear layer: what is the width of W⁺ u + W⁻ l minus W⁺ l + W⁻ u?"),
        "d": ("the factor does not depend on ε: the table shows the same growth per layer at every ε",
              "compare the ratios between consecutive layers at ε = 0.01 and ε = 0.05"),
    })


NOTEBOOK = "08_interval_bounds"
"""The notebook these exercises belong to."""

EXERCISES = {
    "8.1": Exercise("8.1", "interval bounds through one linear layer", "implement", _interval_linear),
    "8.2": Exercise("8.2", "the naive last layer", "implement", _naive_bound),
    "8.3": Exercise("8.3", "why interval bounds loosen geometrically", "explain", _why_geometric),
}
