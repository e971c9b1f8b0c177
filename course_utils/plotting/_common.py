"""Helpers shared by the plotting modules: one style per series, values with gaps."""

from __future__ import annotations

from typing import Dict, Sequence

import matplotlib.pyplot as plt
import numpy as np

from .. import style


def is_method(name) -> bool:
    """Whether ``name`` names a method of ``style.METHODS`` (or an alias)."""
    try:
        style.method_style(name)
    except ValueError:
        return False
    return True


def series_label(name) -> str:
    """The legend text of a series: the method's label, or ``name`` itself."""
    return style.method_style(name).label if is_method(name) else str(name)


def series_styles(names: Sequence) -> Dict[object, dict]:
    """``Axes.plot`` keyword arguments per series: a method gets its own style from
    ``style.METHODS``; other series (several ε, several models) get evenly spaced
    colours of ``style.SEQUENTIAL_CMAP`` and a circle marker."""
    others = [n for n in names if not is_method(n)]
    cmap = plt.get_cmap(style.SEQUENTIAL_CMAP)
    shades = {n: cmap(0.85 * i / max(len(others) - 1, 1)) for i, n in enumerate(others)}
    out = {}
    for n in names:
        if is_method(n):
            out[n] = style.method_style(n).line_kw()
        else:
            out[n] = {"color": shades[n], "marker": "o", "linestyle": "-", "label": str(n)}
    return out


def as_values(values, name: str) -> np.ndarray:
    """A 1-D float array, ``None`` entries as NaN (a value that was not computed)."""
    try:
        arr = np.array([np.nan if v is None else v for v in values], dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a sequence of numbers (None for missing): {exc}") from None
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    return arr


def new_axes(ax, figsize):
    """``ax`` itself, or the axes of a new figure of size ``figsize``."""
    return ax if ax is not None else plt.figure(figsize=figsize).gca()


def finish(ax, title: str = "", legend: bool = True, legend_loc: str = "best"):
    """Title, legend and tight layout; returns the figure."""
    if title:
        ax.set_title(title, fontsize=10)
    if legend and ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8, loc=legend_loc)
    ax.figure.tight_layout()
    return ax.figure
