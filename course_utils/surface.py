"""The irregular function of a small ReLU net (chapter 3, "Moving to neural networks").

A ReLU network is piecewise linear: along any line through input space it is a chain
of linear pieces, one per activation pattern. These helpers make that visible on the
1-input regression net and solve its one-dimensional inner maximization by brute force,
so the notebook can compare the exact answer with what a single gradient step predicts.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn

from .models import evaluating, placement
from .threat import check_count, check_finite, check_model, check_nonnegative


def _grid(lo: float, hi: float, num: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    lo, hi = check_finite(lo, "lo"), check_finite(hi, "hi")
    if not hi > lo:
        raise ValueError(f"hi must be greater than lo, got lo={lo}, hi={hi}")
    num = check_count(num, "num", 2)
    return torch.linspace(lo, hi, num, dtype=dtype)[:, None]


def _check_sequential(model) -> nn.Sequential:
    if not isinstance(check_model(model), nn.Sequential):
        raise ValueError(f"model must be an nn.Sequential (its layers are walked one by one), "
                         f"got {type(model).__name__}")
    return model


def activation_patterns(model: nn.Sequential, x: torch.Tensor) -> torch.Tensor:
    """On/off pattern of every ReLU for each input row: bool tensor ``(n, #relus)``.

    ``x``: inputs ``(n, ...)`` of ``model`` (``(n, 1)`` for the regression net); the
    layers run in eval mode.
    """
    if not any(isinstance(m, nn.ReLU) for m in _check_sequential(model)):
        raise ValueError("model must contain at least one nn.ReLU layer at its top level")
    if not isinstance(x, torch.Tensor) or not x.is_floating_point() or x.dim() < 2 or x.shape[0] == 0:
        got = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"x must be a floating tensor of inputs, shape (n, ...) with n >= 1, got {got}")
    patterns = []
    h = x
    with evaluating(model), torch.no_grad():
        for layer in model:
            h = layer(h)
            if isinstance(layer, nn.ReLU):
                patterns.append(h.flatten(1) > 0)
    return torch.cat(patterns, dim=1)


def count_linear_pieces(model: nn.Sequential, lo: float = -3.0, hi: float = 3.0, num: int = 60_001) -> int:
    """Number of linear pieces of a 1-input ReLU net on [lo, hi], seen on a fine grid.

    A new piece starts wherever the activation pattern changes between neighbouring
    grid points, so pieces narrower than the grid spacing may be missed (a lower bound).
    """
    patterns = activation_patterns(model, _grid(lo, hi, num, placement(_check_sequential(model))[1]))
    changes = (patterns[1:] != patterns[:-1]).any(dim=1)
    return int(changes.sum().item()) + 1


def _one_output(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``model(x)`` for ``x`` of shape ``(1, 1)``, or a ``ValueError`` if it is not ``(1, 1)``."""
    need = "model must map inputs of shape (n, 1) to outputs (n, 1), like load_model('regression')"
    try:
        out = model(x)
    except (RuntimeError, ValueError, TypeError) as exc:
        raise ValueError(f"{need}; on a (1, 1) input it raised {type(exc).__name__}: {exc}") from exc
    if not isinstance(out, torch.Tensor) or out.shape != (1, 1):
        raise ValueError(f"{need}; it returned {tuple(out.shape) if isinstance(out, torch.Tensor) else out!r}")
    return out


@dataclass(frozen=True)
class InnerMax1D:
    """Outcome of maximising a scalar function over ``[x0 - ε, x0 + ε]``."""
    x0: float
    epsilon: float
    f0: float            # f(x0)
    x_best: float        # the maximiser found on the grid
    f_best: float        # max f on the interval (grid search)
    x_grad: float        # x0 + ε·sign(f'(x0)): one full gradient-sign step
    f_grad: float        # f at that point
    f_linear: float      # what the linearisation at x0 predicts there


def inner_max_1d(model: nn.Module, x0: float, epsilon: float, num: int = 2001) -> InnerMax1D:
    """Solve ``max_{|δ| ≤ ε} f(x0 + δ)`` for a 1-input net by grid search, and compare
    it with the gradient-sign step ``δ = ε·sign(f'(x0))`` (which is exact for linear f).
    ``model`` maps ``(n, 1)`` to ``(n, 1)``; it runs in eval mode, with gradients even
    inside ``torch.no_grad()``.
    """
    check_model(model)
    x0, epsilon = check_finite(x0, "x0"), check_nonnegative(epsilon, "epsilon")
    num = check_count(num, "num", 2)
    device, dtype = placement(model)
    with evaluating(model, grad=True):
        x = torch.tensor([[x0]], dtype=dtype, device=device, requires_grad=True)
        f0 = _one_output(model, x)
        (slope,) = torch.autograd.grad(f0.sum(), x)
        slope = slope.item()
        with torch.no_grad():
            xs = _grid(x0 - epsilon, x0 + epsilon, num, dtype).to(device) if epsilon > 0 else x.detach()
            fs = model(xs)[:, 0]
            best = int(fs.argmax())
            x_grad = x0 + epsilon * (1.0 if slope >= 0 else -1.0)
            f_grad = model(torch.tensor([[x_grad]], dtype=dtype, device=device)).item()
    return InnerMax1D(x0=float(x0), epsilon=epsilon, f0=f0.item(), x_best=xs[best, 0].item(),
                      f_best=fs[best].item(), x_grad=x_grad, f_grad=f_grad,
                      f_linear=f0.item() + abs(slope) * epsilon)
