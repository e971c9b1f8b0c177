"""The helpers behind notebooks 03 and 04's pictures and tables: the spread of gradient
scales, the error after each step of an attack, and the tables of error rates."""

import matplotlib
import numpy as np
import pytest
import torch
from matplotlib.colors import to_rgba

from course_utils import plotting as P
from course_utils import style
from course_utils.attacks import fgsm, pgd_l2, pgd_linf
from course_utils.data import eval_subset
from course_utils.evaluate import error_per_step, error_table

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def data(test_images):
    X, y = test_images
    return X[:30], y[:30]


def _error(model, X, y, delta):
    with torch.no_grad():
        return float((model(X + delta).argmax(1) != y).float().mean())


def _input_gradient(model, X, y):
    delta = torch.zeros_like(X, requires_grad=True)
    torch.nn.functional.cross_entropy(model(X + delta), y, reduction="sum").backward()
    return delta.grad.detach()


# --- error_per_step ------------------------------------------------------------------------------


@pytest.mark.parametrize("clamp", [True, False])
def test_error_after_k_steps_is_the_error_of_pgd_with_k_steps(data, zoo, clamp):
    X, y = data
    model = zoo["dnn2"]
    errors = error_per_step(model, X, y, 0.1, 0.02, 6, clamp=clamp)
    assert len(errors) == 7
    assert errors[0] == _error(model, X, y, torch.zeros_like(X))
    for k in (1, 3, 6):
        assert errors[k] == _error(model, X, y, pgd_linf(model, X, y, 0.1, 0.02, k, clamp=clamp)), k
    assert errors[1] == _error(model, X, y, fgsm(model, X, y, 0.02, clamp=clamp))


def test_error_per_step_under_l2_follows_one_run(data, zoo):
    X, y = data
    model = zoo["dnn4"]
    errors = error_per_step(model, X, y, 1.0, 0.2, 8, norm="l2")
    assert errors[8] == _error(model, X, y, pgd_l2(model, X, y, 1.0, 0.2, 8))
    assert errors[-1] > errors[0]


def test_error_per_step_refuses_what_would_break_the_single_run(data, zoo):
    X, y = data
    with pytest.raises(ValueError, match="delta_init and keep_best are not allowed"):
        error_per_step(zoo["dnn2"], X, y, 0.1, 0.01, 3, delta_init=torch.zeros_like(X))
    with pytest.raises(ValueError, match="num_iter"):
        error_per_step(zoo["dnn2"], X, y, 0.1, 0.01, -1)


# --- error_table ---------------------------------------------------------------------------------


def test_error_table_one_number_per_figure():
    table = error_table({"FGSM": {"dnn2": 0.9357, "cnn": 0.4536}, "chapter": {"dnn2": 0.9259, "dnn4": None}},
                        title="full test set")
    lines = table.splitlines()
    assert lines[0] == "full test set"
    assert lines[1].split() == ["model", "FGSM", "chapter"]
    assert lines[2].split() == ["dnn2", "0.936", "0.926"]
    assert lines[3].split() == ["cnn", "0.454", "—"]
    assert lines[4].split() == ["dnn4", "—", "—"]
    assert "≈0.500" in error_table({"live": {"dnn2": 0.5}}, live=True)
    for bad in ({}, {"a": [0.5]}, {"a": {"dnn2": 1.5}}, {"a": {"dnn2": True}}):
        with pytest.raises(ValueError, match="columns"):
            error_table(bad)


# --- pictures ------------------------------------------------------------------------------------


def test_gradient_scales_show_every_network_and_the_share_past_the_line(data, zoo):
    X, y = data
    grads = {name: _input_gradient(zoo[name], X, y) for name in ("dnn2", "cnn")}
    fig = P.plot_gradient_scales(grads, alpha=1e4, epsilon=0.1)
    per_image, per_entry = fig.axes
    assert per_image.get_xscale() == per_entry.get_xscale() == "log"
    for ax in (per_image, per_entry):
        assert len(ax.patches) == 2                       # one outline per network
        # the highest bin holds a share of the images (entries): between 0 and 1
        assert all(0 < p.get_path().vertices[:, 1].max() <= 1 for p in ax.patches)
    labels = per_entry.get_legend_handles_labels()[1]
    share = float((grads["cnn"].abs() >= 0.1 / 1e4).float().mean())
    assert any(label.startswith("cnn") and f"{share:.0%} ≥ ε/α" in label for label in labels), labels
    line = [l for l in per_entry.get_lines() if "ε/α" in l.get_label()]
    assert line and line[0].get_xdata()[0] == pytest.approx(1e-5)
    assert to_rgba(line[0].get_color()) == to_rgba(style.GUIDE)


def test_gradient_scales_report_exact_zeros_and_reject_bad_input(data, zoo):
    X, y = data
    g = _input_gradient(zoo["dnn2"], X, y)
    g[:, :, :5] = 0.0
    fig = P.plot_gradient_scales({"dnn2": g})
    label = fig.axes[1].get_legend_handles_labels()[1][0]
    assert f"{float((g == 0).float().mean()):.0%} exactly 0" in label
    with pytest.raises(ValueError, match="alpha and epsilon together"):
        P.plot_gradient_scales({"dnn2": g}, alpha=1e4)
    with pytest.raises(ValueError, match="grads\\['x'\\]"):
        P.plot_gradient_scales({"x": torch.zeros(3)})
    with pytest.raises(ValueError, match="every gradient is exactly zero"):
        P.plot_gradient_scales({"x": torch.zeros(3, 4)})
    with pytest.raises(ValueError, match="at least one"):
        P.plot_gradient_scales({})


def test_error_vs_steps_draws_curves_and_level_lines_in_the_method_colours(data, zoo):
    X, y = data
    curves = []
    for name in ("dnn2", "dnn4"):
        model = zoo[name]
        curves.append({"method": "pgd", "model": name, "error": error_per_step(model, X, y, 0.1, 0.02, 5)})
        curves.append({"method": "fgsm", "model": name, "error": _error(model, X, y, fgsm(model, X, y, 0.1))})
    fig = P.plot_error_vs_steps(curves, title="PGD against FGSM")
    assert [ax.get_title() for ax in fig.axes] == ["dnn2", "dnn4"]
    pgd_line, fgsm_line = fig.axes[0].get_lines()
    assert list(pgd_line.get_xdata()) == list(range(6))
    assert list(pgd_line.get_ydata()) == curves[0]["error"]
    assert to_rgba(pgd_line.get_color()) == to_rgba(style.METHODS["pgd"].color)
    assert to_rgba(fgsm_line.get_color()) == to_rgba(style.METHODS["fgsm"].color)
    assert list(fgsm_line.get_xdata()) == [0, 5] and len(set(fgsm_line.get_ydata())) == 1
    assert fgsm_line.get_linestyle() == "--"
    with pytest.raises(ValueError, match="lacks \\['error'\\]"):
        P.plot_error_vs_steps([{"method": "pgd"}])
    with pytest.raises(ValueError, match="unknown method"):
        P.plot_error_vs_steps([{"method": "pgdd", "error": [0.1]}])


# --- the figures the model answers of exercises 3.3, 4.4 and 5.4 quote ------------------------------


def test_model_answer_3_3_quotes_the_measured_errors(zoo):
    from course_utils.exercises import all_exercises
    from course_utils.exercises.nb03 import measure_alphas

    errors = measure_alphas()
    X, y = eval_subset(500)
    fgsm_error = _error(zoo["dnn2"], X, y, fgsm(zoo["dnn2"], X, y, 0.1))
    text = all_exercises()["3.3"].model_answer
    for alpha, quoted in ((0.001, "0.17"), (0.0025, "0.84"), (0.01, "0.86"), (0.1, "0.86")):
        assert f"{errors[alpha]:.2f}" == quoted and quoted in text, (alpha, errors[alpha])
    assert f"{fgsm_error:.2f}" == "0.80" and "0.80" in text
    assert errors[0.001] < fgsm_error < errors[0.0025]                     # "far below", "past FGSM"
    assert abs(errors[0.1] - errors[0.01]) < 0.01                          # "less than a point"


def test_model_answer_4_4_quotes_the_measured_errors():
    from course_utils.exercises import all_exercises
    from course_utils.exercises.nb04 import measure_radii

    errors = measure_radii()
    text = all_exercises()["4.4"].model_answer
    for key, quoted in (("l2 1.35", "0.78"), ("linf 0.1", "0.86"), ("l2 2", "0.96")):
        assert f"{errors[key]:.2f}" == quoted and quoted in text, (key, errors[key])
    assert errors["l2 1.35"] < errors["linf 0.1"] < errors["l2 2"]


def test_model_answer_5_4_quotes_the_measured_shares():
    from course_utils.exercises import all_exercises
    from course_utils.exercises.nb05 import measure_targets

    shares = measure_targets()
    ranked = sorted(range(10), key=lambda t: shares[t])
    text = all_exercises()["5.4"].model_answer
    assert ranked[:2] == [1, 0] and f"{shares[1]:.2f}" == "0.17" and f"{shares[0]:.2f}" == "0.41"
    assert shares[0] < 0.5 < min(shares[t] for t in range(2, 10))        # "by far the hardest", then 0
    assert sorted(ranked[-3:]) == [3, 8, 9] and min(shares[t] for t in (3, 8, 9)) > 0.93
    assert "0.17" in text and "0.41" in text and "above 0.93" in text
