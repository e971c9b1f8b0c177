"""Figures for the notebooks (matplotlib). Functions return the ``Figure`` they draw."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch

from .attacks import project_ball, steepest_direction

# --- chapter 3, "Moving to neural networks": the loss surface -----------------------


def plot_function_1d(model: torch.nn.Module, lo: float = -3.0, hi: float = 3.0, step: float = 0.01,
                     ax=None, **line_kw):
    """Plot a scalar function of one input, ``model: (n, 1) -> (n, 1)``, on [lo, hi)."""
    ax = ax or plt.figure(figsize=(6, 3.5)).gca()
    xs = torch.arange(lo, hi, step)[:, None]
    with torch.no_grad():
        ys = model(xs.to(next(model.parameters()).device)).cpu()
    ax.plot(xs.numpy()[:, 0], ys.numpy()[:, 0], **line_kw)
    ax.set_xlabel("input")
    ax.set_ylabel("output")
    return ax.figure


def plot_inner_max_1d(model: torch.nn.Module, result, lo: float = -3.0, hi: float = 3.0):
    """Draw a 1-input net, the interval ``[x0 - ε, x0 + ε]`` and two answers to the inner
    maximization on it: the true maximiser (grid search) and the gradient-sign step.

    ``result`` is a ``course_utils.surface.InnerMax1D``.
    """
    fig, ax = plt.subplots(figsize=(7, 3.8))
    plot_function_1d(model, lo, hi, ax=ax, color="0.3", lw=1.2, label="network f(x)")
    r = result
    ax.axvspan(r.x0 - r.epsilon, r.x0 + r.epsilon, color="tab:blue", alpha=0.12, label="|δ| ≤ ε")
    ax.plot([r.x0, r.x_grad], [r.f0, r.f_linear], "--", color="tab:orange", lw=1.5,
            label="linear prediction")
    ax.plot(r.x0, r.f0, "o", color="black", label="x0")
    ax.plot(r.x_grad, r.f_grad, "s", color="tab:orange", ms=8, label="gradient-sign step")
    ax.plot(r.x_best, r.f_best, "*", color="tab:red", ms=14, label="true maximum")
    ax.legend(loc="best", fontsize=8)
    ax.set_title(f"x0 = {r.x0:.2f}, ε = {r.epsilon:.2f}:  gradient step f = {r.f_grad:.3f},"
                 f"  true max f = {r.f_best:.3f}", fontsize=10)
    fig.tight_layout()
    return fig


# --- chapter 3, FGSM / PGD / targeted / l2: the attacked-image grid and steepest ascent ----


def plot_images(X: torch.Tensor, y: torch.Tensor, yp: torch.Tensor, M: int, N: int,
                targets=None):
    """The chapter's grid of ``M`` x ``N`` images with the model's predictions as titles.

    Chapter 3, "FGSM". ``X``: images ``(>= M*N, 1, 28, 28)`` in [0, 1] (drawn dark on
    light, as in the chapter); ``y``: labels ``(n,)``; ``yp``: logits ``(n, classes)`` or
    predicted classes ``(n,)``. Titles are green when the prediction is right, red when
    wrong. With ``targets`` (an int or ``(n,)`` tensor) a title is green when the
    prediction hits the target instead (targeted attacks). Returns the figure.
    """
    if M < 1 or N < 1:
        raise ValueError(f"M and N must be positive integers, got M={M}, N={N}")
    if X.shape[0] < M * N:
        raise ValueError(f"X holds {X.shape[0]} images, fewer than M*N = {M * N}")
    pred = (yp.argmax(dim=1) if yp.dim() == 2 else yp).detach().cpu()
    goal = y.detach().cpu() if targets is None else torch.as_tensor(targets).expand_as(pred).cpu()
    fig, axes = plt.subplots(M, N, sharex=True, sharey=True, figsize=(N, M * 1.3), squeeze=False)
    for i in range(M):
        for j in range(N):
            k = i * N + j
            ax = axes[i][j]
            ax.imshow(1 - X[k, 0].detach().cpu().numpy(), cmap="gray", vmin=0, vmax=1)
            ax.set_title(f"Pred: {pred[k].item()}", color="g" if pred[k] == goal[k] else "r",
                         fontsize=10)
            ax.set_axis_off()
    fig.tight_layout()
    return fig


def plot_steepest_ascent_2d(f, grad, z0, alpha: float, num_iter: int, epsilon: float,
                            lim: float = 1.6, ax=None):
    """Normalized steepest ascent under l2 and l∞ on a 2-D function, with both ε-balls.

    Chapter 3, "Aside: steepest descent". ``f(Z)``: values on an ``(..., 2)`` numpy grid;
    ``grad(z)``: gradient at a point ``(2,)``. Both runs start at ``z0`` and take
    ``num_iter`` steps of size ``alpha`` (l2: ``alpha * g/||g||_2``; l∞:
    ``alpha * sign(g)``), projected onto the ball of radius ``epsilon`` around ``z0``.
    Returns the figure.
    """
    ax = ax or plt.figure(figsize=(5.2, 5)).gca()
    z0 = np.asarray(z0, dtype=float)
    grid = np.linspace(-lim, lim, 201)
    G = np.stack(np.meshgrid(grid, grid), axis=-1) + z0
    ax.contour(G[..., 0], G[..., 1], f(G), levels=14, cmap="Greys", linewidths=0.8)
    t = np.linspace(0, 2 * np.pi, 200)
    ax.plot(z0[0] + epsilon * np.cos(t), z0[1] + epsilon * np.sin(t), color="tab:blue", lw=1,
            ls="--", label=f"l2 ball, ε = {epsilon:g}")
    box = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1], [-1, -1]]) * epsilon + z0
    ax.plot(box[:, 0], box[:, 1], color="tab:red", lw=1, ls="--", label=f"l∞ ball, ε = {epsilon:g}")
    for norm, colour in (("l2", "tab:blue"), ("linf", "tab:red")):
        # the attacks' own two helpers, on a batch of one 2-D point
        delta, path = torch.zeros(1, 2, dtype=torch.float64), [z0.copy()]
        for _ in range(num_iter):
            g = torch.as_tensor(np.asarray(grad(z0 + delta[0].numpy()), dtype=float))[None]
            delta = project_ball(delta + alpha * steepest_direction(g, norm), epsilon, norm)
            path.append(z0 + delta[0].numpy())
        path = np.array(path)
        ax.plot(path[:, 0], path[:, 1], "o-", color=colour, ms=3, lw=1.2,
                label=f"{'l2' if norm == 'l2' else 'l∞'} steps (α = {alpha:g})")
    ax.plot(*z0, "k*", ms=10, label="start x")
    ax.set_aspect("equal")
    ax.set_xlim(z0[0] - lim, z0[0] + lim)
    ax.set_ylim(z0[1] - lim, z0[1] + lim)
    ax.legend(loc="lower left", fontsize=7)
    ax.set_title("normalized steepest ascent: l2 vs l∞", fontsize=10)
    return ax.figure


# --- chapter 3, exact verification and convex relaxations (MILP, LP, interval bounds) ---


def plot_relu_relaxation(l: float = -1.0, u: float = 1.5, ax=None):
    """The bounded ReLU set ``{(ẑ, z): z = max(0, ẑ), l <= ẑ <= u}`` and its convex hull,
    the triangle that the LP relaxation (``0 <= v <= 1``) puts in its place."""
    if not l < 0 < u:
        raise ValueError(f"need l < 0 < u for an unstable ReLU, got l={l}, u={u}")
    ax = ax or plt.figure(figsize=(5.5, 3.6)).gca()
    ax.fill([l, 0, u], [0, 0, u], color="tab:blue", alpha=0.18, label="convex hull (LP relaxation)")
    ax.plot([l, 0, u], [0, 0, u], color="black", lw=2.5, label="bounded ReLU (MILP)")
    ax.plot([l, u], [0, u], "--", color="tab:blue", lw=1.2)
    return _finish_relu_axes(ax, l, u, r"pre-activation $\hat z = Wz + b$",
                             f"l = {l:g}, u = {u:g}: upper side z ≤ u (ẑ − l) / (u − l)")


def _finish_relu_axes(ax, l: float, u: float, xlabel: str, title: str):
    """Dotted lines at l and u, labels, legend: the frame of both ReLU-relaxation pictures."""
    ax.axvline(l, color="0.6", lw=0.8, ls=":")
    ax.axvline(u, color="0.6", lw=0.8, ls=":")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(r"activation $z$")
    ax.set_title(title, fontsize=10)
    ax.legend(loc="upper left", fontsize=8)
    ax.figure.tight_layout()
    return ax.figure


def plot_witness(x: torch.Tensor, witness: torch.Tensor, title: str = ""):
    """The clean image, the verifier's witness ``x + δ`` and the perturbation ``δ``."""
    fig, axes = plt.subplots(1, 3, figsize=(7.5, 2.7))
    delta = (witness - x).reshape(28, 28).cpu().numpy()
    for ax, img, name in zip(axes, (x.reshape(28, 28).cpu().numpy(), witness.reshape(28, 28).cpu().numpy()),
                             ("clean x", "witness x + δ")):
        ax.imshow(1 - img, cmap="gray", vmin=0, vmax=1)
        ax.set_title(name, fontsize=10)
    m = max(abs(delta).max(), 1e-12)
    im = axes[2].imshow(delta, cmap="RdBu", vmin=-m, vmax=m)
    axes[2].set_title("δ", fontsize=10)
    fig.colorbar(im, ax=axes[2], fraction=0.046)
    for ax in axes:
        ax.axis("off")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def plot_logit_bounds(lower, upper, clean=None, ax=None, title: str = ""):
    """Interval bounds on the 10 logits as bars from ``lower`` to ``upper``, with the clean
    logits as dots."""
    lower, upper = np.asarray(lower, float), np.asarray(upper, float)
    ax = ax or plt.figure(figsize=(6.5, 3.2)).gca()
    k = np.arange(lower.size)
    ax.bar(k, upper - lower, bottom=lower, color="tab:blue", alpha=0.35, label="interval bound")
    if clean is not None:
        ax.plot(k, np.asarray(clean, float), "o", color="black", ms=4, label="clean logits")
    ax.axhline(0, color="0.5", lw=0.6)
    ax.set_xticks(k)
    ax.set_xlabel("class")
    ax.set_ylabel("logit")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    ax.figure.tight_layout()
    return ax.figure


def plot_bound_comparison(targets, columns: dict, ax=None, title: str = ""):
    """Grouped bars, one group per target: for each method (``columns``: name -> list of
    values, ``None`` where not computed) its lower bound on ``logit_y - logit_t``.
    A bar above 0 certifies the target; the tighter the method, the higher its bar."""
    ax = ax or plt.figure(figsize=(8, 3.6)).gca()
    k = np.arange(len(targets))
    width = 0.8 / max(len(columns), 1)
    for i, (name, values) in enumerate(columns.items()):
        vals = np.array([np.nan if v is None else v for v in values], float)
        ax.bar(k + (i - (len(columns) - 1) / 2) * width, vals, width, label=name)
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xticks(k)
    ax.set_xticklabels([str(t) for t in targets])
    ax.set_xlabel("target class")
    ax.set_ylabel("bound on logit_y − logit_target")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    ax.figure.tight_layout()
    return ax.figure


# --- beyond the chapter: linear bounds and certified accuracy ----------------------------

METHOD_COLORS = {"interval": "tab:orange", "crown": "tab:green", "lp": "tab:blue", "lp+cuts": "tab:blue",
                 "milp": "black", "exact milp": "black", "pgd": "tab:red", "targeted pgd": "tab:red"}
"""One colour per step (``verdicts.STEPS``) in every figure."""


def plot_crown_relaxation(l: float = -1.0, u: float = 1.5, ax=None):
    """An unstable ReLU on ``[l, u]`` between CROWN's two lines: the chord above, and
    below the line through 0 with slope 1 when ``u >= -l``, else slope 0 (the closer of
    the two triangle sides)."""
    if not l < 0 < u:
        raise ValueError(f"need l < 0 < u for an unstable ReLU, got l={l}, u={u}")
    ax = ax or plt.figure(figsize=(5.5, 3.6)).gca()
    zs = np.linspace(l, u, 200)
    slope = 1.0 if u >= -l else 0.0
    ax.fill_between(zs, slope * zs, u * (zs - l) / (u - l), color="tab:green", alpha=0.15,
                    label="between CROWN's lines")
    ax.plot(zs, np.maximum(zs, 0), color="black", lw=2.5, label="ReLU")
    ax.plot(zs, u * (zs - l) / (u - l), "--", color="tab:green", lw=1.5, label="upper: the chord")
    ax.plot(zs, slope * zs, ":", color="tab:green", lw=2, label=f"lower: slope {slope:g}")
    return _finish_relu_axes(ax, l, u, r"pre-activation $\hat z$",
                             f"l = {l:g}, u = {u:g}: two lines instead of a triangle")


def plot_bound_sandwich(sandwich: dict, ax=None, title: str = ""):
    """Lower bounds (interval, CROWN, LP, MILP) and PGD's attack value on one objective
    against ε, from ``certified.bound_sandwich``. The true minimum (MILP) lies between
    every lower bound and the attack; below the zero line nothing is proven."""
    ax = ax or plt.figure(figsize=(7, 4)).gca()
    eps = np.asarray(sandwich["epsilon"])
    for key, label, style in (("targeted pgd", "PGD (an attack: upper bound)", "-^"),
                              ("exact milp", "MILP (exact)", "-o"), ("lp", "LP (chapter's, interval bounds)", "-s"),
                              ("crown", "CROWN", "-D"), ("interval", "interval", "-v")):
        vals = np.array([np.nan if v is None else v for v in sandwich[key]], float)
        ax.plot(eps, vals, style, color=METHOD_COLORS[key], label=label, ms=4, lw=1.4)
    ax.axhline(0, color="0.4", lw=0.8)
    ax.set_xlabel("ε (l∞)")
    ax.set_ylabel("bound on min (logit_y − logit_t)")
    low = np.nanmin(np.array([np.nan if v is None else v for v in sandwich["exact milp"]], float))
    ax.set_ylim(bottom=min(-5.0, 3 * low), top=None)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    ax.figure.tight_layout()
    return ax.figure


def plot_certified_curves(curves: dict, ax=None, title: str = ""):
    """Certified accuracy against ε: ``curves`` has ``"epsilon"`` and one list per method
    (and ``"pgd"``, the fraction that survive the attack: an upper bound)."""
    ax = ax or plt.figure(figsize=(6, 3.8)).gca()
    eps = curves["epsilon"]
    for key in ("pgd", "milp", "lp+cuts", "crown", "interval"):
        if key in curves:
            label = {"pgd": "PGD (upper bound)", "lp+cuts": "LP + cuts", "interval": "interval"}.get(key, key.upper())
            ax.plot(eps, curves[key], "-o", ms=3, color=METHOD_COLORS[key], label=label,
                    lw=2.2 if key == "milp" else 1.3)
    ax.set_xlabel("ε (l∞)")
    ax.set_ylabel("accuracy")
    ax.set_ylim(-0.02, 1.02)
    ax.grid(alpha=0.3)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    ax.figure.tight_layout()
    return ax.figure


def plot_verdict_grid(X: torch.Tensor, verdict, decided_by, M: int = 3, N: int = 10, title: str = ""):
    """The first ``M*N`` images with a coloured frame: green proven robust, red attacked,
    grey unknown; the caption names the step that decided."""
    colors = {"robust": "tab:green", "attacked": "tab:red", "unknown": "0.5"}
    fig, axes = plt.subplots(M, N, figsize=(N * 0.95, M * 1.15))
    for k, ax in enumerate(np.asarray(axes).reshape(-1)):
        ax.set_xticks([]), ax.set_yticks([])
        if k >= len(verdict):
            ax.axis("off")
            continue
        ax.imshow(X[k].reshape(28, 28).cpu(), cmap="gray")
        for side in ax.spines.values():
            side.set_edgecolor(colors[verdict[k]])
            side.set_linewidth(3)
        ax.set_title(decided_by[k] or "unknown", fontsize=7, color=colors[verdict[k]])
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig
