"""Exercises of notebook 02 (FGSM, the clamp)."""

from __future__ import annotations

import torch

from ..attacks import fgsm, projected_steepest_ascent
from ..data import eval_subset
from ..models import load_model
from .core import Exercise, NotYet, call, choice, multiple_choice, tensor


def _fgsm_l2(fn) -> str:
    model = load_model("dnn2", device="cpu")
    X, y = eval_subset(20)
    epsilon = 1.0
    delta = tensor(call(fn, model, X, y, epsilon), X.shape, "δ")
    norms = delta.flatten(1).norm(dim=1)
    if not torch.allclose(norms, torch.full_like(norms, epsilon), atol=1e-4):
        raise NotYet(f"every image's δ should have ℓ2 norm ε = {epsilon}, but the norms range from "
                     f"{norms.min():.3g} to {norms.max():.3g}",
                     "divide each image's gradient by its own ℓ2 norm, "
                     "g.flatten(1).norm(dim=1), reshaped to broadcast over the image")
    want = projected_steepest_ascent(model, X, y, epsilon, epsilon, 1, norm="l2", clamp=False)
    cosine = torch.nn.functional.cosine_similarity(delta.flatten(1), want.flatten(1), dim=1)
    if not cosine.min() > 0.9999:
        raise NotYet(f"δ has the right length but points elsewhere than the gradient "
                     f"(cosine down to {cosine.min():.3f})",
                     "take the gradient of the loss with respect to δ at δ = 0, and keep its sign "
                     "and proportions: no sign(), no clamp")
    return f"δ = ε g/‖g‖₂ on {len(y)} test images, as one ℓ2 step of projected_steepest_ascent."


def _predict_clamp_at_one(answer) -> str:
    picked = choice(answer, ["a", "b", "c", "d"])
    model = load_model("dnn2", device="cpu")
    X, y = eval_subset(20)
    sign_g = fgsm(model, X, y, 1.0, clamp=False)
    adv = X + fgsm(model, X, y, 1.0)
    moved = sign_g != 0
    binary = bool((adv[moved] == (sign_g[moved] > 0).float()).all())
    if not binary:  # the lesson's claim no longer holds: say so rather than grade blindly
        raise NotYet("on this run x + δ is not the black-and-white sign picture",
                     "run the cell below and compare with each option")
    if picked != "b":
        hints = {"a": "the clamp cuts x + δ back to the nearest end of [0, 1], not back to x",
                 "c": "x ± 1 lies outside [0, 1] for almost every pixel: the clamp forbids it",
                 "d": "each pixel goes up or down with the sign of its own gradient entry"}
        raise NotYet("that is not what the clamp does at ε = 1", hints[picked])
    return (f"on {len(y)} test images every pixel whose gradient is not zero ends at 1 (gradient "
            "positive) or 0 (negative): the digit is gone, only the gradient's sign is left.")


_explain_sign = multiple_choice(
    "b", "the box is a product of intervals, so g·δ is maximised entry by entry at ε·sign(g_i).",
    {"a": ("that is not the reason", "it is cheap, but cheapness does not make a step right: compare "
           "the value of g·δ over the box for ε·sign(g) and for any other δ"),
     "c": ("that is not the reason", "the gradient is exact, not noisy: the question is which δ in the "
           "box maximises g·δ"),
     "d": ("that is not the reason", "‖sign(g)‖₂ is the square root of the number of non-zero entries, "
           "not 1")})


def _fgsm_valid(fn) -> str:
    model = load_model("dnn2", device="cpu")
    X, y = eval_subset(20)
    epsilon = 0.1
    delta = tensor(call(fn, model, X, y, epsilon), X.shape, "δ")
    if torch.allclose(delta, X + fgsm(model, X, y, epsilon), atol=1e-6):
        raise NotYet("you returned x + δ", "return the perturbation δ itself; the caller adds it to X")
    if delta.abs().max() > epsilon + 1e-6:
        raise NotYet(f"δ leaves the ε-ball: its largest entry is {delta.abs().max():.3g}",
                     "keep |δ| ≤ ε: clip the step, do not add to it")
    adv = X + delta
    if adv.min() < -1e-6 or adv.max() > 1 + 1e-6:
        raise NotYet(f"x + δ takes values from {adv.min():.3g} to {adv.max():.3g}, outside [0, 1]",
                     "clip δ entry by entry to [−x, 1 − x], e.g. torch.min(torch.max(delta, -X), 1 - X)")
    want = fgsm(model, X, y, epsilon)
    if not torch.allclose(delta, want, atol=1e-6):
        raise NotYet("x + δ is a valid image, but δ is not the clamped FGSM step",
                     "take ε·sign(g) for the gradient g at δ = 0 first, then clip it to [−x, 1 − x] "
                     "(clipping δ to [0, 1] is a different thing)")
    return f"the same δ as course_utils.attacks.fgsm (clamp on) on {len(y)} test images."


NOTEBOOK = "02_fgsm"
"""The notebook these exercises belong to."""

EXERCISES = {
    "2.1": Exercise("2.1", "FGSM under ℓ2", "implement", _fgsm_l2),
    "2.2": Exercise("2.2", "the clamp at ε = 1", "predict", _predict_clamp_at_one),
    "2.3": Exercise("2.3", "why only the sign survives", "explain", _explain_sign),
    "2.4": Exercise("2.4", "FGSM on valid images", "implement", _fgsm_valid),
}
