"""The adversarial polytope of the toy network: image ⊆ LP outer bound ⊆ interval box."""

import numpy as np
import pytest
import torch

from course_utils import polytope as P


@pytest.fixture(scope="module")
def poly():
    return P.adversarial_polytope()


def _random_ball_images(model, x0, eps, n=4000, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.as_tensor(x0, dtype=torch.float64) + eps * (2 * torch.rand(n, 2, generator=g, dtype=torch.float64) - 1)
    with torch.no_grad():
        return model(x).numpy()


def test_toy_network_is_seeded_and_fixed():
    a, b, c = P.toy_network(), P.toy_network(), P.toy_network(seed=P.TOY_SEED + 1)
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.equal(p, q)
    assert not torch.equal(a[0].weight, c[0].weight)
    assert [m.out_features for m in a if isinstance(m, torch.nn.Linear)] == list(P.TOY_WIDTHS[1:])


def test_lp_outer_bound_contains_every_image_point(poly):
    model = P.toy_network()
    points = np.concatenate([poly.outputs.reshape(-1, 2), _random_ball_images(model, poly.x0, poly.epsilon)])
    slack = points @ poly.directions.T - poly.support          # must be <= 0 everywhere
    assert slack.max() <= 1e-7
    # the bound is tight somewhere but not everywhere: the relaxation adds points
    assert (-slack).min(axis=0).max() > 0.05


def test_interval_box_contains_the_lp_outer_bound(poly):
    lo, hi = poly.box
    tol = 1e-7
    assert (poly.support_points >= lo - tol).all() and (poly.support_points <= hi + tol).all()
    assert (poly.polygon >= lo - tol).all() and (poly.polygon <= hi + tol).all()
    axes = {0: (hi[0], 0), 18: (hi[1], 1), 36: (-lo[0], 0), 54: (-lo[1], 1)}    # 72 directions: 0°, 90°, ...
    for k, (box_support, _) in axes.items():
        assert poly.support[k] <= box_support + tol
    # and strictly tighter than the box in some direction
    assert min(box - poly.support[k] for k, (box, _) in axes.items()) > 0.05


def test_support_points_attain_the_support(poly):
    assert np.allclose((poly.support_points * poly.directions).sum(1), poly.support)


def test_lp_support_matches_the_chapter_program():
    """h(d) = -min(-dᵀz) of programs.form_lp with the same interval bounds."""
    from course_utils.bounds import bound_propagation
    from course_utils.solvers import solve_cvxpy
    from course_utils.programs import form_lp

    model, x0, eps = P.toy_network(), np.array(P.TOY_X0), P.TOY_EPSILON
    box = (torch.tensor(x0 - eps)[None], torch.tensor(x0 + eps)[None])
    bounds = bound_propagation(model, box)
    D = P.unit_directions(8)
    h, _ = P.lp_support(model, x0, eps, D)
    for d, hk in zip(D, h):
        problem, _ = form_lp(model, -d, box, bounds)
        solution = solve_cvxpy(problem, integer=False)
        assert solution.status == "optimal"
        assert -problem.value == pytest.approx(hk, abs=1e-6)


def test_the_course_case_is_robust_but_not_provably_by_the_lp(poly):
    """The docstring's claim: the image stays on one side of z1 = z2, the LP and box cross it."""
    margin = poly.outputs[..., 1] - poly.outputs[..., 0]        # class 1 wins at x0
    assert poly.center[1] > poly.center[0]
    assert margin.min() > 0.01
    d = np.array([1.0, -1.0]) / np.sqrt(2)                      # support of z1 - z2
    h, _ = P.lp_support(P.toy_network(), poly.x0, poly.epsilon, d[None])
    assert h[0] > 0.05                                          # the LP reaches z1 > z2
    lo, hi = poly.box
    assert hi[0] > lo[1]


def _area(poly_xy):
    x, y = poly_xy[:, 0], poly_xy[:, 1]
    return 0.5 * abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1)))


def _image_area(quads: np.ndarray) -> float:
    """Area of the union of quadrilaterals ``(m, 4, 2)``, by rasterising them with matplotlib."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.collections import PolyCollection

    pts = quads.reshape(-1, 2)
    lo, hi = pts.min(0), pts.max(0)
    fig = plt.figure(figsize=(6, 6), dpi=100)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.add_collection(PolyCollection(quads, facecolors="k", edgecolors="k", linewidths=0.2, antialiased=False))
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.axis("off")
    fig.canvas.draw()
    dark = (np.asarray(fig.canvas.buffer_rgba())[..., 0] < 128).mean()
    plt.close(fig)
    return dark * np.prod(hi - lo)


def test_the_image_is_clearly_not_convex(poly):
    from scipy.spatial import ConvexHull

    from course_utils.plotting.polytope import _cells

    hull = ConvexHull(poly.outputs.reshape(-1, 2))
    assert _image_area(_cells(poly.outputs)) < 0.8 * hull.volume   # volume of a 2-D hull is its area
    assert hull.volume < 0.6 * _area(poly.polygon)                   # and the LP bound is far larger still
    # the rasteriser measures a square right
    square = np.array([[[0, 0], [1, 0], [1, 1], [0, 1]], [[1, 1], [2, 1], [2, 2], [1, 2]]], float)
    assert _image_area(square) == pytest.approx(2.0, rel=0.02)


def test_outer_polygon_of_a_square():
    D = P.unit_directions(4)
    square = P.outer_polygon(D, np.ones(4))
    assert np.allclose(square, [[1, 1], [-1, 1], [-1, -1], [1, -1]])


def test_bad_arguments_are_named():
    model = P.toy_network()
    with pytest.raises(ValueError, match="x0 must have 2 coordinates"):
        P.ball_image(model, (0.0, 0.0, 0.0), 0.5)
    with pytest.raises(ValueError, match="epsilon must be finite and > 0"):
        P.output_box(model, (0.0, 0.0), 0.0)
    with pytest.raises(ValueError, match="2 inputs and 2 outputs"):
        P.ball_image(P.toy_network(widths=(2, 4, 3)), (0.0, 0.0), 0.5)
    with pytest.raises(ValueError, match="alternate Linear and ReLU"):
        P.lp_support(torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Linear(2, 2)).double(), (0, 0), 0.5,
                     P.unit_directions(4))
    with pytest.raises(ValueError, match="directions must have shape"):
        P.lp_support(model, (0.0, 0.0), 0.5, np.ones(3))
    with pytest.raises(ValueError, match="gaps below π"):
        P.outer_polygon(P.unit_directions(4)[::-1], np.ones(4))
    with pytest.raises(ValueError, match="widths must list"):
        P.toy_network(widths=(2, 2))
