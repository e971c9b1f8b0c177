"""The verification widgets (notebooks 06-09): interval bounds on the logits, the bounds of
several methods per target, and certified accuracy on a grid of images.

What is slow (the LP on larger nets, the exact MILP, the LP/MILP steps of the certified
cascade) is read from the tables of ``widget_tables`` on the widgets' default grid; a
"compute live" box (off by default) computes it here instead, and every widget says
which of its numbers are precomputed. Import these from ``course_utils.widgets``.
"""

from __future__ import annotations

from typing import Callable, Dict, Optional, Tuple

import ipywidgets as widgets

from . import widget_tables as wt
from .solvers import check_time_limit
from .threat import check_count, check_flag, check_nonnegative
from .verdicts import check_steps
from .widget_core import LiveFigure

LIVE_LABEL = "compute live (slow)"
FINISHED = ("optimal", "bound", "")
"""Statuses of a number that is what its method computes: an optimum, or (interval) a bound."""


def _model_epsilon_image(models: dict, model, epsilon: float, eps_max: float, step: float, index: int,
                         n: int) -> dict:
    """The verification widgets' controls: a model menu, an ε slider and an image slider."""
    if model is not None and model not in models:
        raise ValueError(f"model must be one of {list(models)}, got {model!r}")
    if n < 1:
        raise ValueError("X must hold at least one image")
    eps_max = check_nonnegative(eps_max, "eps_max")
    if not 0 <= check_nonnegative(epsilon, "epsilon") <= eps_max or eps_max == 0:
        raise ValueError(f"epsilon must be in 0 .. eps_max = {eps_max:g} (and eps_max > 0), got {epsilon!r}")
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < n:
        raise ValueError(f"index must be an image's index, an integer in 0 .. {n - 1}, got {index!r}")
    return dict(
        name=widgets.Dropdown(options=list(models), value=model or list(models)[0], description="model"),
        epsilon=widgets.FloatSlider(value=epsilon, min=0.0, max=eps_max, step=step, readout_format=".3f",
                                    description="ε", continuous_update=False),
        index=widgets.IntSlider(value=index, min=0, max=n - 1, description="image", continuous_update=False),
    )


def _check_data(models, X, y) -> None:
    """The widgets' ``models`` (a non-empty dict name -> classifier the verifiers accept,
    ``guard.check_network``) and images ``X`` with labels ``y``."""
    from .guard import check_network
    from .models import count_classes
    from .threat import check_images, check_labels, check_model
    if not isinstance(models, dict) or not models:
        raise ValueError(f"models must be a non-empty dict of name -> model, e.g. {{'small': small}}; got "
                         f"{type(models).__name__}" + (" (empty)" if isinstance(models, dict) else ""))
    for name, net in models.items():
        check_network(check_model(net, f"models[{name!r}]"), f"models[{name!r}]")
    check_labels(check_images(X, "X"), y, num_classes=min(count_classes(net, X) for net in models.values()))


def logit_bounds_widget(models: dict, X, y, epsilon: float = 0.1, index: int = 0, model: str = None) -> LiveFigure:
    """Sliders for ε and the example index, a menu for the model: redraws the interval
    bounds on the logits (``bounds.bound_propagation``) and prints them (notebook 06)."""
    import torch

    from .bounds import bound_propagation
    from .plotting import plot_logit_bounds
    from .threat import linf_box

    _check_data(models, X, y)

    def draw(name, epsilon, index):
        net = models[name]
        x = X[index:index + 1].to(next(net.parameters()).device)
        l, u = bound_propagation(net, linf_box(x, epsilon))[-1]
        with torch.no_grad():
            clean = net(x)[0].cpu()
        fig = plot_logit_bounds(l[0].cpu(), u[0].cpu(), clean,
                                title=f"{name}, test image {index} (label {int(y[index])}), ε = {epsilon:.3f}")
        return [fig, "lower: " + " ".join(f"{v:9.2f}" for v in l[0].tolist()) + "\n"
                     "upper: " + " ".join(f"{v:9.2f}" for v in u[0].tolist())]

    return LiveFigure(draw, _model_epsilon_image(models, model, epsilon, 0.2, 0.005, index, len(X)),
                      caption="Moving ε or the image, or changing the model, redraws the interval bound on "
                              "every logit and prints the bounds.")


# --- precomputed or live ---------------------------------------------------------------------


class _Source:
    """Where a slow widget's numbers come from: this widget's live results, else the
    precomputed table (for the models and images it was made with), else nothing."""

    def __init__(self, table_name: str, models: dict, X, y):
        self.table = wt.load_table(table_name)
        self.usable = wt.usable_models(self.table, models, X, y)
        self.live: Dict[str, dict] = {}

    def get(self, key: str, model: str, live: bool, compute: Callable[[], dict]) -> Tuple[Optional[dict], str]:
        """``(row, where it came from)``; ``row`` is None when not available."""
        if key in self.live:
            return self.live[key], "computed live"
        entry = self.table["entries"].get(key) if model in self.usable else None
        if entry is not None and not live:
            return entry, "precomputed"
        if live:
            self.live[key] = compute()
            return self.live[key], "computed live"
        if "missing" in self.table:
            return None, f"no precomputed table ({self.table['missing']}): tick '{LIVE_LABEL}'"
        if model not in self.usable:
            return None, f"the precomputed table was made for other weights or images: tick '{LIVE_LABEL}'"
        return None, f"not precomputed for this setting: tick '{LIVE_LABEL}'"

    def provenance(self) -> str:
        t = self.table
        if "missing" in t:
            return ""
        return (f"precomputed by `{t['command']}` (time limit {t['grid']['time_limit']:g} s per solver "
                f"call, HiGHS {t['highs']}); seconds are that run's")


def _bound_table_text(targets, columns: dict, rows: dict, notes: list) -> str:
    """The widget's table: one line per target, one column per method, then the seconds."""
    lines = [f"{'target':>6} " + " ".join(f"{m:>10}" for m in columns)]
    for i, t in enumerate(targets):
        cells = []
        for m in columns:
            v = columns[m][i]
            proven = rows[m] is None or rows[m]["status"][i] in FINISHED
            cells.append("         -" if v is None else f"{v:9.4f}" + (" " if proven else "*"))
        lines.append(f"{t:>6} " + " ".join(cells))
    lines.append(f"{'time/s':>6} " + " ".join("         -" if rows[m] is None else f"{rows[m]['seconds']:10.2f}"
                                              for m in columns))
    stopped = sorted({s for r in rows.values() if r is not None for s in r["status"] if s not in FINISHED})
    if stopped:
        lines.append(f"* the solver stopped ({', '.join(stopped)}) before proving the optimum: the number is "
                     "its best proven bound, '-' none")
    return "\n".join(lines + notes)


def bound_comparison_widget(models: dict, X, y, epsilon: float = 0.02, index: int = 0, model: str = None,
                            methods=("interval", "lp", "exact milp"), milp_models=("small",), time_limit: float = 20.0,
                            live: bool = False, n_images: int = 10, eps_max: float = 0.1) -> LiveFigure:
    """Sliders for ε and the image, menus for the model: for every target, the bound of
    each step in ``methods`` on ``min logit_y - logit_t`` (``verify.certify``), as a chart
    and a table (notebooks 07, 08).

    The interval bound is computed live. The LP and the MILP (the MILP only for the
    models in ``milp_models``) come from ``widget_tables.BOUND_GRID`` — the first 10 test
    images, ε = 0, 0.01, …, 0.1 — unless "compute live" is ticked (``live``: its start
    value), which runs them here (``time_limit`` seconds per target: a MILP can take
    minutes). The sliders cover the grid: ε in steps of 0.01 up to ``eps_max``, the first
    ``n_images`` images. Returns the widget.
    """
    from .plotting import plot_bound_comparison

    _check_data(models, X, y)
    methods = check_steps(methods, ("interval", "crown", "lp", "lp+cuts", "milp", "exact milp"), "methods")
    milp_models = (milp_models,) if isinstance(milp_models, str) else tuple(milp_models)
    time_limit, live = check_time_limit(time_limit), check_flag(live, "live")
    source = _Source("bounds", models, X, y)
    n = min(check_count(n_images, "n_images", 1), len(X))

    def row_of(name, method, index, eps, live):
        if method == "interval":
            return wt.bound_row(models[name], X[index:index + 1], int(y[index]), eps, method, time_limit), "computed live"
        key = wt.bound_entry_key(name, method, index, eps)
        return source.get(key, name, live, lambda: wt.bound_row(models[name], X[index:index + 1], int(y[index]),
                                                                eps, method, time_limit))

    def draw(name, epsilon, index, live):
        eps = round(epsilon, 3)
        rows, notes = {}, []
        for method in methods:
            if method == "exact milp" and name not in milp_models:
                notes.append(f"exact milp: not run for {name} (out of reach in a widget)")
                continue
            rows[method], where = row_of(name, method, index, eps, live)
            notes.append(f"{method}: {where}")
        targets = rows["interval"]["targets"] if "interval" in rows else [t for t in range(10) if t != int(y[index])]
        columns = {m: (r["values"] if r is not None else [None] * len(targets)) for m, r in rows.items()}
        fig = plot_bound_comparison(targets, columns,
                                    title=f"{name}, test image {index} (label {int(y[index])}), ε = {eps:.3f}")
        return [fig, _bound_table_text(targets, columns, rows, notes + [source.provenance()])]

    controls = _model_epsilon_image(models, model, epsilon, eps_max, 0.01, index, n)
    controls["live"] = widgets.Checkbox(value=live, description=LIVE_LABEL)
    return LiveFigure(draw, controls, caption="Moving ε or the image, or changing the model, redraws every "
                                              "method's bound on each target's margin, and the table under it.")


def certified_widget(models: dict, X, y, epsilon: float = 0.02, method: str = "crown", model: str = None,
                     M: int = 3, N: int = 10, eps_max: float = 0.1, time_limit: float = 2.0,
                     live: bool = False) -> LiveFigure:
    """Sliders for ε, menus for the model and the verification method: the cascade of
    ``certified.certified_accuracy`` up to that method on the first ``M*N`` images of
    ``X, y``, drawn framed by verdict, with the accuracies (notebook 09).

    The steps are ``widget_tables.WIDGET_CASCADE``. Cascades up to "interval" and "crown" run
    live. Those up to "lp+cuts" and "milp" come from
    ``widget_tables.CERTIFIED_GRID`` (the first 30 test images, ε = 0, 0.01, …, 0.1, at most
    20 s per solver call) unless "compute live" is ticked: then they run here, each LP or
    MILP call stopped after ``time_limit`` seconds (the image is then "unknown").
    Returns the widget.
    """
    from .certified import CertifiedResult
    from .plotting import plot_verdict_grid

    METHODS = wt.WIDGET_CASCADE
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    _check_data(models, X, y)
    time_limit, live = check_time_limit(time_limit), check_flag(live, "live")
    n = min(check_count(M, "M", 1) * check_count(N, "N", 1), len(X))
    source = _Source("certified", models, X[:n], y[:n])

    def draw(name, epsilon, method, live):
        eps = round(epsilon, 3)
        def compute(limit=None):
            return wt.certified_row(models[name], X[:n], y[:n], eps, method, limit)

        if method in ("interval", "crown"):
            row, where = compute(), "computed live"
        else:
            row, where = source.get(wt.certified_entry_key(name, method, eps), name, live,
                                    lambda: compute(time_limit))
        if row is None:
            return [f"{name}, ε = {eps:.3f}, cascade up to {method}: {where}"]
        r = CertifiedResult.from_dict(row)
        fig = plot_verdict_grid(X[:n], r.verdict, r.decided_by, M, N,
                                title=f"{name}, ε = {eps:.3f}, cascade up to {method}")
        note = f"verdicts {where}" + (f"; {source.provenance()}" if where == "precomputed" else "")
        return [fig, r.summary() + "\n" + note]

    controls = _model_epsilon_image(models, model, epsilon, eps_max, 0.01, 0, 1)
    controls.pop("index")
    controls["method"] = widgets.Dropdown(options=list(METHODS), value=method, description="method")
    controls["live"] = widgets.Checkbox(value=live, description=LIVE_LABEL)
    return LiveFigure(draw, controls, caption="Moving ε or changing the model or the method redraws the "
                                              "verdict of every image and the accuracies under the grid.")
