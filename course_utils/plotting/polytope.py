"""The adversarial polytope of a 2-D toy network and its convex outer bounds (notebook 07);
the numbers come from ``course_utils.polytope``."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.collections import PolyCollection
from matplotlib.patches import Polygon, Rectangle

from .. import style
from ._common import finish


def _cells(grid: np.ndarray) -> np.ndarray:
    """The quadrilaterals ``(m, 4, 2)`` of an ``(r, r, 2)`` grid of points (or of its image)."""
    return np.stack([grid[:-1, :-1], grid[:-1, 1:], grid[1:, 1:], grid[1:, :-1]], axis=2).reshape(-1, 4, 2)


def _draw_grid(ax, grid: np.ndarray, colors: np.ndarray, label: str) -> None:
    ax.add_collection(PolyCollection(_cells(grid), facecolors=colors, edgecolors=colors, linewidths=0.3,
                                     label=label))


def plot_adversarial_polytope(poly, boundary: bool = True, title: str = ""):
    """Two panels: the l∞ ball around ``x0`` in the input plane, and its image through the
    toy network in the output plane with two convex sets that contain it: the LP
    relaxation's projection (from its support function) and the interval box.

    Both panels colour a point by its first input coordinate, so the folds of the image
    show. ``poly``: a ``polytope.AdversarialPolytope``. ``boundary``: draw the line
    ``z₁ = z₂`` where the predicted class changes. Returns the figure.
    """
    cmap = plt.get_cmap(style.SEQUENTIAL_CMAP)
    x1 = poly.inputs[..., 0]
    shade = (x1[:-1, :-1] - x1.min()) / max(np.ptp(x1), 1e-12)
    colors = cmap(shade.reshape(-1))
    fig, (ax_in, ax_out) = plt.subplots(1, 2, figsize=(10, 5.2), gridspec_kw={"width_ratios": [1, 1.3]})
    _draw_grid(ax_in, poly.inputs, colors, "the ε-ball (colour: input x₁)")
    ax_in.plot(*poly.x0, "*", color=style.INK, ms=12, label="x0")
    ax_in.set_xlim(poly.x0[0] - 1.15 * poly.epsilon, poly.x0[0] + 1.15 * poly.epsilon)
    ax_in.set_ylim(poly.x0[1] - 1.15 * poly.epsilon, poly.x0[1] + 1.15 * poly.epsilon)
    ax_in.set_aspect("equal")
    ax_in.set_xlabel("input x₁")
    ax_in.set_ylabel("input x₂")
    finish(ax_in, f"input: ‖x − x0‖∞ ≤ {poly.epsilon:g}", legend=False)
    ax_in.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2)

    lp, interval = style.method_style("lp"), style.method_style("interval")
    lo, hi = poly.box
    ax_out.add_patch(Rectangle(lo, *(hi - lo), fill=False, ec=interval.color, lw=1.8, ls="--",
                               label=interval.label + " (box)"))
    ax_out.add_patch(Polygon(poly.polygon, closed=True, fc=lp.color, ec=lp.color, alpha=style.FILL_ALPHA,
                             lw=1.8, label=lp.label + ": outer bound"))
    _draw_grid(ax_out, poly.outputs, colors, "image of the ball (exact)")
    ax_out.plot(*poly.center, "*", color=style.INK, ms=12, label="f(x0)")
    pad = 0.08 * (hi - lo)
    ax_out.set_xlim(lo[0] - pad[0], hi[0] + pad[0])
    ax_out.set_ylim(lo[1] - pad[1], hi[1] + pad[1])
    if boundary:
        t = np.array([min(lo - pad), max(hi + pad)])
        ax_out.plot(t, t, "-", color=style.GUIDE, lw=1, label="z₁ = z₂: the class changes")
        ax_out.text(0.03, 0.97, "class 1 (z₂ > z₁)", transform=ax_out.transAxes, va="top", fontsize=8,
                    color=style.GUIDE)
        ax_out.text(0.97, 0.03, "class 0 (z₁ > z₂)", transform=ax_out.transAxes, ha="right", fontsize=8,
                    color=style.GUIDE)
    ax_out.set_aspect("equal")
    ax_out.set_xlabel("output z₁")
    ax_out.set_ylabel("output z₂")
    finish(ax_out, "output: the image of the ball and two convex sets around it", legend=False)
    ax_out.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig
