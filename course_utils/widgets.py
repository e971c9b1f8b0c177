"""ipywidgets controls for the notebooks: sliders for ε, α and friends.

Each function builds an ``ipywidgets`` control whose callback redraws a figure or a
table, and returns the widget (so a test can move its sliders and read its output).
Under nbval the widget cells run once with their default values.
"""

from __future__ import annotations

import ipywidgets as widgets


# --- chapter 3, "Moving to neural networks": the 1-D inner maximization -------------


def inner_max_1d_widget(model, x0: float = 0.5, epsilon: float = 0.5):
    """Sliders for ``x0`` and ``ε`` that redraw ``plotting.plot_inner_max_1d``."""
    import matplotlib.pyplot as plt

    from .plotting import plot_inner_max_1d
    from .surface import inner_max_1d

    def draw(x0, epsilon):
        plot_inner_max_1d(model, inner_max_1d(model, x0, epsilon))
        plt.show()

    return widgets.interactive(
        draw,
        x0=widgets.FloatSlider(value=x0, min=-2.5, max=2.5, step=0.05, description="x0",
                               continuous_update=False),
        epsilon=widgets.FloatSlider(value=epsilon, min=0.0, max=1.5, step=0.05, description="ε",
                                    continuous_update=False),
    )


# --- chapter 3, FGSM / PGD / targeted / l2: attack any model, see the grid and the error ---

_TAKES_STEPS = {"pgd", "pgd_linf", "pgd_linf_rand", "pgd_linf_targ", "pgd_linf_targ2", "pgd_l2"}
_TARGETED = {"pgd_linf_targ", "pgd_linf_targ2"}


def attack_widget(models: dict, X, y, attack="pgd_linf", epsilon: float = 0.1, alpha: float = 0.01,
                  num_iter: int = 40, y_targ: int = 2, restarts: int = 1, clamp: bool = True,
                  epsilon_max: float = 0.3, alpha_range=(1e-3, 1.0), M: int = 3, N: int = 6):
    """Controls for ε, α, steps, model, target and the [0, 1] clamp; redraws the attacked grid.

    ``models``: ``{name: model}``; ``X, y``: a batch (``(n, 1, 28, 28)``, ``(n,)``, n >= M*N)
    on which the error is printed, whose first ``M*N`` images are drawn with
    ``plotting.plot_images``. ``attack``: a name of ``course_utils.attacks.ATTACKS`` or a
    list of them (a dropdown). α, steps and the target appear where the attack has
    them; ``alpha_range`` is the (min, max) of α's log slider. Returns the widget.
    """
    import matplotlib.pyplot as plt
    import torch

    from . import attacks as A
    from .plotting import plot_images

    names = [attack] if isinstance(attack, str) else list(attack)
    for name in names:
        if name not in A.ATTACKS:
            raise ValueError(f"attack must be among {sorted(A.ATTACKS)}, got {name!r}")
    if not models:
        raise ValueError("models must name at least one model")
    import math
    lo, hi = math.log10(alpha_range[0]), math.log10(alpha_range[1])

    def shown(flag: bool):
        return widgets.Layout(display="flex" if flag else "none")

    has_steps = any(name in _TAKES_STEPS for name in names)
    has_target = any(name in _TARGETED for name in names)

    def draw(model_name, attack_name, epsilon, alpha, num_iter, y_targ, clamp):
        model = models[model_name]
        fn = A.ATTACKS[attack_name]
        args = (epsilon,)
        if attack_name in _TAKES_STEPS:
            args += (alpha, num_iter)
        if attack_name == "pgd_linf_rand":
            args += (restarts,)
        if attack_name in _TARGETED:
            args += (y_targ,)
        kwargs = {"clamp": clamp}
        if attack_name == "pgd_linf_rand":
            kwargs["generator"] = torch.Generator().manual_seed(0)
        delta = fn(model, X, y, *args, **kwargs)
        device = next(model.parameters()).device
        with torch.no_grad():
            yp = model((X + delta).to(device)).cpu()
        pred = yp.argmax(1)
        line = f"{model_name}, {attack_name}, ε = {epsilon:g}: error {(pred != y).float().mean():.3f}"
        if attack_name in _TARGETED:
            line += f", predicted as target {y_targ}: {(pred == y_targ).float().mean():.3f}"
        print(line + f" on these {len(y)} images ({'clamped to [0, 1]' if clamp else 'no clamp'})")
        plot_images(X + delta, y, yp, M, N, targets=y_targ if attack_name in _TARGETED else None)
        plt.show()

    return widgets.interactive(
        draw,
        model_name=widgets.Dropdown(options=list(models), description="model"),
        attack_name=widgets.Dropdown(options=names, description="attack", layout=shown(len(names) > 1)),
        epsilon=widgets.FloatSlider(value=epsilon, min=0.0, max=epsilon_max, step=epsilon_max / 60,
                                    description="ε", continuous_update=False, readout_format=".3f"),
        alpha=widgets.FloatLogSlider(value=alpha, base=10, min=lo, max=hi, step=(hi - lo) / 40,
                                     description="α", continuous_update=False, readout_format=".2g",
                                     layout=shown(has_steps)),
        num_iter=widgets.IntSlider(value=num_iter, min=0, max=100, description="steps",
                                   continuous_update=False, layout=shown(has_steps)),
        y_targ=widgets.Dropdown(options=list(range(10)), value=y_targ, description="target",
                                layout=shown(has_target)),
        clamp=widgets.Checkbox(value=clamp, description="clamp x+δ to [0, 1]"),
    )


def steepest_ascent_widget(f, grad, z0=(0.0, 0.0), epsilon: float = 1.0, alpha: float = 0.2,
                           num_iter: int = 10):
    """Sliders for ε, α and steps that redraw ``plotting.plot_steepest_ascent_2d``.

    ``f``, ``grad``: a 2-D function on numpy arrays ``(..., 2)`` and its gradient at a
    point ``(2,)`` (chapter 3, "Aside: steepest descent"). Returns the widget.
    """
    import matplotlib.pyplot as plt

    from .plotting import plot_steepest_ascent_2d

    def draw(epsilon, alpha, num_iter):
        plot_steepest_ascent_2d(f, grad, z0, alpha, num_iter, epsilon)
        plt.show()

    return widgets.interactive(
        draw,
        epsilon=widgets.FloatSlider(value=epsilon, min=0.1, max=1.5, step=0.05, description="ε",
                                    continuous_update=False),
        alpha=widgets.FloatSlider(value=alpha, min=0.02, max=1.0, step=0.02, description="α",
                                  continuous_update=False),
        num_iter=widgets.IntSlider(value=num_iter, min=0, max=40, description="steps",
                                   continuous_update=False),
    )


# --- chapter 3, exact verification and convex relaxations (MILP, LP, interval bounds) ---


def logit_bounds_widget(models: dict, X, y, epsilon: float = 0.1, index: int = 0, model: str = None):
    """Sliders for ε and the example index, a dropdown for the model: redraws the
    interval bounds on the logits (``bounds.bound_propagation``) and prints them."""
    import matplotlib.pyplot as plt
    import torch

    from .bounds import bound_propagation
    from .plotting import plot_logit_bounds
    from .threat import linf_box

    def draw(name, epsilon, index):
        net = models[name]
        x = X[index:index + 1].to(next(net.parameters()).device)
        l, u = bound_propagation(net, linf_box(x, epsilon))[-1]
        with torch.no_grad():
            clean = net(x)[0].cpu()
        plot_logit_bounds(l[0].cpu(), u[0].cpu(), clean,
                          title=f"{name}, test image {index} (label {int(y[index])}), ε = {epsilon:.3f}")
        plt.show()
        print("lower:", " ".join(f"{v:9.2f}" for v in l[0].tolist()))
        print("upper:", " ".join(f"{v:9.2f}" for v in u[0].tolist()))

    return widgets.interactive(draw, **_model_epsilon_image(models, model, epsilon, 0.2, index, len(X)))


def bound_comparison_widget(models: dict, X, y, epsilon: float = 0.02, index: int = 0, model: str = None,
                            methods=("interval", "lp", "exact milp"), milp_models=("small",),
                            time_limit: float = 20.0):
    """Sliders for ε and the example index, a dropdown for the model: for every target,
    the bound of each step in ``methods`` (``verify.certify``), as one chart and a table
    with the seconds each took. The solver steps get ``time_limit`` seconds per target;
    the exact MILP runs only for the models in ``milp_models``; on the others it is out
    of reach."""
    import matplotlib.pyplot as plt

    from .plotting import plot_bound_comparison
    from .verdicts import SOLVER_STEPS
    from .verify import certify

    def draw(name, epsilon, index):
        net = models[name]
        x, label = X[index:index + 1], int(y[index])
        columns, seconds, certs = {}, {}, {}
        for method in methods:
            if method == "exact milp" and name not in milp_models:
                continue
            options = {"time_limit": time_limit} if method in SOLVER_STEPS else {}
            cert = certify(net, x, label, epsilon, method, **options)
            certs[method] = cert
            columns[method] = [r.value if r.value is not None else r.bound for r in cert.results]
            seconds[method] = cert.seconds
        targets = [r.target for r in next(iter(certs.values())).results]
        plot_bound_comparison(targets, columns,
                              title=f"{name}, test image {index} (label {label}), ε = {epsilon:.3f}")
        plt.show()
        print(f"{'target':>6} " + " ".join(f"{m:>10}" for m in columns))
        for i, t in enumerate(targets):
            print(f"{t:>6} " + " ".join("      none" if columns[m][i] is None else f"{columns[m][i]:10.4f}"
                                        for m in columns))
        print(f"{'time/s':>6} " + " ".join(f"{seconds[m]:10.2f}" for m in columns))

    return widgets.interactive(draw, **_model_epsilon_image(models, model, epsilon, 0.1, index, len(X)))


def certified_widget(models: dict, X, y, epsilon: float = 0.02, method: str = "crown", model: str = None,
                     M: int = 3, N: int = 10, eps_max: float = 0.1, time_limit: float = 2.0):
    """Sliders for ε, menus for the model and the verification method: runs
    ``certified.certified_accuracy`` on the first ``M*N`` images of ``X, y`` with the
    cascade up to that method, draws them framed by verdict (green robust, red
    attacked, grey unknown) and prints the accuracies. LP and MILP calls stop after
    ``time_limit`` seconds each (the image is then "unknown")."""
    import matplotlib.pyplot as plt

    from .certified import METHODS, certified_accuracy
    from .plotting import plot_verdict_grid

    n = min(M * N, len(X))

    def draw(name, epsilon, method):
        methods = METHODS[: METHODS.index(method) + 1]
        (r,) = certified_accuracy(models[name], (X[:n], y[:n]), epsilon, methods, time_limit=time_limit,
                                  progress=False)
        plot_verdict_grid(X[:n], r.verdict, r.decided_by, M, N,
                          title=f"{name}, ε = {epsilon:.3f}, cascade up to {method}")
        plt.show()
        print(r.summary())

    controls = _model_epsilon_image(models, model, epsilon, eps_max, 0, 1)
    controls.pop("index")
    controls["method"] = widgets.Dropdown(options=list(METHODS), value=method, description="method")
    return widgets.interactive(draw, **controls)


def _model_epsilon_image(models: dict, model, epsilon: float, eps_max: float, index: int, n: int) -> dict:
    """The verification widgets' controls: a model menu, an ε slider and an image slider."""
    return dict(
        name=widgets.Dropdown(options=list(models), value=model or list(models)[0], description="model"),
        epsilon=widgets.FloatSlider(value=epsilon, min=0.0, max=eps_max, step=0.005, readout_format=".3f",
                                    description="ε", continuous_update=False),
        index=widgets.IntSlider(value=index, min=0, max=n - 1, description="image", continuous_update=False),
    )
