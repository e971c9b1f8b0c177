"""Exercises of notebook 03 (PGD: raw and normalised steps, the spread of gradient scales)."""

from __future__ import annotations

import numbers
from typing import Dict

import torch
import torch.nn.functional as F

from ..attacks import pgd_linf
from ..checks import approx
from ..data import eval_subset
from ..models import load_model
from .core import Exercise, NotYet, call, multiple_choice, tensor

# --- 3.1: how many entries does one raw step of 1e4 push to the edge? ---------------------------

REACH_TOL = 0.1
"""How far a predicted share may be from the measured one."""


def _share_of_entries_at_edge(alpha: float = 1e4, epsilon: float = 0.1, n: int = 100) -> float:
    """Share of the CNN's input-gradient entries (first ``n`` test images, the loss summed, at
    ``delta = 0``) with ``alpha * |g_i| >= epsilon``: those one raw step takes to ``±epsilon``."""
    model = load_model("cnn", device="cpu")
    X, y = eval_subset(n)
    delta = torch.zeros_like(X, requires_grad=True)
    F.cross_entropy(model(X + delta), y, reduction="sum").backward()
    return float((alpha * delta.grad.abs() >= epsilon).float().mean())


def _number(answer, what: str) -> float:
    """``answer`` as a float (a number or a one-entry tensor), or ``NotYet``."""
    if isinstance(answer, torch.Tensor) and answer.numel() == 1:
        answer = answer.item()
    if isinstance(answer, bool) or not isinstance(answer, numbers.Real):
        raise NotYet(f"{what} should be a number, got {answer!r}", "write it as a plain number, e.g. 0.5")
    return float(answer)


def _predict_reach(answer) -> str:
    truth = _share_of_entries_at_edge()
    share = _number(answer, "the share")
    if not 0 <= share <= 1:
        raise NotYet(f"a share lies between 0 and 1, got {share:g}", "0.5 means half of the entries (not 50)")
    if abs(share - truth) <= REACH_TOL:
        return f"one raw step of 1e4 takes a share {approx(truth)} of the 78,400 entries to ±ε."
    if share > truth:
        raise NotYet("far fewer entries reach the edge",
                     "the mean |g_i| can be carried by a few images with huge gradients; what does a "
                     "typical image's entry look like? Think of the median, not the mean")
    raise NotYet("more entries reach the edge than that",
                 "some images have large gradients, and their entries pass ε/α = 1e-5 easily")


# --- 3.2: PGD with momentum (MI-FGSM) --------------------------------------------------------------

def _momentum_run(model, X, y, epsilon: float, alpha: float, num_iter: int, mu: float, *,
                  normalise: str = "l1 per image", accumulate: str = "direction", clip: bool = True):
    """MI-FGSM (``normalise="l1 per image"``, ``accumulate="direction"``) and the variants a
    learner may write by mistake: another normalisation ("none", "l1 batch", "l2 per image"),
    momentum of the signs (``accumulate="sign"``), no clip."""
    delta = torch.zeros_like(X, requires_grad=True)
    m = torch.zeros_like(X)
    for _ in range(num_iter):
        (g,) = torch.autograd.grad(F.cross_entropy(model(X + delta), y, reduction="sum"), delta)
        flat = g.flatten(1)
        scale = {"none": torch.ones(len(g)), "l1 batch": flat.abs().sum().expand(len(g)),
                 "l1 per image": flat.abs().sum(dim=1), "l2 per image": flat.norm(dim=1)}[normalise]
        step = g / scale.reshape(-1, *[1] * (g.dim() - 1))
        m = mu * m + (step.sign() if accumulate == "sign" else step)
        delta = delta + alpha * m.sign()
        delta = (delta.clamp(-epsilon, epsilon) if clip else delta).detach().requires_grad_(True)
    return delta.detach()


_MOMENTUM_MISTAKES = (
    ({"normalise": "none"}, "you add the raw gradient to m",
     "divide each image's gradient by its own ℓ1 norm, g.abs().flatten(1).sum(dim=1), before adding it to m"),
    ({"normalise": "l1 batch"}, "you divide by the ℓ1 norm of the whole batch's gradient",
     "take the ℓ1 norm of each image separately: g.abs().flatten(1).sum(dim=1), reshaped to broadcast"),
    ({"normalise": "l2 per image"}, "you divide by the ℓ2 norm",
     "MI-FGSM divides by the ℓ1 norm, the sum of |g_i| over the image"),
    ({"accumulate": "sign"}, "you accumulate the signs of the gradients",
     "add the normalised gradient g/‖g‖₁ itself to m; take the sign only for the step"),
    ({"mu": 0.0}, "you never use the accumulated m: this is pgd_linf",
     "keep m from one step to the next: m = mu * m + g / ‖g‖₁, starting from zeros"),
)

_MOMENTUM_SETTING = {"epsilon": 0.1, "alpha": 0.02, "num_iter": 10, "mu": 1.0}   # the steps add up to 2ε
AGREE = 0.999
"""Share of entries that must agree with the reference (a sign can flip where m is ~0)."""


def _agreement(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(((a - b).abs() <= 1e-6).float().mean())


def _pgd_momentum(fn) -> str:
    model = load_model("dnn2", device="cpu")
    X, y = eval_subset(20)
    want = _momentum_run(model, X, y, **_MOMENTUM_SETTING)
    learners = load_model("dnn2", device="cpu")          # the learner's own copy of the model
    got = tensor(call(fn, learners, X.clone(), y.clone(), *_MOMENTUM_SETTING.values()), X.shape, "δ")
    if _agreement(got, want) >= AGREE:
        moved = float((want != pgd_linf(model, X, y, 0.1, 0.02, 10, clamp=False)).float().mean())
        return (f"the MI-FGSM δ on {len(y)} test images (μ = 1, 10 steps of 0.02); a share {approx(moved, 2)} of "
                "its entries differ from pgd_linf's.")
    if got.abs().max() > _MOMENTUM_SETTING["epsilon"] + 1e-6:
        raise NotYet(f"δ leaves the ε-ball: its largest entry is {got.abs().max():.3g}",
                     "clip δ to [-ε, ε] after every step")
    for change, reason, hint in _MOMENTUM_MISTAKES:
        if _agreement(got, _momentum_run(model, X, y, **{**_MOMENTUM_SETTING, **change})) >= AGREE:
            raise NotYet(reason, hint)
    raise NotYet(f"δ differs from MI-FGSM's on {1 - _agreement(got, want):.1%} of its entries",
                 "start from m = 0 and δ = 0; at each step take the gradient g at the current δ, then "
                 "m = mu·m + g/‖g‖₁ (per image), δ = clip(δ + α·sign(m), −ε, ε)")


# --- 3.3: the step size and the number of steps ----------------------------------------------------

ALPHAS = (0.001, 0.0025, 0.01, 0.1)
"""The step sizes exercise 3.3 asks about (ε = 0.1, 40 steps, dnn2, first 500 images)."""


def measure_alphas(n: int = 500, clamp: bool = True) -> Dict[float, float]:
    """Exercise 3.3's measurement: error of dnn2 under ``pgd_linf`` (ε = 0.1, 40 steps) on the
    first ``n`` test images, for each step size of ``ALPHAS``."""
    model = load_model("dnn2", device="cpu")
    X, y = eval_subset(n)
    errors = {}
    for alpha in ALPHAS:
        delta = pgd_linf(model, X, y, 0.1, alpha, 40, clamp=clamp)
        with torch.no_grad():
            errors[alpha] = float((model(X + delta).argmax(1) != y).float().mean())
    return errors


def _reported(answer) -> Dict[float, float]:
    """The learner's ``{alpha: error}`` with the keys of ``ALPHAS``, values as floats."""
    if not isinstance(answer, dict):
        given = "a function" if callable(answer) else type(answer).__name__
        raise NotYet(f"expected a dict {{alpha: error}}, got {given}",
                     f"build it as errors[alpha] = ... for alpha in {ALPHAS}")
    found = {}
    for alpha in ALPHAS:
        key = next((k for k in answer if isinstance(k, numbers.Real) and abs(k - alpha) < 1e-12), None)
        if key is None:
            raise NotYet(f"no error for α = {alpha:g}", f"give one error per step size: the keys {ALPHAS}")
        found[alpha] = _number(answer[key], f"the error for α = {alpha:g}")
        if not 0 <= found[alpha] <= 1:
            raise NotYet(f"the error for α = {alpha:g} is {found[alpha]:g}, not a rate in [0, 1]",
                         "report the share of the images misclassified, e.g. 0.5 for half")
    return found


def _investigate_alphas(answer) -> str:
    want = measure_alphas()
    got = _reported(answer)
    off = [a for a in ALPHAS if abs(got[a] - want[a]) > 2 / 500]
    if not off:
        return ("measured on the first 500 images: " +
                ", ".join(f"α = {a:g}: {approx(want[a])}" for a in ALPHAS) + ".")
    if all(abs(got[a] - v) <= 2 / 500 for a, v in measure_alphas(clamp=False).items()):
        raise NotYet("these are the errors with the clamp off",
                     "valid images: call the package's pgd_linf without clamp=False (the clamp is on by default)")
    raise NotYet(f"the error for α = {', '.join(f'{a:g}' for a in off)} differs from this check's measurement",
                 "run pgd_linf(models['dnn2'], X[:500], y[:500], 0.1, alpha, 40) for each α and report the "
                 "share of those 500 images misclassified")


_explain_left_alone = multiple_choice(
    "b", "a saturated softmax makes p - e_y, and with it the input gradient, tiny.",
    {"a": ("a misclassified image has p_y small, so p - e_y is large: its loss is steep",
           "write the gradient of the cross-entropy with respect to the logits, p - e_y, and ask when it is small"),
     "c": ("the clamp is off in this run: δ may take any value in [-ε, ε]",
           "the question is about the size of the gradient, not about the clamp"),
     "d": ("near a decision boundary p_y is about 1/2: the loss is steep there, not flat",
           "write the gradient of the cross-entropy with respect to the logits, p - e_y: where is it tiny?")})

# --- the exercises -------------------------------------------------------------------------------

MODEL_ANSWERS = {
    "3.1": (
        "**About a fifth** (21% here). The mean entry, about $5 \\times 10^{-4}$, is carried by a few "
        "images whose gradients are thousands of times larger than a typical image's: ten of the hundred "
        "carry over 90% of it. The median image's entries move by about $\\epsilon/20$ in one raw step of "
        "$10^4$. The mean of a quantity that spans many orders of magnitude says little about a typical "
        "entry: look at the whole distribution, or at least at its median."),
    "3.3": (
        "With $\\alpha = 0.001$, 40 steps add up to at most 0.04, less than half the way to the edge, and "
        "the error (0.17) is far below even one FGSM step's (0.80 on these images, clamp on). With "
        "$\\alpha = 0.0025$ the 40th step just reaches the edge: 0.84, past FGSM. The rule's "
        "$\\alpha = 0.01$ gives 0.86, and $\\alpha = 0.1 = \\epsilon$, a jump across the whole ball at "
        "every step, does as well on this network (0.86). What matters most is that the steps add up to "
        "more than $\\epsilon$ ($\\alpha \\cdot \\text{steps} \\ge \\epsilon$); with room to spare "
        "($\\alpha$ = 0.01 or 0.1) the error moves by less than a point here."),
    "3.4": (
        "**b.** The gradient of the loss with respect to the logits is $p - e_y$, whose $\\ell_1$ norm is "
        "$2(1 - p_y)$; the input gradient is that vector pulled back through the network. Every image "
        "plain PGD left alone is classified right with a margin $z_y - \\max_{j \\ne y} z_j$ above 17, so "
        "$1 - p_y \\le \\sum_{j \\ne y} e^{z_j - z_y} < 9 e^{-17} < 4 \\times 10^{-7}$: the softmax is "
        "saturated and the loss is flat. A misclassified image (a) has $p_y$ small and a steep loss; near "
        "a boundary (d) $p_y$ is about ½; the clamp (c) is off in this run. A normalised step ignores "
        "the gradient's size and moves these images too."),
}

NOTEBOOK = "03_pgd"
"""The notebook these exercises belong to."""

EXERCISES = {
    "3.1": Exercise("3.1", "how many entries one raw step pushes to the edge", "predict", _predict_reach,
                    model_answer=MODEL_ANSWERS["3.1"]),
    # the learner's attack (10 steps on the grader's images) can take many seconds on a busy
    # computer: 60 s, not the 10 s default
    "3.2": Exercise("3.2", "PGD with momentum", "implement", _pgd_momentum, time_limit=60.0),
    "3.3": Exercise("3.3", "the step size and the number of steps", "investigate", _investigate_alphas,
                    model_answer=MODEL_ANSWERS["3.3"]),
    "3.4": Exercise("3.4", "which images plain PGD left alone", "explain", _explain_left_alone,
                    model_answer=MODEL_ANSWERS["3.4"]),
}
