"""Pictures of verification (notebooks 06-09): the ReLU relaxations, bounds per target and
per layer, the LP's fake point, the bound sandwich and certified accuracy. Every method
is drawn in its ``style.METHODS`` colour."""

from __future__ import annotations

from types import MappingProxyType
from typing import Mapping, Optional, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch

from .. import style
from ._common import as_values, finish, new_axes, series_styles
from .digits import draw_digit

# --- the ReLU and its relaxations --------------------------------------------------------------


def _check_unstable(l: float, u: float) -> None:
    if not l < 0 < u:
        raise ValueError(f"need l < 0 < u for an unstable ReLU, got l={l}, u={u}")


def _draw_triangle(ax, l: float, u: float, label: Optional[str] = "convex hull (LP relaxation)"):
    """The LP's triangle over ``[l, u]`` and the bounded ReLU graph on it."""
    lp = style.method_style("lp")
    ax.fill([l, 0, u], [0, 0, u], color=lp.color, alpha=style.FILL_ALPHA, label=label)
    ax.plot([l, u], [0, u], "--", color=lp.color, lw=1.2)
    ax.plot([l, 0, u], [0, 0, u], color=style.INK, lw=2.5, label="bounded ReLU (MILP)" if label else None)


def _finish_relu_axes(ax, l: float, u: float, xlabel: str, title: str):
    """Dotted lines at l and u, labels, legend: the frame of the ReLU-relaxation pictures."""
    ax.axvline(l, color=style.GUIDE, lw=0.8, ls=":")
    ax.axvline(u, color=style.GUIDE, lw=0.8, ls=":")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(r"activation $z$")
    return finish(ax, title, legend_loc="upper left")


def plot_relu_relaxation(l: float = -1.0, u: float = 1.5, ax=None):
    """The bounded ReLU set ``{(ẑ, z): z = max(0, ẑ), l <= ẑ <= u}`` and its convex hull,
    the triangle that the LP relaxation (``0 <= v <= 1``) puts in its place (notebook 07).
    Returns the figure."""
    _check_unstable(l, u)
    ax = new_axes(ax, (5.5, 3.6))
    _draw_triangle(ax, l, u)
    return _finish_relu_axes(ax, l, u, r"pre-activation $\hat z = Wz + b$",
                             f"l = {l:g}, u = {u:g}: upper side z ≤ u (ẑ − l) / (u − l)")


def plot_crown_relaxation(l: float = -1.0, u: float = 1.5, ax=None):
    """An unstable ReLU on ``[l, u]`` between CROWN's two lines (notebook 09): the chord
    above, and below the line through 0 with slope 1 when ``u >= -l``, else slope 0 (the
    closer of the two triangle sides). Returns the figure."""
    _check_unstable(l, u)
    ax = new_axes(ax, (5.5, 3.6))
    crown = style.method_style("crown")
    zs = np.linspace(l, u, 200)
    slope = 1.0 if u >= -l else 0.0
    chord = u * (zs - l) / (u - l)
    ax.fill_between(zs, slope * zs, chord, color=crown.color, alpha=style.FILL_ALPHA, label="between CROWN's lines")
    ax.plot(zs, np.maximum(zs, 0), color=style.INK, lw=2.5, label="ReLU")
    ax.plot(zs, chord, "--", color=crown.color, lw=1.5, label="upper: the chord")
    ax.plot(zs, slope * zs, ":", color=crown.color, lw=2, label=f"lower: slope {slope:g}")
    return _finish_relu_axes(ax, l, u, r"pre-activation $\hat z$",
                             f"l = {l:g}, u = {u:g}: two lines instead of a triangle")


def plot_bigm_slices(l: float = -1.0, u: float = 1.5, v_values: Sequence[float] = (0.25, 0.5, 0.75), ax=None):
    """The points ``(ẑ, z)`` that the big-M rows of one unstable ReLU allow (notebook 06):
    for ``v = 0`` the ReLU's off piece, for ``v = 1`` its on piece (together the bounded
    ReLU, what the MILP keeps), and for each value of ``v_values`` strictly between 0 and 1
    the quadrilateral ``relu.relu_bigm_slice`` outlined: the shadow the binary casts when
    it may take any value in ``[0, 1]`` is the triangle, the LP relaxation of notebook 07.
    Returns the figure."""
    from ..relu import relu_bigm_slice
    _check_unstable(l, u)
    values = as_values(v_values, "v_values")
    if not np.all((values > 0) & (values < 1)):
        raise ValueError(f"v_values must lie strictly between 0 and 1 (0 and 1 are always drawn), got {list(values)}")
    ax = new_axes(ax, (5.5, 3.6))
    lp = style.method_style("lp")
    ax.fill([l, 0, u], [0, 0, u], color=lp.color, alpha=style.FILL_ALPHA, label="every v in [0, 1]: the triangle")
    shades = plt.get_cmap(style.SEQUENTIAL_CMAP)
    for i, v in enumerate(values):
        corners = relu_bigm_slice(l, u, v)
        ax.fill(corners[:, 0], corners[:, 1], fill=False, edgecolor=shades(0.85 * i / max(len(values) - 1, 1)),
                lw=1.5, label=f"v = {v:g}")
    ax.plot([l, 0], [0, 0], color=style.INK, lw=3, label="v = 0: z = 0 (off)")
    ax.plot([0, u], [0, u], color=style.INK, lw=3, ls="--", label="v = 1: z = ẑ (on)")
    return _finish_relu_axes(ax, l, u, r"pre-activation $\hat z$",
                             f"l = {l:g}, u = {u:g}: the rows for fixed v")


# --- the LP's fake point -------------------------------------------------------------------------


def _fake_point_arrays(l, u, z_hat_lp, z_lp, z_hat_real):
    arrs = [np.atleast_1d(np.asarray(a.detach().cpu() if isinstance(a, torch.Tensor) else a, dtype=float))
            for a in (l, u, z_hat_lp, z_lp, z_hat_real)]
    names = ("l", "u", "z_hat_lp", "z_lp", "z_hat_real")
    if len({a.shape for a in arrs}) != 1 or arrs[0].ndim != 1:
        raise ValueError("l, u, z_hat_lp, z_lp, z_hat_real must be 1-D and of one length, got shapes "
                         + ", ".join(f"{n} {a.shape}" for n, a in zip(names, arrs)))
    if not 1 <= arrs[0].size <= 6:
        raise ValueError(f"draw 1 to 6 neurons, got {arrs[0].size}")
    l, u, zh, z, zr = arrs
    tol = 1e-5 * np.maximum(1.0, u - l)
    for i in range(l.size):
        _check_unstable(l[i], u[i])
        inside = (l[i] - tol[i] <= zh[i] <= u[i] + tol[i] and z[i] >= -tol[i] and z[i] >= zh[i] - tol[i]
                  and z[i] <= u[i] * (zh[i] - l[i]) / (u[i] - l[i]) + tol[i])
        if not inside:
            raise ValueError(f"neuron {i}: the LP point (ẑ, z) = ({zh[i]:.4g}, {z[i]:.4g}) is not in the "
                             f"triangle over [l, u] = [{l[i]:.4g}, {u[i]:.4g}]")
        if not l[i] - tol[i] <= zr[i] <= u[i] + tol[i]:
            raise ValueError(f"neuron {i}: the real pre-activation {zr[i]:.4g} is outside [l, u]")
    return arrs


def _draw_logits(ax, logits_lp, logits_real, label: Optional[int], target: Optional[int]) -> None:
    lp = as_values(logits_lp, "logits_lp")
    real = as_values(logits_real, "logits_real")
    if lp.shape != real.shape:
        raise ValueError(f"logits_lp and logits_real differ in shape ({lp.shape} vs {real.shape})")
    k = np.arange(lp.size)
    ax.bar(k - 0.2, lp, 0.4, color=style.method_style("lp").color, label="LP's logits")
    ax.bar(k + 0.2, real, 0.4, color=style.INK, label="real network")
    ax.axhline(0, color=style.GUIDE, lw=0.6)
    ax.set_xticks(k)
    ax.set_xlabel("class")
    if label is not None and target is not None:
        ax.set_title(f"logit_{label} − logit_{target}: LP {lp[label] - lp[target]:+.3f}, "
                     f"real {real[label] - real[target]:+.3f}", fontsize=9)
    ax.legend(fontsize=7)


def plot_lp_fake_point(l, u, z_hat_lp, z_lp, z_hat_real, names: Optional[Sequence[str]] = None,
                       logits_lp=None, logits_real=None, label: Optional[int] = None,
                       target: Optional[int] = None, title: str = ""):
    """The LP relaxation's optimum is not a point of the network (notebook 07).

    For a few unstable hidden neurons (1 to 6), one panel each: the ReLU graph over its
    bounds ``[l, u]``, the LP's triangle, the LP optimum's point ``(ẑ, z)`` (usually inside
    the triangle, off the graph) and the real network's point ``(ẑ, max(0, ẑ))`` at the
    same input (the LP optimum's ``x``). With ``logits_lp`` and ``logits_real`` a last
    panel compares the logits the LP reports with the real network's.

    Args:
        l, u: the neurons' pre-activation bounds, ``(k,)``, each ``l < 0 < u``.
        z_hat_lp, z_lp: the LP optimum's pre-activations and activations, ``(k,)``
            (checked to lie in the triangles).
        z_hat_real: the real network's pre-activations at the LP's input, ``(k,)``.
        names: panel titles (default "neuron i").
        logits_lp, logits_real, label, target: the optional logits panel.

    Returns the figure.
    """
    l, u, zh, z, zr = _fake_point_arrays(l, u, z_hat_lp, z_lp, z_hat_real)
    names = list(names) if names is not None else [f"neuron {i}" for i in range(l.size)]
    if len(names) != l.size:
        raise ValueError(f"names must hold {l.size} titles, got {len(names)}")
    extra = logits_lp is not None or logits_real is not None
    n = l.size + extra
    fig, axes = plt.subplots(1, n, figsize=(3.3 * n, 3.3), squeeze=False)
    lp = style.method_style("lp")
    for i, ax in enumerate(axes[0][:l.size]):
        _draw_triangle(ax, l[i], u[i], label="LP's triangle" if i == 0 else None)
        ax.plot([zh[i], zh[i]], [max(zh[i], 0.0), z[i]], ":", color=lp.color, lw=1.2)
        ax.plot(zh[i], z[i], lp.marker, color=lp.color, ms=9, label="LP optimum" if i == 0 else None)
        ax.plot(zr[i], max(zr[i], 0.0), "o", mfc="none", mec=style.INK, mew=1.8, ms=9,
                label="real network" if i == 0 else None)
        ax.set_title(f"{names[i]}: z off the graph by {z[i] - max(zh[i], 0.0):.3g}", fontsize=9)
        ax.set_xlabel(r"pre-activation $\hat z$")
    axes[0][0].set_ylabel(r"activation $z$")
    axes[0][0].legend(fontsize=7, loc="upper left")
    if extra:
        if logits_lp is None or logits_real is None:
            raise ValueError("give both logits_lp and logits_real, or neither")
        _draw_logits(axes[0][-1], logits_lp, logits_real, label, target)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


# --- the margins of one image ------------------------------------------------------------------


def plot_margins(image, logits, label: int, title: str = ""):
    """One image beside its margins ``m_t = logit_label - logit_t`` for every target
    ``t != label`` (notebook 00): a bar per target, a positive one in the "robust" colour
    (the image scores its label above ``t``), a negative one in the "attacked" colour.

    ``image``: 784 pixel values (``(1, 28, 28)``, ``(784,)``, ...); ``logits``: ``(classes,)``
    (or ``(1, classes)``); ``label``: the true class. Returns the figure.
    """
    z = as_values(torch.as_tensor(logits).detach().reshape(-1).tolist(), "logits")
    if isinstance(label, bool) or not isinstance(label, (int, np.integer)) or not 0 <= label < z.size:
        raise ValueError(f"label must be a class index in 0..{z.size - 1}, got {label!r}")
    targets = [t for t in range(z.size) if t != label]
    margins = np.array([z[label] - z[t] for t in targets])
    fig, (ax_img, ax) = plt.subplots(1, 2, figsize=(7, 2.4), gridspec_kw={"width_ratios": [1, 3]})
    draw_digit(ax_img, image, title=f"label {label}")
    colours = [style.verdict_style("robust" if m > 0 else "attacked").color for m in margins]
    ax.bar([str(t) for t in targets], margins, color=colours)
    ax.axhline(0, color=style.GUIDE, lw=0.8)
    ax.set_xlabel("target class t")
    ax.set_ylabel(f"margin $m_t = z_{{{label}}} - z_t$")
    return finish(ax, title, legend=False)


# --- bounds per target, per layer, against ε ---------------------------------------------------


def plot_logit_bounds(lower, upper, clean=None, ax=None, title: str = ""):
    """Interval bounds on the logits as bars from ``lower`` to ``upper`` (``(classes,)``),
    with the clean logits as dots (notebook 06). Returns the figure."""
    lower, upper = as_values(lower, "lower"), as_values(upper, "upper")
    if lower.shape != upper.shape:
        raise ValueError(f"lower and upper differ in shape ({lower.shape} vs {upper.shape})")
    ax = new_axes(ax, (6.5, 3.2))
    k = np.arange(lower.size)
    ax.bar(k, upper - lower, bottom=lower, color=style.method_style("interval").color, alpha=0.45,
           label="interval bound")
    if clean is not None:
        ax.plot(k, as_values(clean, "clean"), "o", color=style.INK, ms=4, label="clean logits")
    ax.axhline(0, color=style.GUIDE, lw=0.6)
    ax.set_xticks(k)
    ax.set_xlabel("class")
    ax.set_ylabel("logit")
    return finish(ax, title)


def plot_bound_comparison(targets, columns: Mapping[str, Sequence], ax=None, title: str = ""):
    """Grouped bars, one group per target: for each method (``columns``: method key ->
    values, ``None`` where not computed) its lower bound on ``logit_y - logit_t``
    (notebooks 07, 08). A bar above 0 certifies the target; the tighter the method, the
    higher its bar. Returns the figure."""
    ax = new_axes(ax, (8, 3.6))
    k = np.arange(len(targets))
    width = 0.8 / max(len(columns), 1)
    for i, (name, values) in enumerate(columns.items()):
        vals = as_values(values, f"columns[{name!r}]")
        if vals.size != len(targets):
            raise ValueError(f"columns[{name!r}] has {vals.size} values for {len(targets)} targets")
        s = style.method_style(name)
        ax.bar(k + (i - (len(columns) - 1) / 2) * width, vals, width, color=s.color, label=s.label)
    ax.axhline(0, color=style.INK, lw=0.8)
    ax.set_xticks(k)
    ax.set_xticklabels([str(t) for t in targets])
    ax.set_xlabel("target class")
    ax.set_ylabel("bound on logit_y − logit_target")
    return finish(ax, title)


def _widths(name, value) -> np.ndarray:
    items = list(value)
    if items and isinstance(items[0], (tuple, list)) and len(items[0]) == 2:
        return np.array([float((torch.as_tensor(u) - torch.as_tensor(l)).mean()) for l, u in items])
    return as_values(items, f"widths[{name!r}]")


def plot_bound_widths(widths: Mapping[str, Sequence], layer_names: Optional[Sequence[str]] = None,
                      ax=None, title: str = ""):
    """How fast interval bounds grow through the layers (notebook 08), on a log scale.

    Args:
        widths: series name (e.g. "ε = 0.01", a model's name, or a method key such as
            "interval", "crown" for its style) -> per-layer widths: numbers, or the
            ``[(l, u), ...]`` list of ``bounds.bound_propagation`` (drawn: the mean of
            ``u - l`` over each layer's neurons).
        layer_names: the x tick labels of the longest series (default "0", "1", ...);
            series of several models may differ in length (x: the layer's position).

    Returns the figure.
    """
    if not widths:
        raise ValueError("widths must name at least one series")
    rows = {name: _widths(name, v) for name, v in widths.items()}
    size = max(r.size for r in rows.values())
    if layer_names is not None and len(layer_names) != size:
        raise ValueError(f"layer_names must hold {size} names (the longest series), got {len(layer_names)}")
    if any((r <= 0).any() for r in rows.values()):
        raise ValueError("widths must be > 0 for a log scale (ε = 0 gives width 0)")
    ax = new_axes(ax, (6.5, 3.8))
    kws = series_styles(list(rows))
    for name, r in rows.items():
        ax.plot(np.arange(r.size), r, ms=5, lw=1.5, **kws[name])
    ax.set_yscale("log")
    ax.set_xticks(np.arange(size))
    ax.set_xticklabels(layer_names if layer_names is not None else [str(i) for i in range(size)], fontsize=8)
    ax.set_xlabel("layer")
    ax.set_ylabel("mean width u − l (log scale)")
    ax.grid(alpha=0.3, which="both")
    return finish(ax, title)


SANDWICH_STEPS = ("targeted pgd", "exact milp", "lp+cuts", "alpha-crown", "lp", "crown", "interval")
"""The series of ``certified.bound_sandwich`` that :func:`plot_bound_sandwich` can draw: an
attack's margin (an upper bound on the minimum), the minimum itself, five lower bounds."""
CHAPTER_SANDWICH_STEPS = ("targeted pgd", "exact milp", "lp", "crown", "interval")
"""What :func:`plot_bound_sandwich` draws by default (``certified.bound_sandwich``'s default series)."""
RELAXATION_STEPS = ("lp+cuts", "alpha-crown", "lp", "crown", "interval")
"""The lower bounds among ``SANDWICH_STEPS``: relaxations of the network."""


def _sandwich_steps(sandwich: Mapping, steps) -> tuple:
    """``steps`` as a tuple of distinct names of ``SANDWICH_STEPS``, each a series of ``sandwich``."""
    if isinstance(steps, str) or not hasattr(steps, "__iter__"):
        raise ValueError(f"steps must be a sequence of names among {list(SANDWICH_STEPS)}, got {steps!r}")
    steps = tuple(steps)
    unknown = [s for s in steps if s not in SANDWICH_STEPS]
    if not steps or unknown or len(set(steps)) != len(steps):
        raise ValueError(f"steps must name distinct series among {list(SANDWICH_STEPS)}, got {list(steps)}")
    missing = [s for s in ("epsilon", *steps) if s not in sandwich]
    if missing:
        raise ValueError(f"sandwich has no series {missing}: pass the dictionary of certified.bound_sandwich "
                         "(or leave those steps out)")
    return steps


def _bracket(sandwich: Mapping, steps: tuple, eps: np.ndarray):
    """``(best lower bound, attack's margin)`` per ε from the drawn relaxations and attack:
    where the minimum can lie for all that those two sides know."""
    relaxations = [s for s in steps if s in RELAXATION_STEPS]
    if "targeted pgd" not in steps or not relaxations:
        raise ValueError(f"shade and verdicts need 'targeted pgd' and a relaxation ({', '.join(RELAXATION_STEPS)}) "
                         f"among steps, got {list(steps)}")
    rows = [as_values(sandwich[s], s) for s in (*relaxations, "targeted pgd")]
    if any(r.size != eps.size for r in rows):
        raise ValueError(f"every series must hold one value per ε ({eps.size})")
    with np.errstate(all="ignore"):
        return np.fmax.reduce(rows[:-1]), rows[-1]


_STRIP_LABELS = {"robust": "the relaxation proves it robust", "unknown": "neither side decides",
                 "attacked": "the attack finds an example"}


def _draw_verdict_strip(ax, eps: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> None:
    """Along the top of ``ax``, one mark per ε: "robust" where the relaxation's bound is > 0,
    "attacked" where the attack's margin is <= 0, "unknown" in between (or where missing)."""
    verdicts = np.where(lower > 0, "robust", np.where(upper <= 0, "attacked", "unknown"))
    strip = ax.get_xaxis_transform()          # x in data units, y in axes units
    for verdict in ("robust", "unknown", "attacked"):
        at = eps[verdicts == verdict]
        if at.size:
            v = style.verdict_style(verdict)
            ax.plot(at, np.full(at.size, 0.93), v.marker, color=v.color, ms=8, mew=2, transform=strip,
                    linestyle="none", label=f"{v.symbol} {_STRIP_LABELS[verdict]}")


def _sandwich_limits(ax, sandwich: Mapping, steps: tuple, room_on_top: bool) -> None:
    """Down to three times the lowest minimum (at least to -5, so that a relaxation's fall
    shows); with ``room_on_top``, space above the curves for the verdict strip."""
    floor = as_values(sandwich["exact milp" if "exact milp" in steps else steps[0]], "the lowest series")
    bottom = min(-5.0, 3 * np.nanmin(floor)) if np.isfinite(floor).any() else ax.get_ylim()[0]
    top = max(np.nanmax(as_values(sandwich[s], s)) for s in steps)
    top = top + (0.25 if room_on_top else 0.05) * (top - bottom) if np.isfinite(top) else ax.get_ylim()[1]
    ax.set_ylim(bottom, top)


def plot_bound_sandwich(sandwich: Mapping, ax=None, title: str = "", steps=CHAPTER_SANDWICH_STEPS,
                        shade: bool = False, verdicts: bool = False):
    """Bounds on one objective ``min (logit_y - logit_t)`` against ε, from
    ``certified.bound_sandwich`` (notebook 01 previews it, notebook 09 closes it).

    ``steps``: the series to draw, names of ``SANDWICH_STEPS``: lower bounds ("interval",
    "crown", "alpha-crown", "lp", "lp+cuts"), the minimum itself ("exact milp") and
    "targeted pgd", the margin at the attack's point (an upper bound); by default
    ``CHAPTER_SANDWICH_STEPS``. ``shade``: fill, at every ε, the band from the highest
    drawn lower bound up to the attack's margin, where the minimum lies for all that the
    attack and the relaxations know. ``verdicts``: one mark per ε along the top, robust (a
    lower bound above 0), attacked (the attack's margin at or below 0) or unknown. Both need
    "targeted pgd" and a relaxation among ``steps``. ``None`` values (a solver that did not
    finish) are gaps. The legend sits right of the axes. Returns the figure.
    """
    steps = _sandwich_steps(sandwich, steps)
    eps = as_values(sandwich["epsilon"], "epsilon")
    ax = new_axes(ax, (9, 4))
    notes = {"targeted pgd": " (an attack: upper bound)", "lp": ", interval bounds", "lp+cuts": ", tightened bounds"}
    for key in SANDWICH_STEPS:
        if key in steps:
            kw = style.method_style(key).line_kw()
            kw["label"] += notes.get(key, "")
            ax.plot(eps, as_values(sandwich[key], key), ms=4, lw=2.2 if key == "exact milp" else 1.4, **kw)
    if shade or verdicts:
        lower, upper = _bracket(sandwich, steps, eps)
        if shade:
            ax.fill_between(eps, lower, upper, where=lower <= upper, color=style.GUIDE, alpha=style.FILL_ALPHA,
                            lw=0, label="the minimum lies in this band")
        if verdicts:
            _draw_verdict_strip(ax, eps, lower, upper)
    ax.axhline(0, color=style.GUIDE, lw=0.8)
    ax.set_xlabel("ε (ℓ∞)")
    ax.set_ylabel("bound on min (logit_y − logit_t)")
    _sandwich_limits(ax, sandwich, steps, verdicts)
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
    return finish(ax, title, legend=False)


CERTIFIED_KEYS = MappingProxyType({"pgd": "pgd", "milp": "milp", "lp+cuts": "lp_cuts",
                                   "alpha-crown": "alpha_crown", "crown": "crown", "interval": "interval"})
"""``certified.accuracy_curves`` key (``verdicts`` step names) -> style key."""


def plot_certified_curves(curves: Mapping, ax=None, title: str = ""):
    """Certified accuracy against ε (notebook 09): ``curves`` has ``"epsilon"`` and one
    list per method (and ``"pgd"``, the fraction that survive the attack: an upper
    bound), as from ``certified.accuracy_curves``. Returns the figure."""
    ax = new_axes(ax, (6, 3.8))
    eps = as_values(curves["epsilon"], "epsilon")
    for key, method in CERTIFIED_KEYS.items():
        if key in curves:
            kw = style.method_style(method).line_kw()
            if key == "pgd":
                kw["label"] += " (upper bound)"
            ax.plot(eps, as_values(curves[key], key), ms=3, lw=2.2 if key == "milp" else 1.3, **kw)
    ax.set_xlabel("ε (ℓ∞)")
    ax.set_ylabel("accuracy")
    ax.set_ylim(-0.02, 1.02)
    ax.grid(alpha=0.3)
    return finish(ax, title)
