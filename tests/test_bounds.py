"""Interval and linear bound propagation (course_utils.bounds) and the lowered network
(course_utils.network, course_utils.layers): soundness on random small ReLU networks,
the conv-unrolling identity, and clear errors on bad input."""

import math

import pytest
import torch
import torch.nn as nn
from hypothesis import given, settings, strategies as st

from course_utils.bounds import bound_propagation, crown_bounds, interval_based_bound, linear_bounds, objective_matrix
from course_utils.network import lower
from dense_unrolling import dense_layers, dense_twin as _dense_twin

SHAPE = (1, 5, 5)


def fc_net(seed: int, widths=(7, 5), classes=3) -> nn.Sequential:
    torch.manual_seed(seed)
    layers, n = [nn.Flatten()], 25
    for w in widths:
        layers += [nn.Linear(n, w), nn.ReLU()]
        n = w
    layers.append(nn.Linear(n, classes))
    return nn.Sequential(*layers).double().eval()


def conv_net(seed: int, stride=2, padding=1, dilation=1, groups=1) -> nn.Sequential:
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Conv2d(1, 2, 3, stride=1, padding=1), nn.ReLU(),
                        nn.Conv2d(2, 2, 3, stride=stride, padding=padding, dilation=dilation, groups=groups),
                        nn.ReLU(), nn.Flatten())
    n = net(torch.zeros(1, *SHAPE)).shape[1]
    net.append(nn.Linear(n, 3))
    return net.double().eval()


def random_box(seed: int, batch: int = 2):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(batch, *SHAPE, generator=g, dtype=torch.float64)
    eps = 0.3 * torch.rand(1, generator=g, dtype=torch.float64).item()
    return (x - eps).clamp(min=0), (x + eps).clamp(max=1)


def samples(box, n=64, seed=0):
    l, u = box
    g = torch.Generator().manual_seed(seed)
    U = torch.rand(n, *l.shape, generator=g, dtype=l.dtype)
    U[0], U[1] = 0, 1                                  # the corners too
    return l + U * (u - l)                             # (n, batch, ...)


NETS = st.sampled_from(["fc", "conv", "conv_dilated", "conv_groups"])


def make(kind, seed):
    return {"fc": lambda: fc_net(seed), "conv": lambda: conv_net(seed),
            "conv_dilated": lambda: conv_net(seed, stride=1, padding=2, dilation=2),
            "conv_groups": lambda: conv_net(seed, stride=1, padding=0, groups=2)}[kind]()


def dense_twin(model, shape=SHAPE):
    """The same network with every layer an nn.Linear on flattened inputs (a test helper)."""
    return _dense_twin(model, shape)


@settings(max_examples=12, deadline=None)
@given(kind=NETS, seed=st.integers(0, 10_000))
def test_interval_bounds_contain_every_layer_output(kind, seed):
    model = make(kind, seed)
    box = random_box(seed)
    bounds = bound_propagation(model, box)
    assert len(bounds) == len(model)
    z = samples(box).flatten(0, 1)                      # (n * batch, ...)
    for layer, (l, u) in zip(model, bounds):
        z = layer(z)
        zz = z.reshape(-1, *l.shape)
        assert (l - 1e-9 <= zz).all() and (zz <= u + 1e-9).all()


@settings(max_examples=12, deadline=None)
@given(kind=NETS, seed=st.integers(0, 10_000))
def test_interval_based_bound_and_linear_bounds_are_sound(kind, seed):
    model = make(kind, seed)
    box = random_box(seed)
    C = objective_matrix(0, 3)
    lower = interval_based_bound(model, C, bound_propagation(model, box))
    pre, crown = linear_bounds(model, box, C)
    assert lower.shape == crown.shape == (2, 3)
    value = (model(samples(box).flatten(0, 1)) @ C).reshape(-1, 2, 3)
    assert (lower <= value + 1e-9).all()
    assert (crown <= value + 1e-9).all()
    # the objective for the true class is identically zero
    assert torch.allclose(lower[:, 0], torch.zeros(2, dtype=lower.dtype), atol=1e-12)


@settings(max_examples=10, deadline=None)
@given(kind=st.sampled_from(["conv", "conv_dilated", "conv_groups"]), seed=st.integers(0, 10_000))
def test_conv_bounds_equal_bounds_of_the_unrolled_dense_net(kind, seed):
    model = make(kind, seed)
    box = random_box(seed)
    affine = dense_layers(model, SHAPE)
    dense = dense_twin(model)
    # in the twin, affine layer k sits at 1 + 2k (Flatten first, a ReLU after each)
    twin_positions = [1 + 2 * k for k in range(len(affine))]
    conv_bounds = bound_propagation(model, box)
    dense_bounds = bound_propagation(dense, box)
    for (i, _, _), j in zip(affine, twin_positions):
        for a, b in zip(conv_bounds[i], dense_bounds[j]):
            assert torch.allclose(a.flatten(1), b, atol=1e-10)


def test_chapter_shapes_on_an_mnist_sized_batch():
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 20), nn.ReLU(), nn.Linear(20, 10))
    X = torch.rand(4, 1, 28, 28)
    bounds = bound_propagation(model, ((X - 0.1).clamp(min=0), (X + 0.1).clamp(max=1)))
    assert [tuple(l.shape) for l, _ in bounds] == [(4, 784), (4, 20), (4, 20), (4, 10)]
    assert interval_based_bound(model, objective_matrix(3), bounds).shape == (4, 10)


def test_the_chapters_own_flatten_module_is_accepted():
    class Flatten(nn.Module):
        def forward(self, x):
            return x.view(x.shape[0], -1)
    model = nn.Sequential(Flatten(), nn.Linear(25, 3))
    box = random_box(0)
    l, u = bound_propagation(model, tuple(t.float() for t in box))[-1]
    assert l.shape == (2, 3) and (l <= u).all()


@pytest.mark.parametrize("make_box, message", [
    (lambda l: (l + 0.1, l), "l > u"),
    (lambda l: (l * math.nan, l), "finite"),
    (lambda l: (l, l + math.inf), "finite"),
    (lambda l: (l, l[:, :, :3]), "same shape"),
    (lambda l: l, "pair"),
])
def test_bad_boxes_raise_clear_errors(make_box, message):
    l = torch.zeros(1, *SHAPE)
    with pytest.raises(ValueError, match=message):
        bound_propagation(fc_net(0), make_box(l))


@pytest.mark.parametrize("layer", [nn.Tanh(), nn.MaxPool2d(2), nn.BatchNorm2d(1)])
def test_unsupported_layers_are_named(layer):
    model = nn.Sequential(layer, nn.Flatten(), nn.LazyLinear(3))
    box = (torch.zeros(1, *SHAPE), torch.ones(1, *SHAPE))
    for compute in (bound_propagation, linear_bounds):
        with pytest.raises(NotImplementedError, match=f"layer 0 \\({type(layer).__name__}"):
            compute(model, box)


@pytest.mark.parametrize("model, message", [
    (lambda: nn.Sequential(nn.Flatten(), nn.Linear(25, 4), nn.Linear(4, 3)), "layer 2 .Linear. follows"),
    (lambda: nn.Sequential(nn.Flatten(), nn.ReLU(), nn.Linear(25, 3)), "layer 1 .ReLU. must follow"),
    (lambda: nn.Sequential(nn.Flatten(), nn.Linear(25, 4), nn.ReLU()), "must end with a Linear"),
    (lambda: nn.Sequential(nn.Flatten(start_dim=2), nn.Linear(5, 3)), "layer 0 .Flatten.: only start_dim=1"),
    (lambda: nn.Sequential(nn.Conv2d(1, 2, 3, padding=1, padding_mode="circular"), nn.ReLU(), nn.Flatten(),
                           nn.Linear(50, 3)), "layer 0 .Conv2d.: padding_mode='circular'"),
    (lambda: nn.Sequential(nn.Conv2d(1, 2, 3, padding="same"), nn.ReLU(), nn.Flatten(), nn.Linear(50, 3)),
     "layer 0 .Conv2d.: padding='same'"),
])
def test_structures_the_programs_cannot_encode_are_named(model, message):
    with pytest.raises(NotImplementedError, match=message):
        lower(model(), SHAPE)


def test_the_lowered_network_maps_modules_to_layers_and_computes_like_the_model():
    model = make("conv", 4)
    net = lower(model, SHAPE)
    assert [layer.index for layer in net.layers] == [0, 2, 5]
    assert [net.position(i) for i in (0, 2, 5)] == [0, 1, 2] and net.widths == [50, 18]
    with pytest.raises(ValueError, match="module 1"):
        net.position(1)
    x = random_box(4, 1)[0]
    pre = net.pre_activations(x.reshape(-1).numpy())
    z, k = x, 0
    for layer in model:
        z = layer(z)
        if isinstance(layer, (nn.Linear, nn.Conv2d)):
            assert torch.allclose(torch.as_tensor(pre[k]), z.flatten(1)[0], atol=1e-12)
            k += 1
    # the chapter's per-module bounds, picked out for the solvers
    bounds = bound_propagation(model, random_box(4))
    for k, (l, u) in enumerate(net.hidden_bounds(bounds, box=1)):
        assert (l == bounds[net.layers[k].index][0][1].flatten().numpy()).all()


def test_lowering_copies_the_weights_and_leaves_the_model_alone():
    model = make("conv", 5)
    before = [p.detach().clone() for p in model.parameters()]
    net = lower(model, SHAPE, dtype=torch.float32)
    net.layers[0].weight.add_(1.0)                                       # a copy: the model is untouched
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), before))
    assert all(p.dtype == torch.float64 for p in model.parameters())


def test_interval_based_bound_checks_c():
    model = fc_net(0)
    bounds = bound_propagation(model, random_box(0))
    with pytest.raises(ValueError, match="c must have shape"):
        interval_based_bound(model, torch.ones(4, 2), bounds)


# --- linear (CROWN-style) bounds on convolutions, and the sparse conv lowering ------------


@settings(max_examples=10, deadline=None)
@given(kind=st.sampled_from(["conv", "conv_dilated", "conv_groups"]), seed=st.integers(0, 10_000))
def test_linear_bounds_through_convolutions_equal_those_of_the_dense_twin(kind, seed):
    # CROWN pushes bounds back through transposed convolutions; on the unrolled dense
    # twin it multiplies matrices. Both must give the same numbers.
    model = make(kind, seed)
    box = random_box(seed)
    C = objective_matrix(1, 3)
    pre_conv, obj_conv = linear_bounds(model, box, C)
    pre_dense, obj_dense = linear_bounds(dense_twin(model), box, C)
    for (a, b), (c, d) in zip(pre_conv, pre_dense):
        assert torch.allclose(a, c, atol=1e-9) and torch.allclose(b, d, atol=1e-9)
    assert torch.allclose(obj_conv, obj_dense, atol=1e-9)


@settings(max_examples=10, deadline=None)
@given(kind=NETS, seed=st.integers(0, 10_000))
def test_crown_is_never_looser_than_intervals_and_per_box_objectives_work(kind, seed):
    model = make(kind, seed)
    box = random_box(seed)
    C = torch.stack([objective_matrix(0, 3), objective_matrix(2, 3)])       # one per box
    interval = interval_based_bound(model, C, bound_propagation(model, box))
    _, crown = linear_bounds(model, box, C)
    assert (crown >= interval - 1e-9).all()
    value = torch.einsum("nbk,bkm->nbm", model(samples(box).flatten(0, 1)).reshape(-1, 2, 3), C)
    assert (crown <= value + 1e-9).all()
    pre, _ = linear_bounds(model, box)
    z = samples(box).flatten(0, 1)
    k = 0
    for layer in model:
        z = layer(z)
        if isinstance(layer, (nn.Linear, nn.Conv2d)):
            zz = z.flatten(1).reshape(-1, 2, pre[k][0].shape[1])
            assert (pre[k][0] - 1e-9 <= zz).all() and (zz <= pre[k][1] + 1e-9).all()
            k += 1


@pytest.mark.parametrize("kind", ["fc", "conv", "conv_dilated", "conv_groups"])
def test_lowered_matrices_equal_the_dense_unrolling(kind):
    model = make(kind, 3)
    net = lower(model, SHAPE)
    for layer, (i, W, b) in zip(net.layers, dense_layers(model, SHAPE)):
        assert layer.index == i
        assert hasattr(layer.matrix, "toarray") == (layer.kind == "Conv2d")     # sparse only for convolutions
        S = layer.matrix.toarray() if hasattr(layer.matrix, "toarray") else layer.matrix
        assert torch.allclose(W, torch.as_tensor(S), atol=1e-12)
        assert torch.allclose(b, torch.as_tensor(layer.offset), atol=1e-12)


def test_crown_bounds_on_a_lowered_network_equal_linear_bounds():
    model, box = make("conv", 8), random_box(8)
    C = objective_matrix(2, 3)
    pre, obj = linear_bounds(model, box, C)
    pre2, obj2 = crown_bounds(lower(model, SHAPE), box, C)
    assert torch.equal(obj, obj2) and all(torch.equal(a, c) and torch.equal(b, d) for (a, b), (c, d) in zip(pre, pre2))


def test_crown_on_the_chapter_models_is_at_least_as_tight_as_intervals():
    from course_utils.data import eval_subset
    from course_utils.models import load_model
    from course_utils.threat import linf_box
    X, y = eval_subset(200)
    C = torch.stack([objective_matrix(int(t)) for t in y])
    for name in ("small", "dnn2", "dnn4"):
        model = load_model(name)
        for eps in (0.02, 0.05):
            box = linf_box(X.double(), eps)
            interval = interval_based_bound(model, C, bound_propagation(model, box))
            _, crown = linear_bounds(model, box, C)
            assert (crown >= interval - 1e-9).all(), (name, eps)
            assert (crown > interval + 1e-6).float().mean() > 0.5, (name, eps)   # and usually strictly


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_windowed_rows_through_three_convolutions_equal_the_dense_twin(seed):
    # rows of the third convolution go back as windows that reach past the 9x9 image
    # (stride 2 and padding on the way); the dense twin multiplies whole matrices
    torch.manual_seed(seed)
    shape = (1, 9, 9)
    model = nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(), nn.Conv2d(3, 4, 3, stride=2, padding=1), nn.ReLU(),
                          nn.Conv2d(4, 3, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(3 * 5 * 5, 3)).double()
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(2, *shape, generator=g, dtype=torch.float64)
    box = ((x - 0.1).clamp(min=0), (x + 0.1).clamp(max=1))
    C = objective_matrix(1, 3)
    pre_conv, obj_conv = linear_bounds(model, box, C, memory_mb=0.01)        # many small chunks too
    pre_dense, obj_dense = linear_bounds(_dense_twin(model, shape), box, C)
    assert any(((l < 0) & (u > 0)).any() for l, u in pre_conv[1:3])           # some rows went back
    for (a, b), (c, d) in zip(pre_conv, pre_dense):
        assert torch.allclose(a, c, atol=1e-9) and torch.allclose(b, d, atol=1e-9)
    assert torch.allclose(obj_conv, obj_dense, atol=1e-9)
