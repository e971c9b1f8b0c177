"""Exercises of notebook 09 (CROWN's linear bounds, certified accuracy)."""

from __future__ import annotations

import torch

from ..bounds import bound_propagation, linear_bounds
from ..certified import crown_certified, interval_certified
from ..data import eval_subset
from ..models import load_model
from ..network import lower
from ..relu import relu_relaxation
from ..threat import linf_box
from .core import Exercise, NotYet, call, choice, close, multiple_choice, tensor


def _hidden_bounds(epsilon: float = 0.05, n: int = 5):
    """CROWN's pre-activation bounds of the small net's hidden layers on the first ``n`` test
    images, flattened into one ``(l, u)`` pair (mixed stable and unstable neurons)."""
    model = load_model("small", device="cpu")
    X, _ = eval_subset(n)
    pre, _ = linear_bounds(model, linf_box(X.double(), epsilon))
    return torch.cat([l for l, _ in pre[:-1]], 1), torch.cat([u for _, u in pre[:-1]], 1)


def _triple(result, shape, what: str):
    if not (isinstance(result, (tuple, list)) and len(result) == 3):
        raise NotYet(f"{what} should return three tensors (lower_slope, upper_slope, upper_offset)",
                     "return lower_slope, upper_slope, upper_offset")
    return [tensor(t, shape, f"{what}[{i}]") for i, t in enumerate(result)]


def _lines_hint(name: str, l, u, got, want) -> str:
    unstable = (l < 0) & (u > 0)
    wrong = (got - want).abs() > 1e-9
    if (wrong & ~unstable).any():
        return ("stable neurons are exact: slope 1 and offset 0 when l >= 0 (the ReLU is the identity), "
                "all zero when u <= 0")
    if name == "lower_slope":
        return ("for an unstable neuron the lower slope is 1 when u >= -l (the identity is the closer side "
                "of the triangle) and 0 otherwise")
    if name == "upper_offset":
        return "the chord through (l, 0) and (u, u) is u (z - l) / (u - l): its offset is -l u / (u - l), positive"
    return "the chord through (l, 0) and (u, u) has slope u / (u - l)"


def _lines(fn) -> str:
    l, u = _hidden_bounds()
    got = _triple(call(fn, l, u, returns=(tuple, list)), l.shape, "lines(l, u)")
    want = relu_relaxation(l, u)
    for name, g, w in zip(("lower_slope", "upper_slope", "upper_offset"), got, want):
        close(g, w, 1e-9, name, _lines_hint(name, l, u, g, w))
    z = l + (u - l) * torch.rand(l.shape, generator=torch.Generator().manual_seed(0), dtype=l.dtype)
    relu = z.clamp(min=0)
    if not ((got[0] * z <= relu + 1e-9).all() and (relu <= got[1] * z + got[2] + 1e-9).all()):
        raise NotYet("your lines do not sandwich relu at some points of [l, u]", "check both lines on [l, u]")
    unstable = int(((l < 0) & (u > 0)).sum())
    return (f"the package's lines on {l.numel()} hidden neurons of the small net at ε = 0.05 ({unstable} "
            "unstable), and they sandwich relu at a random point of every [l, u].")


def _reference_step(A, l, u):
    lower_slope, upper_slope, upper_offset = relu_relaxation(l, u)
    pos, neg = A.clamp(min=0), A.clamp(max=0)
    return pos * lower_slope + neg * upper_slope, neg @ upper_offset


def _through_relu(fn) -> str:
    l, u = (t[0, :50] for t in _hidden_bounds(n=1))          # the first hidden layer of image 0
    A = torch.randn(7, 50, generator=torch.Generator().manual_seed(1), dtype=l.dtype)
    result = call(fn, A, l, u, returns=(tuple, list))
    if not (isinstance(result, (tuple, list)) and len(result) == 2):
        raise NotYet("through_relu should return a pair (A_hat, const)", "return A_hat, const")
    A_hat, const = tensor(result[0], A.shape, "A_hat"), tensor(result[1], (A.shape[0],), "const")
    want_A, want_c = _reference_step(A, l, u)
    lower_slope, upper_slope, upper_offset = relu_relaxation(l, u)
    if torch.allclose(A_hat, A * lower_slope, atol=1e-9):
        hint = ("a negative coefficient times the LOWER line is not a lower bound: where A < 0 use the "
                "upper line (split A into A.clamp(min=0) and A.clamp(max=0))")
    elif torch.allclose(A_hat, A.clamp(min=0) * upper_slope + A.clamp(max=0) * lower_slope, atol=1e-9):
        hint = "the lines are swapped: positive coefficients take the lower line, negative ones the upper line"
    else:
        hint = "A_hat = A⁺ * lower_slope + A⁻ * upper_slope, with A⁺ = A.clamp(min=0), A⁻ = A.clamp(max=0)"
    close(A_hat, want_A, 1e-9, "A_hat", hint)
    if torch.allclose(const, A @ upper_offset, atol=1e-9) and not torch.allclose(want_c, const, atol=1e-9):
        raise NotYet("const uses every coefficient", "only the negative part of A meets the upper line's offset: "
                     "A.clamp(max=0) @ upper_offset")
    close(const, want_c, 1e-9, "const", "the offset comes from the upper lines only: A.clamp(max=0) @ upper_offset")
    return "the step of crown's loop, on the first hidden layer of the small net (image 0, ε = 0.05)."


def _predict_image_6(answer) -> str:
    picked = choice(answer, ["interval", "crown", "neither"])
    model = load_model("small", device="cpu")
    X, y = eval_subset(7)
    X, y = X[6:7], y[6:7]
    by_interval = bool(interval_certified(model, X, y, 0.01)[0])
    by_crown = bool(crown_certified(lower(model, X.shape[1:]), X, y, 0.01)[0])
    truth = "interval" if by_interval else "crown" if by_crown else "neither"
    l, u = bound_propagation(model, linf_box(X.double(), 0.01))[-1]
    found = (f"interval bounds {'prove' if by_interval else 'do not prove'} it (the logits' intervals are "
             f"{(u - l).mean():.1f} wide on average); CROWN {'proves' if by_crown else 'does not prove'} it")
    if picked != truth:
        raise NotYet(f"not this time: {found}",
                     "interval bounds loosen by a factor per layer; CROWN keeps how the neurons depend on x")
    return found + "."


_failed_attack = multiple_choice(
    "b", "an attack's margin is an upper bound on the worst-case margin: a positive one proves nothing.", {
        "a": ("the attack only tried some points of the ball; the MILP found one with margin -0.401",
              "the worst-case margin is a minimum over the ball: what does ONE point tell you about a minimum?"),
        "c": ("the margin at one point of the ball cannot be below the minimum over the ball: it is an upper "
              "bound, not a lower one", "compare: m* = min over the ball, PGD's value = the margin at one point"),
        "d": ("the MILP's point was replayed on the real network and is misclassified",
              "a solver's claim is checked on the model; the attack, not the MILP, missed something"),
    })


NOTEBOOK = "09_certified_accuracy"
"""The notebook these exercises belong to."""

EXERCISES = {
    "9.1": Exercise("9.1", "CROWN's two lines", "implement", _lines),
    "9.2": Exercise("9.2", "one back-substitution step through a ReLU layer", "implement", _through_relu),
    "9.3": Exercise("9.3", "who proves image 6?", "predict", _predict_image_6),
    "9.4": Exercise("9.4", "what a failed attack tells us", "explain", _failed_attack),
}
