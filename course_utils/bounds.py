"""Interval and linear bounds on what a ReLU network can output over an input box
(chapter 3, "Upper and lower bounds" and "Interval-propagation-based bounds").

Two ways to bound every activation of a network when its input ``x`` is only known to
lie in a box ``l0 <= x <= u0``:

``bound_propagation``   interval arithmetic, one rule per layer type (the chapter's);
``interval_based_bound`` the chapter's analytic last layer: a bound on ``c^T z_{d+1}``;
``linear_bounds``       CROWN-style backward linear bounds, tighter than intervals, used
                        by ``course_utils.verify`` to tighten the MILP's big-M constants.

Every rule for a layer type lives in one registry (``INTERVAL_RULES``); a layer with
no rule raises ``NotImplementedError`` that names it.
"""

from __future__ import annotations

from typing import Callable, Dict, List, Sequence, Tuple, Type

import torch
import torch.nn as nn
import torch.nn.functional as F

Box = Tuple[torch.Tensor, torch.Tensor]


# --- checks ------------------------------------------------------------------------------


def check_box(initial_bound: Sequence[torch.Tensor], name: str = "initial_bound") -> Box:
    """A pair ``(l, u)`` of same-shaped finite floating tensors with ``l <= u``."""
    try:
        l, u = initial_bound
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a pair (l, u) of tensors") from None
    if not (isinstance(l, torch.Tensor) and isinstance(u, torch.Tensor)):
        raise ValueError(f"{name} must be a pair (l, u) of torch tensors, got "
                         f"({type(l).__name__}, {type(u).__name__})")
    if not (l.is_floating_point() and u.is_floating_point()):
        raise ValueError(f"{name} must hold floating-point tensors")
    if l.shape != u.shape:
        raise ValueError(f"{name}: l and u must have the same shape, got {tuple(l.shape)} and {tuple(u.shape)}")
    if not (torch.isfinite(l).all() and torch.isfinite(u).all()):
        raise ValueError(f"{name} must be finite (no nan or inf)")
    if (l > u).any():
        worst = (l - u).max().item()
        raise ValueError(f"{name} is empty: l > u somewhere (by up to {worst:.3g}); need l <= u")
    return l, u


def _layer_name(layer: nn.Module) -> str:
    return type(layer).__name__


def _is_flatten(layer: nn.Module) -> bool:
    # nn.Flatten, or the chapter's own ``class Flatten(nn.Module)``.
    return isinstance(layer, nn.Flatten) or _layer_name(layer) == "Flatten"


# --- interval rules, one per layer type ------------------------------------------------


def _interval_flatten(layer: nn.Module, l: torch.Tensor, u: torch.Tensor) -> Box:
    # A reshape moves entries around without changing them.
    return layer(l), layer(u)


def _interval_linear(layer: nn.Linear, l: torch.Tensor, u: torch.Tensor) -> Box:
    # Centre through W, radius through |W|: the same as max(W,0) l + min(W,0) u + b.
    mid, rad = (u + l) / 2, (u - l) / 2
    W = layer.weight.to(l)
    b = None if layer.bias is None else layer.bias.to(l)
    centre = F.linear(mid, W, b)
    radius = F.linear(rad, W.abs())
    return centre - radius, centre + radius


def _interval_conv2d(layer: nn.Conv2d, l: torch.Tensor, u: torch.Tensor) -> Box:
    if layer.padding_mode != "zeros":
        raise NotImplementedError(f"bound propagation: Conv2d with padding_mode={layer.padding_mode!r} "
                                  "is not supported (only 'zeros')")
    mid, rad = (u + l) / 2, (u - l) / 2
    W = layer.weight.to(l)
    b = None if layer.bias is None else layer.bias.to(l)
    opts = dict(stride=layer.stride, padding=layer.padding, dilation=layer.dilation, groups=layer.groups)
    centre = F.conv2d(mid, W, b, **opts)
    radius = F.conv2d(rad, W.abs(), None, **opts)
    return centre - radius, centre + radius


def _interval_relu(layer: nn.ReLU, l: torch.Tensor, u: torch.Tensor) -> Box:
    return l.clamp(min=0), u.clamp(min=0)


INTERVAL_RULES: Dict[Type[nn.Module], Callable[[nn.Module, torch.Tensor, torch.Tensor], Box]] = {
    nn.Flatten: _interval_flatten,
    nn.Linear: _interval_linear,
    nn.Conv2d: _interval_conv2d,
    nn.ReLU: _interval_relu,
}
"""Layer type -> interval rule ``(layer, l, u) -> (l', u')``."""


def _interval_rule(layer: nn.Module):
    if _is_flatten(layer):
        return _interval_flatten
    for kind, rule in INTERVAL_RULES.items():
        if isinstance(layer, kind):
            return rule
    raise NotImplementedError(
        f"bound propagation has no rule for layer {_layer_name(layer)} ({layer!r}); supported: "
        "Flatten, Linear, Conv2d, ReLU")


def bound_propagation(model: nn.Sequential, initial_bound: Sequence[torch.Tensor]) -> List[Box]:
    """Interval bounds on the output of every layer (chapter 3, "Upper and lower bounds").

    Args:
        model: an ``nn.Sequential`` of ``Flatten``/``nn.Flatten``, ``nn.Linear``,
            ``nn.Conv2d`` (any stride, padding, dilation, groups) and ``nn.ReLU``.
        initial_bound: ``(l0, u0)``, a batch of input boxes, e.g. shape (n, 1, 28, 28),
            with ``l0 <= u0``. Use a float64 box for bounds that feed a solver: the
            weights are cast to the box's dtype.

    Returns:
        As in the chapter, a list with one ``(l, u)`` pair per layer: ``bounds[i]``
        bounds the *output* of ``model[i]`` (so for a ``Linear`` layer, its
        pre-activations), batched like the input. ``bounds[-1]`` bounds the logits.

    Raises:
        ValueError: a malformed box (shapes differ, not finite, ``l > u``).
        NotImplementedError: a layer type without an interval rule, named.
    """
    l, u = check_box(initial_bound)
    bounds = []
    with torch.no_grad():
        for layer in model:
            l, u = _interval_rule(layer)(layer, l, u)
            bounds.append((l, u))
    return bounds


def objective_matrix(y: int, num_classes: int = 10) -> torch.Tensor:
    """The chapter's ``C`` (shape ``(num_classes, num_classes)``): column ``j`` is
    ``e_y - e_j``, the objective "true logit minus logit ``j``" (column ``y`` is zero)."""
    C = -torch.eye(num_classes, dtype=torch.float64)
    C[int(y), :] += 1
    return C


def interval_based_bound(model: nn.Sequential, c: torch.Tensor, bounds: Sequence[Box]) -> torch.Tensor:
    """Lower bound on ``c^T z_{d+1}`` from interval bounds, the last layer solved
    analytically (chapter 3, "Interval-propagation-based bounds").

    With ``l <= z_d <= u`` and ``z_{d+1} = W z_d + b``, the minimum of ``c^T z_{d+1}``
    over the box is ``max(W^T c, 0)^T l + min(W^T c, 0)^T u + c^T b``.

    Args:
        model: the network; its last layer must be ``nn.Linear``.
        c: objective vectors as the *columns* of a ``(num_logits, m)`` matrix (the
            chapter's ``C``; see ``objective_matrix``), or one vector ``(num_logits,)``.
        bounds: ``bound_propagation(model, ...)``; ``bounds[-2]`` bounds ``z_d``.

    Returns:
        Shape ``(batch, m)``: for each box and each column of ``c``, the lower bound.
    """
    last = model[-1]
    if not isinstance(last, nn.Linear):
        raise NotImplementedError(f"interval_based_bound needs a Linear last layer, got {_layer_name(last)}")
    if len(bounds) != len(model):
        raise ValueError(f"bounds must have one (l, u) per layer ({len(model)}), got {len(bounds)}")
    l, u = bounds[-2]
    c = torch.as_tensor(c, dtype=l.dtype, device=l.device)
    if c.dim() == 1:
        c = c[:, None]
    if c.dim() != 2 or c.shape[0] != last.out_features:
        raise ValueError(f"c must have shape ({last.out_features}, m) or ({last.out_features},), "
                         f"got {tuple(c.shape)}")
    l, u = l.flatten(1), u.flatten(1)
    cW = c.t() @ last.weight.to(l)                    # (m, hidden)
    cb = c.t() @ last.bias.to(l) if last.bias is not None else torch.zeros(c.shape[1], dtype=l.dtype)
    return (cW.clamp(min=0) @ l.t() + cW.clamp(max=0) @ u.t() + cb[:, None]).t()


# --- linear (CROWN-style) bounds ---------------------------------------------------------


def _relu_relaxation(l: torch.Tensor, u: torch.Tensor):
    """Slopes and offsets of the linear lower and upper bounds of ReLU on [l, u]:
    upper: the chord ``u (z - l) / (u - l)``; lower: ``a z`` with ``a`` in {0, 1}
    (1 when ``u >= -l``, CROWN's adaptive choice). Stable neurons are exact."""
    active, inactive = l >= 0, u <= 0
    unstable = ~(active | inactive)
    denom = torch.where(unstable, u - l, torch.ones_like(u))
    up_slope = torch.where(unstable, u / denom, active.to(u.dtype))
    up_off = torch.where(unstable, -l * u / denom, torch.zeros_like(u))
    lo_slope = torch.where(unstable, (u >= -l).to(u.dtype), active.to(u.dtype))
    return lo_slope, up_slope, up_off


def _backward(layers, pre_bounds, A: torch.Tensor, l0: torch.Tensor, u0: torch.Tensor) -> torch.Tensor:
    """Lower bound of ``A z_k`` (``A``: (batch, m, width_k), ``z_k`` the output of affine
    layer ``k = len(pre_bounds)``), by substituting ReLU relaxations backwards."""
    k = len(pre_bounds)
    W, b = layers[k]
    A, const = A @ W.to(A), A @ b.to(A)
    for j in range(k - 1, -1, -1):
        lo_s, up_s, up_o = _relu_relaxation(*pre_bounds[j])           # (batch, width_j)
        pos, neg = A.clamp(min=0), A.clamp(max=0)
        const = const + (neg * up_o[:, None, :]).sum(-1)
        A = pos * lo_s[:, None, :] + neg * up_s[:, None, :]
        W, b = layers[j]
        const = const + A @ b.to(A)
        A = A @ W.to(A)
    mid, rad = (u0 + l0) / 2, (u0 - l0) / 2
    return (A @ mid[:, :, None])[..., 0] - (A.abs() @ rad[:, :, None])[..., 0] + const


def linear_bounds(model: nn.Sequential, initial_bound: Sequence[torch.Tensor], c: torch.Tensor = None
                  ) -> Tuple[List[Box], torch.Tensor]:
    """CROWN-style linear bounds for a ReLU network (Flatten, Linear, Conv2d, ReLU;
    convolutions are unrolled into dense matrices, so keep them small).

    Each ReLU on ``[l, u]`` with ``l < 0 < u`` is sandwiched between two lines (the
    chord above, ``0`` or the identity below); a bound on any linear function of a
    layer is then pushed back to the input box through these lines and the weights.
    Tighter than ``bound_propagation``, much cheaper than an LP per neuron.

    Args:
        model: the network.
        initial_bound: ``(l0, u0)``, a batch of input boxes.
        c: optional objective vectors, columns of a ``(num_logits, m)`` matrix as in
            ``interval_based_bound``.

    Returns:
        ``(pre_bounds, objective_bound)``: the ``(l, u)`` of the pre-activations of
        every affine layer, each ``(batch, width)`` (the last one bounds the logits),
        and, when ``c`` is given, the ``(batch, m)`` lower bounds on ``c^T z_{d+1}``
        (else ``None``).
    """
    l0, u0 = check_box(initial_bound)
    layers = [(W, b) for _, W, b in affine_layers(model, l0.shape[1:])]
    l0, u0 = l0.flatten(1), u0.flatten(1)
    pre_bounds: List[Box] = []
    with torch.no_grad():
        for k, (W, _) in enumerate(layers):
            n = W.shape[0]
            eye = torch.eye(n, dtype=l0.dtype, device=l0.device).expand(l0.shape[0], n, n)
            lower = _backward(layers, pre_bounds, eye, l0, u0)
            upper = -_backward(layers, pre_bounds, -eye, l0, u0)
            pre_bounds.append((lower, upper))
        objective = None
        if c is not None:
            c = torch.as_tensor(c, dtype=l0.dtype, device=l0.device)
            if c.dim() == 1:
                c = c[:, None]
            A = c.t().expand(l0.shape[0], *c.t().shape)
            objective = _backward(layers, pre_bounds[:-1], A, l0, u0)
    return pre_bounds, objective


# --- dense form of a network (for the solvers and the conv-unrolling test) --------------


def affine_layers(model: nn.Sequential, input_shape: Sequence[int]
                  ) -> List[Tuple[int, torch.Tensor, torch.Tensor]]:
    """Every ``Linear``/``Conv2d`` layer as a dense ``(index, W, b)`` on flattened inputs.

    A ``Conv2d`` is unrolled into its matrix by applying it to the unit basis of its
    input (shape ``input_shape`` without the batch dimension, e.g. ``(1, 28, 28)``).
    ``index`` is the layer's position in ``model``, so ``bounds[index]`` (from
    ``bound_propagation``) bounds its pre-activations. ``W`` and ``b`` are float64.
    ReLU must follow every affine layer but the last; other layers raise
    ``NotImplementedError``.
    """
    shape = tuple(int(s) for s in input_shape)
    out, expect_affine = [], True
    with torch.no_grad():
        for i, layer in enumerate(model):
            if _is_flatten(layer):
                shape = tuple(layer(torch.zeros(1, *shape)).shape[1:])
                continue
            if isinstance(layer, (nn.Linear, nn.Conv2d)):
                if not expect_affine:
                    raise NotImplementedError("the solvers need an activation between affine layers")
                if isinstance(layer, nn.Conv2d):
                    _interval_conv2d(layer, torch.zeros(1, *shape), torch.zeros(1, *shape))  # checks padding mode
                n = int(torch.tensor(shape).prod())
                basis = torch.eye(n, dtype=torch.float64).reshape(n, *shape)
                zero = torch.zeros(1, *shape, dtype=torch.float64)
                layer64 = _as_float64(layer)
                b = layer64(zero)
                W = (layer64(basis) - b).reshape(n, -1).t()
                shape = tuple(b.shape[1:])
                out.append((i, W.contiguous(), b.reshape(-1)))
                expect_affine = False
            elif isinstance(layer, nn.ReLU):
                expect_affine = True
            else:
                raise NotImplementedError(f"the solvers have no rule for layer {_layer_name(layer)} ({layer!r}); "
                                          "supported: Flatten, Linear, Conv2d, ReLU")
    if expect_affine:
        raise NotImplementedError("the network must end with a Linear (or Conv2d) layer")
    return out


def _as_float64(layer: nn.Module) -> nn.Module:
    import copy
    return copy.deepcopy(layer).to(torch.float64).cpu()
