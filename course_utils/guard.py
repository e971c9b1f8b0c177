"""What the verifiers accept: a model whose call computes exactly its module list, in a
dtype they compute in (notebooks 06-09; issue 19).

Every verifier reads a model as a list of layers (``network.lower``: ``Flatten``,
``Linear``, ``Conv2d``, ``ReLU``), while the attacks, the clean predictions and the
replays of a witness call the model itself. The two agree only when the call runs
nothing but those layers in turn. ``check_network`` is the one check of the
verification half (``network.lower``, ``bounds``, ``verify``, ``certified``,
``programs``, ``polytope`` and the widgets of notebooks 06-09 all reach it); it refuses,
with a ``ValueError`` that says why and what to do:

* a ``forward`` (or any method of the call path, ``CALL_PATH``) overridden in the
  ``nn.Sequential``'s class or in a layer's class, set on an instance, or replaced in
  PyTorch's own classes (the chapter's ``class Flatten(nn.Module)`` is accepted when its
  ``forward`` is one of the plain flattenings, e.g. ``x.view(x.shape[0], -1)``);
* forward hooks and forward pre-hooks, on the model or a layer, and the global ones of
  ``torch.nn.modules.module.register_module_forward_hook`` / ``..._pre_hook``;
* weights in a dtype other than float32 or float64 (float16, bfloat16, ...), in two
  dtypes or on two devices, on the meta device, not yet initialised (lazy layers),
  held in a tensor subclass, or holding NaN or infinite values;
* a call inside ``torch.autocast`` (the model would run in a lower precision).

Unsupported layer types keep their own ``NotImplementedError`` (``layers.rule_for``).
Backward hooks are accepted: they change gradients (so PGD's search), never the
model's values, and every attack is replayed on the model.

What a verdict is about. The lowering copies float32 and float64 weights into float64
exactly, and the box is computed in float64 from the exact input values, rounded
outward (``threat.float64_box``): "robust" proves that the network of the model's
weights, in exact arithmetic, keeps ``logit_y - logit_t > 0`` on a box that contains
the one asked for (up to the solvers' tolerances, about 1e-7, for the LP and MILP
steps). A float64 model computes that function up to float64 rounding; a float32 model
up to float32 rounding (a relative 6e-8 per operation, so a few 1e-6 of the logits'
scale on the course's networks, more under TF32 on a GPU): a proven bound smaller than
that does not settle the float32 model. "attacked" is always about the model as
called: its witness is a point of the requested box in the model's own dtype
(``threat.points_inside``) where the model's own margin is <= 0.
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn as nn

from .layers import FLATTEN, RULES, rule_for

CALL_PATH = ("__call__", "_wrapped_call_impl", "_call_impl", "forward", "_conv_forward", "__iter__",
             "__getattr__", "__getattribute__")
"""The methods a call of an ``nn.Sequential`` of the supported layers runs: each must be
PyTorch's own, inherited from one of ``TRUSTED``."""

TRUSTED = (nn.Module, nn.Sequential, nn.modules.conv._ConvNd, *RULES)
"""The classes whose methods the lowering mirrors."""

VERIFIED_DTYPES = (torch.float32, torch.float64)
"""The weight dtypes the verifiers hold exactly (in float64)."""


def _view_shape(self, x):
    return x.view(x.shape[0], -1)


def _view_size(self, x):
    return x.view(x.size(0), -1)


def _reshape_shape(self, x):
    return x.reshape(x.shape[0], -1)


def _reshape_size(self, x):
    return x.reshape(x.size(0), -1)


def _flatten_from_one(self, x):
    return x.flatten(1)


CHAPTER_FLATTENS = (_view_shape, _view_size, _reshape_shape, _reshape_size, _flatten_from_one)
"""The ``forward`` bodies of a hand-written ``Flatten`` that are accepted (the chapter's
is the first): the same bytecode, names and constants, whatever the argument's name."""


def _code_key(fn):
    code = getattr(fn, "__code__", None)
    if code is None or getattr(fn, "__closure__", None) or code.co_argcount != 2:
        return None
    consts = tuple(c for c in code.co_consts if c is not None and not isinstance(c, str))   # docstrings aside
    return code.co_code, code.co_names, consts, code.co_kwonlyargcount, code.co_flags & 0x0C


def is_chapter_flatten(forward) -> bool:
    """Whether ``forward`` (a function) is one of ``CHAPTER_FLATTENS``."""
    key = _code_key(forward)
    return key is not None and any(key == _code_key(ref) for ref in CHAPTER_FLATTENS)


def _is_torch_original(owner: type, name: str, fn) -> bool:
    """``fn``, found as ``owner.name``, is PyTorch's own method (not one patched in)."""
    qualname = getattr(fn, "__qualname__", "")
    return (owner in TRUSTED and str(getattr(fn, "__module__", "")).startswith("torch.nn.modules.")
            and qualname.split(".")[0] == owner.__name__)


def call_problem(module: nn.Module, what: str, flatten_rule: bool = False) -> Optional[str]:
    """Why calling ``module`` might not run what the lowering reads (``None``: it runs
    exactly that): a method of ``CALL_PATH`` set on the instance, overridden in a class
    of its own, or patched into PyTorch's classes. ``flatten_rule``: ``module`` is
    lowered as a Flatten, so the chapter's own ``forward`` is accepted."""
    shadowed = [name for name in CALL_PATH if name in vars(module)]
    if shadowed:
        return (f"{what} has its own {shadowed[0]!r} set on the instance, so calling it runs that function while "
                f"the verifiers read its layers; delete it (del <model>.{shadowed[0]}) to verify the layers")
    for name in CALL_PATH:
        owner = next((c for c in type(module).__mro__ if name in vars(c)), object)
        fn = vars(owner).get(name)
        if owner is object or _is_torch_original(owner, name, fn):
            continue
        if name == "forward" and flatten_rule and is_chapter_flatten(fn):
            continue
        if owner in TRUSTED:
            return (f"{owner.__module__}.{owner.__name__}.{name} has been replaced (by {fn!r}), so {what} does not "
                    f"compute what its layers say; restore PyTorch's own method to verify it")
        base = next(c for c in type(module).__mro__ if c in TRUSTED)
        return (f"{what} is a {type(module).__name__}, a subclass of nn.{base.__name__} that overrides {name}: the "
                f"verifiers read its layers and cannot know what that code computes. Verify a plain "
                f"nn.{base.__name__} of the same layers (e.g. nn.Sequential(*model)) if that is what it computes")
    return None


def hook_problem(module: nn.Module, what: str) -> Optional[str]:
    """Why ``module``'s forward hooks or forward pre-hooks refuse it (``None``: it has none)."""
    for hooks, kind in ((module._forward_pre_hooks, "forward pre-hook"), (module._forward_hooks, "forward hook")):
        if hooks:
            return (f"{what} has {len(hooks)} {kind}(s) (register_{kind.replace(' ', '_').replace('-', '_')}): a "
                    f"hook changes what the model computes, and the verifiers read only its layers; remove it "
                    f"(handle.remove()) before verifying")
    return None


def global_problem(device_type: str) -> Optional[str]:
    """Why every model call is altered right now: global module forward (pre-)hooks, or
    ``torch.autocast`` on for the CPU (where the bounds are computed) or for
    ``device_type`` (where the model runs) (``None``: neither)."""
    from torch.nn.modules import module as torch_module
    for hooks, kind in ((torch_module._global_forward_pre_hooks, "register_module_forward_pre_hook"),
                        (torch_module._global_forward_hooks, "register_module_forward_hook")):
        if hooks:
            return (f"a global module hook is registered (torch.nn.modules.module.{kind}): it runs in every "
                    f"model's call, and the verifiers read only the layers; remove it (handle.remove()) first")
    for kind in dict.fromkeys(("cpu", device_type)):
        if kind != "meta" and torch.is_autocast_enabled(kind):
            return (f"torch.autocast is on for {kind!r}: the model and the bounds would compute in a lower "
                    f"precision than the weights; run the verifiers outside the autocast block")
    return None


def weight_problem(layer: nn.Module, what: str) -> Optional[str]:
    """Why the weight and bias of an affine layer cannot be verified (``None``: they can):
    not initialised, a tensor subclass, on the meta device, a dtype the verifiers do not
    compute in, NaN or infinite values."""
    for part in ("weight", "bias"):
        t = getattr(layer, part, None)
        if t is None:
            continue
        where = f"the {part} of {what}"
        if isinstance(t, nn.parameter.UninitializedTensorMixin):
            return f"{where} is not initialised yet (a lazy layer): run the model once on an input first"
        if type(t) not in (torch.Tensor, nn.Parameter):
            return f"{where} is a {type(t).__name__}; the verifiers read plain tensors (torch.Tensor, nn.Parameter)"
        if t.device.type == "meta":
            return (f"{where} is on the meta device, which holds shapes but no values: materialise the model "
                    f"first (model.to_empty(device='cpu'), then load_state_dict)")
        if t.dtype not in VERIFIED_DTYPES:
            return (f"{where} is {t.dtype}: the verifiers compute in float64, which holds float32 and float64 "
                    f"weights exactly but cannot follow the model's {t.dtype} rounding. Verify a converted copy, "
                    f"copy.deepcopy(model).float() (or .double()): the verdicts are then about that copy")
        if not torch.isfinite(t.detach()).all():
            return f"{where} holds NaN or infinite values: no verdict about such a model means anything"
    return None


def check_logits(num_logits: int, name: str = "model") -> int:
    """``num_logits`` if a classifier with that many logits can be verified (at least 2),
    else a ``ValueError``: with one logit there is no other class to push the image to."""
    if num_logits < 2:
        raise ValueError(f"{name} must output at least 2 logits (one per class) to be verified, it outputs "
                         f"{num_logits}: with one class there is no other class to push an image to")
    return num_logits


def check_network(model, name: str = "model") -> nn.Sequential:
    """``model`` if the verifiers can prove facts about the model as it is called, else an
    error (the module's docstring lists the reasons): a ``ValueError`` that names the
    model (``name``), the layer and what to do, or ``layers.rule_for``'s
    ``NotImplementedError`` for a layer type without rules. Used by every entry point of
    the verification half; the model is neither run nor changed."""
    if not isinstance(model, nn.Sequential):
        raise ValueError(f"{name} must be an nn.Sequential of {', '.join(r.name for r in RULES.values())} "
                         f"layers (e.g. load_model('small')), got {type(model).__name__}")
    device = next((w.device for w in model.parameters()), torch.device("cpu"))
    problem = global_problem(device.type) or call_problem(model, name) or hook_problem(model, name)
    for position, layer in enumerate(model):
        if problem:
            break
        rule = rule_for(layer, position)
        what = f"layer {position} ({type(layer).__name__}) of {name}"
        problem = (call_problem(layer, what, flatten_rule=rule is FLATTEN)
                   or (weight_problem(layer, what) if rule.kind == "affine" else None) or hook_problem(layer, what))
    if not problem:
        tensors = [t for m in model if isinstance(m, (nn.Linear, nn.Conv2d)) for t in (m.weight, m.bias)
                   if t is not None]
        if len({(t.dtype, t.device) for t in tensors}) > 1:
            kinds = sorted({f"{t.dtype} on {t.device}" for t in tensors})
            problem = (f"{name}'s weights must share one dtype and one device (as one model call needs), "
                       f"they are {', '.join(kinds)}")
    if problem:
        raise ValueError(problem)
    return model
