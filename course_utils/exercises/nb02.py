"""Exercises of notebook 02 (FGSM, the clamp, when one step is exact).

Every grader computes its reference first, on its own objects, and hands the learner's
function fresh copies (a model, images, labels), so nothing the learner's code does to its
inputs can change what it is compared with.
"""

from __future__ import annotations

import copy
import numbers
from functools import lru_cache

import torch
import torch.nn.functional as F

from ..attacks import clamp_images, cross_entropy_loss, fgsm, projected_steepest_ascent
from ..checks import approx
from ..data import eval_subset
from ..models import load_model
from .core import Exercise, NotYet, call, multiple_choice, tensor

N_IMAGES = 1000
"""The exercises' measurements use the first 1000 test images, as the notebook's text does."""


def _error(model, X, y, delta) -> float:
    with torch.no_grad():
        return (model(X + delta).argmax(1) != y).float().mean().item()


def _share(answer, name: str) -> float:
    """A learner's error rate: a number in [0, 1], or ``NotYet`` saying what it is instead."""
    if isinstance(answer, torch.Tensor) and answer.numel() == 1:
        answer = answer.item()
    if isinstance(answer, bool) or not isinstance(answer, numbers.Real):
        raise NotYet(f"{name} should be a number between 0 and 1, got {answer!r}")
    if not 0 <= answer <= 1:
        raise NotYet(f"{name} is {answer}, outside [0, 1]",
                     "give error rates as fractions of the images (0.25, not 25)")
    return float(answer)


# --- 2.1: predict the error at ε = 0.02 ---------------------------------------------------------

PREDICT_EPSILON, PREDICT_TOLERANCE = 0.02, 0.04


@lru_cache(maxsize=1)
def _errors_dnn2() -> dict:
    """dnn2's clean error and its FGSM errors (clamp on) at ε 0.02 and 0.1, first 1000 images."""
    model = load_model("dnn2", device="cpu")
    X, y = eval_subset(N_IMAGES)
    return {eps: _error(model, X, y, fgsm(model, X, y, eps) if eps else torch.zeros_like(X))
            for eps in (0.0, PREDICT_EPSILON, 0.1)}


def _predict_small_epsilon(answer) -> str:
    errors = _errors_dnn2()
    truth = errors[PREDICT_EPSILON]
    guess = _share(answer, "your prediction")
    if guess > truth + PREDICT_TOLERANCE:
        raise NotYet(f"{guess} is too high",
                     "the error does not grow in proportion to ε: a fifth of the radius fools far fewer "
                     "than a fifth of the images, because most images need a larger step to flip")
    if guess < truth - PREDICT_TOLERANCE:
        raise NotYet(f"{guess} is too low",
                     "even 0.02 flips the images that lie closest to a decision boundary along sign(g)")
    return f"dnn2's error at ε = {PREDICT_EPSILON} is {approx(truth)}."


_PREDICT_MODEL_ANSWER = (
    r"About 7%, far below the 17% that a straight line from 2.5% at $\epsilon = 0$ to 78% at "
    r"$\epsilon = 0.1$ would give. The direction $\operatorname{sign}(g)$ is the same for every "
    r"$\epsilon$, so each attacked image moves along one path as $\epsilon$ grows (with the "
    r"clamp, a pixel stops at 0 or 1), and the error at $\epsilon$ is the share of images whose "
    r"path lies beyond the decision boundary there. Few paths cross it that early: the error "
    r"climbs from about 23% at $\epsilon = 0.05$ to 97% at 0.15, about three images in four "
    r"within that stretch, so the curve starts flat and rises steeply, an S shape rather than "
    r"a line.")

# --- 2.2: a targeted step towards the least-likely class ---------------------------------------


def _down_the_target(logits, t):
    return -F.cross_entropy(logits, t, reduction="none")


def _one_step(model, X, labels, eps, *, down: bool, clamp: bool = True) -> torch.Tensor:
    """One ℓ∞ step of size ``eps`` up (or ``down``) the cross-entropy of ``labels``."""
    return projected_steepest_ascent(model, X, labels, eps, eps, 1, clamp=clamp,
                                     loss_fn=_down_the_target if down else cross_entropy_loss)


def _least_likely_cases():
    X, y = eval_subset(40)
    return [(name, load_model(name, device="cpu"), X, y, eps) for name, eps in (("dnn2", 0.1), ("cnn", 0.3))]


def _least_likely_reference(model, X, y, eps) -> dict:
    """The right δ (one clamped ℓ∞ step down the least-likely class's loss) and the usual slips."""
    with torch.no_grad():
        logits = model(X)
    t = logits.argmin(dim=1)
    return {"right": _one_step(model, X, t, eps, down=True),
            "up": _one_step(model, X, t, eps, down=False),
            "untargeted": _one_step(model, X, y, eps, down=False),
            "no clamp": _one_step(model, X, t, eps, down=True, clamp=False),
            "most likely": _one_step(model, X, logits.argmax(dim=1), eps, down=True)}


_LEAST_LIKELY_HINTS = {
    "up": "that step climbs the target's loss, away from the target: a targeted step goes down "
          "the loss of t, so take −ε·sign of its gradient",
    "untargeted": "that is FGSM on the true label y; the step should use the label t, the class with the "
                  "lowest logit at x",
    "no clamp": "keep x + δ a valid image: clip δ to [−x, 1 − x] (clamp_images) after the step",
    "most likely": "the target is the class with the LOWEST logit at x (argmin), not the predicted one",
}


def _fgsm_least_likely(fn) -> str:
    cases = _least_likely_cases()
    references = [_least_likely_reference(model, X, y, eps) for _, model, X, y, eps in cases]
    for (name, model, X, y, eps), ref in zip(cases, references):
        delta = tensor(call(fn, copy.deepcopy(model), X.clone(), y.clone(), eps), X.shape, "δ")
        if torch.allclose(delta, ref["right"], atol=1e-6):
            continue
        if torch.allclose(delta, X + ref["right"], atol=1e-6):
            raise NotYet("you returned x + δ", "return the perturbation δ itself; the caller adds it to X")
        for slip, hint in _LEAST_LIKELY_HINTS.items():
            if torch.allclose(delta, ref[slip], atol=1e-6):
                raise NotYet(f"{name}, ε = {eps}: δ is not the targeted step", hint)
        raise NotYet(f"{name}, ε = {eps}: δ differs from the targeted step by up to "
                     f"{(delta - ref['right']).abs().max():.3g}",
                     "take t = argmin of the logits at x, the gradient g_t of the loss for label t at "
                     "δ = 0, then δ = −ε·sign(g_t), clipped so that x + δ stays in [0, 1]")
    return (f"the same δ as a clamped one-step descent of the target's loss "
            f"(projected_steepest_ascent) on {len(cases[0][3])} test images, dnn2 and cnn.")


_LEAST_LIKELY_MODEL_ANSWER = (
    r"A targeted step descends the loss of the target: $\delta = -\epsilon\,"
    r"\operatorname{sign}\big(\nabla_\delta \ell(h_\theta(x + \delta), t)\big)$, i.e. "
    r"`-fgsm(model, X, t, epsilon)`, then clipped to valid images. Compared with the untargeted "
    r"step, only the label and the sign change: targeting is a choice of objective, not a new "
    r"algorithm (notebook 5 builds on that).")

# --- 2.3: why FGSM can miss for ten linear scores ------------------------------------------------

_explain_ten_classes = multiple_choice(
    "a", "the gradient at 0 weighs each wrong class by its probability at x, and the worst corner "
         "may push a class that is unlikely there.",
    {"b": ("the cross-entropy of linear logits is convex in δ",
           "it is a log-sum-exp of linear functions minus a linear one: convex, so its maximum over "
           "the box is at a corner; the question is which corner"),
     "c": ("softmax probabilities are never exactly 0 or 1",
           "saturation makes the gradient small, not zero, and a small gradient still has a sign"),
     "d": ("with ten classes the loss is not a function of one number w·δ",
           "its gradient Σ_j p_j W_j − W_y turns as the probabilities p_j change along the way")})

_TEN_CLASSES_MODEL_ANSWER = (
    r"The loss $\log \sum_j e^{z_j} - z_y$ is convex in $\delta$, so its maximum over the box is at "
    r"a corner, but it is not a function of one number $w^\top\delta$. Its gradient at "
    r"$\delta = 0$ is $\sum_j p_j W_j - W_y$: every wrong class's direction, weighted by its "
    r"probability at $x$. A class that is unlikely at $x$ gets almost no weight, even if a corner "
    r"that pushes it would raise its logit far above the others; once its logit grows, it "
    r"dominates the loss. So the corner the gradient picks can be beaten by another, as in the "
    r"two-dimensional example below. With two classes the gradient always points along "
    r"$\pm(W_1 - W_0)$: the binary case, where FGSM is exact.")

# --- 2.4: random corners against FGSM's ---------------------------------------------------------

SEEDS = range(5)
RADII = (0.1, 0.3)


@lru_cache(maxsize=1)
def _random_corner_errors() -> dict:
    """dnn2's error under random corners (mean and spread over seeds), FGSM's, and the slips'."""
    model = load_model("dnn2", device="cpu")
    X, y = eval_subset(N_IMAGES)
    runs = {"off": [], "on": [], "uniform on": []}
    for seed in SEEDS:
        signs = torch.randint(0, 2, X.shape, generator=torch.Generator().manual_seed(seed)) * 2.0 - 1
        uniform = torch.rand(X.shape, generator=torch.Generator().manual_seed(seed)) * 2 - 1
        runs["off"].append([_error(model, X, y, e * signs) for e in RADII])
        runs["on"].append([_error(model, X, y, clamp_images(X, e * signs)) for e in RADII])
        runs["uniform on"].append([_error(model, X, y, clamp_images(X, e * uniform)) for e in RADII])
    out = {k: (torch.tensor(v).mean(0), torch.tensor(v).std(0)) for k, v in runs.items()}
    out["fgsm"] = {c: torch.tensor([_error(model, X, y, fgsm(model, X, y, e, clamp=c == "on")) for e in RADII])
                   for c in ("off", "on")}
    return out


def _pair(answer, setting: str) -> torch.Tensor:
    value = answer.get(setting) if isinstance(answer, dict) else None
    if not isinstance(value, (tuple, list)) or len(value) != len(RADII):
        raise NotYet(f'answer["{setting}"] should be a pair (error at 0.1, error at 0.3), got {value!r}',
                     'answer = {"off": (e1, e2), "on": (e3, e4)}')
    return torch.tensor([_share(v, f'answer["{setting}"]') for v in value])


def _near(got: torch.Tensor, mean_std) -> bool:
    mean, std = mean_std
    return bool(((got - mean).abs() <= torch.clamp(4 * std, min=0.015)).all())


def _investigate_random_corners(answer) -> str:
    ref = _random_corner_errors()
    if not isinstance(answer, dict) or set(answer) != {"off", "on"}:
        raise NotYet(f'answer should be a dict with the keys "off" and "on", got {answer!r}',
                     'answer = {"off": (e1, e2), "on": (e3, e4)}: the errors at ε = 0.1 and 0.3')
    got = {s: _pair(answer, s) for s in ("off", "on")}
    if all(_near(got[s], ref[s]) for s in got):
        return (f"within the spread of {len(SEEDS)} random seeds, without and with the clamp.")
    if all(torch.allclose(got[s], ref["fgsm"][s], atol=0.01) for s in got):
        raise NotYet("those are FGSM's errors", "draw the signs at random (torch.randint), not from the gradient")
    if _near(got["off"], ref["on"]) and _near(got["on"], ref["off"]):
        raise NotYet("the clamped and unclamped errors are swapped", '"on" is with clamp_images, "off" without')
    if _near(got["off"], ref["off"]) and _near(got["on"], ref["uniform on"]):
        raise NotYet("with the clamp your noise fools far fewer images than random corners do",
                     "every pixel moves by exactly ±ε (a corner of the ball), not by a uniform amount")
    worst = max(got, key=lambda s: float((got[s] - ref[s][0]).abs().max()))
    raise NotYet(f'answer["{worst}"] is far from a recomputation with random signs',
                 "δ = ε·s with s a tensor of random ±1 of X's shape; for \"on\" clamp_images(X, δ); "
                 "error = share of the first 1000 test images that dnn2 gets wrong on X + δ")


_RANDOM_MODEL_ANSWER = (
    r"Without the clamp a random corner barely hurts: about 3% error at $\epsilon = 0.1$ (2.5% "
    r"clean) and about 6% at 0.3, where FGSM's corner fools nearly every image. To first order "
    r"the loss changes by $g^\top\delta$: FGSM's corner gives $\epsilon\|g\|_1$, a random corner a "
    r"sum of terms $\pm\epsilon g_i$ with mean 0 and standard deviation $\epsilon\|g\|_2$, up to "
    r"$\sqrt{784} = 28$ times smaller. The direction, not the size, makes an adversarial example. "
    r"With the clamp, random noise at 0.3 fools about 30%: on the background (pixels at 0) the "
    r"clamp cuts every $-0.3$ to 0 and keeps every $+0.3$, so the noise is no longer balanced; it "
    r"paints grey ink over half the background. The clamp weakens FGSM (it forbids part of its "
    r"moves) but makes random noise one-sided.")

# --- 2.5: the clamp at ε = 1 ---------------------------------------------------------------------


def _predict_clamp_at_one(answer) -> str:
    model = load_model("dnn2", device="cpu")
    X, y = eval_subset(20)
    sign_g = fgsm(model, X, y, 1.0, clamp=False)
    adv = X + fgsm(model, X, y, 1.0)
    moved = sign_g != 0
    if not bool((adv[moved] == (sign_g[moved] > 0).float()).all()):  # say so rather than grade blindly
        raise NotYet("on this run x + δ is not the black-and-white sign picture",
                     "run the cell below and compare with each option")
    return _clamp_choice(answer)


_clamp_choice = multiple_choice(
    "d", "every pixel whose gradient entry is not zero ends at 1 (positive) or 0 (negative): the "
         "digit is gone, only the gradient's sign is left.",
    {"a": ("that is not what the clamp does at ε = 1",
           "the clamp cuts x + δ back to the nearest end of [0, 1], not back to x"),
     "b": ("that is not what the clamp does at ε = 1",
           "x ± 1 lies outside [0, 1] for almost every pixel: the clamp forbids it"),
     "c": ("that is not what the clamp does at ε = 1",
           "each pixel goes up or down with the sign of its own gradient entry")})

_CLAMP_MODEL_ANSWER = (
    r"Unclamped, $x_i + \delta_i = x_i \pm 1$, outside $[0, 1]$ for every pixel except those at "
    r"exactly 0 going up or exactly 1 going down. The clamp cuts each back to the nearest end: "
    r"pixels whose gradient entry is positive become 1, those whose entry is negative become 0, "
    r"whatever they were. The attacked image no longer shows the digit; it is a picture of the "
    r"gradient's sign. That is why $\epsilon$ must be small for an adversarial example to mean "
    r"anything: the ball must hold only images that still show the same digit.")


NOTEBOOK = "02_fgsm"
"""The notebook these exercises belong to."""

EXERCISES = {
    "2.1": Exercise("2.1", "the error at ε = 0.02", "predict", _predict_small_epsilon,
                    model_answer=_PREDICT_MODEL_ANSWER),
    "2.2": Exercise("2.2", "a targeted step", "implement", _fgsm_least_likely,
                    model_answer=_LEAST_LIKELY_MODEL_ANSWER),
    "2.3": Exercise("2.3", "ten linear scores", "explain", _explain_ten_classes,
                    model_answer=_TEN_CLASSES_MODEL_ANSWER),
    "2.4": Exercise("2.4", "is it the direction that matters?", "investigate", _investigate_random_corners,
                    model_answer=_RANDOM_MODEL_ANSWER),
    "2.5": Exercise("2.5", "the clamp at ε = 1", "predict", _predict_clamp_at_one,
                    model_answer=_CLAMP_MODEL_ANSWER),
}
