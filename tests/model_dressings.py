"""Ways to make a plain ``nn.Sequential`` one the verifiers must refuse (issue 19), each
with its remedy, for tests/test_model_guard.py and the fuzz of tests/test_guarantees.py.

``DRESSINGS[name]`` is ``(dress, reason)``: ``dress(model)`` is a context manager that
yields ``(dressed, remedy)`` and undoes what it changed globally on exit; ``remedy()``,
called after the exit, returns a model the verifiers accept (the hook removed, a plain
``nn.Sequential`` of the same layers, a float32 copy, the model as it was); ``reason``
is a regex of the refusal's message. ``ACCEPTED_DRESSINGS`` change the model in ways
that leave its values alone: they must be accepted and verified as called.
"""

from __future__ import annotations

import copy
import math
from contextlib import contextmanager

import torch
import torch.nn as nn
from torch.nn.modules import module as torch_module


def affine(model, which: int = 0) -> int:
    """The index of the model's ``which``-th affine (Linear or Conv2d) layer (-1: the last)."""
    return [i for i, m in enumerate(model) if isinstance(m, (nn.Linear, nn.Conv2d))][which]


class Gated(nn.Sequential):
    """The issue's gated subclass: a forward of its own around the layers."""

    def forward(self, x):
        out = super().forward(x)
        return out * (out > 0)


class Reversed(nn.Sequential):
    def __iter__(self):
        return reversed(list(self._modules.values()))


class Called(nn.Sequential):
    def __call__(self, x):
        return -super().__call__(x)


class Scaled(nn.Linear):
    def forward(self, x):
        return 2 * super().forward(x)


class Tagged(torch.Tensor):
    pass


class Named(nn.Sequential):
    """A harmless subclass: its own __init__, a method and a move of its own, no forward."""

    def __init__(self, *layers, title="net"):
        super().__init__(*layers)
        self.title = title

    def describe(self):
        return f"{self.title}: {len(self)} layers"

    def to(self, *args, **kwargs):
        return super().to(*args, **kwargs)


@contextmanager
def hook(model, where="model", pre=False):
    target = model if where == "model" else model[affine(model, -1)]
    handle = (target.register_forward_pre_hook(lambda m, a: (a[0] * 2,)) if pre
              else target.register_forward_hook(lambda m, a, out: -out))
    try:
        yield model, lambda: model
    finally:
        handle.remove()


@contextmanager
def global_hook(model, pre=False):
    handle = (torch_module.register_module_forward_pre_hook(lambda m, a: None) if pre
              else torch_module.register_module_forward_hook(lambda m, a, out: None))
    try:
        yield model, lambda: model
    finally:
        handle.remove()


@contextmanager
def subclass(model, cls=Gated):
    yield cls(*model), lambda: nn.Sequential(*model)


@contextmanager
def layer_subclass(model):
    i = affine(model, -1)
    old = model[i]
    if not isinstance(old, nn.Linear):
        raise ValueError("layer_subclass needs a Linear last layer")
    new = Scaled(old.in_features, old.out_features, bias=old.bias is not None).to(old.weight.dtype)
    new.load_state_dict(old.state_dict())
    model[i] = new

    def remedy():
        model[i] = old
        return model
    yield model, remedy


@contextmanager
def instance(model, attribute="forward", where="model"):
    target = model if where == "model" else model[affine(model)]
    setattr(target, attribute, lambda *a: None)
    yield model, lambda: (delattr(target, attribute), model)[1]


@contextmanager
def patched_class(model):
    original = nn.Linear.forward
    nn.Linear.forward = lambda self, x: 2 * original(self, x)
    try:
        yield model, lambda: model
    finally:
        nn.Linear.forward = original


@contextmanager
def dtype(model, to):
    yield model.to(to), lambda: copy.deepcopy(model).float()


@contextmanager
def replaced(model, change):
    """``change(model)`` in place; the remedy is a copy of the model from before."""
    before = copy.deepcopy(model)
    yield change(model), lambda: before


def _nan(model):
    with torch.no_grad():
        model[affine(model)].weight.view(-1)[0] = math.nan
    return model


def _meta(model):
    return model.to("meta")


def _lazy(model):
    i = affine(model)
    model[i] = nn.LazyLinear(model[i].out_features)
    return model


def _tensor_subclass(model):
    layer = model[affine(model)]
    weight = layer.weight
    del layer.weight
    layer.weight = torch.Tensor._make_subclass(Tagged, weight.detach())
    return model


@contextmanager
def mixed(model):
    kind = next(model.parameters()).dtype
    model[affine(model, -1)].to(torch.float64 if kind == torch.float32 else torch.float32)
    yield model, lambda: model.to(kind)


@contextmanager
def autocast(model):
    with torch.autocast("cpu", dtype=torch.bfloat16):
        yield model, lambda: model


DRESSINGS = {
    "forward hook": (lambda m: hook(m), r"has 1 forward hook\(s\) \(register_forward_hook\)"),
    "forward pre-hook": (lambda m: hook(m, pre=True), r"has 1 forward pre-hook\(s\) \(register_forward_pre_hook\)"),
    "layer forward hook": (lambda m: hook(m, "layer"), r"^layer \d+ \(\w+\) of model has 1 forward hook"),
    "layer forward pre-hook": (lambda m: hook(m, "layer", pre=True),
                               r"^layer \d+ \(\w+\) of model has 1 forward pre-hook"),
    "global forward hook": (lambda m: global_hook(m), r"global module hook is registered \(torch.nn.modules.module."
                                                      r"register_module_forward_hook\)"),
    "global forward pre-hook": (lambda m: global_hook(m, pre=True), r"register_module_forward_pre_hook"),
    "subclass forward": (lambda m: subclass(m), r"^model is a Gated, a subclass of nn.Sequential that overrides "
                                                r"forward: .*nn.Sequential\(\*model\)"),
    "subclass __iter__": (lambda m: subclass(m, Reversed), r"^model is a Reversed, .* overrides __iter__"),
    "subclass __call__": (lambda m: subclass(m, Called), r"^model is a Called, .* overrides __call__"),
    "layer subclass forward": (lambda m: layer_subclass(m), r"^layer \d+ \(Scaled\) of model is a Scaled, a subclass "
                                                            r"of nn.Linear that overrides forward"),
    "forward on the instance": (lambda m: instance(m), r"^model has its own 'forward' set on the instance"),
    "_call_impl on the instance": (lambda m: instance(m, "_call_impl"), r"own '_call_impl' set on the instance"),
    "forward on a layer instance": (lambda m: instance(m, where="layer"),
                                    r"^layer \d+ \(\w+\) of model has its own 'forward'"),
    "nn.Linear.forward replaced": (patched_class, r"torch.nn.modules.linear.Linear.forward has been replaced"),
    "bfloat16": (lambda m: dtype(m, torch.bfloat16), r"of model is torch.bfloat16: the verifiers compute in float64.*"
                                                     r"copy.deepcopy\(model\).float\(\) \(or .double\(\)\)"),
    "float16": (lambda m: dtype(m, torch.float16), r"is torch.float16: the verifiers compute in float64"),
    "meta device": (lambda m: replaced(m, _meta), r"of model is on the meta device"),
    "NaN weight": (lambda m: replaced(m, _nan), r"of model holds NaN or infinite values"),
    "lazy layer": (lambda m: replaced(m, _lazy), r"\(LazyLinear\) of model is not initialised yet \(a lazy layer\)"),
    "tensor subclass weight": (lambda m: replaced(m, _tensor_subclass), r"of model is a Tagged"),
    "two dtypes": (mixed, r"^model's weights must share one dtype and one device"),
    "autocast": (autocast, r"torch.autocast is on for 'cpu'"),
}


@contextmanager
def backward_hooks(model):
    handles = [model.register_full_backward_hook(lambda m, grad_in, grad_out: None),
               model[affine(model)].register_full_backward_pre_hook(lambda m, grad_out: None)]
    try:
        yield model
    finally:
        for h in handles:
            h.remove()


@contextmanager
def harmless_subclass(model):
    yield Named(*model)


ACCEPTED_DRESSINGS = {"harmless subclass": harmless_subclass, "backward hooks": backward_hooks}
