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

from .threat import check_nonnegative


def _grid(lo: float, hi: float, num: int) -> torch.Tensor:
    if not hi > lo:
        raise ValueError(f"hi must be greater than lo, got lo={lo}, hi={hi}")
    if num < 2:
        raise ValueError(f"num must be at least 2, got {num}")
    return torch.linspace(lo, hi, num)[:, None]


def activation_patterns(model: nn.Sequential, x: torch.Tensor) -> torch.Tensor:
    """On/off pattern of every ReLU for each input row: bool tensor ``(n, #relus)``."""
    patterns = []
    h = x
    with torch.no_grad():
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
    patterns = activation_patterns(model, _grid(lo, hi, num))
    changes = (patterns[1:] != patterns[:-1]).any(dim=1)
    return int(changes.sum().item()) + 1


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
    """
    epsilon = check_nonnegative(epsilon, "epsilon")
    x0, x = float(x0), torch.tensor([[float(x0)]], requires_grad=True)
    f0 = model(x)
    (slope,) = torch.autograd.grad(f0.sum(), x)
    slope = slope.item()
    with torch.no_grad():
        xs = _grid(x0 - epsilon, x0 + epsilon, num) if epsilon > 0 else torch.tensor([[float(x0)]])
        fs = model(xs)[:, 0]
        best = int(fs.argmax())
        x_grad = x0 + epsilon * (1.0 if slope >= 0 else -1.0)
        f_grad = model(torch.tensor([[x_grad]], dtype=torch.float32)).item()
    return InnerMax1D(x0=float(x0), epsilon=epsilon, f0=f0.item(), x_best=xs[best, 0].item(),
                      f_best=fs[best].item(), x_grad=x_grad, f_grad=f_grad,
                      f_linear=f0.item() + abs(slope) * epsilon)
