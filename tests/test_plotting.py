"""Every figure of course_utils.plotting draws on real data, in the course's colours, and
rejects malformed input with a clear error."""

import copy

import matplotlib
import numpy as np
import pytest
import torch
from matplotlib.colors import to_rgba

from course_utils import plotting as P
from course_utils import style
from course_utils.attacks import fgsm, pgd_l2, pgd_linf, pgd_linf_targ, projected_steepest_ascent

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def data(test_images):
    X, y = test_images
    return X[:40], y[:40]


@pytest.fixture(scope="module")
def dnn2(zoo):
    return zoo["dnn2"]


@pytest.fixture(scope="module")
def small(zoo):
    return zoo["small"]


def _texts(fig):
    return [t.get_text() for ax in fig.axes for t in ax.texts] + [t.get_text() for t in fig.texts] + \
        [ax.get_title() for ax in fig.axes]


def _rgba(fig) -> np.ndarray:
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())[..., :3].astype(int)


# --- digits ---------------------------------------------------------------------------------------


def test_digit_colours_mark_pixels_outside_0_1():
    fig, ax = plt.subplots()
    img = torch.linspace(-0.2, 1.2, 784)
    im = P.draw_digit(ax, img)
    cmap, norm = im.get_cmap(), im.norm
    assert np.allclose(cmap(norm(-0.1)), to_rgba(style.BELOW_RANGE))
    assert np.allclose(cmap(norm(1.1)), to_rgba(style.ABOVE_RANGE))
    assert np.allclose(cmap(norm(0.0)), to_rgba("white")) and np.allclose(cmap(norm(1.0)), to_rgba("black"))
    assert P.out_of_range(img) == int(((img < 0) | (img > 1)).sum())
    with pytest.raises(ValueError, match="784 values"):
        P.draw_digit(ax, torch.zeros(10))


def test_plot_images_titles_give_label_prediction_and_mark(data, dnn2):
    X, y = data
    with torch.no_grad():
        logits = dnn2(X)
    fig = P.plot_images(X, y, logits, 3, 6)
    pred = logits.argmax(1)
    titles = [t for t in _texts(fig) if "→" in t and "title" not in t]
    assert len(titles) == 18
    for k, t in enumerate(titles):
        mark = "✓" if pred[k] == y[k] else "✗"
        assert t == f"{int(y[k])}→{int(pred[k])} {mark}"
    assert any("✓ correct" in t for t in fig.texts[0].get_text().split("\n"))


def test_targeted_grid_tells_three_outcomes_apart_in_text(data, dnn2):
    X, y = data
    delta = pgd_linf_targ(dnn2, X[:18], y[:18], 0.1, 0.01, 40, 2)
    with torch.no_grad():
        pred = dnn2(X[:18] + delta).argmax(1)
    fig = P.plot_images(X[:18] + delta, y[:18], pred, 3, 6, targets=2)
    marks = [t.split()[-1] for t in _texts(fig) if "→" in t and "title" not in t]
    expected = ["✓" if p == l else ("◎" if p == 2 else "✗") for l, p in zip(y[:18].tolist(), pred.tolist())]
    assert marks == expected
    assert len(set(expected)) >= 2, "the attack should hit the target on some images and not on others"


def test_clamped_and_unclamped_attacks_look_different(data, dnn2):
    X, y = data[0][:6], data[1][:6]
    clamped = X + fgsm(dnn2, X, y, 0.1)
    free = X + fgsm(dnn2, X, y, 0.1, clamp=False)
    a = P.plot_images(clamped, y, y, 1, 6)
    b = P.plot_images(free, y, y, 1, 6)
    assert "outside [0, 1]" not in a.texts[0].get_text()
    assert "6 images with pixels outside [0, 1]" in b.texts[0].get_text()
    below = np.array(to_rgba(style.BELOW_RANGE)[:3]) * 255
    count = lambda fig: (np.abs(_rgba(fig) - below).sum(-1) < 30).sum()   # noqa: E731
    assert count(a) == 0 and count(b) > 1000


def test_plot_images_checks_its_arguments(data):
    X, y = data
    with pytest.raises(ValueError, match="fewer than M\\*N"):
        P.plot_images(X[:5], y[:5], y[:5], 2, 3)
    with pytest.raises(ValueError, match="M and N must be positive"):
        P.plot_images(X, y, y, 0, 3)
    with pytest.raises(ValueError, match="yp must be logits"):
        P.plot_images(X, y, y[:3], 2, 3)


def test_delta_heatmaps_use_a_symmetric_diverging_range(data, dnn2):
    X, y = data[0][:3], data[1][:3]
    deltas = {"pgd": pgd_linf(dnn2, X, y, 0.1, 0.01, 20), "pgd_l2": pgd_l2(dnn2, X, y, 1.5, 0.1, 20)}
    fig = P.plot_delta_heatmaps(X, deltas, n=3)
    images = [im for ax in fig.axes for im in ax.images if im.get_cmap().name.startswith(style.DIVERGING_CMAP)]
    assert len(images) == 6
    for im in images:
        assert im.norm.vmin == pytest.approx(-im.norm.vmax)
    assert len(fig.axes) == 3 * 3 + 6                                 # 9 panels and 6 colour bars
    assert fig.axes[1].get_title() == style.METHODS["pgd"].label
    assert "‖δ‖₂ 1.50" in fig.axes[2].get_xlabel()
    shared = P.plot_delta_heatmaps(X, deltas, n=2, shared_range=True)
    assert len({im.norm.vmax for ax in shared.axes for im in ax.images if im.norm.vmin < 0}) == 1
    with pytest.raises(ValueError, match="deltas\\['pgd'\\] has shape"):
        P.plot_delta_heatmaps(X, {"pgd": deltas["pgd"][:2]})


def test_outcome_bars_add_up_and_read_without_colour(data, dnn2):
    X, y = data[0][:30], data[1][:30]
    rows = {}
    for t in (2, 0):
        delta = pgd_linf_targ(dnn2, X, y, 0.1, 0.01, 20, t)
        with torch.no_grad():
            pred = dnn2(X + delta).argmax(1)
        keep = y != t
        p, lab = pred[keep], y[keep]
        rows[f"target {t}"] = [float((p == t).float().mean()), float((p == lab).float().mean()),
                               float(((p != t) & (p != lab)).float().mean())]
    fig = P.plot_outcomes(rows, title="dnn2")
    bars = [b for b in fig.axes[0].patches]
    assert len(bars) == 2 * 3
    widths = np.array([b.get_width() for b in bars]).reshape(3, 2).T    # drawn outcome by outcome
    assert np.allclose(widths, np.array(list(rows.values())))
    assert len({b.get_hatch() for b in bars}) == 3, "each outcome needs its own fill pattern"
    assert [b.get_facecolor() for b in bars[::2]] == [to_rgba(style.OUTCOMES[k].color) for k in ("hit", "right", "other")]
    labels = [t.get_text() for t in fig.axes[0].texts]
    assert any(t.startswith("◎ ") for t in labels)
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["◎ hit the target", "✓ still correct",
                                                                  "✗ another class"]
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["target 2", "target 0"]
    with pytest.raises(ValueError, match="add up to 1"):
        P.plot_outcomes({"a": [0.5, 0.2, 0.2]})
    with pytest.raises(ValueError, match="must hold 3 shares"):
        P.plot_outcomes({"a": [0.5, 0.5]})
    with pytest.raises(ValueError, match="keys of style.OUTCOMES"):
        P.plot_outcomes({"a": [1.0]}, outcomes=["nope"])
    with pytest.raises(ValueError, match="at least one setting"):
        P.plot_outcomes({})


def test_verdict_grid_and_witness(data, small):
    from course_utils.certified import certified_accuracy

    X, y = data
    (r,) = certified_accuracy(small, (X[:30], y[:30]), 0.05, ("interval", "crown"), progress=False)
    fig = P.plot_verdict_grid(X[:30], r.verdict, r.decided_by, 3, 10)
    frames = [p for p in fig.axes[0].patches]
    assert len(frames) == 30
    for p, v in zip(frames, r.verdict):
        assert to_rgba(p.get_edgecolor()) == to_rgba(style.verdict_style(v).color)
    with pytest.raises(ValueError, match="differ in length"):
        P.plot_verdict_grid(X, r.verdict, r.decided_by[:3])
    w = P.plot_witness(X[0], X[0] + fgsm(small, X[:1], y[:1], 0.05)[0], "a witness")
    assert len(w.axes) == 4                                               # three panels, one colour bar


# --- curves -----------------------------------------------------------------------------------------


def _error(model, X, y, delta):
    with torch.no_grad():
        return float((model(X + delta).argmax(1) != y).float().mean())


def test_error_vs_epsilon_draws_each_method_in_its_colour(data, dnn2, small):
    X, y = data
    eps = [0.0, 0.05, 0.1]
    curves = []
    for name, model in (("dnn2", dnn2), ("small", small)):
        for clamp in (True, False):
            curves.append({"method": "fgsm", "model": name, "clamp": clamp, "epsilon": eps,
                           "error": [_error(model, X, y, fgsm(model, X, y, e, clamp=clamp)) for e in eps]})
        curves.append({"method": "pgd", "model": name, "epsilon": eps,
                       "error": [_error(model, X, y, pgd_linf(model, X, y, e, e / 4, 10)) for e in eps]})
    fig = P.plot_error_vs_epsilon(curves, title="FGSM and PGD")
    assert [ax.get_title() for ax in fig.axes] == ["dnn2", "small"]
    lines = fig.axes[0].get_lines()
    assert [to_rgba(l.get_color()) for l in lines] == [to_rgba(style.METHODS[m].color) for m in ("fgsm", "fgsm", "pgd")]
    assert [l.get_linestyle() for l in lines] == ["-", "--", "-"]
    assert lines[1].get_label().endswith("no clamp")
    with pytest.raises(ValueError, match="lacks \\['error'\\]"):
        P.plot_error_vs_epsilon([{"method": "fgsm", "epsilon": eps}])
    with pytest.raises(ValueError, match="unknown method"):
        P.plot_error_vs_epsilon([{"method": "fgsn", "epsilon": eps, "error": eps}])
    with pytest.raises(ValueError, match="3 values of epsilon but 2"):
        P.plot_error_vs_epsilon([{"method": "fgsm", "epsilon": eps, "error": [0, 1]}])


def _loss_history(model, X, y, num_iter, normalize, alpha, delta_init=None):
    losses = []
    for k in range(num_iter + 1):
        d = projected_steepest_ascent(model, X, y, 0.1, alpha, k, normalize=normalize, delta_init=delta_init)
        with torch.no_grad():
            losses.append(float(torch.nn.functional.cross_entropy(model(X + d), y)))
    return losses


def test_loss_curves_plain_vs_normalised_and_restarts(data, dnn2):
    X, y = data[0][:20], data[1][:20]
    g = torch.Generator().manual_seed(0)
    starts = [0.1 * (2 * torch.rand(X.shape, generator=g) - 1) for _ in range(3)]
    runs = {"pgd": _loss_history(dnn2, X, y, 8, True, 0.02),
            "pgd_plain": _loss_history(dnn2, X, y, 8, False, 0.02),
            "pgd_restarts": [_loss_history(dnn2, X, y, 8, True, 0.02, s) for s in starts]}
    fig = P.plot_loss_curves(runs, ylabel="cross-entropy, mean over 20 images")
    lines = fig.axes[0].get_lines()
    assert len(lines) == 1 + 1 + 3 + 1                     # two single runs, three thin restarts and the best
    thin = [l for l in lines if l.get_linewidth() < 1]
    assert len(thin) == 3
    best = lines[-1]
    assert best.get_ydata()[-1] == pytest.approx(max(r[-1] for r in runs["pgd_restarts"]))
    assert to_rgba(lines[0].get_color()) == to_rgba(style.METHODS["pgd"].color)
    assert runs["pgd"][-1] > runs["pgd"][0]
    with pytest.raises(ValueError, match="must have shape"):
        P.plot_loss_curves({"pgd": np.zeros((2, 2, 2))})


# --- bounds -----------------------------------------------------------------------------------------


def test_bound_widths_grow_through_the_layers(data, small):
    from course_utils.bounds import bound_propagation
    from course_utils.threat import linf_box

    x = data[0][:1]
    widths = {f"ε = {e:g}": bound_propagation(small, linf_box(x, e)) for e in (0.01, 0.05)}
    names = [type(m).__name__ for m in small]
    fig = P.plot_bound_widths(widths, layer_names=names, title="small")
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    lo, hi = (l.get_ydata() for l in ax.get_lines())
    assert (hi > lo).all() and hi[-1] > hi[1]
    with pytest.raises(ValueError, match="> 0 for a log scale"):
        P.plot_bound_widths({"ε = 0": bound_propagation(small, linf_box(x, 0.0))})
    with pytest.raises(ValueError, match="layer_names must hold"):
        P.plot_bound_widths(widths, layer_names=["a"])

def test_bound_widths_of_networks_of_different_depths(data, zoo):
    from course_utils.bounds import bound_propagation
    from course_utils.threat import linf_box

    x = data[0][:1]
    fig = P.plot_bound_widths({name: bound_propagation(zoo[name], linf_box(x, 0.01)) for name in ("small", "dnn4")})
    assert [len(l.get_ydata()) for l in fig.axes[0].get_lines()] == [len(zoo["small"]), len(zoo["dnn4"])]


def test_bound_comparison_uses_the_method_colours():
    fig = P.plot_bound_comparison([0, 1], {"interval": [-1.0, 0.5], "lp": [0.2, None], "milp": [0.5, 1.0]})
    colours = {to_rgba(p.get_facecolor()) for p in fig.axes[0].patches}
    assert colours == {to_rgba(style.METHODS[m].color) for m in ("interval", "lp", "milp")}
    with pytest.raises(ValueError, match="has 1 values for 2 targets"):
        P.plot_bound_comparison([0, 1], {"lp": [0.1]})


def _lp_point(model, x, label, target, eps):
    """The chapter's LP for one target; its point's hidden values and the real network's."""
    from course_utils.bounds import bound_propagation
    from course_utils.solvers import solve_cvxpy
    from course_utils.threat import linf_box
    from course_utils.programs import form_lp

    box = tuple(b.double() for b in linf_box(x, eps))
    net = copy.deepcopy(model).double()
    bounds = bound_propagation(net, box)
    c = np.zeros(10)
    c[label], c[target] = 1, -1
    problem, (z, _) = form_lp(net, c, box, bounds)
    assert solve_cvxpy(problem, integer=False).status == "optimal"
    x_lp = torch.tensor(z[0].value).reshape(x.shape)
    l, u = (t[0].numpy() for t in bounds[1])                   # first Linear: pre-activations
    W, b = net[1].weight.detach().numpy(), net[1].bias.detach().numpy()
    z_hat_lp = W @ z[0].value + b
    with torch.no_grad():
        real = net[:2](x_lp)[0].numpy()
        logits_real = net(x_lp)[0].numpy()
    return l, u, z_hat_lp, z[1].value, real, z[-1].value, logits_real


def test_lp_fake_point_on_the_small_net(data, small):
    X, y = data
    l, u, zh, z, real, logits_lp, logits_real = _lp_point(small, X[:1], int(y[0]), 3, 0.1)
    unstable = np.flatnonzero((l < 0) & (u > 0))
    off = unstable[np.argsort(-(z[unstable] - np.maximum(zh[unstable], 0)))][:3]
    assert (z[off] - np.maximum(zh[off], 0) > 1e-3).all(), "the LP's point should be off the ReLU graph"
    fig = P.plot_lp_fake_point(l[off], u[off], zh[off], z[off], real[off], logits_lp=logits_lp,
                               logits_real=logits_real, label=int(y[0]), target=3)
    assert len(fig.axes) == 4
    assert "LP" in fig.axes[-1].get_title() and "real" in fig.axes[-1].get_title()
    with pytest.raises(ValueError, match="not in the triangle"):
        P.plot_lp_fake_point(l[off], u[off], zh[off], z[off] + 100, real[off])
    with pytest.raises(ValueError, match="of one length"):
        P.plot_lp_fake_point(l[off], u[off], zh[off], z[off][:1], real[off])


def test_relaxation_pictures_and_recorded_curves():
    from course_utils.certified import accuracy_curves
    from course_utils.records import load_certified

    assert P.plot_relu_relaxation(-1.0, 1.5).axes
    assert P.plot_crown_relaxation(-2.0, 1.0).axes
    with pytest.raises(ValueError, match="l < 0 < u"):
        P.plot_relu_relaxation(0.5, 1.0)
    fig = P.plot_certified_curves(accuracy_curves(load_certified("small")["results"]))
    labels = {l.get_label(): to_rgba(l.get_color()) for l in fig.axes[0].get_lines()}
    assert labels[style.METHODS["lp_cuts"].label] == to_rgba(style.METHODS["lp_cuts"].color)


def test_adversarial_polytope_picture():
    from course_utils.polytope import adversarial_polytope

    fig = P.plot_adversarial_polytope(adversarial_polytope(resolution=41, num_directions=24))
    out = fig.axes[1]
    assert {p.get_label() for p in out.patches} == {style.METHODS["interval"].label + " (box)",
                                                    style.METHODS["lp"].label + ": outer bound"}
    assert len(out.collections) == 1


def _sandwich():
    """A bound_sandwich-shaped dictionary: at ε 0.01 the LP proves the margin positive, at
    0.03 the attack's margin is negative, at 0.02 neither; the LP failed at 0.03 (None)."""
    return {"epsilon": [0.0, 0.01, 0.02, 0.03], "targeted pgd": [3.0, 2.0, 0.5, -1.0],
            "exact milp": [3.0, 1.8, -0.2, -1.5], "lp": [3.0, 0.4, -2.0, None],
            "crown": [3.0, 0.9, -1.0, -4.0], "interval": [3.0, -1.0, -5.0, -9.0]}


def test_bound_sandwich_draws_the_chosen_steps_the_band_and_the_verdicts():
    sandwich = _sandwich()
    fig = P.plot_bound_sandwich(sandwich)
    labels = {l.get_label() for l in fig.axes[0].get_lines()}
    assert all(any(l.startswith(style.method_style(s).label) for l in labels) for s in sandwich if s != "epsilon")
    fig = P.plot_bound_sandwich(sandwich, steps=("targeted pgd", "exact milp", "lp"), shade=True, verdicts=True)
    ax = fig.axes[0]
    drawn = [l for l in ax.get_lines() if l.get_label().startswith(tuple(style.method_style(s).label
                                                                        for s in SANDWICH_KEYS))]
    assert {to_rgba(l.get_color()) for l in drawn} == {to_rgba(style.method_style(s).color)
                                                        for s in ("targeted pgd", "exact milp", "lp")}
    band = [c for c in ax.collections if c.get_label() == "the minimum lies in this band"]
    assert len(band) == 1
    ys = band[0].get_paths()[0].vertices[:, 1]
    assert ys.min() == pytest.approx(-2.0) and ys.max() == pytest.approx(3.0)   # LP at 0.02 .. attack at 0
    marks = {style.VERDICTS[v].color: v for v in style.VERDICTS}
    found = {marks[l.get_color()]: list(l.get_xdata()) for l in ax.get_lines() if l.get_color() in marks}
    # the LP proves ε 0 and 0.01; the attack wins at 0.03 although the LP has no value there
    assert found == {"robust": [0.0, 0.01], "unknown": [0.02], "attacked": [0.03]}


SANDWICH_KEYS = ("targeted pgd", "exact milp", "lp", "crown", "interval")


def test_bound_sandwich_rejects_unknown_or_missing_steps():
    sandwich = _sandwich()
    with pytest.raises(ValueError, match="steps must name distinct series"):
        P.plot_bound_sandwich(sandwich, steps=("targeted pgd", "pgd"))
    with pytest.raises(ValueError, match="steps must be a sequence"):
        P.plot_bound_sandwich(sandwich, steps="lp")
    with pytest.raises(ValueError, match="sandwich has no series"):
        P.plot_bound_sandwich({k: v for k, v in sandwich.items() if k != "crown"})
    with pytest.raises(ValueError, match="need 'targeted pgd' and a relaxation"):
        P.plot_bound_sandwich(sandwich, steps=("exact milp", "lp"), shade=True)
    with pytest.raises(ValueError, match="need 'targeted pgd' and a relaxation"):
        P.plot_bound_sandwich(sandwich, steps=("targeted pgd", "exact milp"), verdicts=True)


def test_margins_of_one_image_one_bar_per_target_coloured_by_sign(data, small):
    X, y = data
    with torch.no_grad():
        z = small(X[:1])[0]
    label = int(y[0])
    fig = P.plot_margins(X[0], z, label)
    bars = fig.axes[1].patches
    assert [b.get_height() for b in bars] == pytest.approx([float(z[label] - z[t]) for t in range(10) if t != label])
    z2 = z.clone()
    z2[3] = z[label] + 1.0                                   # target 3 now beats the label: a negative margin
    bars = P.plot_margins(X[0], z2, label).axes[1].patches
    negative = {to_rgba(b.get_facecolor()) for b, t in zip(bars, [t for t in range(10) if t != label]) if t == 3}
    assert negative == {to_rgba(style.VERDICTS["attacked"].color)}
    assert {to_rgba(b.get_facecolor()) for b in bars} == {to_rgba(style.VERDICTS[v].color) for v in ("robust", "attacked")}
    with pytest.raises(ValueError, match="label must be a class index in 0..9"):
        P.plot_margins(X[0], z, 10)


def test_bigm_slices_are_what_the_rows_allow_and_fill_the_triangle():
    from matplotlib.path import Path as Polygon

    from course_utils.relu import relu_bigm_slice

    rng = np.random.default_rng(0)
    for l, u in ((-1.0, 1.5), (-3.0, 0.2), (-0.1, 4.0)):
        assert np.allclose(relu_bigm_slice(l, u, 0)[[0, 1]], [[l, 0], [0, 0]])      # off: a = 0 on [l, 0]
        assert np.allclose(relu_bigm_slice(l, u, 1)[[1, 2]], [[0, 0], [u, u]])      # on: a = p on [0, u]
        for v in (0.1, 0.5, 0.9):
            inside = Polygon(relu_bigm_slice(l, u, v))
            p, a = rng.uniform(l, u, 4000), rng.uniform(-0.2, u + 0.2, 4000)
            rows = (a >= 0) & (a >= p) & (a <= u * v) & (a <= p - l * (1 - v))
            edge = np.abs(np.stack([a, a - p, a - u * v, a - p + l * (1 - v)])).min(0) < 1e-3
            polygon = inside.contains_points(np.stack([p, a], 1))
            assert np.array_equal(rows[~edge], polygon[~edge])
        # every point of the triangle lies in the slice of some v: the shadow is the triangle
        corners = np.concatenate([relu_bigm_slice(l, u, v) for v in np.linspace(0, 1, 201)])
        assert corners[:, 0].min() == l and corners[:, 0].max() == u and corners[:, 1].max() == u
        assert np.all(corners[:, 1] <= u * (corners[:, 0] - l) / (u - l) + 1e-12)   # below the chord
        p = rng.uniform(l, u, 2000)
        a = rng.uniform(np.maximum(p, 0), u * (p - l) / (u - l))                       # points of the triangle
        v = a / u                                                                        # lie in the slice of v = a / u
        assert np.all((a >= p) & (a <= u * v + 1e-12) & (a <= p - l * (1 - v) + 1e-12) & (v >= 0) & (v <= 1))
    for bad in ((0.5, 1.0, 0.5), (-1.0, 1.0, 1.5), (-np.inf, 1.0, 0.5)):
        with pytest.raises(ValueError):
            relu_bigm_slice(*bad)


def test_bigm_slice_picture():
    fig = P.plot_bigm_slices(-1.0, 1.5, (0.5,))
    ax = fig.axes[0]
    labels = [h.get_label() for h in ax.get_legend().legend_handles]
    assert labels[0].startswith("every v in [0, 1]") and "v = 0.5" in labels
    assert to_rgba(ax.patches[0].get_facecolor()[:3]) == to_rgba(style.METHODS["lp"].color)
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        P.plot_bigm_slices(-1.0, 1.5, (0.0, 0.5))
    with pytest.raises(ValueError, match="l < 0 < u"):
        P.plot_bigm_slices(1.0, 1.5)


def test_search_tree_picture_marks_each_node_by_what_the_search_did():
    from course_utils.plotting.search import node_kinds, tree_layout

    inf = float("inf")
    nodes = [(None, None, 1.0), (0, 0, 3.0), (0, 1, 1.5), (2, 0, inf), (2, 1, 2.0)]
    assert node_kinds(nodes, optimum=4) == ["split", "left", "split", "infeasible", "optimum"]
    place = tree_layout(nodes)
    assert [place[k][1] for k in range(5)] == [0, 1, 1, 2, 2]
    assert place[1][0] < place[2][0] and place[3][0] < place[4][0]                 # phase 0 on the left
    assert min(place[3][0], place[4][0]) <= place[2][0] <= max(place[3][0], place[4][0])
    fig = P.plot_search_tree(nodes, optimum=4)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels == [f"{style.SEARCH_NODES[k].label} ({n})"
                      for k, n in (("split", 2), ("left", 1), ("infeasible", 1), ("optimum", 1))]
    assert "minimum 2.000" in _texts(fig) and "root bound 1.000" in _texts(fig)
    for bad in ([], [(0, 0, 1.0)], [(None, None, 1.0), (1, 0, 2.0)], [(None, None, 1.0), (0, 2, 2.0)]):
        with pytest.raises(ValueError, match="nodes"):
            P.plot_search_tree(bad)
    with pytest.raises(ValueError, match="optimum must be"):
        P.plot_search_tree(nodes, optimum=9)
    looks = list(style.SEARCH_NODES.values())
    assert len({to_rgba(s.color) for s in looks}) == len({s.marker for s in looks}) == 4


def test_bound_sandwich_with_every_step_of_the_course():
    """Notebook 09's bracket: all seven series, each in its method's colour; the band starts
    at the best of the five lower bounds (here the LP with cuts at ε 0.02, alpha-CROWN at 0.01)."""
    sandwich = {**_sandwich(), "alpha-crown": [3.0, 1.0, -0.9, -3.5], "lp+cuts": [3.0, 0.5, -0.1, -2.0]}
    steps = ("interval", "crown", "alpha-crown", "lp", "lp+cuts", "exact milp", "targeted pgd")
    fig = P.plot_bound_sandwich(sandwich, steps=steps, shade=True, verdicts=True)
    ax = fig.axes[0]
    assert {to_rgba(style.method_style(s).color) for s in steps} <= {to_rgba(l.get_color()) for l in ax.get_lines()}
    band = [c for c in ax.collections if c.get_label() == "the minimum lies in this band"][0]
    ys = band.get_paths()[0].vertices[:, 1]
    assert ys.min() == pytest.approx(-2.0)      # ε 0.03: the LP failed (None), the best is the LP with cuts
    marks = {style.VERDICTS[v].color: v for v in style.VERDICTS}
    found = {marks[l.get_color()]: list(l.get_xdata()) for l in ax.get_lines() if l.get_color() in marks}
    assert found == {"robust": [0.0, 0.01], "unknown": [0.02], "attacked": [0.03]}
    with pytest.raises(ValueError, match="sandwich has no series"):
        P.plot_bound_sandwich(_sandwich(), steps=steps)
