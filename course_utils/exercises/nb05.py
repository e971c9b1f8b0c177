"""Exercises of notebook 05 (targeted attacks, attacks in the ℓ2 ball)."""

from __future__ import annotations

import math
import numbers

import torch

from ..attacks import fgsm, projected_steepest_ascent
from ..data import eval_subset
from ..models import load_model
from .core import Exercise, NotYet, call, close, multiple_choice, tensor


def _reference_margin_loss(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """max_{j != y} z_j - z_y per example: minus the smallest margin m_t over targets t."""
    others = logits.scatter(1, y[:, None], float("-inf"))
    return others.amax(dim=1) - logits.gather(1, y[:, None])[:, 0]


def _margin_hint(got: torch.Tensor, logits: torch.Tensor, y: torch.Tensor) -> str:
    """The hint for a ``margin_loss`` whose values are wrong: which plausible mistake it is."""
    z_y = logits.gather(1, y[:, None])[:, 0]
    want = _reference_margin_loss(logits, y)
    if torch.allclose(got, -want, atol=1e-4):
        return "the sign is flipped: the attack MAXIMISES its loss, so return (largest other logit) - z_y"
    if torch.allclose(got, logits.amax(dim=1) - z_y, atol=1e-4):
        return ("exclude the true class from the max: with it, the loss is stuck at 0 on every "
                "correctly classified image (set z_y to -inf before taking the max)")
    if torch.allclose(got, logits.sum(dim=1) - 2 * z_y, atol=1e-3):
        return "take the LARGEST other logit, not the sum of the others: only the largest one decides the prediction"
    return ("for each image, take the largest logit among the classes j != y and subtract the true "
            "class's logit z_y; logits.gather(1, y[:, None]) picks z_y")


def _margin_loss(fn) -> str:
    model = load_model("dnn2", device="cpu")
    X, y = eval_subset(40)
    X_fgsm = X + fgsm(model, X, y, 0.1, clamp=False)
    with torch.no_grad():  # clean images (mostly right) and FGSM images (mostly wrong)
        logits = torch.cat([model(X), model(X_fgsm)])
    yy = torch.cat([y, y])
    got = call(fn, logits, yy)
    if isinstance(got, torch.Tensor) and got.dim() == 0:
        raise NotYet("margin_loss returned one number for the whole batch",
                     "return one value per image, shape (n,): no .sum() or .mean()")
    got = tensor(got, (len(yy),), "margin_loss(logits, y)")
    want = _reference_margin_loss(logits, yy)
    close(got, want, 1e-4, "margin_loss(logits, y)", _margin_hint(got, logits, yy))
    X20, y20 = X[:20], y[:20]
    try:
        theirs = projected_steepest_ascent(model, X20, y20, 0.1, 0.01, 10, loss_fn=fn, clamp=False)
    except RuntimeError as e:
        raise NotYet(f"the attack could not differentiate your loss ({e})",
                     "use torch operations on `logits` only: no .detach(), .item() or numpy") from None
    ours = projected_steepest_ascent(model, X20, y20, 0.1, 0.01, 10, loss_fn=_reference_margin_loss,
                                     clamp=False)
    close(theirs, ours, 1e-6, "δ of ℓ∞ PGD with your loss", "the values are right; keep every step differentiable")
    flipped = int((want > 0).sum())
    return (f"checked on {len(yy)} images ({flipped} of them misclassified, where the loss is > 0), "
            "and ℓ∞ PGD with it as loss_fn gives the reference δ.")


def _reference_radius(epsilon: float, n: int) -> float:
    return 2 * epsilon / math.sqrt(math.pi) * math.exp(math.lgamma(n / 2 + 1) / n)


def _radius_hint(got: float, epsilon: float, n: int) -> str:
    want = _reference_radius(epsilon, n)
    if math.isclose(got, epsilon * math.sqrt(2 * n / (math.pi * math.e)), rel_tol=1e-9):
        return ("that is Stirling's approximation, good only for large n: compute "
                "Γ(n/2 + 1)^(1/n) exactly, as exp(math.lgamma(n/2 + 1) / n)")
    if math.isclose(got, want / 2, rel_tol=1e-9):
        return "the cube [-ε, ε]^n has side 2ε, so its volume is (2ε)^n"
    return ("set π^(n/2) r^n / Γ(n/2 + 1) equal to (2ε)^n and solve for r; take logarithms "
            "before the n-th root (math.lgamma)")


def _equal_volume_radius(fn) -> str:
    cases = [(0.1, 1), (0.1, 2), (0.3, 3), (0.1, 10), (0.1, 784), (8 / 255, 3072), (0.01, 150528)]
    for epsilon, n in cases:
        try:
            got = call(fn, epsilon, n, returns=(numbers.Real, torch.Tensor))
        except NotYet as e:
            if "OverflowError" not in e.reason:
                raise
            raise NotYet(f"your function overflowed for n = {n}: Γ({n / 2 + 1:g}) is far beyond the "
                         "largest float", "work in log space: math.lgamma(n/2 + 1) is the logarithm "
                         "of Γ(n/2 + 1); divide it by n before exponentiating") from None
        if isinstance(got, torch.Tensor) and got.numel() == 1:
            got = got.item()
        if isinstance(got, bool) or not isinstance(got, numbers.Real) or not math.isfinite(got):
            raise NotYet(f"for ε = {epsilon:g}, n = {n} your function returned {got!r}, not a finite number",
                         "take the n-th root in log space: exp(lgamma(n/2 + 1) / n)")
        want = _reference_radius(epsilon, n)
        if not math.isclose(got, want, rel_tol=1e-7):
            raise NotYet(f"for ε = {epsilon:g}, n = {n} the radius is {want:.6g}, you have {got:.6g}",
                         _radius_hint(got, epsilon, n))
    return (f"exact for n = 1 (r = ε) up to n = 150528 (ImageNet); MNIST at ε = 0.1: "
            f"r = {_reference_radius(0.1, 784):.3f}.")


_why_sum_is_harder = multiple_choice(
    "b", "the prediction is decided by the largest other logit; the sum spends the budget on "
    "classes that do not matter.", {
        "a": ("sign steps do not depend on the size of the gradient",
              "recall notebook 4: the step is α·sign(g) whatever |g| is; look at WHICH logits the "
              "objective pushes"),
        "c": ("both objectives are differences of logits, not cross-entropies; neither saturates",
              "write out which logits each objective raises and which it lowers"),
        "d": ("the factor 2 only cancels the target's own term in the sum; the sign steps have fixed size α",
              "look at which logits the objective lowers, and which one decides the prediction"),
    })


NOTEBOOK = "05_targeted_and_l2"
"""The notebook these exercises belong to."""

EXERCISES = {
    "5.1": Exercise("5.1", "the margin loss", "implement", _margin_loss),
    "5.2": Exercise("5.2", "the equal-volume ℓ2 radius", "implement", _equal_volume_radius),
    "5.3": Exercise("5.3", "why the second targeted objective is harder", "explain", _why_sum_is_harder),
}
