"""MNIST digits, drawn one way everywhere: ``draw_digit`` (and ``draw_delta`` for a
perturbation) is what every image figure of the course calls.

A digit is drawn dark on light, as in the chapter, on the fixed range [0, 1]; a pixel that
an unclamped attack pushed below 0 or above 1 keeps its own colour (``style.BELOW_RANGE``,
``style.ABOVE_RANGE``), so clamped and unclamped attacks look different (notebook 02).
"""

from __future__ import annotations

import textwrap
from typing import Mapping, Optional, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.patches import Rectangle

from .. import style
from ._common import series_label

RANGE_TOL = 1e-6
"""Pixels within this distance of [0, 1] count as inside (float rounding of a clamp)."""


def as_image(image, name: str = "image") -> np.ndarray:
    """``image`` (tensor or array of 784 values: ``(784,)``, ``(28, 28)``, ``(1, 28, 28)`` or
    ``(1, 1, 28, 28)``) as a float ``(28, 28)`` numpy array."""
    arr = image.detach().cpu().numpy() if isinstance(image, torch.Tensor) else np.asarray(image)
    if arr.size != 784:
        raise ValueError(f"{name} must hold one 28x28 image (784 values), got shape {tuple(arr.shape)}")
    return arr.astype(float).reshape(28, 28)


def out_of_range(image, tol: float = RANGE_TOL) -> int:
    """How many pixels of ``image`` lie outside [0, 1] by more than ``tol``."""
    arr = as_image(image)
    return int(((arr < -tol) | (arr > 1 + tol)).sum())


def _digit_cmap():
    return plt.get_cmap(style.DIGIT_CMAP).with_extremes(under=style.BELOW_RANGE, over=style.ABOVE_RANGE)


def draw_digit(ax, image, *, at=None, title: str = "", title_color: Optional[str] = None, frame=None,
               fontsize: float = 9):
    """Draw one digit on ``ax``: pixel 0 white, 1 black, below 0 / above 1 in their own colours.

    Args:
        ax: a matplotlib ``Axes``.
        image: 784 pixel values (see ``as_image``), nominally in [0, 1].
        at: ``None`` (the digit fills ``ax``), or the data coordinates ``(x, y)`` of its
            top-left corner in a mosaic of 28x28 cells on one axes (``digit_mosaic``):
            one axes for a whole grid draws many times faster than one axes per digit.
        title, title_color, fontsize: the text above the digit.
        frame: ``None``, or a verdict ("robust", "attacked"/"attack", "unknown") whose
            colour and line style frame the image (``style.VERDICTS``).

    Returns:
        The ``AxesImage``.
    """
    arr = as_image(image)
    arr = np.where((arr < 0) & (arr >= -RANGE_TOL), 0.0, arr)
    arr = np.where((arr > 1) & (arr <= 1 + RANGE_TOL), 1.0, arr)
    x0, y0 = (-0.5, -0.5) if at is None else at
    im = ax.imshow(arr, cmap=_digit_cmap(), vmin=0.0, vmax=1.0, interpolation="nearest",
                   extent=(x0, x0 + 28, y0 + 28, y0))
    if at is None:
        ax.set_xticks([])
        ax.set_yticks([])
        for side in ax.spines.values():
            side.set_visible(False)
    if frame is not None:
        v = style.verdict_style(frame)
        ax.add_patch(Rectangle((x0 - 0.5, y0 - 0.5), 29, 29, fill=False, ec=v.color, ls=v.linestyle, lw=2.2,
                               clip_on=False))
    if title and at is None:
        ax.set_title(title, fontsize=fontsize, color=title_color or style.INK)
    elif title:
        ax.text(x0 + 14, y0 - 2, title, ha="center", va="bottom", fontsize=fontsize, color=title_color or style.INK)
    return im


def digit_mosaic(M: int, N: int, cell_in=(1.05, 1.3), caption_lines: int = 1):
    """A figure with one axes laid out for ``M`` x ``N`` digits drawn by ``draw_digit(...,
    at=cell(i, j))``: returns ``(fig, ax, cell)``. ``cell_in``: inches per cell (width,
    height, the height including its title); room is left under it for the caption."""
    pitch_x, pitch_y = 34.0, 28.0 * cell_in[1] / cell_in[0] * 34.0 / 28.0
    caption_in = 0.18 * caption_lines + 0.1
    fig = plt.figure(figsize=(N * cell_in[0], M * cell_in[1] + caption_in))
    bottom = caption_in / (M * cell_in[1] + caption_in)
    ax = fig.add_axes((0.0, bottom, 1.0, 1.0 - bottom))
    ax.set_xlim(-3.5, N * pitch_x - 3.5)
    ax.set_ylim(M * pitch_y - (pitch_y - 28) - 1.0, -(pitch_y - 28) - 1.0)
    ax.set_aspect("equal")
    ax.axis("off")

    def cell(i: int, j: int):
        return (j * pitch_x, i * pitch_y)

    return fig, ax, cell


def draw_delta(ax, delta, vmax: Optional[float] = None, *, title: str = "", fontsize: float = 9):
    """Draw a perturbation ``δ`` (784 values) on a diverging map, white at 0, symmetric range
    ``[-vmax, vmax]`` (default: its own largest ``|δ|``). Returns the ``AxesImage`` (for a
    colour bar)."""
    arr = as_image(delta, "delta")
    if vmax is None:
        vmax = float(np.abs(arr).max())
    vmax = max(float(vmax), 1e-12)
    im = ax.imshow(arr, cmap=style.DIVERGING_CMAP, vmin=-vmax, vmax=vmax, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=fontsize, color=style.INK)
    return im


def range_note(count: int) -> str:
    """The caption line for ``count`` images with pixels outside [0, 1] ("" when none)."""
    if count == 0:
        return ""
    return (f"{count} image{'s' if count > 1 else ''} with pixels outside [0, 1]: "
            f"below 0 drawn blue, above 1 pink")


# --- grids -----------------------------------------------------------------------------------


def _predictions(yp: torch.Tensor, n: int) -> torch.Tensor:
    yp = torch.as_tensor(yp).detach().cpu()
    pred = yp.argmax(dim=1) if yp.dim() == 2 else yp
    if pred.dim() != 1 or pred.shape[0] < n:
        raise ValueError(f"yp must be logits (n, classes) or classes (n,) with n >= {n}, "
                         f"got shape {tuple(yp.shape)}")
    return pred.long()


def outcome(label: int, pred: int, target: Optional[int] = None) -> str:
    """A key of ``style.OUTCOMES``: "right"/"wrong" (untargeted), or "right"/"hit"/"other"
    for an attack with ``target`` (still correct, hit the target, another class)."""
    if pred == label:
        return "right"
    if target is None:
        return "wrong"
    return "hit" if pred == target else "other"


def _caption(targeted: bool, outside: int, width_in: float) -> str:
    """The grid's caption, wrapped to the figure's width (``width_in`` inches)."""
    o = style.OUTCOMES
    if targeted:
        marks = (f"{o['right'].mark} still correct · {o['hit'].mark} hit the target · "
                 f"{o['other'].mark} another class")
    else:
        marks = f"{o['right'].mark} correct · {o['wrong'].mark} wrong"
    lines = [f"title: true→predicted   {marks}", range_note(outside)]
    return "\n".join(textwrap.fill(s, int(width_in * 15)) for s in lines if s)


def plot_images(X: torch.Tensor, y: torch.Tensor, yp: torch.Tensor, M: int, N: int, targets=None):
    """The chapter's grid of ``M`` x ``N`` images, each titled "true→predicted" and a mark.

    Introduced in notebook 02. ``X``: images ``(>= M*N, 1, 28, 28)``, nominally in [0, 1]
    (pixels outside are coloured, see ``draw_digit``); ``y``: labels ``(n,)``; ``yp``:
    logits ``(n, classes)`` or predicted classes ``(n,)``. Marks: ✓ correct, ✗ wrong;
    with ``targets`` (an int or ``(n,)`` tensor: a targeted attack) ✓ still correct,
    ◎ hit the target, ✗ another class. A caption under the grid explains the marks and
    counts the images with pixels outside [0, 1]. Returns the figure.
    """
    if M < 1 or N < 1:
        raise ValueError(f"M and N must be positive integers, got M={M}, N={N}")
    n = M * N
    if X.shape[0] < n:
        raise ValueError(f"X holds {X.shape[0]} images, fewer than M*N = {n}")
    if len(y) < n:
        raise ValueError(f"y holds {len(y)} labels, fewer than M*N = {n}")
    pred = _predictions(yp, n)
    labels = torch.as_tensor(y).detach().cpu().long()
    goal = None if targets is None else torch.as_tensor(targets).long().expand(n).cpu()
    outside = sum(out_of_range(X[k]) > 0 for k in range(n))
    caption = _caption(goal is not None, outside, N * 1.05)
    fig, ax, cell = digit_mosaic(M, N, caption_lines=caption.count("\n") + 1)
    for k in range(n):
        label, p = int(labels[k]), int(pred[k])
        o = style.OUTCOMES[outcome(label, p, None if goal is None else int(goal[k]))]
        draw_digit(ax, X[k], at=cell(k // N, k % N), title=f"{label}→{p} {o.mark}", title_color=o.color,
                   fontsize=10)
    fig.text(0.5, 0.01, caption, ha="center", va="bottom", fontsize=8, color=style.INK)
    return fig


def plot_verdict_grid(X: torch.Tensor, verdict: Sequence[str], decided_by: Sequence[str], M: int = 3,
                      N: int = 10, title: str = ""):
    """The first ``M*N`` images framed by verdict (notebook 09): each frame has the
    verdict's colour and line style, each caption its symbol (✓ robust, ✗ attacked,
    ? unknown) and the step that decided. Returns the figure."""
    if len(verdict) != len(decided_by):
        raise ValueError(f"verdict and decided_by differ in length ({len(verdict)} vs {len(decided_by)})")
    if len(X) < len(verdict):
        raise ValueError(f"X holds {len(X)} images, fewer than the {len(verdict)} verdicts")
    fig, ax, cell = digit_mosaic(M, N, cell_in=(0.95, 1.15), caption_lines=1 + bool(title))
    for k in range(min(len(verdict), M * N)):
        v = style.verdict_style(verdict[k])
        draw_digit(ax, X[k], at=cell(k // N, k % N), frame=verdict[k],
                   title=f"{v.symbol} {decided_by[k] or 'unknown'}", title_color=v.color, fontsize=7)
    legend = "   ".join(f"{s.symbol} {s.label}" for s in style.VERDICTS.values())
    fig.text(0.5, 0.01, "\n".join(t for t in (title, legend + "   (caption: the step that decided)") if t),
             ha="center", va="bottom", fontsize=8, color=style.INK)
    return fig


def plot_witness(x: torch.Tensor, witness: torch.Tensor, title: str = ""):
    """The clean image, a solver's point ``x + δ`` and the perturbation ``δ`` (notebooks
    06, 07), with ``δ`` on a diverging map and its colour bar. Returns the figure."""
    fig, axes = plt.subplots(1, 3, figsize=(7.5, 2.7))
    draw_digit(axes[0], x, title="clean x")
    draw_digit(axes[1], witness, title="x + δ")
    delta = as_image(witness, "witness") - as_image(x, "x")
    im = draw_delta(axes[2], delta, title="δ")
    fig.colorbar(im, ax=axes[2], fraction=0.046)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def _norms(delta: np.ndarray) -> str:
    return f"‖δ‖∞ {np.abs(delta).max():.2f}, ‖δ‖₂ {np.linalg.norm(delta):.2f}"


def plot_delta_heatmaps(X: torch.Tensor, deltas: Mapping[str, torch.Tensor], n: int = 3,
                        shared_range: bool = False, title: str = ""):
    """The perturbations of several attacks on the same images, as heat maps (notebooks 04, 05).

    Args:
        X: the clean images ``(>= n, 1, 28, 28)``.
        deltas: column title (a method key such as "pgd", "pgd_l2", or any text) ->
            perturbations of the same shape as ``X``.
        n: rows (images).
        shared_range: one symmetric colour range for all columns (compare sizes);
            default one per column (compare where each attack spends its budget).

    Each δ is drawn on a diverging map, white at 0, with a colour bar; under each, its
    ‖δ‖∞ and ‖δ‖₂. Returns the figure.
    """
    if not deltas:
        raise ValueError("deltas must name at least one perturbation")
    if n < 1 or len(X) < n:
        raise ValueError(f"n must be between 1 and len(X) = {len(X)}, got {n}")
    arrays = {}
    for name, d in deltas.items():
        if tuple(d.shape) != tuple(X.shape):
            raise ValueError(f"deltas[{name!r}] has shape {tuple(d.shape)}, X has {tuple(X.shape)}")
        arrays[name] = d.detach().cpu().numpy().reshape(len(X), 28, 28)[:n]
    top = max(float(np.abs(a).max()) for a in arrays.values()) if shared_range else None
    fig, axes = plt.subplots(n, len(arrays) + 1, figsize=(2.3 * (len(arrays) + 1), 2.25 * n), squeeze=False)
    for i in range(n):
        draw_digit(axes[i, 0], X[i], title="clean x" if i == 0 else "")
        for j, (name, arr) in enumerate(arrays.items(), start=1):
            vmax = top if shared_range else float(np.abs(arr).max())
            head = series_label(name) if i == 0 else ""
            im = draw_delta(axes[i, j], arr[i], vmax, title=head)
            axes[i, j].set_xlabel(_norms(arr[i]), fontsize=7)
            fig.colorbar(im, ax=axes[i, j], fraction=0.046)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig

