"""Exercises of notebook 04 (normalized steepest descent)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ..data import eval_subset
from ..models import load_model
from .core import Exercise, NotYet, call, choice, multiple_choice, tensor


def _input_gradients(n: int = 20) -> torch.Tensor:
    """Gradient of the summed cross-entropy of dnn2 at δ = 0 on the first ``n`` test images."""
    model = load_model("dnn2", device="cpu")
    X, y = eval_subset(n)
    delta = torch.zeros_like(X, requires_grad=True)
    F.cross_entropy(model(X + delta), y, reduction="sum").backward()
    return delta.grad.detach()


def _steepest_l1(fn) -> str:
    g = _input_gradients()
    v = tensor(call(fn, g), g.shape, "v")
    flat, gf = v.flatten(1), g.flatten(1)
    l1 = flat.abs().sum(dim=1)
    if not torch.allclose(l1, torch.ones_like(l1), atol=1e-5):
        raise NotYet(f"each image's v should have ℓ1 norm 1, but the norms range from {l1.min():.4g} "
                     f"to {l1.max():.4g}",
                     "the ℓ1 ball's corners lie on the axes: put the whole budget on ONE coordinate of "
                     "each image (flatten(1), then argmax over dim=1), not on every pixel")
    gain, best = (flat * gf).sum(dim=1), gf.abs().amax(dim=1)
    if (gain < -0.999 * best).any():
        raise NotYet("for some images v·g is negative: v points downhill",
                     "keep the sign of g at the chosen coordinate: v_i = sign(g_i)")
    if not torch.allclose(gain, best, rtol=1e-5):
        worst = int((best - gain).argmax())
        raise NotYet(f"v·g should equal ‖g‖∞ (the dual norm of ℓ1), but for image {worst} it is "
                     f"{gain[worst]:.4g} against ‖g‖∞ = {best[worst]:.4g}",
                     "choose the coordinate with the largest |g_i| (abs() before argmax), in each "
                     "image separately")
    return (f"one coordinate per image, v·g = ‖g‖∞ on the gradients of {len(g)} test images: "
            "the ℓ1 step changes a single pixel.")


def _linf_climb_end() -> tuple:
    """Where ten ℓ∞ sign steps of 0.2 on f(z) = z₁ - (z₂ - 0.3)² from 0 end (box radius 1)."""
    z = np.zeros(2)
    for _ in range(10):
        g = np.array([1.0, -2.0 * (z[1] - 0.3)])
        z = np.clip(z + 0.2 * np.sign(g), -1.0, 1.0)
    return tuple(round(float(v), 6) for v in z)


CLIMB_OPTIONS = {"a": (1.0, 1.0), "b": (1.0, 0.3), "c": (1.0, 0.4), "d": (0.3, 1.0)}


def _predict_climb(answer) -> str:
    picked = choice(answer, list(CLIMB_OPTIONS))
    end = _linf_climb_end()
    if CLIMB_OPTIONS[picked] == end:
        return f"the climb ends at {end}: z₂ overshoots 0.3 and bounces between 0.2 and 0.4."
    if picked == "b":
        raise NotYet("a sign step moves every coordinate by exactly ±α = ±0.2, so z₂ can never "
                     "settle at 0.3",
                     "follow z₂: 0 → 0.2 → 0.4; at 0.4 the slope -2(z₂ - 0.3) is negative, so the next "
                     "step goes back down: it bounces")
    if picked == "a":
        raise NotYet("z₂ does not keep climbing: the slope in z₂ changes sign at z₂ = 0.3",
                     "watch the sign of ∂f/∂z₂ = -2(z₂ - 0.3) after each step")
    raise NotYet("z₁ has slope 1 everywhere, so it climbs by 0.2 per step until the box stops it at 1",
                 "treat the two coordinates separately: each moves by ±0.2 with the sign of its slope")


_why_rescale = multiple_choice(
    "b", "the projection is the nearest point of the ball; clipping to the inscribed cube would "
    "waste almost all of it.", {
        "a": ("both take one pass over the pixels; speed is not the reason",
              "compare where the two maps send a δ that points along a single pixel"),
        "c": ("clipping to [-ε/√n, ε/√n] never leaves the ball: the cube of that side fits inside it",
              "the question is which point of the ball each map returns, not whether it is in the ball"),
        "d": ("neither map knows about the image range [0, 1]; that is the clamp's job",
              "think of the definition of a projection: the nearest point of the set"),
    })


NOTEBOOK = "04_steepest_descent"
"""The notebook these exercises belong to."""

EXERCISES = {
    "4.1": Exercise("4.1", "the steepest direction under ℓ1", "implement", _steepest_l1),
    "4.2": Exercise("4.2", "where the ℓ∞ climb ends", "predict", _predict_climb),
    "4.3": Exercise("4.3", "why the ℓ2 projection rescales", "explain", _why_rescale),
}
