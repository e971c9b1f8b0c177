"""Tests of course_utils.attacks and course_utils.evaluate (chapter 3, the attacks).

Property tests run on small random networks; a few checks use the shipped models on
a fixed subset of the test set. Seeded; the whole file runs in well under a minute.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn as nn
from hypothesis import given, settings, strategies as st, HealthCheck

from course_utils import attacks as A
from course_utils.evaluate import epoch_adversarial, tensor_loader, zero_attack

SETTINGS = dict(max_examples=25, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow])


def small_net(seed: int, width: int = 8, requires_grad: bool = False) -> nn.Sequential:
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Flatten(), nn.Linear(16, width), nn.ReLU(), nn.Linear(width, 5))
    for p in net.parameters():
        p.requires_grad_(requires_grad)
    return net.eval()


def batch(seed: int, n: int):
    g = torch.Generator().manual_seed(seed)
    X = torch.rand(n, 1, 4, 4, generator=g)
    # some pixels exactly at the domain's edges, where the clamp matters
    X[X < 0.15] = 0.0
    X[X > 0.85] = 1.0
    y = torch.randint(0, 5, (n,), generator=g)
    return X, y


def run_attack(name, net, X, y, epsilon, alpha, num_iter, clamp, seed=0):
    """Call a named attack with the chapter's argument order."""
    if name == "fgsm":
        return A.fgsm(net, X, y, epsilon, clamp=clamp)
    if name == "pgd":
        return A.pgd(net, X, y, epsilon, alpha * 100, num_iter, clamp=clamp)
    if name == "pgd_linf_rand":
        return A.pgd_linf_rand(net, X, y, epsilon, alpha, num_iter, 2, clamp=clamp,
                               generator=torch.Generator().manual_seed(seed))
    if name in ("pgd_linf_targ", "pgd_linf_targ2"):
        return getattr(A, name)(net, X, y, epsilon, alpha, num_iter, 3, clamp=clamp)
    return getattr(A, name)(net, X, y, epsilon, alpha, num_iter, clamp=clamp)


ALL = ["fgsm", "pgd", "pgd_linf", "pgd_linf_rand", "pgd_linf_targ", "pgd_linf_targ2", "pgd_l2"]

# --- the building blocks -------------------------------------------------------------


def test_steepest_direction_linf_is_sign_and_l2_is_unit():
    g = torch.tensor([[[3.0, -4.0]], [[0.0, 0.0]]])
    assert torch.equal(A.steepest_direction(g, "linf"), g.sign())
    d = A.steepest_direction(g, "l2")
    assert torch.allclose(d[0], torch.tensor([[0.6, -0.8]]))
    assert torch.equal(d[1], torch.zeros(1, 2))  # zero gradient: zero step, not NaN


@given(seed=st.integers(0, 10_000), epsilon=st.floats(0, 3), norm=st.sampled_from(["linf", "l2"]))
@settings(**SETTINGS)
def test_steepest_direction_maximises_inner_product(seed, epsilon, norm):
    g = torch.randn(3, 6, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    v = A.steepest_direction(g, norm)
    dual = g.abs().sum(1) if norm == "linf" else g.norm(dim=1)  # max of v.g over the unit ball
    assert torch.allclose((v * g).sum(1), dual)


@given(seed=st.integers(0, 10_000), epsilon=st.floats(0, 3), norm=st.sampled_from(["linf", "l2"]))
@settings(**SETTINGS)
def test_project_ball_lands_inside_and_keeps_inside_points(seed, epsilon, norm):
    d = 3 * torch.randn(4, 1, 3, 3, generator=torch.Generator().manual_seed(seed))
    p = A.project_ball(d, epsilon, norm)
    size = p.flatten(1).abs().amax(1) if norm == "linf" else p.flatten(1).norm(dim=1)
    assert (size <= epsilon * (1 + 1e-6) + 1e-6).all()
    inside = A.project_ball(p, epsilon, norm)
    assert torch.allclose(inside, p, atol=1e-6)


def test_project_ball_l2_radius_zero_gives_zero():
    assert torch.equal(A.project_ball(torch.zeros(2, 3), 0.0, "l2"), torch.zeros(2, 3))
    assert torch.equal(A.project_ball(torch.ones(2, 3), 0.0, "l2"), torch.zeros(2, 3))


@given(seed=st.integers(0, 10_000))
@settings(**SETTINGS)
def test_clamp_images_keeps_valid_images(seed):
    X, _ = batch(seed, 3)
    d = torch.randn(X.shape, generator=torch.Generator().manual_seed(seed + 1))
    Xa = X + A.clamp_images(X, d)
    assert Xa.min() >= 0 and Xa.max() <= 1


# --- properties of every attack --------------------------------------------------------


@given(name=st.sampled_from(ALL), seed=st.integers(0, 10_000), n=st.integers(1, 5),
       epsilon=st.floats(0, 0.5), alpha=st.floats(0, 0.2), num_iter=st.integers(0, 4),
       clamp=st.booleans())
@settings(**SETTINGS)
def test_attacks_stay_in_the_ball_and_the_image_domain(name, seed, n, epsilon, alpha, num_iter, clamp):
    net = small_net(seed)
    X, y = batch(seed, n)
    X_before = X.clone()
    if name == "pgd_l2":
        epsilon *= 4
    delta = run_attack(name, net, X, y, epsilon, alpha, num_iter, clamp, seed)
    assert torch.equal(X, X_before), "the attack modified X"
    assert delta.shape == X.shape and delta.dtype == X.dtype
    if name == "pgd_l2":
        assert (delta.flatten(1).norm(dim=1) <= epsilon + 1e-6).all()
    else:
        assert delta.abs().max() <= torch.tensor(epsilon, dtype=X.dtype)
    if clamp:
        assert (X + delta).min() >= 0 and (X + delta).max() <= 1


@given(seed=st.integers(0, 10_000), restarts=st.integers(2, 4), clamp=st.booleans())
@settings(**SETTINGS)
def test_restarts_never_worse_than_a_single_run_from_the_same_start(seed, restarts, clamp):
    # float64, so that running the restarts as one batch cannot flip a gradient sign by rounding
    net = small_net(seed).double()
    X, y = batch(seed, 6)
    X = X.double()
    one = A.pgd_linf_rand(net, X, y, 0.2, 0.05, 3, 1, clamp=clamp,
                          generator=torch.Generator().manual_seed(seed))
    many = A.pgd_linf_rand(net, X, y, 0.2, 0.05, 3, restarts, clamp=clamp,
                           generator=torch.Generator().manual_seed(seed))
    loss_one = A.per_example_loss(net, X, y, one)
    loss_many = A.per_example_loss(net, X, y, many)
    assert (loss_many >= loss_one).all()


def test_best_per_example_picks_the_highest_loss_and_the_first_on_ties():
    net = small_net(7)
    X, y = batch(7, 4)
    deltas = torch.stack([torch.zeros_like(X), torch.zeros_like(X), 0.3 * torch.randn(X.shape).clamp(-1, 1)])
    best = A.best_per_example(net, X, y, deltas)
    losses = torch.stack([A.per_example_loss(net, X, y, d) for d in deltas])
    for i in range(4):
        k = 2 if losses[2, i] > losses[0, i] else 0
        assert torch.equal(best[i], deltas[k, i])


def test_with_restarts_passes_its_loss_on_to_the_attack():
    # a targeted objective must drive every restart, not only the choice among them
    net = small_net(5).double()
    X, y = batch(5, 4)
    X = X.double()
    target = lambda logits, yy: logits[:, 3] - logits.gather(1, yy[:, None])[:, 0]
    g = torch.Generator().manual_seed(5)
    starts = [(0.2 * (2 * torch.rand(X.shape, generator=g, dtype=X.dtype) - 1)) for _ in range(3)]
    got = A.with_restarts(A.projected_steepest_ascent, iter(starts).__next__, 3, net, X, y, 0.2, 0.05, 6,
                          loss_fn=target)
    runs = torch.stack([A.projected_steepest_ascent(net, X, y, 0.2, 0.05, 6, loss_fn=target, delta_init=s)
                        for s in starts])
    assert torch.allclose(got, A.best_per_example(net, X, y, runs, target), atol=1e-12)


def test_keep_best_returns_the_best_iterate_visited():
    net = small_net(6).double()
    X, y = batch(6, 5)
    X = X.double()
    deltas = []
    for steps in range(7):                      # every iterate of one run, the start included
        deltas.append(A.projected_steepest_ascent(net, X, y, 0.3, 0.2, steps))
    best = A.projected_steepest_ascent(net, X, y, 0.3, 0.2, 6, keep_best=True)
    assert torch.allclose(best, A.best_per_example(net, X, y, torch.stack(deltas)), atol=1e-12)
    losses = A.per_example_loss(net, X, y, best)
    assert (losses >= A.per_example_loss(net, X, y, deltas[-1]) - 1e-12).all()


def test_fgsm_is_one_clipped_sign_step_of_the_linf_engine():
    net = small_net(1)
    X, y = batch(1, 4)
    Xg = X.clone().requires_grad_(True)
    nn.functional.cross_entropy(net(Xg), y, reduction="sum").backward()
    expected = 0.1 * Xg.grad.sign()
    assert torch.equal(A.fgsm(net, X, y, 0.1, clamp=False), expected)
    assert torch.equal(A.fgsm(net, X, y, 0.1), A.clamp_images(X, expected))


def test_gradient_does_not_depend_on_batch_size():
    net = small_net(2)
    X, y = batch(2, 6)
    full = A.pgd(net, X, y, 0.1, 50.0, 3)
    first = A.pgd(net, X[:2], y[:2], 0.1, 50.0, 3)
    assert torch.allclose(full[:2], first, atol=1e-6)


def test_model_mode_restored_and_no_parameter_gradients():
    net = small_net(3, requires_grad=True).train()
    X, y = batch(3, 4)
    A.pgd_linf(net, X, y, 0.1, 0.02, 3)
    A.pgd_l2(net, X, y, 1.0, 0.2, 3)
    assert net.training
    assert all(p.grad is None for p in net.parameters())


def test_targeted_objectives_raise_their_objective():
    net = small_net(4, width=16)
    X, y = batch(4, 8)
    targets = torch.full_like(y, 3)
    for attack, objective in ((A.pgd_linf_targ, lambda z: A.target_margin(z, y, targets)),
                              (A.pgd_linf_targ2, lambda z: A.target_vs_all(z, targets))):
        delta = attack(net, X, y, 0.2, 0.02, 20, 3)
        with torch.no_grad():
            before, after = objective(net(X)), objective(net(X + delta))
        assert (after >= before - 1e-5).all() and (after > before).any()


def test_target_may_be_a_tensor_per_example():
    net = small_net(5)
    X, y = batch(5, 4)
    a = A.pgd_linf_targ(net, X, y, 0.1, 0.02, 3, torch.tensor([2, 2, 2, 2]))
    b = A.pgd_linf_targ(net, X, y, 0.1, 0.02, 3, 2)
    assert torch.equal(a, b)


# --- bad input --------------------------------------------------------------------------

BAD = [
    ("epsilon", dict(epsilon=-0.1)), ("epsilon", dict(epsilon=math.nan)), ("epsilon", dict(epsilon=math.inf)),
    ("alpha", dict(alpha=-1.0)), ("alpha", dict(alpha=math.nan)),
    ("num_iter", dict(num_iter=-1)), ("num_iter", dict(num_iter=2.5)),
]


@pytest.mark.parametrize("argument,override", BAD)
@pytest.mark.parametrize("name", ["pgd", "pgd_linf", "pgd_linf_rand", "pgd_linf_targ", "pgd_linf_targ2", "pgd_l2"])
def test_bad_numbers_name_the_argument(name, argument, override):
    net = small_net(0)
    X, y = batch(0, 3)
    kw = dict(epsilon=0.1, alpha=0.01, num_iter=2) | override
    args = (net, X, y, kw["epsilon"], kw["alpha"], kw["num_iter"])
    extra = {"pgd_linf_rand": (2,), "pgd_linf_targ": (1,), "pgd_linf_targ2": (1,)}.get(name, ())
    with pytest.raises(ValueError, match=argument):
        getattr(A, name)(*args, *extra)


def test_bad_fgsm_epsilon():
    net = small_net(0)
    X, y = batch(0, 3)
    for eps in (-0.1, math.nan, math.inf, "big"):
        with pytest.raises(ValueError, match="epsilon"):
            A.fgsm(net, X, y, eps)


@pytest.mark.parametrize("restarts", [0, -1, 1.5, True])
def test_bad_restarts(restarts):
    net = small_net(0)
    X, y = batch(0, 3)
    with pytest.raises(ValueError, match="restarts"):
        A.pgd_linf_rand(net, X, y, 0.1, 0.01, 2, restarts)


@pytest.mark.parametrize("y_targ", [-1, 5, 10, torch.tensor([0, 1, 7]), "two", 2.0])
@pytest.mark.parametrize("attack", [A.pgd_linf_targ, A.pgd_linf_targ2])
def test_bad_targets(attack, y_targ):
    net = small_net(0)  # 5 classes
    X, y = batch(0, 3)
    with pytest.raises(ValueError, match="y_targ"):
        attack(net, X, y, 0.1, 0.01, 2, y_targ)


@pytest.mark.parametrize("name", ALL)
def test_images_outside_the_unit_interval_and_mismatched_labels(name):
    net = small_net(0)
    X, y = batch(0, 3)
    with pytest.raises(ValueError, match="X"):
        run_attack(name, net, X + 1.5, y, 0.1, 0.01, 1, True)
    with pytest.raises(ValueError, match="X"):
        run_attack(name, net, X - 0.5, y, 0.1, 0.01, 1, True)
    with pytest.raises(ValueError, match="y"):
        run_attack(name, net, X, y[:2], 0.1, 0.01, 1, True)


def test_bad_norm_and_limit():
    with pytest.raises(ValueError, match="norm"):
        A.project_ball(torch.zeros(1, 2), 0.1, "l1")
    X, y = batch(0, 3)
    with pytest.raises(ValueError, match="limit"):
        epoch_adversarial(small_net(0), tensor_loader(X, y), zero_attack, limit=0, progress=False)


# --- the shipped models on a fixed subset ----------------------------------------------------


@pytest.fixture(scope="module")
def mnist_subset():
    from course_utils.data import eval_subset
    return eval_subset(200)


@pytest.fixture(scope="module")
def dnn2():
    from course_utils.models import load_model
    return load_model("dnn2", device="cpu")


def test_epsilon_zero_gives_the_clean_error(dnn2, mnist_subset):
    X, y = mnist_subset
    loader = tensor_loader(X, y)
    clean = epoch_adversarial(dnn2, loader, zero_attack, progress=False)
    for attack, args in ((A.fgsm, (0.0,)), (A.pgd_linf, (0.0, 0.01, 5)), (A.pgd_l2, (0.0, 0.1, 5))):
        assert epoch_adversarial(dnn2, loader, attack, *args, progress=False) == pytest.approx(clean)


@pytest.mark.parametrize("clamp", [True, False])
def test_pgd_at_least_as_strong_as_fgsm(dnn2, mnist_subset, clamp):
    X, y = mnist_subset
    loader = tensor_loader(X, y)
    err_fgsm, _ = epoch_adversarial(dnn2, loader, A.fgsm, 0.1, clamp=clamp, progress=False)
    err_pgd, _ = epoch_adversarial(dnn2, loader, A.pgd_linf, 0.1, 0.01, 40, clamp=clamp, progress=False)
    assert err_pgd >= err_fgsm
    assert err_fgsm > 0.5  # the chapter: dense nets are badly fooled at eps 0.1


def test_clamp_lowers_the_error(dnn2, mnist_subset):
    X, y = mnist_subset
    loader = tensor_loader(X, y)
    on, _ = epoch_adversarial(dnn2, loader, A.fgsm, 0.1, progress=False)
    off, _ = epoch_adversarial(dnn2, loader, A.fgsm, 0.1, clamp=False, progress=False)
    assert off > on


def test_targeted_pgd_raises_the_target_margin_on_dnn2(dnn2, mnist_subset):
    X, y = mnist_subset[0][:50], mnist_subset[1][:50]
    delta = A.pgd_linf_targ(dnn2, X, y, 0.2, 1e-2, 40, 2)
    targets = torch.full_like(y, 2)
    with torch.no_grad():
        before = A.target_margin(dnn2(X), y, targets)
        after = A.target_margin(dnn2(X + delta), y, targets)
    keep = y != 2
    assert (after[keep] > before[keep]).all()
    assert (dnn2(X + delta).argmax(1)[keep] == 2).float().mean() > 0.5


def test_epoch_adversarial_limit(dnn2, mnist_subset):
    X, y = mnist_subset
    loader = tensor_loader(X, y, batch_size=64)
    err, loss = epoch_adversarial(dnn2, loader, zero_attack, limit=70, progress=False)
    with torch.no_grad():
        yp = dnn2(X[:70])
    assert err == pytest.approx((yp.argmax(1) != y[:70]).float().mean().item())
    assert loss == pytest.approx(nn.functional.cross_entropy(yp, y[:70]).item(), rel=1e-5)
