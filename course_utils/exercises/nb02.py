"""Exercises of notebook 02 (FGSM)."""

from __future__ import annotations

import torch

from ..attacks import projected_steepest_ascent
from ..data import eval_subset
from ..models import load_model
from .core import Exercise, NotYet, call, tensor


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


EXERCISES = {
    "2.1": Exercise("2.1", "FGSM under ℓ2", "implement", _fgsm_l2),
}
