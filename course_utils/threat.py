"""The threat model shared by attacks and verifiers: a norm ball of radius ε around x,
intersected with the image domain [0, 1].

Attacks (``course_utils.attacks``) and verifiers (``course_utils.verify``) both take
their checks and their input box from here, so "what the adversary may do" is
written once.
"""

from __future__ import annotations

import math
import numbers
from typing import Tuple

import torch

NORMS = ("linf", "l2")


def check_norm(norm: str) -> str:
    """Return ``norm`` if it is ``"linf"`` or ``"l2"``, else raise ``ValueError``."""
    if norm not in NORMS:
        raise ValueError(f"norm must be one of {NORMS}, got {norm!r}")
    return norm


def check_nonnegative(value: float, name: str) -> float:
    """A finite, non-negative number (ε, α, ...) or a ``ValueError`` naming ``name``."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}") from None
    if not math.isfinite(number) or number < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return number


def check_count(value, name: str, minimum: int) -> int:
    """An integer >= ``minimum`` (steps, restarts, workers, ...) or a ``ValueError``
    naming ``name``; ``True``/``False`` are refused."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_images(X: torch.Tensor, name: str = "X") -> torch.Tensor:
    """Images must be a floating tensor with every pixel in [0, 1]."""
    if not isinstance(X, torch.Tensor) or not X.is_floating_point():
        raise ValueError(f"{name} must be a floating-point torch.Tensor of images, got {type(X).__name__}")
    if X.numel() and (X.min() < 0 or X.max() > 1 or torch.isnan(X).any()):
        raise ValueError(f"{name} must hold pixels in [0, 1]; got values in "
                         f"[{X.min().item():.4g}, {X.max().item():.4g}]")
    return X


def check_labels(X: torch.Tensor, y: torch.Tensor, name: str = "y") -> torch.Tensor:
    """Labels: an integer tensor with one entry per image of ``X``."""
    if not isinstance(y, torch.Tensor) or y.dtype not in (torch.int64, torch.int32, torch.uint8):
        raise ValueError(f"{name} must be an integer torch.Tensor of class labels")
    if y.dim() != 1 or y.shape[0] != X.shape[0]:
        raise ValueError(f"{name} must have shape ({X.shape[0]},) to match X, got {tuple(y.shape)}")
    return y


def linf_box(x: torch.Tensor, epsilon: float, clamp: bool = True) -> Tuple[torch.Tensor, torch.Tensor]:
    """The l∞ ball of radius ``epsilon`` around ``x`` as a box ``(lower, upper)``.

    With ``clamp`` (the default) the box is intersected with the image domain [0, 1].
    Shapes are those of ``x``.
    """
    epsilon = check_nonnegative(epsilon, "epsilon")
    lower, upper = x - epsilon, x + epsilon
    if clamp:
        lower, upper = lower.clamp(min=0.0), upper.clamp(max=1.0)
    return lower, upper
