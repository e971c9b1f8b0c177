"""The threat model shared by attacks and verifiers: a norm ball of radius ε around x,
intersected with the image domain [0, 1], and the checks of every argument that
describes it.

Attacks (``course_utils.attacks``) and verifiers (``course_utils.verify``) both take
their checks and their input box from here, so "what the adversary may do" is
written once. Every check returns the value it accepts (converted where that is
unambiguous) or raises a ``ValueError`` that names the argument and says what is
allowed.
"""

from __future__ import annotations

import math
import numbers
from typing import Optional, Tuple

import numpy as np
import torch
import torch.nn as nn

NORMS = ("linf", "l2")

_LABEL_DTYPES = (torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8)


def check_norm(norm: str) -> str:
    """Return ``norm`` if it is ``"linf"`` or ``"l2"``, else raise ``ValueError``."""
    if not isinstance(norm, str) or norm not in NORMS:
        raise ValueError(f"norm must be one of {NORMS}, got {norm!r}")
    return norm


def _as_number(value) -> Optional[float]:
    """``value`` as a float if it is a real number (not a string, not a bool), else None."""
    if isinstance(value, (str, bytes, bool, np.bool_)):
        return None
    try:
        return float(value)
    except (TypeError, ValueError, RuntimeError):
        return None


def check_finite(value: float, name: str) -> float:
    """A finite real number (an int, a float, a numpy or one-element torch scalar) as a
    ``float``, or a ``ValueError`` naming ``name``; strings and bools are refused."""
    number = _as_number(value)
    if number is None or not math.isfinite(number):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return number


def check_nonnegative(value: float, name: str) -> float:
    """A finite, non-negative number (ε, α, ...) or a ``ValueError`` naming ``name``."""
    number = _as_number(value)
    if number is None or not math.isfinite(number) or number < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return number


def check_count(value, name: str, minimum: int) -> int:
    """An integer >= ``minimum`` (steps, restarts, workers, ...) or a ``ValueError``
    naming ``name``; ``True``/``False`` are refused."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_flag(value, name: str) -> bool:
    """``True`` or ``False`` (numpy's too), or a ``ValueError`` naming ``name``: a string
    such as ``"no"`` would otherwise count as true."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def check_model(model, name: str = "model") -> nn.Module:
    """A ``torch.nn.Module`` (a classifier, for most callers), or a ``ValueError``."""
    if not isinstance(model, nn.Module):
        raise ValueError(f"{name} must be a torch.nn.Module (e.g. load_model('dnn2')), "
                         f"got {type(model).__name__}")
    return model


def _check_pixels(X, name: str) -> torch.Tensor:
    if not isinstance(X, torch.Tensor) or not X.is_floating_point():
        kind = f"{type(X).__name__} of {X.dtype}" if isinstance(X, torch.Tensor) else type(X).__name__
        raise ValueError(f"{name} must be a floating-point torch.Tensor of pixels in [0, 1] "
                         f"(divide uint8 images by 255), got {kind}")
    if X.numel() and not torch.isfinite(X).all():
        raise ValueError(f"{name} must hold finite pixels in [0, 1]; it holds NaN or infinite values")
    if X.numel() and (X.min() < 0 or X.max() > 1):
        raise ValueError(f"{name} must hold pixels in [0, 1]; got values in "
                         f"[{X.min().item():.4g}, {X.max().item():.4g}]")
    return X


def check_images(X: torch.Tensor, name: str = "X") -> torch.Tensor:
    """A batch of images: a floating tensor of shape ``(n, ...)`` with ``n >= 1`` (the
    batch dimension first: one MNIST image is ``(1, 1, 28, 28)``), every pixel finite
    and in [0, 1]."""
    X = _check_pixels(X, name)
    if X.dim() < 2 or X.shape[0] == 0:
        raise ValueError(f"{name} must be a batch of at least one image, shape (n, ...) with n >= 1 "
                         f"and the batch dimension first, e.g. (1, 1, 28, 28); got shape {tuple(X.shape)}")
    return X


def check_labels(X: torch.Tensor, y: torch.Tensor, name: str = "y",
                 num_classes: Optional[int] = None) -> torch.Tensor:
    """Labels: an integer tensor of shape ``(n,)``, one class index per image of ``X``,
    each in ``0 .. num_classes - 1`` (only ``>= 0`` when ``num_classes`` is None).
    Float and bool tensors are refused: a label 3.7 is no class."""
    if not isinstance(y, torch.Tensor) or y.dtype not in _LABEL_DTYPES:
        kind = f"a tensor of {y.dtype}" if isinstance(y, torch.Tensor) else type(y).__name__
        raise ValueError(f"{name} must be an integer torch.Tensor of class labels (e.g. int64), got {kind}")
    if y.dim() != 1 or y.shape[0] != X.shape[0]:
        raise ValueError(f"{name} must have shape ({X.shape[0]},) to match the images, got {tuple(y.shape)}")
    if y.numel():
        low, high = int(y.min()), int(y.max())
        top = "" if num_classes is None else f" .. {num_classes - 1}"
        if low < 0 or (num_classes is not None and high >= num_classes):
            raise ValueError(f"{name} must hold class labels in 0{top}, got values in [{low}, {high}]")
    return y


def check_class(value, name: str, num_classes: int) -> int:
    """One class index in ``0 .. num_classes - 1`` as an ``int``: a Python or numpy integer,
    or an integer tensor with one element. Floats (3.7, and 3.0 too) and bools are refused."""
    if isinstance(value, torch.Tensor) and value.numel() == 1 and value.dtype in _LABEL_DTYPES:
        value = int(value.reshape(()).item())
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not 0 <= value < num_classes:
        raise ValueError(f"{name} must be a class index, an integer in 0 .. {num_classes - 1}, got {value!r}")
    return int(value)


def check_delta(delta: torch.Tensor, X: torch.Tensor, name: str = "delta") -> torch.Tensor:
    """A perturbation of ``X``: a floating tensor of ``X``'s shape with finite entries."""
    if not isinstance(delta, torch.Tensor) or not delta.is_floating_point():
        raise ValueError(f"{name} must be a floating-point torch.Tensor, got {type(delta).__name__}")
    if delta.shape != X.shape:
        raise ValueError(f"{name} must have the shape of X {tuple(X.shape)}, got {tuple(delta.shape)}")
    if not torch.isfinite(delta).all():
        raise ValueError(f"{name} must be finite; it holds NaN or infinite values")
    return delta


def linf_box(x: torch.Tensor, epsilon: float, clamp: bool = True) -> Tuple[torch.Tensor, torch.Tensor]:
    """The l∞ ball of radius ``epsilon`` around ``x`` as a box ``(lower, upper)``.

    With ``clamp`` (the default) the box is intersected with the image domain [0, 1].
    ``x``: floating, pixels in [0, 1], any shape; the box has the shape of ``x``.
    """
    x = _check_pixels(x, "x")
    epsilon = check_nonnegative(epsilon, "epsilon")
    clamp = check_flag(clamp, "clamp")
    lower, upper = x - epsilon, x + epsilon
    if clamp:
        lower, upper = lower.clamp(min=0.0), upper.clamp(max=1.0)
    return lower, upper


def _sum_error(a: torch.Tensor, b: float) -> Tuple[torch.Tensor, torch.Tensor]:
    """``(s, e)`` with ``s = fl(a + b)`` and ``a + b = s + e`` exactly (Knuth's TwoSum, float64)."""
    s = a + b
    b_part = s - a
    return s, (a - (s - b_part)) + (b - b_part)


def float64_box(x: torch.Tensor, epsilon: float, outward: bool = True) -> Tuple[torch.Tensor, torch.Tensor]:
    """The l∞ ball of radius ``epsilon`` around ``x`` ∩ [0, 1], in float64 from the exact
    values of ``x`` (any floating dtype converts exactly), for the verifiers (notebooks 06-09).

    ``x - ε`` and ``x + ε`` are rarely float64 numbers: with ``outward`` (what is
    verified) each bound is moved one float64 step out where it was rounded in, so every
    real point of the requested box lies inside; with ``outward=False`` (where a witness
    may lie) one step in, so every point inside is in the requested box. Shape of ``x``.
    """
    x = _check_pixels(x, "x").detach().to(device="cpu", dtype=torch.float64)
    epsilon = check_nonnegative(epsilon, "epsilon")
    lower, low_error = _sum_error(x, -epsilon)
    upper, up_error = _sum_error(x, epsilon)
    inf = torch.tensor(math.inf, dtype=torch.float64)
    if outward:
        lower = torch.where(low_error < 0, torch.nextafter(lower, -inf), lower)
        upper = torch.where(up_error > 0, torch.nextafter(upper, inf), upper)
    else:
        lower = torch.where(low_error > 0, torch.nextafter(lower, inf), lower)
        upper = torch.where(up_error < 0, torch.nextafter(upper, -inf), upper)
    return lower.clamp(min=0.0), upper.clamp(max=1.0)


def points_inside(points: torch.Tensor, box: Tuple[torch.Tensor, torch.Tensor], dtype: torch.dtype
                  ) -> Tuple[torch.Tensor, torch.Tensor]:
    """``points`` (``(n, ...)``, any floating dtype) moved into ``box`` (float64, the
    shape of one point or of all, e.g. ``float64_box(x, ε, outward=False)``) and rounded to
    ``dtype``, each coordinate the ``dtype`` number nearest to the clipped one that still
    lies in the box: what a model computing in ``dtype`` can be run on. Returns
    ``(inside, ok)``: the points in ``dtype`` (CPU) and, per point, whether every
    coordinate found such a number (a box narrower than ``dtype``'s spacing may hold none)."""
    lo, hi = (t.to(device="cpu", dtype=torch.float64) for t in box)
    clipped = torch.minimum(torch.maximum(points.detach().to(device="cpu", dtype=torch.float64), lo), hi)
    out = clipped.to(dtype)
    up, down = torch.tensor(math.inf, dtype=dtype), torch.tensor(-math.inf, dtype=dtype)
    out = torch.where(out.double() < lo, torch.nextafter(out, up), out)
    out = torch.where(out.double() > hi, torch.nextafter(out, down), out)
    ok = ((out.double() >= lo) & (out.double() <= hi)).reshape(out.shape[0], -1).all(1)
    return out, ok
