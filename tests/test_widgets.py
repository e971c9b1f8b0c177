"""The widgets redraw when a control moves, switch ranges with the norm, read precomputed
numbers that the same code reproduces live, and carry a static picture."""

import ipywidgets as widgets
import matplotlib
import numpy as np
import pytest
import torch

from course_utils import widget_tables as wt
from course_utils import widgets as W
from course_utils.widget_core import LiveFigure

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


@pytest.fixture(scope="module")
def data(test_images):
    return test_images


# --- the machinery --------------------------------------------------------------------------------


def _counting_widget():
    calls = []

    def draw(a, b):
        calls.append((a, b))
        fig, ax = plt.subplots(figsize=(2, 2))
        ax.plot([0, 1], [0, a + b])
        return [f"a = {a}, b = {b}", fig]

    w = LiveFigure(draw, {"a": widgets.IntSlider(value=1, min=0, max=9), "b": widgets.IntSlider(value=0, max=9)})
    return w, calls


def test_live_figure_redraws_caches_and_batches():
    w, calls = _counting_widget()
    assert calls == [(1, 0)] and w.text() == "a = 1, b = 0\n" and len(w.pictures()) == 1
    first = w.pictures()[0]
    assert w.move("a", 2) >= 0 and w.text() == "a = 2, b = 0\n" and w.pictures()[0] != first
    w.move("a", 1)                                       # back to a setting drawn before: from the cache
    assert calls == [(1, 0), (2, 0)] and w.pictures()[0] == first and w.renders == 3
    with w.hold():
        w.controls["a"].value = 5
        w.controls["b"].value = 5
    assert calls[-1] == (5, 5) and len(calls) == 3 and w.renders == 4


def test_live_figure_carries_a_captioned_still_of_its_first_state():
    import base64
    import io

    w, _ = _counting_widget()
    bundle = w._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["image/png"] == w.static_png
    still = plt.imread(io.BytesIO(base64.b64decode(w.static_png)), format="png")
    first = plt.imread(io.BytesIO(base64.b64decode(w.pictures()[0])), format="png")
    assert still.shape[1] == first.shape[1] and still.shape[0] > first.shape[0] + 20   # the caption strip
    assert (still[: first.shape[0], :, :3] == first[:, :, :3]).mean() > 0.99           # the figure, unchanged above it
    w.move("a", 7)
    assert w._repr_mimebundle_()["image/png"] == bundle["image/png"]


def test_every_widget_of_the_course_says_what_moving_it_shows():
    """Each widget factory gives its still a caption of its own (the book shows the still)."""
    import inspect

    from course_utils import verify_widgets, widgets as course_widgets
    factories = [f for m in (course_widgets, verify_widgets) for name, f in vars(m).items()
                 if name.endswith("_widget") and inspect.isfunction(f)]
    assert len(factories) >= 6
    for f in factories:
        assert 'caption="Moving' in inspect.getsource(f) or "caption=\"Moving" in inspect.getsource(f), f.__name__


def test_live_figure_errors():
    def broken(a):
        if a > 0:
            raise ValueError("a must be 0")
        return ["fine"]

    w = LiveFigure(broken, {"a": widgets.IntSlider(value=0)})
    w.move("a", 1)
    assert isinstance(w.last_error, ValueError) and "a must be 0" in w.text()
    with pytest.raises(ValueError, match="a must be 0"):
        LiveFigure(broken, {"a": widgets.IntSlider(value=1)})
    with pytest.raises(TypeError, match="strings and matplotlib figures"):
        LiveFigure(lambda a: [1.5], {"a": widgets.IntSlider()})


# --- the attack widget ----------------------------------------------------------------------------


def test_attack_widget_moves_redraw_and_norms_keep_their_own_range(data, zoo):
    X, y = data[0][:24], data[1][:24]
    w = W.attack_widget({"dnn2": zoo["dnn2"]}, X, y, attack=["pgd_linf", "pgd_l2", "pgd_linf_targ", "fgsm"],
                        epsilon=0.1, alpha=0.01, num_iter=5, M=2, N=3)
    eps = w.controls["epsilon"]
    assert (eps.max, w.controls["alpha"].value) == (0.3, 0.01)
    picture = w.pictures()[0]
    w.move("epsilon", 0.0)
    assert "ℓ∞ ball of radius ε = 0: error" in w.text() and w.pictures()[0] != picture
    w.move("epsilon", 0.05)
    w.move("attack_name", "pgd_l2")
    assert (eps.min, eps.max, eps.value, w.controls["alpha"].value) == (0.0, 3.0, 1.0, 0.1)
    assert "ℓ2 ball of radius ε = 1" in w.text()
    w.move("epsilon", 2.0)
    w.move("attack_name", "pgd_linf_targ")
    assert (eps.max, eps.value) == (0.3, 0.05)                  # the last ℓ∞ ε comes back
    assert "target 2: hit the target" in w.text() and "another class" in w.text()
    assert w.controls["y_targ"].layout.display == "flex"
    w.move("attack_name", "pgd_l2")
    assert eps.value == 2.0
    w.move("attack_name", "fgsm")
    assert w.controls["alpha"].layout.display == "none" and w.controls["y_targ"].layout.display == "none"
    w.move("clamp", False)
    assert "no clamp" in w.text()


def test_attack_widget_rejects_bad_settings(data, zoo):
    X, y = data
    with pytest.raises(ValueError, match="attack must be among"):
        W.attack_widget(zoo, X, y, attack="nope")
    with pytest.raises(ValueError, match="epsilon_max is the ℓ∞ slider's range"):
        W.attack_widget(zoo, X, y, attack=["pgd_linf", "pgd_l2"], epsilon_max=3.0)
    with pytest.raises(ValueError, match="models must name"):
        W.attack_widget({}, X, y)
    with pytest.raises(ValueError, match="num_iter must be between 0 and max_steps = 60"):
        W.attack_widget(zoo, X, y, num_iter=80)


def test_small_widgets_redraw(data, zoo):
    from course_utils.models import load_model

    w = W.inner_max_1d_widget(load_model("regression", device="cpu"), x0=0.75, epsilon=0.3)
    before = w.pictures()
    w.move("epsilon", 0.6)
    assert w.pictures() != before
    f = lambda Z: np.sin(3 * Z[..., 0]) + Z[..., 1] ** 2          # noqa: E731
    grad = lambda z: np.array([3 * np.cos(3 * z[0]), 2 * z[1]])      # noqa: E731
    w = W.steepest_ascent_widget(f, grad, z0=(0.1, 0.2))
    before = w.pictures()
    w.move("num_iter", 3)
    assert w.pictures() != before
    X, y = data
    w = W.logit_bounds_widget(zoo, X, y, epsilon=0.1)
    before = w.text()
    w.move("epsilon", 0.05)
    assert w.text() != before and w.text().startswith("lower:")


# --- precomputed numbers ----------------------------------------------------------------------------


def test_bound_table_covers_the_grid_and_matches_live_numbers(data, zoo):
    X, y = data
    table = wt.load_table("bounds")
    assert "missing" not in table, "make it: python tools/precompute_widgets.py bounds"
    grid = wt.BOUND_GRID
    expected = sum(len(names) for names in grid["methods"].values()) * grid["images"] * len(grid["epsilons"])
    assert len(table["entries"]) == expected
    assert wt.usable_models(table, zoo, X, y) == {"small", "dnn2", "dnn4"}
    # the cheapest precomputed MILP and one LP, recomputed now by the same code
    milp = min((k for k in table["entries"] if "|exact milp|" in k and not k.endswith("|0.000")),
               key=lambda k: table["entries"][k]["seconds"])
    for key in (milp, "dnn2|lp|3|0.050"):
        name, method, index, eps = key.split("|")
        live = wt.bound_row(zoo[name], X[int(index):int(index) + 1], int(y[int(index)]), float(eps), method, 20.0)
        stored = table["entries"][key]
        assert live["verdicts"] == stored["verdicts"] and live["targets"] == stored["targets"]
        assert np.allclose(live["values"], stored["values"], atol=1e-4)


def test_bound_comparison_widget_says_where_numbers_come_from(data, zoo):
    X, y = data
    w = W.bound_comparison_widget(zoo, X, y, epsilon=0.02, model="small", methods=("interval", "lp", "exact milp"))
    text = w.text()
    assert "interval: computed live" in text and "lp: precomputed" in text and "exact milp: precomputed" in text
    assert "precomputed by `python tools/precompute_widgets.py bounds`" in text
    w.move("epsilon", 0.05)
    assert "ε = 0.050" not in text and "exact milp: precomputed" in w.text()
    w.move("name", "dnn2")
    assert "exact milp: not run for dnn2" in w.text()
    # a model with other weights under the same name: the table is not used until "compute live"
    other = {"small": torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 10))}
    torch.manual_seed(0)
    w = W.bound_comparison_widget(other, X, y, epsilon=0.02, methods=("interval", "lp"))
    assert "made for other weights" in w.text()
    w.move("live", True)
    assert "lp: computed live" in w.text()


def test_certified_widget_reads_the_table_and_runs_cheap_cascades_live(data, zoo):
    from course_utils.certified import CertifiedResult

    X, y = data
    table = wt.load_table("certified")
    assert "missing" not in table, "make it: python tools/precompute_widgets.py certified"
    w = W.certified_widget(zoo, X, y, epsilon=0.02, method="crown", model="small")
    assert "verdicts computed live" in w.text()
    w.move("method", "lp+cuts")
    assert "verdicts precomputed" in w.text()
    stored = table["entries"][wt.certified_entry_key("small", "lp+cuts", 0.02)]
    assert CertifiedResult.from_dict(stored).summary() in w.text()
    live = wt.certified_row(zoo["small"], X[:30], y[:30], 0.02, "lp+cuts", 20.0)
    assert live["verdicts"] == stored["verdicts"] and live["decided_by"] == stored["decided_by"]
    with pytest.raises(ValueError, match="method must be one of"):
        W.certified_widget(zoo, X, y, method="exact")
    with pytest.raises(ValueError, match="model must be one of"):
        W.certified_widget(zoo, X, y, model="nope")
