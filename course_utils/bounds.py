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
            chapter's ``C``; see ``objective_matrix``), one vector ``(num_logits,)``,
            or one matrix per box, ``(batch, num_logits, m)``.
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
    n = last.out_features
    if not ((c.dim() == 2 and c.shape[0] == n) or (c.dim() == 3 and c.shape[:2] == (l.shape[0], n))):
        raise ValueError(f"c must have shape ({n}, m), ({n},) or (batch={l.shape[0]}, {n}, m), "
                         f"got {tuple(c.shape)}")
    l, u = l.flatten(1), u.flatten(1)
    W = last.weight.to(l)
    b = last.bias.to(l) if last.bias is not None else torch.zeros(n, dtype=l.dtype, device=l.device)
    if c.dim() == 2:
        cW, cb = c.t() @ W, c.t() @ b                  # (m, hidden), (m,)
        return (cW.clamp(min=0) @ l.t() + cW.clamp(max=0) @ u.t() + cb[:, None]).t()
    cW, cb = c.transpose(1, 2) @ W, c.transpose(1, 2) @ b     # (batch, m, hidden), (batch, m)
    return (cW.clamp(min=0) @ l[:, :, None] + cW.clamp(max=0) @ u[:, :, None])[..., 0] + cb


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


class _AffineMap:
    """A ``Linear`` or ``Conv2d`` layer as a map between *flattened* vectors, with the
    two products linear bounds need: forward (``z -> W z + b``) and backward
    (``A -> A W`` for a batch of row vectors). Convolutions stay convolutions (the
    backward product is a transposed convolution), so nothing is unrolled."""

    def __init__(self, index: int, layer: nn.Module, in_shape: Tuple[int, ...], dtype, device):
        self.index, self.layer, self.in_shape = index, layer, in_shape
        self.weight = layer.weight.detach().to(dtype=dtype, device=device)
        bias = None if layer.bias is None else layer.bias.detach().to(dtype=dtype, device=device)
        with torch.no_grad():
            probe = layer(torch.zeros(1, *in_shape, dtype=layer.weight.dtype, device=layer.weight.device))
        self.out_shape = tuple(probe.shape[1:])
        self.n_in = int(torch.tensor(in_shape).prod())
        self.n_out = int(torch.tensor(self.out_shape).prod())
        if bias is None:
            bias = torch.zeros(self.out_shape[0], dtype=dtype, device=device)
        # the bias of every output entry (a conv repeats its channel bias over H x W)
        per_entry = self.n_out // self.out_shape[0]
        self.bias = bias.repeat_interleave(per_entry)
        if isinstance(layer, nn.Conv2d):
            self.conv = dict(stride=layer.stride, padding=layer.padding, dilation=layer.dilation,
                             groups=layer.groups)
            # the transposed convolution must give back exactly the input's height and width
            self.output_padding = tuple(
                in_shape[1 + d] - ((self.out_shape[1 + d] - 1) * layer.stride[d] - 2 * layer.padding[d]
                                   + layer.dilation[d] * (layer.kernel_size[d] - 1) + 1)
                for d in (0, 1))

    def forward(self, z: torch.Tensor, absolute: bool = False) -> torch.Tensor:
        """``W z + b`` (or ``|W| z`` with ``absolute``) for ``z`` of shape (batch, n_in)."""
        W = self.weight.abs() if absolute else self.weight
        if isinstance(self.layer, nn.Linear):
            out = z @ W.t()
        else:
            out = F.conv2d(z.reshape(-1, *self.in_shape), W, None, **self.conv).flatten(1)
        return out if absolute else out + self.bias

    def back(self, A: torch.Tensor) -> torch.Tensor:
        """``A W`` for ``A`` of shape (batch, m, n_out); returns (batch, m, n_in)."""
        if isinstance(self.layer, nn.Linear):
            return A @ self.weight
        batch, m = A.shape[:2]
        out = F.conv_transpose2d(A.reshape(batch * m, *self.out_shape), self.weight, None,
                                 output_padding=self.output_padding, **self.conv)
        return out.reshape(batch, m, self.n_in)


def _affine_maps(model: nn.Sequential, input_shape, dtype, device) -> List[_AffineMap]:
    """The ``Linear``/``Conv2d`` layers of ``model`` in order, with ReLU between them
    (the structure ``affine_layers`` checks)."""
    affine_layers(model, input_shape, check_only=True)
    maps, shape = [], tuple(int(s) for s in input_shape)
    for i, layer in enumerate(model):
        if isinstance(layer, (nn.Linear, nn.Conv2d)):
            maps.append(_AffineMap(i, layer, shape, dtype, device))
            shape = maps[-1].out_shape
        elif _is_flatten(layer):
            shape = (int(torch.tensor(shape).prod()),)
    return maps


def _backward(maps: Sequence[_AffineMap], pre_bounds, A: torch.Tensor, l0: torch.Tensor,
              u0: torch.Tensor) -> torch.Tensor:
    """Lower bound of ``A z_k`` over the input box (``A``: (batch, m, n_out of map k),
    ``z_k`` the output of affine map ``k = len(pre_bounds)``), by substituting the ReLU
    relaxations of ``pre_bounds`` backwards. Returns (batch, m)."""
    k = len(pre_bounds)
    const = A @ maps[k].bias
    A = maps[k].back(A)
    for j in range(k - 1, -1, -1):
        lo_s, up_s, up_o = _relu_relaxation(*pre_bounds[j])           # (batch, width_j)
        pos, neg = A.clamp(min=0), A.clamp(max=0)
        const = const + (neg * up_o[:, None, :]).sum(-1)
        A = pos * lo_s[:, None, :] + neg * up_s[:, None, :]
        const = const + A @ maps[j].bias
        A = maps[j].back(A)
    mid, rad = (u0 + l0) / 2, (u0 - l0) / 2
    return (A @ mid[:, :, None])[..., 0] - (A.abs() @ rad[:, :, None])[..., 0] + const


def _chunk_size(batch: int, maps: Sequence[_AffineMap], memory_mb: float) -> int:
    """How many bound rows to push back at once so one ``A`` stays near ``memory_mb``."""
    widest = max(max(m.n_in, m.n_out) for m in maps)
    return max(1, int(memory_mb * 2 ** 20 / (8 * 3 * batch * widest)))


def linear_bounds(model: nn.Sequential, initial_bound: Sequence[torch.Tensor], c: torch.Tensor = None,
                  memory_mb: float = 256.0) -> Tuple[List[Box], torch.Tensor]:
    """CROWN-style linear bounds for a ReLU network (``Flatten``, ``Linear``,
    ``Conv2d``, ``ReLU``), batched over input boxes.

    Each ReLU on ``[l, u]`` with ``l < 0 < u`` is sandwiched between two lines (the
    chord above; below, ``0`` or the identity, whichever is closer: CROWN's adaptive
    slope). A bound on any linear function of a layer is then pushed back to the input
    box through these lines and the layers (convolutions by transposed convolutions,
    never unrolled). Tighter than ``bound_propagation``, much cheaper than an LP per
    neuron.

    Layer by layer: the interval bound of a layer is computed first, from the linear
    bounds of the layer before; only neurons it leaves unstable (``l < 0 < u`` in some
    box of the batch) are pushed back, in chunks of about ``memory_mb``, and every
    bound is the intersection of the two. Neurons that intervals already prove stable
    keep their interval bounds: their ReLU is exact either way.

    Args:
        model: the network.
        initial_bound: ``(l0, u0)``, a batch of input boxes, e.g. (n, 1, 28, 28).
            Use float64 for bounds that feed a solver (weights take the box's dtype).
        c: optional objective vectors, the columns of a ``(num_logits, m)`` matrix as
            in ``interval_based_bound``, or one such matrix per box, ``(batch,
            num_logits, m)`` (e.g. ``objective_matrix`` of each box's label).
        memory_mb: rough size of the largest intermediate tensor.

    Returns:
        ``(pre_bounds, objective_bound)``: the ``(l, u)`` of the pre-activations of
        every affine layer, each ``(batch, width)`` flattened (the last one bounds the
        logits), and, when ``c`` is given, the ``(batch, m)`` lower bounds on
        ``c^T z_{d+1}`` (else ``None``): the larger of the back-substituted bound and
        the chapter's analytic last layer on these bounds, so never below
        ``interval_based_bound``.
    """
    l0, u0 = check_box(initial_bound)
    maps = _affine_maps(model, l0.shape[1:], l0.dtype, l0.device)
    batch = l0.shape[0]
    l0, u0 = l0.flatten(1), u0.flatten(1)
    chunk = _chunk_size(batch, maps, memory_mb)
    pre_bounds: List[Box] = []
    with torch.no_grad():
        lo, hi = l0, u0
        for k, m in enumerate(maps):
            mid, rad = m.forward((hi + lo) / 2), m.forward((hi - lo) / 2, absolute=True)
            lower, upper = mid - rad, mid + rad
            if k > 0:
                todo = torch.nonzero(((lower < 0) & (upper > 0)).any(0) if k < len(maps) - 1
                                     else torch.ones(m.n_out, dtype=torch.bool, device=l0.device))[:, 0]
                for s in range(0, todo.numel(), chunk):
                    rows = todo[s:s + chunk]
                    A = torch.zeros(batch, 2 * rows.numel(), m.n_out, dtype=l0.dtype, device=l0.device)
                    r = torch.arange(rows.numel(), device=l0.device)
                    A[:, r, rows] = 1.0
                    A[:, r + rows.numel(), rows] = -1.0
                    both = _backward(maps, pre_bounds, A, l0, u0)
                    lower[:, rows] = torch.maximum(lower[:, rows], both[:, :rows.numel()])
                    upper[:, rows] = torch.minimum(upper[:, rows], -both[:, rows.numel():])
            pre_bounds.append((lower, upper))
            lo, hi = lower.clamp(min=0), upper.clamp(min=0)
        objective = None
        if c is not None:
            c = torch.as_tensor(c, dtype=l0.dtype, device=l0.device)
            if c.dim() == 1:
                c = c[:, None]
            if c.dim() == 2:
                c = c.expand(batch, *c.shape)
            if c.dim() != 3 or c.shape[0] != batch or c.shape[1] != maps[-1].n_out:
                raise ValueError(f"c must have shape ({maps[-1].n_out}, m), ({maps[-1].n_out},) or "
                                 f"({batch}, {maps[-1].n_out}, m); got {tuple(c.shape)}")
            objective = _backward(maps, pre_bounds[:-1], c.transpose(1, 2), l0, u0)
            if len(maps) > 1:
                # the interval bound on the last layer, from the same (tighter) bounds, is
                # sound too; taking the larger keeps CROWN never looser than intervals
                A = c.transpose(1, 2)
                cW = maps[-1].back(A)                                     # (batch, m, n_in)
                lo, hi = (t.clamp(min=0) for t in pre_bounds[-2])
                interval = ((cW.clamp(min=0) @ lo[:, :, None] + cW.clamp(max=0) @ hi[:, :, None])[..., 0]
                            + A @ maps[-1].bias)
                objective = torch.maximum(objective, interval)
    return pre_bounds, objective


# --- matrix form of a network (for the solvers and the conv-unrolling test) -------------


def affine_layers(model: nn.Sequential, input_shape: Sequence[int], sparse: bool = False,
                  check_only: bool = False) -> List[Tuple[int, object, torch.Tensor]]:
    """Every ``Linear``/``Conv2d`` layer as an ``(index, W, b)`` on flattened inputs.

    ``index`` is the layer's position in ``model``, so ``bounds[index]`` (from
    ``bound_propagation``) bounds its pre-activations; ``W`` maps the flattened input
    of the layer (shape ``input_shape`` without the batch dimension for the first one,
    e.g. ``(1, 28, 28)``) to its flattened output, ``b`` is the flattened bias.

    By default ``W`` is a dense float64 tensor, a ``Conv2d`` unrolled by applying it to
    the unit basis of its input (fine for small nets). With ``sparse`` a ``Conv2d``
    becomes a ``scipy.sparse.csr_matrix`` built from its index pattern instead (a
    kernel touches few inputs, so the CNN's layers stay a few million entries), and a
    ``Linear`` stays dense. ReLU must follow every affine layer but the last; other
    layers raise ``NotImplementedError``. ``check_only`` checks that structure and
    returns ``[]``.
    """
    shape = tuple(int(s) for s in input_shape)
    out, expect_affine = [], True
    with torch.no_grad():
        for i, layer in enumerate(model):
            if _is_flatten(layer):
                shape = (int(torch.tensor(shape).prod()),)
                continue
            if isinstance(layer, (nn.Linear, nn.Conv2d)):
                if not expect_affine:
                    raise NotImplementedError("the solvers need an activation between affine layers")
                if isinstance(layer, nn.Conv2d):
                    _interval_conv2d(layer, torch.zeros(1, *shape), torch.zeros(1, *shape))  # checks padding mode
                expect_affine = False
                zero = torch.zeros(1, *shape, dtype=torch.float64)
                layer64 = _as_float64(layer)
                b = layer64(zero)
                if check_only:
                    shape = tuple(b.shape[1:])
                    continue
                if sparse and isinstance(layer, nn.Conv2d):
                    W = conv_matrix(layer64, shape)
                else:
                    n = int(torch.tensor(shape).prod())
                    basis = torch.eye(n, dtype=torch.float64).reshape(n, *shape)
                    W = (layer64(basis) - b).reshape(n, -1).t().contiguous()
                shape = tuple(b.shape[1:])
                out.append((i, W, b.reshape(-1)))
            elif isinstance(layer, nn.ReLU):
                expect_affine = True
            else:
                raise NotImplementedError(f"the solvers have no rule for layer {_layer_name(layer)} ({layer!r}); "
                                          "supported: Flatten, Linear, Conv2d, ReLU")
    if expect_affine:
        raise NotImplementedError("the network must end with a Linear (or Conv2d) layer")
    return out


def affine_indices(model: nn.Sequential) -> List[int]:
    """Positions of the ``Linear``/``Conv2d`` layers in ``model`` (no unrolling)."""
    return [i for i, layer in enumerate(model) if isinstance(layer, (nn.Linear, nn.Conv2d))]


def conv_matrix(layer: nn.Conv2d, input_shape: Sequence[int]):
    """The sparse matrix of a ``Conv2d`` (without its bias) on flattened
    ``(C, H, W)`` inputs: a ``scipy.sparse.csr_matrix`` of shape
    ``(C_out * H_out * W_out, C * H * W)``, float64. Entry ``(o, i)`` is the kernel
    weight that input pixel ``i`` meets at output position ``o``; zero padding simply
    drops the taps that fall outside the image."""
    import numpy as np
    from scipy.sparse import csr_matrix
    c_in, h, w = (int(s) for s in input_shape)
    weight = layer.weight.detach().double().cpu().numpy()
    c_out, per_group, kh, kw = weight.shape
    (sh, sw), (ph, pw), (dh, dw) = layer.stride, layer.padding, layer.dilation
    h_out = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    w_out = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    co, ho, wo, cg, i, j = np.meshgrid(np.arange(c_out), np.arange(h_out), np.arange(w_out),
                                       np.arange(per_group), np.arange(kh), np.arange(kw), indexing="ij")
    ci = (co // (c_out // layer.groups)) * per_group + cg        # the input channel this tap reads
    hi, wi = ho * sh - ph + i * dh, wo * sw - pw + j * dw
    keep = (hi >= 0) & (hi < h) & (wi >= 0) & (wi < w)
    rows = ((co * h_out + ho) * w_out + wo)[keep]
    cols = ((ci * h + hi) * w + wi)[keep]
    vals = weight[co, cg, i, j][keep]
    return csr_matrix((vals, (rows, cols)), shape=(c_out * h_out * w_out, c_in * h * w))


def _as_float64(layer: nn.Module) -> nn.Module:
    import copy
    return copy.deepcopy(layer).to(torch.float64).cpu()
