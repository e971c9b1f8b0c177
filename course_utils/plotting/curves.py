"""Curves: the 1-D loss surface (notebook 01), steepest ascent in 2-D (notebook 04), error
against ε (notebooks 02-04), error against the number of steps (notebook 04) and the loss
along an attack's iterations (notebook 03)."""

from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch

from .. import style
from ._common import as_values, finish, new_axes, series_styles

# --- chapter 3, "Moving to neural networks": the loss surface -----------------------


def plot_function_1d(model: torch.nn.Module, lo: float = -3.0, hi: float = 3.0, step: float = 0.01,
                     ax=None, **line_kw):
    """Plot a scalar function of one input, ``model: (n, 1) -> (n, 1)``, on [lo, hi)
    (notebook 01). ``line_kw`` go to ``Axes.plot``. Returns the figure."""
    if not lo < hi or step <= 0:
        raise ValueError(f"need lo < hi and step > 0, got lo={lo}, hi={hi}, step={step}")
    ax = new_axes(ax, (6, 3.5))
    xs = torch.arange(lo, hi, step)[:, None]
    with torch.no_grad():
        ys = model(xs.to(next(model.parameters()).device)).cpu()
    ax.plot(xs.numpy()[:, 0], ys.numpy()[:, 0], **{"color": style.INK, **line_kw})
    ax.set_xlabel("input")
    ax.set_ylabel("output")
    return ax.figure


def plot_inner_max_1d(model: torch.nn.Module, result, lo: float = -3.0, hi: float = 3.0):
    """Draw a 1-input net, the interval ``[x0 - ε, x0 + ε]`` and two answers to the inner
    maximization on it: the true maximiser (grid search) and the gradient-sign step
    (notebook 01). ``result`` is a ``course_utils.surface.InnerMax1D``. Returns the figure."""
    fig, ax = plt.subplots(figsize=(7, 3.8))
    plot_function_1d(model, lo, hi, ax=ax, lw=1.2, label="network f(x)")
    r = result
    fgsm, exact = style.method_style("fgsm"), style.method_style("milp")
    ax.axvspan(r.x0 - r.epsilon, r.x0 + r.epsilon, color=style.GUIDE, alpha=style.FILL_ALPHA, label="|δ| ≤ ε")
    ax.plot([r.x0, r.x_grad], [r.f0, r.f_linear], "--", color=fgsm.color, lw=1.5, label="linear prediction")
    ax.plot(r.x0, r.f0, "o", color=style.INK, label="x0")
    ax.plot(r.x_grad, r.f_grad, fgsm.marker, color=fgsm.color, ms=8, label="gradient-sign step (FGSM)")
    ax.plot(r.x_best, r.f_best, "*", color=exact.color, ms=14, label="true maximum (grid search)")
    return finish(ax, f"x0 = {r.x0:.2f}, ε = {r.epsilon:.2f}:  gradient step f = {r.f_grad:.3f},"
                      f"  true max f = {r.f_best:.3f}")


# --- chapter 3, "Aside: steepest descent" ----------------------------------------------------


def _ascent_path(grad, z0: np.ndarray, alpha: float, num_iter: int, epsilon: float, norm: str) -> np.ndarray:
    """Points ``(num_iter + 1, 2)`` of normalized steepest ascent, projected on the ε-ball:
    the attacks' own two helpers (``steepest_direction``, ``project_ball``) on a batch of
    one 2-D point."""
    from ..attacks import project_ball, steepest_direction

    delta, path = torch.zeros(1, 2, dtype=torch.float64), [z0.copy()]
    for _ in range(num_iter):
        g = torch.as_tensor(np.asarray(grad(z0 + delta[0].numpy()), dtype=float))[None]
        delta = project_ball(delta + alpha * steepest_direction(g, norm), epsilon, norm)
        path.append(z0 + delta[0].numpy())
    return np.array(path)


def plot_steepest_ascent_2d(f, grad, z0, alpha: float, num_iter: int, epsilon: float,
                            lim: float = 1.6, ax=None):
    """Normalized steepest ascent under l2 and l∞ on a 2-D function, with both ε-balls.

    Chapter 3, "Aside: steepest descent" (notebook 04). ``f(Z)``: values on an
    ``(..., 2)`` numpy grid; ``grad(z)``: gradient at a point ``(2,)``. Both runs start at
    ``z0`` and take ``num_iter`` steps of size ``alpha`` (l2: ``alpha * g/||g||_2``; l∞:
    ``alpha * sign(g)``), projected onto the ball of radius ``epsilon`` around ``z0``.
    Colours: ``style.METHODS["pgd_l2"]`` and ``["pgd"]``. Returns the figure.
    """
    ax = new_axes(ax, (5.2, 5))
    z0 = np.asarray(z0, dtype=float)
    grid = np.linspace(-lim, lim, 201)
    G = np.stack(np.meshgrid(grid, grid), axis=-1) + z0
    ax.contour(G[..., 0], G[..., 1], f(G), levels=14, colors=style.GUIDE, linewidths=0.6)
    l2, linf = style.method_style("pgd_l2"), style.method_style("pgd")
    t = np.linspace(0, 2 * np.pi, 200)
    ax.plot(z0[0] + epsilon * np.cos(t), z0[1] + epsilon * np.sin(t), color=l2.color, lw=1, ls="--",
            label=f"ℓ2 ball, ε = {epsilon:g}")
    box = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1], [-1, -1]]) * epsilon + z0
    ax.plot(box[:, 0], box[:, 1], color=linf.color, lw=1, ls="--", label=f"ℓ∞ ball, ε = {epsilon:g}")
    for norm, s, name in (("l2", l2, "ℓ2"), ("linf", linf, "ℓ∞")):
        path = _ascent_path(grad, z0, alpha, num_iter, epsilon, norm)
        ax.plot(path[:, 0], path[:, 1], "-", marker=s.marker, color=s.color, ms=3, lw=1.2,
                label=f"{name} steps (α = {alpha:g})")
    ax.plot(*z0, "*", color=style.INK, ms=10, label="start x")
    ax.set_aspect("equal")
    ax.set_xlim(z0[0] - lim, z0[0] + lim)
    ax.set_ylim(z0[1] - lim, z0[1] + lim)
    return finish(ax, "normalized steepest ascent: ℓ2 vs ℓ∞", legend_loc="lower left")


# --- error against ε, loss against iterations ------------------------------------------------

_CURVE_KEYS = ("method", "epsilon", "error")


def _check_curve(i: int, c: Mapping) -> None:
    missing = [k for k in _CURVE_KEYS if k not in c]
    if missing:
        raise ValueError(f"curves[{i}] lacks {missing}: each curve is a dict with 'method', 'epsilon', "
                         "'error' and optionally 'clamp' (bool) and 'model' (str)")
    style.method_style(c["method"])
    if len(c["epsilon"]) != len(c["error"]):
        raise ValueError(f"curves[{i}]: {len(c['epsilon'])} values of epsilon but {len(c['error'])} of error")


def plot_error_vs_epsilon(curves: Sequence[Mapping], norm: str = "linf", title: str = "", axes=None):
    """Error rate against ε for several attacks, with and without the clamp, for several models.

    Args:
        curves: one dict per curve: ``method`` (a key of ``style.METHODS``, e.g. "fgsm",
            "pgd"), ``epsilon`` and ``error`` (equal-length sequences; error in [0, 1]),
            optional ``clamp`` (True: solid line, False: dashed, "no clamp" in the
            legend) and ``model`` (one panel per model, in order of appearance).
        norm: "linf" or "l2", for the axis label.
        title: the figure's title.
        axes: optional axes, one per model.

    Introduced in notebook 02. Returns the figure.
    """
    if not curves:
        raise ValueError("curves must hold at least one curve")
    for i, c in enumerate(curves):
        _check_curve(i, c)
    if norm not in ("linf", "l2"):
        raise ValueError(f"norm must be 'linf' or 'l2', got {norm!r}")
    models = list(dict.fromkeys(c.get("model", "") for c in curves))
    if axes is None:
        fig, axes = plt.subplots(1, len(models), figsize=(4.2 * len(models) + 0.6, 3.6), sharey=True,
                                 squeeze=False)
        axes = axes[0]
    if len(axes) != len(models):
        raise ValueError(f"axes must hold one axes per model ({len(models)}), got {len(axes)}")
    for ax, model in zip(axes, models):
        for c in (c for c in curves if c.get("model", "") == model):
            kw = style.method_style(c["method"]).line_kw()
            if c.get("clamp") is False:
                kw.update(linestyle="--", label=kw["label"] + ", no clamp", markerfacecolor="none")
            ax.plot(as_values(c["epsilon"], "epsilon"), as_values(c["error"], "error"), ms=4, lw=1.4, **kw)
        ax.set_xlabel(f"ε ({'ℓ∞' if norm == 'linf' else 'ℓ2'})")
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
        finish(ax, model)
    axes[0].set_ylabel("error rate")
    if title:
        axes[0].figure.suptitle(title, fontsize=10)
    axes[0].figure.tight_layout()
    return axes[0].figure


def _loss_rows(name, values) -> np.ndarray:
    arr = np.asarray(values.detach().cpu() if isinstance(values, torch.Tensor) else values, dtype=float)
    if arr.ndim not in (1, 2) or arr.shape[-1] < 1:
        raise ValueError(f"runs[{name!r}] must have shape (iterations,) or (restarts, iterations), "
                         f"got {arr.shape}")
    return arr.reshape(-1, arr.shape[-1])


def plot_loss_curves(runs: Mapping[str, object], ylabel: str = "loss", logy: bool = False, title: str = "",
                     ax=None):
    """An attack's objective along its iterations (notebook 03).

    Args:
        runs: series name (a method key such as "pgd" or "pgd_plain" takes its style; any
            other text gets a sequential colour) -> values ``(iterations,)``, or
            ``(restarts, iterations)`` for restarts: each restart is a thin line, the
            best (highest final value) a thick one.
        ylabel: what the values are (e.g. "cross-entropy loss, mean over 100 images").
        logy: logarithmic y axis.

    Iteration 0 is the starting point. Returns the figure.
    """
    if not runs:
        raise ValueError("runs must name at least one series")
    rows = {name: _loss_rows(name, v) for name, v in runs.items()}
    kws = series_styles(list(rows))
    ax = new_axes(ax, (6.5, 3.8))
    for name, arr in rows.items():
        kw = kws[name]
        it = np.arange(arr.shape[1])
        best = int(np.nanargmax(arr[:, -1]))
        if arr.shape[0] > 1:
            for r in range(arr.shape[0]):
                ax.plot(it, arr[r], color=kw["color"], lw=0.7, alpha=0.45)
            kw = {**kw, "label": f"{kw['label']}: best of {arr.shape[0]} restarts"}
        ax.plot(it, arr[best], lw=2.0, markevery=max(arr.shape[1] // 10, 1), ms=4, **kw)
    ax.set_xlabel("iteration")
    ax.set_ylabel(ylabel)
    if logy:
        ax.set_yscale("log")
    ax.grid(alpha=0.3)
    return finish(ax, title)


def _steps_curve(i: int, c: Mapping) -> None:
    missing = [k for k in ("method", "error") if k not in c]
    if missing:
        raise ValueError(f"curves[{i}] lacks {missing}: each curve is a dict with 'method', 'error' (a number "
                         "per step, from step 0; or one number, drawn level) and optionally 'model' and 'clamp'")
    style.method_style(c["method"])


def plot_error_vs_steps(curves: Sequence[Mapping], title: str = "", axes=None):
    """Error rate against the number of attack steps, one panel per model.

    Introduced in notebook 04 (l∞ PGD is FGSM with a small step, repeated: how many steps
    does it need?).

    Args:
        curves: one dict per curve: ``method`` (a key of ``style.METHODS``, e.g. "pgd"),
            ``error``: the error after 0, 1, 2, ... steps (a sequence; step 0 is the clean
            error), or one number, drawn as a level dashed line across the panel (a
            one-step attack such as "fgsm"); optional ``model`` (one panel per model, in
            order of appearance) and ``clamp`` (False adds ", no clamp" to the legend).
        title: the figure's title.
        axes: optional axes, one per model.

    Returns the figure.
    """
    if not curves:
        raise ValueError("curves must hold at least one curve")
    for i, c in enumerate(curves):
        _steps_curve(i, c)
    models = list(dict.fromkeys(c.get("model", "") for c in curves))
    if axes is None:
        fig, axes = plt.subplots(1, len(models), figsize=(4.2 * len(models) + 0.6, 3.6), sharey=True,
                                 squeeze=False)
        axes = axes[0]
    if len(axes) != len(models):
        raise ValueError(f"axes must hold one axes per model ({len(models)}), got {len(axes)}")
    for ax, model in zip(axes, models):
        mine = [c for c in curves if c.get("model", "") == model]
        longest = max((len(as_values(c["error"], "error")) for c in mine if not np.isscalar(c["error"])), default=2)
        for c in mine:
            kw = style.method_style(c["method"]).line_kw()
            if c.get("clamp") is False:
                kw["label"] += ", no clamp"
            if np.isscalar(c["error"]):
                kw.update(linestyle="--", marker=None)
                ax.plot([0, longest - 1], [float(c["error"])] * 2, lw=1.4, **kw)
            else:
                values = as_values(c["error"], "error")
                ax.plot(np.arange(len(values)), values, ms=4, lw=1.4, markevery=max(len(values) // 10, 1), **kw)
        ax.set_xlabel("steps")
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
        finish(ax, model)
    axes[0].set_ylabel("error rate")
    if title:
        axes[0].figure.suptitle(title, fontsize=10)
    axes[0].figure.tight_layout()
    return axes[0].figure
