"""Bars: what became of the attacked images, setting by setting (notebook 05)."""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
from matplotlib.patches import Patch

from .. import style
from ._common import new_axes

TARGETED = ("hit", "right", "other")
"""The three outcomes of a targeted attack, in the order of their bar segments."""
SUM_TOL = 1e-6
"""How far a row's shares may add up away from 1 (float rounding)."""
LABEL_MIN = 0.07
"""Segments narrower than this share carry no text (it would not fit)."""


def _shares(rows: Mapping[str, Sequence[float]], keys: Sequence[str]) -> np.ndarray:
    """The rows as an array ``(settings, outcomes)``, checked: shares in [0, 1] adding up to 1."""
    if not rows:
        raise ValueError("rows must name at least one setting")
    out = []
    for name, values in rows.items():
        v = np.asarray([float(x) for x in values], dtype=float)
        if v.shape != (len(keys),):
            raise ValueError(f"rows[{name!r}] must hold {len(keys)} shares ({', '.join(keys)}), got {len(v)}")
        if not np.isfinite(v).all() or (v < 0).any() or (v > 1).any() or abs(v.sum() - 1) > SUM_TOL:
            raise ValueError(f"rows[{name!r}] must hold shares in [0, 1] that add up to 1, got {v.tolist()}")
        out.append(v)
    return np.array(out)


def plot_outcomes(rows: Mapping[str, Sequence[float]], outcomes: Sequence[str] = TARGETED, title: str = "",
                  xlabel: str = "share of the attacked images", ax=None):
    """One stacked bar per setting: the shares of the attacked images in each outcome.

    Introduced in notebook 05 (targeted attacks: hit the target / still correct / another
    class). Each outcome has its colour, its fill pattern and its mark (``style.OUTCOMES``),
    and each segment wide enough is labelled with its mark and share, so the chart reads
    without colour.

    Args:
        rows: setting (the bar's label, top to bottom) -> one share per outcome, in the
            order of ``outcomes``; each in [0, 1], adding up to 1.
        outcomes: keys of ``style.OUTCOMES`` (default: "hit", "right", "other").
        title, xlabel: texts of the chart.
        ax: optional axes to draw on.

    Returns the figure.
    """
    keys = [str(k) for k in outcomes]
    unknown = [k for k in keys if k not in style.OUTCOMES]
    if unknown or not keys:
        raise ValueError(f"outcomes must be keys of style.OUTCOMES {sorted(style.OUTCOMES)}, got {list(outcomes)}")
    shares = _shares(rows, keys)
    ax = new_axes(ax, (7.5, 0.42 * len(rows) + 1.3))
    ys = np.arange(len(rows))
    left = np.zeros(len(rows))
    for j, key in enumerate(keys):
        o = style.OUTCOMES[key]
        ax.barh(ys, shares[:, j], left=left, color=o.color, hatch=o.hatch, edgecolor=style.INK, linewidth=0.6,
                height=0.7, label=f"{o.mark} {o.label}")
        for i in np.flatnonzero(shares[:, j] >= LABEL_MIN):
            ax.text(left[i] + shares[i, j] / 2, ys[i], f"{o.mark} {shares[i, j]:.2f}", ha="center",
                    va="center", fontsize=7, color=style.INK,
                    bbox={"boxstyle": "round,pad=0.15", "fc": style.PAPER, "ec": "none", "alpha": 0.85})
        left += shares[:, j]
    ax.set_yticks(ys, list(rows), fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel(xlabel)
    handles = [Patch(facecolor=style.OUTCOMES[k].color, hatch=style.OUTCOMES[k].hatch, edgecolor=style.INK,
                     label=f"{style.OUTCOMES[k].mark} {style.OUTCOMES[k].label}") for k in keys]
    fig = ax.figure
    fig.legend(handles=handles, fontsize=8, loc="lower center", ncol=len(keys), frameon=False)
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout(rect=(0, min(0.4 / fig.get_figheight(), 0.3), 1, 1))
    return fig
