"""Exercises of notebook 04 (normalized steepest descent, attacks in the ℓ2 ball, radii across norms)."""

from __future__ import annotations

import math
import numbers
from typing import Dict, Tuple

import torch

from ..attacks import pgd_l2, pgd_linf
from ..checks import approx
from ..data import eval_subset
from ..evaluate import error_per_step
from ..models import load_model
from .core import Exercise, NotYet, call, multiple_choice, tensor

# --- 4.1: the error after 1, 5 and 40 steps ---------------------------------------------------------

STEPS = (1, 5, 40)
STEP_TOL = 0.1
"""How far each predicted error may be from the measured one."""


def errors_after_steps(n: int = 1000) -> Tuple[float, ...]:
    """Exercise 4.1's measurement: dnn2's error under l∞ PGD (ε = 0.1, α = 0.01, clamp on) on the
    first ``n`` test images after each number of steps of ``STEPS``."""
    X, y = eval_subset(n)
    errors = error_per_step(load_model("dnn2", device="cpu"), X, y, 0.1, 0.01, max(STEPS))
    return tuple(errors[k] for k in STEPS)


_STEP_HINTS = {
    1: "one step of α = 0.01 from δ = 0 is FGSM with ε = 0.01: no pixel moves by more than 0.01",
    5: "after 5 steps no pixel has moved by more than 5α = 0.05: PGD can do at most what an attack "
       "in the ball of radius 0.05 does",
    40: "40 steps of 0.01 can cover the radius 0.1 four times (cross the ball twice): expect more than "
        "one FGSM step",
}


def _predict_steps(answer) -> str:
    truth = errors_after_steps()
    if not isinstance(answer, (tuple, list)) or len(answer) != len(STEPS):
        raise NotYet(f"expected three numbers (after 1, 5 and 40 steps), got {answer!r}",
                     "write them as a tuple, e.g. (0.5, 0.5, 0.5)")
    guess = []
    for k, value in zip(STEPS, answer):
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value <= 1:
            raise NotYet(f"the error after {k} steps should be a rate between 0 and 1, got {value!r}",
                         "0.5 means half of the images misclassified")
        guess.append(float(value))
    off = [k for k, g, t in zip(STEPS, guess, truth) if abs(g - t) > STEP_TOL]
    if off:
        raise NotYet(f"your error after {' and '.join(str(k) for k in off)} step{'s' if off != [1] else ''} "
                     f"is more than {STEP_TOL} away", _STEP_HINTS[off[0]])
    return "measured: " + ", ".join(f"{approx(t)} after {k} step{'s' * (k > 1)}" for k, t in zip(STEPS, truth)) + "."


# --- 4.2: the projection onto the l1 ball --------------------------------------------------------------

def project_l1_reference(delta: torch.Tensor, epsilon: float) -> torch.Tensor:
    """The Euclidean projection of each example of ``delta`` ``(n, ...)`` onto the l1 ball of radius
    ``epsilon``: ``sign(z) * max(|z| - theta, 0)`` with the threshold of Duchi et al. (2008)."""
    flat = delta.flatten(1)
    size = flat.abs()
    top = size.sort(dim=1, descending=True).values
    excess = top.cumsum(dim=1) - epsilon
    j = torch.arange(1, flat.shape[1] + 1, dtype=flat.dtype)
    kept = (top - excess / j > 0).sum(dim=1, keepdim=True).clamp(min=1)
    theta = (excess.gather(1, kept - 1) / kept).clamp(min=0)
    return (flat.sign() * (size - theta).clamp(min=0)).reshape(delta.shape)


def _l1_cases() -> Tuple[torch.Tensor, float]:
    """Perturbations ``(6, 1, 28, 28)`` for the check, in ℓ1 radius 2: four outside the ball (noise,
    noise with one spike, sparse, a real input gradient direction) and two inside."""
    g = torch.Generator().manual_seed(4)
    noise = 0.05 * torch.randn(4, 1, 28, 28, generator=g)
    noise[1, 0, 14, 14] = 3.0
    noise[2] *= (torch.rand(1, 28, 28, generator=g) < 0.02)
    noise[2] *= 40
    inside = 0.01 * torch.randn(2, 1, 28, 28, generator=g)
    inside *= 1.5 / inside.flatten(1).abs().sum(dim=1).reshape(-1, 1, 1, 1)     # ℓ1 norm 1.5 < 2
    return torch.cat([noise, inside]), 2.0


def _project_l1(fn) -> str:
    Z, epsilon = _l1_cases()
    want = project_l1_reference(Z, epsilon)
    got = tensor(call(fn, Z.clone(), epsilon), Z.shape, "project_l1(delta, epsilon)")
    sizes = got.flatten(1).abs().sum(dim=1)
    inside = Z.flatten(1).abs().sum(dim=1) <= epsilon
    if torch.allclose(got.reshape(1, -1), project_l1_reference(Z.reshape(1, -1), epsilon), atol=1e-6):
        raise NotYet("you projected the whole batch as one vector", "one projection per image: flatten(1), "
                     "then a threshold θ for each row")
    if (sizes > epsilon * (1 + 1e-5)).any():
        raise NotYet(f"some images leave the ball: ℓ1 norms up to {sizes.max():.4g} > ε = {epsilon:g}",
                     "choose θ per image so that the ℓ1 norm of the result is exactly ε")
    if (got * Z < -1e-9).any():
        raise NotYet("some entries changed sign", "keep each entry's sign: sign(z_i) · max(|z_i| − θ, 0)")
    if not torch.allclose(got[inside], Z[inside], atol=1e-6):
        raise NotYet("a δ already inside the ball changed", "a point inside the ball is its own projection: "
                     "return it unchanged (θ = 0)")
    if torch.allclose(got, want, atol=1e-5):
        return "the nearest point of the ℓ1 ball on six perturbations, inside and outside it."
    scaled = Z * (epsilon / Z.flatten(1).abs().sum(dim=1).clamp(min=epsilon)).reshape(-1, 1, 1, 1)
    if torch.allclose(got, scaled, atol=1e-5):
        raise NotYet("you rescale δ onto the ball: a point of the ball, but not the nearest one",
                     "shrink every entry by the same amount θ (and cut at zero), as in the exercise, "
                     "instead of multiplying by a factor")
    raise NotYet(f"not the nearest point of the ball: the largest gap to it is {(got - want).abs().max():.3g}",
                 "find θ per image: after sorting |z| in decreasing order, θ = (sum of the k largest − ε) / k "
                 "for the largest k whose k-th entry is still above that θ")


# --- 4.3: the exact equal-volume radius ---------------------------------------------------------------

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
            got = call(fn, epsilon, n)
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
            raise NotYet(f"for ε = {epsilon:g}, n = {n} the radius is not {got:.6g}", _radius_hint(got, epsilon, n))
    return (f"exact for n = 1 (r = ε) up to n = 150528 (ImageNet); MNIST at ε = 0.1: "
            f"r = {_reference_radius(0.1, 784):.3f}.")


# --- 4.4: l2 PGD at the equal-volume radius -------------------------------------------------------------

RADII = {"l2 1.35": ("l2", 1.35), "l2 2": ("l2", 2.0), "linf 0.1": ("linf", 0.1)}
"""Exercise 4.4's attacks: key -> (norm, ε); α = ε/20 under l2 (the chapter's ratio), 0.01 under l∞."""


def measure_radii(n: int = 500, clamp: bool = True) -> Dict[str, float]:
    """Exercise 4.4's measurement: dnn2's error on the first ``n`` test images, 40 steps, for
    each attack of ``RADII``."""
    model = load_model("dnn2", device="cpu")
    X, y = eval_subset(n)
    errors = {}
    for key, (norm, epsilon) in RADII.items():
        delta = (pgd_l2(model, X, y, epsilon, epsilon / 20, 40, clamp=clamp) if norm == "l2"
                 else pgd_linf(model, X, y, epsilon, 0.01, 40, clamp=clamp))
        with torch.no_grad():
            errors[key] = float((model(X + delta).argmax(1) != y).float().mean())
    return errors


def _investigate_radii(answer) -> str:
    want = measure_radii()
    if not isinstance(answer, dict) or set(answer) != set(RADII):
        raise NotYet(f"expected a dict with the keys {sorted(RADII)}, got {answer!r}",
                     'build it as {"l2 1.35": ..., "l2 2": ..., "linf 0.1": ...}')
    got = {}
    for key, value in answer.items():
        value = value.item() if isinstance(value, torch.Tensor) and value.numel() == 1 else value
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value <= 1:
            raise NotYet(f"answer[{key!r}] should be an error rate between 0 and 1, got {value!r}",
                         "the share of the 500 images misclassified, e.g. 0.5 for half")
        got[key] = float(value)
    off = [k for k in RADII if abs(got[k] - want[k]) > 2 / 500]
    if not off:
        return "measured on the first 500 images: " + ", ".join(f"{k}: {approx(want[k])}" for k in RADII) + "."
    if all(abs(got[k] - v) <= 2 / 500 for k, v in measure_radii(clamp=False).items()):
        raise NotYet("these are the errors with the clamp off", "valid images: leave the clamp on (the default)")
    raise NotYet(f"{', '.join(off)}: differs from this check's measurement",
                 "run each attack on X[:500], y[:500] with 40 steps, α = ε/20 for ℓ2 and 0.01 for ℓ∞, and "
                 "report the share misclassified")


_why_rescale = multiple_choice(
    "d", "the projection is the nearest point of the ball; clipping to the inscribed cube would "
    "waste almost all of it.", {
        "a": ("both take one pass over the pixels; speed is not the reason",
              "compare where the two maps send a δ that points along a single pixel"),
        "b": ("clipping to [-ε/√n, ε/√n] never leaves the ball: the cube of that side fits inside it",
              "the question is which point of the ball each map returns, not whether it is in the ball"),
        "c": ("neither map knows about the image range [0, 1]; that is the clamp's job",
              "think of the definition of a projection: the nearest point of the set"),
    })

MODEL_ANSWERS = {
    "4.1": (
        "After $k$ steps of $\\alpha = 0.01$ no pixel has moved by more than $0.01k$: one step is FGSM at "
        "$\\epsilon = 0.01$ and fools almost nothing (0.04); five steps are at most an attack of radius "
        "0.05 (0.24); the error jumps once $k\\alpha$ nears $\\epsilon$ and passes FGSM's 0.78 at step "
        "10, and 40 steps reach 0.85. PGD pays for its small steps with their number: it needs about "
        "$\\epsilon/\\alpha$ of them before it can beat one big step."),
    "4.4": (
        "On this network, at the equal-volume radius, the $\\ell_2$ attack is the *weaker* one (0.78 "
        "against $\\ell_\\infty$'s 0.86); at the chapter's $\\epsilon = 2$ it is the stronger (0.96). "
        "Equal volume does not mean an equally strong attack: almost all of the cube's volume lies at "
        "$\\ell_2$ length about 1.6 from its centre, inside the $\\ell_2$ ball of radius 2, but PGD heads "
        "for the corners (its $\\delta$ is longer than every random point of the cube). The chapter took "
        "$\\epsilon = 2$, 'a bit larger' than 1.35. To compare threat models, compare what they let a "
        "perturbation do to an image (how many pixels, by how much), not their volumes."),
    "4.5": (
        "**d.** A projection returns the *nearest* point of the set; for the $\\ell_2$ ball that is "
        "$\\epsilon z / \\|z\\|_2$ when $z$ is outside: the direction kept, the length cut to $\\epsilon$. "
        "The cube of half-side $\\epsilon/\\sqrt{n}$ fits inside the ball (b is false) but is a sliver of "
        "it: a $\\delta$ that puts its whole length $\\epsilon = 2$ on one pixel is already in the ball, and "
        "clipping would cut it to $2/\\sqrt{784} = 0.071$, losing exactly the concentrated perturbations "
        "that make $\\ell_2$ attacks what they are. Neither map knows about $[0, 1]$ (c): that is the clamp."),
}

NOTEBOOK = "04_steepest_descent"
"""The notebook these exercises belong to."""

EXERCISES = {
    "4.1": Exercise("4.1", "the error after 1, 5 and 40 steps", "predict", _predict_steps,
                    model_answer=MODEL_ANSWERS["4.1"]),
    "4.2": Exercise("4.2", "the projection onto the ℓ1 ball", "implement", _project_l1),
    "4.3": Exercise("4.3", "the exact equal-volume radius", "implement", _equal_volume_radius),
    "4.4": Exercise("4.4", "ℓ2 PGD at the equal-volume radius", "investigate", _investigate_radii,
                    model_answer=MODEL_ANSWERS["4.4"]),
    "4.5": Exercise("4.5", "why the ℓ2 projection rescales", "explain", _why_rescale,
                    model_answer=MODEL_ANSWERS["4.5"]),
}
