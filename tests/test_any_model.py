"""Attacks and evaluation on the models readers bring (issue 15 §3).

BatchNorm and Dropout layers left in training mode, calls from inside ``torch.no_grad()``
or ``torch.inference_mode()``, inputs of another floating dtype than the model's. The
reference for every check is the same model put in eval mode by hand: an attack or an
evaluation must give exactly what it gives there, leave every layer's mode and every
buffer as it found them, and compute its gradients whatever the caller's grad mode.
"""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn as nn

from course_utils import attacks as A
from course_utils.evaluate import epoch_adversarial, tensor_loader, zero_attack
from course_utils import models
from course_utils.surface import inner_max_1d
from course_utils.train import epoch

ALL = ["fgsm", "pgd", "pgd_linf", "pgd_linf_rand", "pgd_linf_targ", "pgd_linf_targ2", "pgd_l2"]


def dense_bn_net(seed: int = 0) -> nn.Sequential:
    """Dense net with BatchNorm1d and Dropout, in training mode, 5 classes."""
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Flatten(), nn.Linear(16, 12), nn.BatchNorm1d(12), nn.ReLU(),
                        nn.Dropout(0.5), nn.Linear(12, 5))
    _warm_up(net)
    return net.train()


def conv_bn_net(seed: int = 0) -> nn.Sequential:
    """Convolutional net with BatchNorm2d and Dropout2d, in training mode, 5 classes."""
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.Dropout2d(0.3),
                        nn.Flatten(), nn.Linear(64, 5))
    _warm_up(net)
    return net.train()


def _warm_up(net: nn.Module) -> None:
    """A few training-mode passes, so the running statistics differ from the batch's."""
    g = torch.Generator().manual_seed(99)
    with torch.no_grad():
        for _ in range(3):
            net.train()(torch.rand(8, 1, 4, 4, generator=g) * 0.5)


NETS = {"dense_bn": dense_bn_net, "conv_bn": conv_bn_net}


def batch(n: int = 6, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 1, 4, 4, generator=g), torch.randint(0, 5, (n,), generator=g)


def run(name: str, net: nn.Module, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """A named attack with small settings; pgd_linf_rand from a fixed seed, 3 restarts."""
    if name == "fgsm":
        return A.fgsm(net, X, y, 0.1)
    if name == "pgd":
        return A.pgd(net, X, y, 0.1, 5.0, 3)
    if name == "pgd_linf_rand":
        return A.pgd_linf_rand(net, X, y, 0.1, 0.02, 3, 3, generator=torch.Generator().manual_seed(7))
    if name in ("pgd_linf_targ", "pgd_linf_targ2"):
        return getattr(A, name)(net, X, y, 0.1, 0.02, 3, 2)
    if name == "pgd_l2":
        return A.pgd_l2(net, X, y, 0.5, 0.1, 3)
    return A.pgd_linf(net, X, y, 0.1, 0.02, 3)


def snapshot(net: nn.Module):
    """Every layer's mode and a copy of every parameter and buffer."""
    return [m.training for m in net.modules()], {k: v.clone() for k, v in net.state_dict().items()}


def assert_untouched(net: nn.Module, before) -> None:
    modes, state = snapshot(net)
    assert modes == before[0], "a layer's training mode was not restored"
    for key, value in state.items():
        assert torch.equal(value, before[1][key]), f"{key} changed (BatchNorm statistics updated?)"


# --- eval mode for every model call, modes and buffers restored --------------------------


@pytest.mark.parametrize("net_name", NETS)
@pytest.mark.parametrize("name", ALL)
def test_attack_on_a_training_mode_model_is_the_eval_mode_attack(name, net_name):
    net = NETS[net_name]()
    reference = copy.deepcopy(net).eval()
    X, y = batch()
    before = snapshot(net)
    delta = run(name, net, X, y)
    assert_untouched(net, before)
    assert torch.equal(delta, run(name, reference, X, y))
    assert torch.equal(run(name, net, X, y), delta)  # the same seed gives the same delta


def test_restart_selection_and_losses_in_eval_mode():
    net = dense_bn_net()
    reference = copy.deepcopy(net).eval()
    X, y = batch()
    deltas = 0.1 * torch.rand(3, *X.shape, generator=torch.Generator().manual_seed(3))
    before = snapshot(net)
    assert torch.equal(A.per_example_loss(net, X, y, deltas[0]), A.per_example_loss(reference, X, y, deltas[0]))
    assert torch.equal(A.best_per_example(net, X, y, deltas), A.best_per_example(reference, X, y, deltas))
    assert_untouched(net, before)


def test_mixed_layer_modes_are_restored_one_by_one():
    net = dense_bn_net()
    net[2].eval()  # a reader who froze BatchNorm but trains the rest
    X, y = batch()
    before = snapshot(net)
    for name in ALL:
        run(name, net, X, y)
    assert_untouched(net, before)


def test_modes_restored_after_an_interrupt_inside_the_loop():
    net = dense_bn_net()
    net[2].eval()
    before = snapshot(net)
    calls = []

    def interrupted_loss(logits, y):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return A.cross_entropy_loss(logits, y)

    X, y = batch()
    with pytest.raises(KeyboardInterrupt):
        A.projected_steepest_ascent(net, X, y, 0.1, 0.02, 5, loss_fn=interrupted_loss)
    assert_untouched(net, before)


@pytest.mark.parametrize("net_name", NETS)
def test_epoch_adversarial_evaluates_in_eval_mode_and_restores(net_name):
    net = NETS[net_name]()
    reference = copy.deepcopy(net).eval()
    X, y = batch(20, seed=1)
    loader = tensor_loader(X, y, batch_size=8)
    before = snapshot(net)
    for attack, args in ((zero_attack, ()), (A.pgd_linf, (0.1, 0.02, 3))):
        got = epoch_adversarial(net, loader, attack, *args, progress=False)
        assert got == epoch_adversarial(reference, loader, attack, *args, progress=False)
    assert_untouched(net, before)


def test_train_epoch_evaluates_in_eval_mode_and_restores():
    net = dense_bn_net()
    reference = copy.deepcopy(net).eval()
    X, y = batch(20, seed=2)
    loader = tensor_loader(X, y, batch_size=8)
    before = snapshot(net)
    assert epoch(loader, net) == epoch(loader, reference)
    assert_untouched(net, before)


def test_evaluating_restores_on_error():
    net = dense_bn_net()
    net[4].eval()
    before = snapshot(net)
    with pytest.raises(RuntimeError, match="boom"):
        with models.evaluating(net):
            assert not any(m.training for m in net.modules())
            raise RuntimeError("boom")
    assert_untouched(net, before)


# --- gradients whatever the caller's grad mode ---------------------------------------------


@pytest.mark.parametrize("context", ["no_grad", "inference_mode"])
@pytest.mark.parametrize("name", ALL)
def test_attacks_inside_no_grad_and_inference_mode(name, context):
    net = conv_bn_net().eval()
    X, y = batch()
    expected = run(name, net, X, y)
    with getattr(torch, context)():
        got = run(name, net, X, y)
        assert torch.is_grad_enabled() is False  # the caller's mode is back after the call
    assert torch.equal(got, expected)
    assert all(p.grad is None for p in net.parameters())


@pytest.mark.parametrize("name", ALL)
def test_inputs_made_in_inference_mode(name):
    net = dense_bn_net().eval()
    with torch.inference_mode():
        X, y = batch()
    assert X.is_inference()
    assert torch.equal(run(name, net, X, y), run(name, net, X.clone(), y.clone()))


def test_epoch_adversarial_and_train_epoch_inside_inference_mode():
    net = dense_bn_net().eval()
    X, y = batch(12)
    loader = tensor_loader(X, y, batch_size=5)
    expected = epoch_adversarial(net, loader, A.pgd_linf, 0.1, 0.02, 3, progress=False)
    with torch.inference_mode():
        assert epoch_adversarial(net, loader, A.pgd_linf, 0.1, 0.02, 3, progress=False) == expected


def test_a_model_built_in_inference_mode_is_refused_clearly():
    with torch.inference_mode():
        net = nn.Sequential(nn.Flatten(), nn.Linear(16, 5))
    X, y = batch()
    with pytest.raises(ValueError, match=r"inside torch.inference_mode\(\)"):
        A.pgd_linf(net, X, y, 0.1, 0.02, 2)


def test_inner_max_1d_inside_no_grad():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(1, 20), nn.ReLU(), nn.Dropout(0.5), nn.Linear(20, 1)).train()
    expected = inner_max_1d(copy.deepcopy(net).eval(), 0.3, 0.2, num=101)
    with torch.no_grad():
        assert inner_max_1d(net, 0.3, 0.2, num=101) == expected
    assert net.training


# --- inputs in another floating dtype than the model's --------------------------------------


@pytest.mark.parametrize("x_dtype,net_dtype", [(torch.float64, torch.float32), (torch.float32, torch.float64),
                                               (torch.float16, torch.float32)])
@pytest.mark.parametrize("name", ALL)
def test_inputs_of_another_dtype_than_the_model(name, x_dtype, net_dtype):
    net = dense_bn_net().eval().to(net_dtype)
    X, y = batch()
    X = X.to(x_dtype)
    delta = run(name, net, X, y)
    assert delta.dtype == x_dtype and delta.shape == X.shape
    # the guarantees hold in the caller's dtype, after rounding
    assert (X + delta).min() >= 0 and (X + delta).max() <= 1
    if name == "pgd_l2":
        assert (delta.double().flatten(1).norm(dim=1) <= 0.5 * (1 + 1e-3)).all()
    else:
        assert delta.abs().max() <= torch.tensor(0.1, dtype=x_dtype)
    # and the attack is the one the model computes in its own dtype
    same = run(name, net, X.to(net_dtype), y)
    assert torch.allclose(delta.double(), same.double(), atol=2e-3)


def test_epoch_adversarial_with_float64_batches_on_a_float32_model():
    net = dense_bn_net().eval()
    X, y = batch(10)
    expected = epoch_adversarial(net, tensor_loader(X, y), A.fgsm, 0.1, progress=False)
    got = epoch_adversarial(net, tensor_loader(X.double(), y), A.fgsm, 0.1, progress=False)
    assert got == pytest.approx(expected, rel=1e-6)
