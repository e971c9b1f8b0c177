"""Optimised-slope CROWN (course_utils.alpha): sound (never above the exact MILP minimum,
nor above the objective at sampled points), never looser than CROWN, usually tighter,
and its step in verify and certified."""

import pytest
import torch
from hypothesis import given, settings, strategies as st

from course_utils.alpha import alpha_crown_bounds
from course_utils.bounds import crown_bounds, objective_matrix
from course_utils.network import lower

from test_bounds import SHAPE, make, random_box, samples


@settings(max_examples=8, deadline=None)
@given(kind=st.sampled_from(["fc", "conv", "conv_dilated"]), seed=st.integers(0, 10_000))
def test_alpha_crown_is_sound_and_never_looser_than_crown(kind, seed):
    model, box = make(kind, seed), random_box(seed)
    net = lower(model, SHAPE)
    C = torch.stack([objective_matrix(0, 3), objective_matrix(2, 3)])          # one per box
    pre_c, crown = crown_bounds(net, box, C)
    pre_a, alpha = alpha_crown_bounds(net, box, C, iterations=8)
    assert (alpha >= crown - 1e-12).all()
    z = samples(box).flatten(0, 1)
    value = torch.einsum("nbk,bkm->nbm", model(z).reshape(-1, 2, 3), C)
    assert (alpha <= value + 1e-9).all()
    k = 0
    for layer in model[:-1]:
        z = layer(z)
        if isinstance(layer, (torch.nn.Linear, torch.nn.Conv2d)):
            zz = z.flatten(1).reshape(-1, 2, pre_a[k][0].shape[1])
            assert (pre_a[k][0] - 1e-9 <= zz).all() and (zz <= pre_a[k][1] + 1e-9).all()
            assert (pre_a[k][0] >= pre_c[k][0]).all() and (pre_a[k][1] <= pre_c[k][1]).all()
            k += 1


@pytest.fixture(scope="module")
def small_first_images():
    from course_utils.data import eval_subset
    from course_utils.models import load_model
    X, y = eval_subset(200)
    return load_model("small"), X, y


def test_alpha_crown_proves_more_than_crown_on_the_small_net(small_first_images):
    from course_utils.threat import linf_box
    model, X, y = small_first_images
    net = lower(model, X.shape[1:])
    C = torch.stack([objective_matrix(int(t)) for t in y])
    box = linf_box(X.double(), 0.05)
    _, crown = crown_bounds(net, box, C)
    _, alpha = alpha_crown_bounds(net, box, C)
    assert (alpha >= crown - 1e-12).all()
    rows = crown < 0                                         # the bounds CROWN leaves open
    assert (alpha[rows] > crown[rows] + 1e-3).float().mean() > 0.9
    assert (alpha > 0).sum() > (crown > 0).sum()


def test_alpha_crown_never_exceeds_the_exact_milp_minimum(small_first_images):
    from course_utils.verify import alpha_crown, exact_milp, verification_problem
    model, X, y = small_first_images
    checked = 0
    for i in (0, 7):
        p = verification_problem(model, X[i:i + 1], int(y[i]), 0.05)
        exact, bound = exact_milp(p, time_limit=60), alpha_crown(p)
        for r in exact.results:
            if r.status == "optimal":
                assert bound[r.target].bound <= r.value + 1e-6
                assert bound[r.target].bound >= p.crown[1][p.targets.index(r.target)] - 1e-12
                checked += 1
    assert checked >= 12


def test_alpha_crown_checks_its_arguments():
    model, box = make("fc", 1), random_box(1)
    net = lower(model, SHAPE)
    with pytest.raises(ValueError, match="iterations"):
        alpha_crown_bounds(net, box, objective_matrix(0, 3), iterations=0)
    with pytest.raises(ValueError, match="c must have shape"):
        alpha_crown_bounds(net, box, torch.ones(4, 2))
