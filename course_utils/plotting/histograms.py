"""Histograms on a log axis: how large the loss's input gradients are (notebook 03)."""

from __future__ import annotations

from typing import Mapping, Optional

import matplotlib.pyplot as plt
import numpy as np
import torch

from .. import style
from ._common import series_styles


def _magnitudes(name: str, grad) -> np.ndarray:
    """``|grad|`` as a float array ``(n, entries)``, checked."""
    if not isinstance(grad, torch.Tensor) or not grad.is_floating_point() or grad.dim() < 2 or grad.numel() == 0:
        got = f"{grad.dtype} of shape {tuple(grad.shape)}" if isinstance(grad, torch.Tensor) else type(grad).__name__
        raise ValueError(f"grads[{name!r}] must be a floating-point tensor of shape (n, ...) with n >= 1, got {got}")
    values = grad.detach().cpu().double().flatten(1).abs().numpy()
    if not np.isfinite(values).all():
        raise ValueError(f"grads[{name!r}] holds NaN or infinite entries")
    return values


def _log_bins(samples, count: int) -> np.ndarray:
    """``count`` log-spaced bins covering every positive value of every sample."""
    positive = np.concatenate([s[s > 0] for s in samples])
    if positive.size == 0:
        raise ValueError("every gradient is exactly zero: nothing to draw on a log axis")
    lo, hi = np.log10(positive.min()), np.log10(positive.max())
    return np.logspace(lo - 0.05, hi + 0.05, count + 1)


def plot_gradient_scales(grads: Mapping[str, torch.Tensor], *, alpha: Optional[float] = None,
                         epsilon: Optional[float] = None, bins: int = 60, axes=None):
    """How large input gradients are, per image and per entry, one line per network.

    Introduced in notebook 03 (why a raw gradient step ``alpha * g`` needs a huge ``alpha``,
    and why no single ``alpha`` suits every image). Left panel: each image's mean ``|g_i|``
    over its entries; right panel: every entry ``|g_i|``. Both on a log axis, as the share
    of the images (entries) in each bin. Entries that are exactly 0 have no place on a log
    axis; the legend gives their share when there are any.

    Args:
        grads: network name -> gradient ``(n, ...)`` of the loss with respect to the input
            (the loss summed over the batch, so that each image's gradient is its own).
        alpha, epsilon: both or neither. Draws the line ``|g_i| = epsilon / alpha`` on the
            entry panel: one raw step ``alpha * g`` from ``delta = 0`` takes an entry to the
            edge ``±epsilon`` of the l∞ ball exactly when ``|g_i| >= epsilon / alpha``; the
            legend gives each network's share of such entries.
        bins: number of log-spaced bins (shared by all networks of a panel).
        axes: optional pair of axes (per image, per entry).

    Returns the figure.
    """
    if not isinstance(grads, Mapping) or not grads:
        raise ValueError("grads must map at least one network name to its gradient tensor")
    if (alpha is None) != (epsilon is None):
        raise ValueError(f"give alpha and epsilon together (the line |g| = epsilon / alpha), got "
                         f"alpha={alpha!r}, epsilon={epsilon!r}")
    if alpha is not None and not (float(alpha) > 0 and float(epsilon) > 0):
        raise ValueError(f"alpha and epsilon must be positive, got alpha={alpha!r}, epsilon={epsilon!r}")
    if isinstance(bins, bool) or not isinstance(bins, int) or bins < 2:
        raise ValueError(f"bins must be an integer >= 2, got {bins!r}")
    entries = {name: _magnitudes(name, g) for name, g in grads.items()}
    samples = {"per image": {n: e.mean(axis=1) for n, e in entries.items()},
               "per entry": {n: e.ravel() for n, e in entries.items()}}
    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=(10.5, 3.6))
    if len(axes) != 2:
        raise ValueError(f"axes must be a pair (per image, per entry), got {len(axes)}")
    kws = series_styles(list(grads))
    for ax, (panel, values) in zip(axes, samples.items()):
        edges = _log_bins(list(values.values()), bins)
        for name, v in values.items():
            label, zeros = name, float((v == 0).mean())
            if zeros:
                label += f", {zeros:.0%} exactly 0"
            if panel == "per entry" and alpha is not None:
                label += f": {float((v >= epsilon / alpha).mean()):.0%} ≥ ε/α"
            ax.hist(v[v > 0], bins=edges, weights=np.full((v > 0).sum(), 1 / v.size), histtype="step",
                    lw=1.6, color=kws[name]["color"], label=label)
        ax.set_xscale("log")
        ax.set_xlabel("mean |g_i| over an image's entries" if panel == "per image" else "|g_i|, every entry")
        ax.set_ylabel(f"share of the {'images' if panel == 'per image' else 'entries'}")
        ax.grid(alpha=0.3)
    if alpha is not None:
        axes[1].axvline(epsilon / alpha, color=style.GUIDE, ls="--", lw=1.2,
                        label=f"ε/α = {epsilon:g}/{alpha:g}")
    for ax in axes:
        ax.legend(fontsize=8, loc="upper left")
    axes[0].set_title("per image", fontsize=10)
    axes[1].set_title("per entry", fontsize=10)
    axes[0].figure.tight_layout()
    return axes[0].figure
