"""ipywidgets controls for the notebooks: sliders for ε, α and friends.

Each function returns a ``widget_core.LiveFigure``: controls above an output that is
redrawn when a control moves (``.controls`` by name, ``.move(name, value)``, ``.text()``).
Every widget answers a slider move within about 2 s on a 2-core laptop
(``benchmarks/widgets.md``); what would take longer is precomputed
(``widget_tables``), and the widget says which numbers are precomputed. Each widget
also carries a picture of its first state for notebooks shown without a kernel.
Under nbval the widget cells run once with their default values.

The verification widgets (notebooks 06-09) are in ``verify_widgets`` and importable
from here.
"""

from __future__ import annotations

import ipywidgets as widgets

from .verify_widgets import bound_comparison_widget, certified_widget, logit_bounds_widget
from .widget_core import LiveFigure, set_range, shown

__all__ = ["attack_widget", "bound_comparison_widget", "certified_widget", "inner_max_1d_widget",
           "logit_bounds_widget", "steepest_ascent_widget"]


def _slider(kind, value, lo, hi, step, description, **kw):
    return kind(value=value, min=lo, max=hi, step=step, description=description, continuous_update=False, **kw)


# --- chapter 3, "Moving to neural networks": the 1-D inner maximization -------------


def inner_max_1d_widget(model, x0: float = 0.5, epsilon: float = 0.5) -> LiveFigure:
    """Sliders for ``x0`` and ``ε`` that redraw ``plotting.plot_inner_max_1d`` (notebook 01)."""
    from .plotting import plot_inner_max_1d
    from .surface import inner_max_1d

    def draw(x0, epsilon):
        return [plot_inner_max_1d(model, inner_max_1d(model, x0, epsilon))]

    return LiveFigure(draw, {"x0": _slider(widgets.FloatSlider, x0, -2.5, 2.5, 0.05, "x0"),
                             "epsilon": _slider(widgets.FloatSlider, epsilon, 0.0, 1.5, 0.05, "ε")},
                      caption="Moving x0 or ε moves the interval [x0 − ε, x0 + ε] along the curve, and the "
                              "worst point inside it with it.")


# --- chapter 3, FGSM / PGD / targeted / l2: attack any model, see the grid and the error ---

_TAKES_STEPS = {"pgd", "pgd_linf", "pgd_linf_rand", "pgd_linf_targ", "pgd_linf_targ2", "pgd_l2"}
_TARGETED = {"pgd_linf_targ", "pgd_linf_targ2"}
_L2 = {"pgd_l2"}


def _norm(attack_name: str) -> str:
    return "l2" if attack_name in _L2 else "linf"


def _attack_args(attack_name: str, epsilon, alpha, num_iter, restarts, y_targ):
    """The positional and keyword arguments of ``attacks.ATTACKS[attack_name]``."""
    import torch

    args = (epsilon,)
    if attack_name in _TAKES_STEPS:
        args += (alpha, num_iter)
    if attack_name == "pgd_linf_rand":
        args += (restarts,)
    if attack_name in _TARGETED:
        args += (y_targ,)
    kwargs = {"generator": torch.Generator().manual_seed(0)} if attack_name == "pgd_linf_rand" else {}
    return args, kwargs


def _attack_summary(model_name, attack_name, epsilon, pred, y, y_targ, clamp) -> str:
    """The line above the grid: the ball, the error, and for a targeted attack its three outcomes."""
    from .plotting.digits import outcome

    ball = "ℓ2" if _norm(attack_name) == "l2" else "ℓ∞"
    line = (f"{model_name}, {attack_name}, {ball} ball of radius ε = {epsilon:.3g}: error "
            f"{(pred != y).float().mean():.3f} on these {len(y)} images "
            f"({'clamped to [0, 1]' if clamp else 'no clamp'})")
    if attack_name in _TARGETED:
        kinds = [outcome(int(a), int(b), y_targ) for a, b in zip(y, pred)]
        share = {k: kinds.count(k) / len(kinds) for k in ("hit", "right", "other")}
        line += (f"\ntarget {y_targ}: hit the target {share['hit']:.3f}, still correct {share['right']:.3f}, "
                 f"another class {share['other']:.3f}")
    return line


def _check_attack_args(models, names, epsilon_max, epsilon_l2_max, alpha_range):
    from . import attacks as A

    for name in names:
        if name not in A.ATTACKS:
            raise ValueError(f"attack must be among {sorted(A.ATTACKS)}, got {name!r}")
    if not models:
        raise ValueError("models must name at least one model")
    if not 0 < epsilon_max <= 1:
        raise ValueError(f"epsilon_max is the ℓ∞ slider's range, in (0, 1] for images in [0, 1]; got "
                         f"{epsilon_max} (the ℓ2 range is epsilon_l2_max)")
    if not epsilon_l2_max > 0:
        raise ValueError(f"epsilon_l2_max must be > 0, got {epsilon_l2_max}")
    if not 0 < alpha_range[0] < alpha_range[1]:
        raise ValueError(f"alpha_range must be (min, max) with 0 < min < max, got {alpha_range}")


def _attack_controls(models, names, epsilon, eps_range, alpha, alpha_range, num_iter, max_steps, y_targ,
                     clamp) -> dict:
    """The attack widget's controls; α, steps and the target show when the first attack has them."""
    import math

    lo, hi = math.log10(alpha_range[0]), math.log10(alpha_range[1])
    first = names[0]
    return {
        "model_name": widgets.Dropdown(options=list(models), description="model"),
        "attack_name": widgets.Dropdown(options=names, description="attack", layout=shown(len(names) > 1)),
        "epsilon": _slider(widgets.FloatSlider, epsilon, 0.0, eps_range[0], eps_range[1], "ε", readout_format=".3f"),
        "alpha": widgets.FloatLogSlider(value=alpha, base=10, min=lo, max=hi, step=(hi - lo) / 40,
                                        description="α", continuous_update=False, readout_format=".2g",
                                        layout=shown(first in _TAKES_STEPS)),
        "num_iter": _slider(widgets.IntSlider, num_iter, 0, max_steps, 1, "steps",
                            layout=shown(first in _TAKES_STEPS)),
        "y_targ": widgets.Dropdown(options=list(range(10)), value=y_targ, description="target",
                                   layout=shown(first in _TARGETED)),
        "clamp": widgets.Checkbox(value=clamp, description="clamp x+δ to [0, 1]"),
    }


def attack_widget(models: dict, X, y, attack="pgd_linf", epsilon: float = 0.1, alpha: float = 0.01,
                  num_iter: int = 40, y_targ: int = 2, restarts: int = 1, clamp: bool = True,
                  epsilon_max: float = 0.3, alpha_range=(1e-3, 1.0), M: int = 3, N: int = 6,
                  epsilon_l2: float = 1.0, alpha_l2: float = 0.1, epsilon_l2_max: float = 3.0,
                  max_steps: int = 60) -> LiveFigure:
    """Controls for ε, α, steps, model, target and the [0, 1] clamp; redraws the attacked grid.

    Notebooks 02-05. ``models``: ``{name: model}``; ``X, y``: a batch (``(n, 1, 28, 28)``,
    ``(n,)``, n >= M*N) on which the error is printed, whose first ``M*N`` images are drawn
    with ``plotting.plot_images``. ``attack``: a name of ``course_utils.attacks.ATTACKS``
    or a list of them (a menu). α, steps and the target show when the attack has them.

    ℓ∞ and ℓ2 balls have their own ε slider range: ``[0, epsilon_max]`` (≤ 1) with start
    values ``epsilon``, ``alpha`` for ℓ∞ attacks, ``[0, epsilon_l2_max]`` with
    ``epsilon_l2``, ``alpha_l2`` for ``pgd_l2``; switching the attack switches the range and
    restores the last ε and α used with that norm. ``alpha_range``: the (min, max) of α's
    log slider; ``max_steps``: the end of the steps slider (60 steps of PGD on the CNN and
    100 images take about a second on 2 cores, 100 steps two). Returns the widget.
    """
    import torch

    from . import attacks as A
    from .plotting import plot_images

    names = [attack] if isinstance(attack, str) else list(attack)
    _check_attack_args(models, names, epsilon_max, epsilon_l2_max, alpha_range)
    if not 0 <= num_iter <= max_steps:
        raise ValueError(f"num_iter must be between 0 and max_steps = {max_steps}, got {num_iter}")
    ranges = {"linf": (epsilon_max, epsilon_max / 60), "l2": (epsilon_l2_max, epsilon_l2_max / 60)}
    memory = {"linf": [epsilon, alpha], "l2": [epsilon_l2, alpha_l2]}     # this widget's last ε, α per norm
    state = {"norm": _norm(names[0])}

    def draw(model_name, attack_name, epsilon, alpha, num_iter, y_targ, clamp):
        model = models[model_name]
        args, kwargs = _attack_args(attack_name, epsilon, alpha, num_iter, restarts, y_targ)
        delta = A.ATTACKS[attack_name](model, X, y, *args, clamp=clamp, **kwargs)
        with torch.no_grad():
            yp = model((X + delta).to(next(model.parameters()).device)).cpu()
        targets = y_targ if attack_name in _TARGETED else None
        return [_attack_summary(model_name, attack_name, epsilon, yp.argmax(1), y, y_targ, clamp),
                plot_images(X + delta, y, yp, M, N, targets=targets)]

    def adjust(owner, controls):
        name = controls["attack_name"].value
        controls["alpha"].layout.display = "flex" if name in _TAKES_STEPS else "none"
        controls["num_iter"].layout.display = "flex" if name in _TAKES_STEPS else "none"
        controls["y_targ"].layout.display = "flex" if name in _TARGETED else "none"
        new = _norm(name)
        if new != state["norm"]:
            memory[state["norm"]] = [controls["epsilon"].value, controls["alpha"].value]
            set_range(controls["epsilon"], 0.0, ranges[new][0], ranges[new][1], memory[new][0])
            controls["alpha"].value = memory[new][1]
            state["norm"] = new

    eps0, alpha0 = memory[state["norm"]]
    controls = _attack_controls(models, names, eps0, ranges[state["norm"]], alpha0, alpha_range, num_iter,
                                max_steps, y_targ, clamp)
    return LiveFigure(draw, controls, adjust=adjust,
                      caption="Moving a control attacks the same images again: the pictures show the attacked "
                              "digits and their predictions, the line above them the error rate.")


def steepest_ascent_widget(f, grad, z0=(0.0, 0.0), epsilon: float = 1.0, alpha: float = 0.2,
                           num_iter: int = 10) -> LiveFigure:
    """Sliders for ε, α and steps that redraw ``plotting.plot_steepest_ascent_2d`` (notebook 04).

    ``f``, ``grad``: a 2-D function on numpy arrays ``(..., 2)`` and its gradient at a
    point ``(2,)`` (chapter 3, "Aside: steepest descent"). Returns the widget.
    """
    from .plotting import plot_steepest_ascent_2d

    def draw(epsilon, alpha, num_iter):
        return [plot_steepest_ascent_2d(f, grad, z0, alpha, num_iter, epsilon)]

    return LiveFigure(draw, {"epsilon": _slider(widgets.FloatSlider, epsilon, 0.1, 1.5, 0.05, "ε"),
                             "alpha": _slider(widgets.FloatSlider, alpha, 0.02, 1.0, 0.02, "α"),
                             "num_iter": _slider(widgets.IntSlider, num_iter, 0, 40, 1, "steps")},
                      caption="Moving ε, α or the number of steps redraws both ascent paths and the balls "
                              "they must stay in.")
