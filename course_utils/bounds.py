"""Interval and linear bounds on what a ReLU network can output over an input box
(chapter 3, "Upper and lower bounds" and "Interval-propagation-based bounds").

Two ways to bound every activation of a network when its input ``x`` is only known to
lie in a box ``l0 <= x <= u0``:

``bound_propagation``   interval arithmetic, one rule per layer type (the chapter's);
``interval_based_bound`` the chapter's analytic last layer: a bound on ``c^T z_{d+1}``;
``linear_bounds``       CROWN-style backward linear bounds, tighter than intervals, used
                        by ``course_utils.verify`` to tighten the MILP's big-M constants
                        (``crown_bounds`` is the same on an already lowered network).

Every rule for a layer type lives in one table (``course_utils.layers``); a layer with
no rule raises ``NotImplementedError`` that names it and its position.
"""

from __future__ import annotations

import math
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn

from .guard import check_network
from .layers import Box, gather_windows, rule_for
from .network import LoweredNetwork, lower
from .relu import relu_phases, relu_relaxation
from .threat import _as_number, check_class, check_count


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
    if l.dim() < 2 or l.shape[0] == 0:
        raise ValueError(f"{name} must be a batch of boxes, shape (n, ...) with n >= 1 and the batch dimension "
                         f"first, e.g. (1, 1, 28, 28); got shape {tuple(l.shape)}")
    if (l > u).any():
        worst = (l - u).max().item()
        raise ValueError(f"{name} is empty: l > u somewhere (by up to {worst:.3g}); need l <= u")
    return l, u


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
        for position, layer in enumerate(check_network(model)):
            rule = rule_for(layer, position)
            try:
                l, u = rule.interval(layer, l, u)
            except RuntimeError as exc:
                raise ValueError(f"initial_bound of shape {tuple(initial_bound[0].shape)} does not fit the model: "
                                 f"layer {position} ({rule.name}) cannot take inputs of shape "
                                 f"{tuple(l.shape[1:])} ({exc})") from None
            bounds.append((l, u))
    return bounds


def objective_matrix(y: int, num_classes: int = 10) -> torch.Tensor:
    """The chapter's ``C`` (shape ``(num_classes, num_classes)``): column ``j`` is
    ``e_y - e_j``, the objective "true logit minus logit ``j``" (column ``y`` is zero)."""
    num_classes = check_count(num_classes, "num_classes", 1)
    C = -torch.eye(num_classes, dtype=torch.float64)
    C[check_class(y, "y", num_classes), :] += 1
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
    last = check_network(model)[-1]
    if not isinstance(last, nn.Linear):
        raise NotImplementedError(f"interval_based_bound needs a Linear last layer, got {type(last).__name__}")
    if len(bounds) != len(model):
        raise ValueError(f"bounds must have one (l, u) per layer ({len(model)}), got {len(bounds)}")
    l, u = bounds[-2]
    c = _real_tensor(c).to(dtype=l.dtype, device=l.device)
    if c.dim() == 1:
        c = c[:, None]
    n = last.out_features
    if not ((c.dim() == 2 and c.shape[0] == n) or (c.dim() == 3 and c.shape[:2] == (l.shape[0], n))):
        raise ValueError(f"c must have shape ({n}, m), ({n},) or (batch={l.shape[0]}, {n}, m), "
                         f"got {tuple(c.shape)}")
    l, u = l.flatten(1), u.flatten(1)
    W = last.weight.detach().to(l)
    b = last.bias.detach().to(l) if last.bias is not None else torch.zeros(n, dtype=l.dtype, device=l.device)
    if c.dim() == 2:
        cW, cb = c.t() @ W, c.t() @ b                  # (m, hidden), (m,)
        return (cW.clamp(min=0) @ l.t() + cW.clamp(max=0) @ u.t() + cb[:, None]).t()
    cW, cb = c.transpose(1, 2) @ W, c.transpose(1, 2) @ b     # (batch, m, hidden), (batch, m)
    return (cW.clamp(min=0) @ l[:, :, None] + cW.clamp(max=0) @ u[:, :, None])[..., 0] + cb


# --- linear (CROWN-style) bounds ---------------------------------------------------------


WINDOW_CHUNK_MB = 16.0
"""Rows of a convolution go back in chunks of about this many MB (at most ``memory_mb``)."""


def relaxations(pre_bounds: Sequence[Box]) -> List[Tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """CROWN's lines (``relu.relu_relaxation``) of every layer in ``pre_bounds``, shaped
    ``(batch, 1, width)`` to broadcast over the rows of a ``_backward``."""
    return [tuple(t[:, None, :] for t in relu_relaxation(l, u)) for l, u in pre_bounds]


def _backward(layers: Sequence, relax: Sequence, A: torch.Tensor, l0: torch.Tensor, u0: torch.Tensor
              ) -> torch.Tensor:
    """Lower bound of ``A z_k`` over the input box (``A``: ``(batch, m, n_out of layer k)``,
    ``z_k`` the output of affine layer ``k = len(relax)``), by substituting the ReLU
    lines ``relax[j] = (lower_slope, upper_slope, upper_offset)`` of every layer ``j < k``
    backwards (each ``(batch, 1 or m, width_j)``: shared by the rows, or one lower slope
    per row as in optimised-slope CROWN). Returns ``(batch, m)``; differentiable."""
    k = len(relax)
    const = A @ layers[k].bias
    A = layers[k].back(A)
    for j in range(k - 1, -1, -1):
        lo_s, up_s, up_o = relax[j]
        const = const + (A.clamp(max=0) * up_o).sum(-1)
        A = A * torch.where(A >= 0, lo_s, up_s)      # the lower line where A >= 0, the upper one elsewhere
        const = const + A @ layers[j].bias
        A = layers[j].back(A)
    mid, rad = (u0 + l0) / 2, (u0 - l0) / 2
    return (A @ mid[:, :, None])[..., 0] - (A.abs() @ rad[:, :, None])[..., 0] + const


def _backward_windows(layers: Sequence, pre_bounds: Sequence[Box], A: torch.Tensor, corner: torch.Tensor,
                      which: torch.Tensor, l0: torch.Tensor, u0: torch.Tensor) -> torch.Tensor:
    """``_backward`` for rows that start at neurons of a convolution ``k = len(pre_bounds)``
    (every layer up to ``k`` a convolution), each row kept as a window over its receptive
    field (``layers.gather_windows``). ``A``: ``(batch, m, C_k, h, w)``; row ``i`` sits at
    the ``which[i]``-th of the ``P`` distinct pixels whose windows' top-left corners in
    layer ``k``'s output grid are ``corner`` ``(P, 2)``. Returns ``(batch, m)``.

    Outside the image a window reads zero slopes, offsets and box, so what it holds there
    never counts; biases are per channel (``A`` is zero off the image once a ReLU's slopes
    have been applied, and the first window lies inside it)."""
    k = len(pre_bounds)
    const = _window_bias(A, layers[k])
    A, corner = layers[k].back_window(A, corner)
    for j in range(k - 1, -1, -1):
        maps = (t.reshape(-1, *layers[j].out_shape) for t in relu_relaxation(*pre_bounds[j]))
        lo_s, up_s, up_o = (gather_windows(t, corner, A.shape[-2:]).index_select(1, which) for t in maps)
        const = const + (A.clamp(max=0) * up_o).flatten(2).sum(-1)
        A = A * torch.where(A >= 0, lo_s, up_s)      # the lower line where A >= 0, the upper one elsewhere
        const = const + _window_bias(A, layers[j])
        A, corner = layers[j].back_window(A, corner)
    mid, rad = (gather_windows(t.reshape(-1, *layers[0].in_shape), corner, A.shape[-2:]).index_select(1, which)
                for t in ((u0 + l0) / 2, (u0 - l0) / 2))
    return (A * mid).flatten(2).sum(-1) - (A.abs() * rad).flatten(2).sum(-1) + const


def _window_bias(A: torch.Tensor, layer) -> torch.Tensor:
    """``A b`` for windows ``A`` ``(batch, m, C, h, w)`` on a convolution's output that are
    zero off the image: each channel's sum times its bias, ``(batch, m)``."""
    bias = layer.bias.reshape(layer.out_shape[0], -1)[:, 0]
    return A.sum((-2, -1)) @ bias


def _window_elements(net: LoweredNetwork, k: int) -> int:
    """The most entries one row's window holds on its way back from a neuron of
    convolution ``k`` to the input (the receptive field grows layer by layer)."""
    h = w = 1
    most = net.layers[k].out_shape[0]
    for layer in net.layers[k::-1]:
        (sh, sw), (dh, dw) = layer.conv["stride"], layer.conv["dilation"]
        kh, kw = layer.weight.shape[-2:]
        h, w = (h - 1) * sh + dh * (kh - 1) + 1, (w - 1) * sw + dw * (kw - 1) + 1
        most = max(most, layer.in_shape[0] * h * w)
    return most


def _chunk_size(batch: int, net: LoweredNetwork, memory_mb: float, k: int) -> int:
    """How many bound rows of layer ``k`` to push back at once so that one ``A`` stays near
    ``memory_mb`` (rows of a convolution as windows, the others whole)."""
    if _windowed(net, k):       # small chunks: the allocator reuses their memory
        widest, memory_mb = _window_elements(net, k), min(memory_mb, WINDOW_CHUNK_MB)
    else:
        widest = max(max(layer.n_in, layer.n_out) for layer in net.layers)
    return max(1, int(memory_mb * 2 ** 20 / (8 * 3 * batch * widest)))


def _windowed(net: LoweredNetwork, k: int) -> bool:
    """Whether rows of layer ``k`` go back as windows: every layer up to ``k`` a convolution."""
    return all(layer.kind == "Conv2d" for layer in net.layers[:k + 1])


def _tighten_rows(net: LoweredNetwork, pre_bounds: List[Box], lower: torch.Tensor, upper: torch.Tensor,
                  rows: torch.Tensor, l0: torch.Tensor, u0: torch.Tensor) -> None:
    """Intersect ``lower``/``upper`` (the interval bounds of layer ``len(pre_bounds)``) with
    the back-substituted bounds of the neurons ``rows``, in place."""
    batch, n, k = l0.shape[0], rows.numel(), len(pre_bounds)
    r = torch.arange(n, device=l0.device)
    layer = net.layers[k]
    if _windowed(net, k):
        channels, h, w = layer.out_shape
        A = torch.zeros(batch, 2 * n, channels, 1, 1, dtype=l0.dtype, device=l0.device)
        A[:, r, rows // (h * w)] = 1.0
        A[:, r + n, rows // (h * w)] = -1.0
        corner, which = torch.unique(torch.stack([(rows // w) % h, rows % w], 1), dim=0, return_inverse=True)
        both = _backward_windows(net.layers, pre_bounds, A, corner, which.repeat(2), l0, u0)
    else:
        A = torch.zeros(batch, 2 * n, layer.n_out, dtype=l0.dtype, device=l0.device)
        A[:, r, rows] = 1.0
        A[:, r + n, rows] = -1.0
        both = _backward(net.layers, relaxations(pre_bounds), A, l0, u0)
    lower[:, rows] = torch.maximum(lower[:, rows], both[:, :n])
    upper[:, rows] = torch.minimum(upper[:, rows], -both[:, n:])


def _objective_bound(net: LoweredNetwork, pre_bounds: List[Box], C: torch.Tensor, l0: torch.Tensor,
                     u0: torch.Tensor) -> torch.Tensor:
    """``(batch, m)`` lower bounds on ``C^T z_{d+1}`` (``C``: ``(batch, logits, m)``): the
    larger of the back-substituted bound and the analytic last layer on the same bounds
    (both sound; the larger keeps CROWN never looser than intervals)."""
    A = C.transpose(1, 2)
    objective = _backward(net.layers, relaxations(pre_bounds[:-1]), A, l0, u0)
    if net.num_hidden:
        cW = net.layers[-1].back(A)                                      # (batch, m, n_in)
        lo, hi = (t.clamp(min=0) for t in pre_bounds[-2])
        interval = ((cW.clamp(min=0) @ lo[:, :, None] + cW.clamp(max=0) @ hi[:, :, None])[..., 0]
                    + A @ net.layers[-1].bias)
        objective = torch.maximum(objective, interval)
    return objective


def _real_tensor(c) -> torch.Tensor:
    """``c`` if it is a finite real (floating or integer) tensor, else a ``ValueError``."""
    if not isinstance(c, torch.Tensor) or c.is_complex() or c.dtype == torch.bool:
        kind = c.dtype if isinstance(c, torch.Tensor) else type(c).__name__
        raise ValueError(f"c must be a real torch.Tensor of objective vectors (see objective_matrix), got {kind}")
    if not torch.isfinite(c).all():
        raise ValueError("c must be finite (no nan or inf)")
    return c


def _check_c(c, batch: int, num_logits: int, like: torch.Tensor) -> torch.Tensor:
    """``c`` as ``(batch, num_logits, m)``: one vector, one matrix of columns, or one per box."""
    c = _real_tensor(c).to(dtype=like.dtype, device=like.device)
    if c.dim() == 1:
        c = c[:, None]
    if c.dim() == 2:
        c = c.expand(batch, *c.shape)
    if c.dim() != 3 or c.shape[0] != batch or c.shape[1] != num_logits:
        raise ValueError(f"c must have shape ({num_logits}, m), ({num_logits},) or "
                         f"({batch}, {num_logits}, m); got {tuple(c.shape)}")
    return c


def crown_bounds(net: LoweredNetwork, initial_bound: Sequence[torch.Tensor], c: Optional[torch.Tensor] = None,
          memory_mb: float = 256.0) -> Tuple[List[Box], Optional[torch.Tensor]]:
    """``linear_bounds`` on a network already lowered (``network.lower``) in the box's
    dtype and device: same arguments (but ``net`` for the model), same results."""
    l0, u0 = check_box(initial_bound)
    _check_crown_args(net, l0, memory_mb)
    batch = l0.shape[0]
    l0, u0 = l0.flatten(1), u0.flatten(1)
    pre_bounds: List[Box] = []
    with torch.no_grad():
        lo, hi = l0, u0
        for k, layer in enumerate(net.layers):
            mid, rad = layer.forward((hi + lo) / 2), layer.forward((hi - lo) / 2, absolute=True)
            lower, upper = mid - rad, mid + rad
            if k > 0:
                last = k == net.num_hidden
                todo = torch.ones(layer.n_out, dtype=torch.bool, device=l0.device) if last else \
                    relu_phases(lower, upper)[2].any(0)
                todo, chunk = torch.nonzero(todo)[:, 0], _chunk_size(batch, net, memory_mb, k)
                for s in range(0, todo.numel(), chunk):
                    _tighten_rows(net, pre_bounds, lower, upper, todo[s:s + chunk], l0, u0)
            pre_bounds.append((lower, upper))
            lo, hi = lower.clamp(min=0), upper.clamp(min=0)
        objective = None
        if c is not None:
            objective = _objective_bound(net, pre_bounds, _check_c(c, batch, net.num_logits, l0), l0, u0)
    return pre_bounds, objective


def _check_crown_args(net, l0: torch.Tensor, memory_mb) -> None:
    """``crown_bounds``' network (lowered, for this box's shape) and ``memory_mb`` (> 0)."""
    if not isinstance(net, LoweredNetwork):
        raise ValueError(f"net must be a LoweredNetwork (network.lower(model, input_shape)), got {type(net).__name__}")
    if l0[0].numel() != net.layers[0].n_in:
        raise ValueError(f"initial_bound of shape {tuple(l0.shape)} does not fit the network: it takes inputs of "
                         f"shape {net.input_shape}")
    mb = _as_number(memory_mb)
    if mb is None or not math.isfinite(mb) or mb <= 0:
        raise ValueError(f"memory_mb must be a number of megabytes > 0, got {memory_mb!r}")


def linear_bounds(model: nn.Sequential, initial_bound: Sequence[torch.Tensor], c: torch.Tensor = None,
                  memory_mb: float = 256.0) -> Tuple[List[Box], Optional[torch.Tensor]]:
    """CROWN-style linear bounds for a ReLU network (``Flatten``, ``Linear``,
    ``Conv2d``, ``ReLU``), batched over input boxes (notebook 09).

    Each ReLU on ``[l, u]`` with ``l < 0 < u`` is sandwiched between two lines (the
    chord above; below, ``0`` or the identity, whichever is closer: CROWN's adaptive
    slope). A bound on any linear function of a layer is then pushed back to the input
    box through these lines and the layers (convolutions by transposed convolutions,
    never unrolled; a neuron of a convolution's bound only over its receptive field).
    Tighter than ``bound_propagation``, much cheaper than an LP per neuron.

    Layer by layer: the interval bound of a layer is computed first, from the linear
    bounds of the layer before; only neurons it leaves unstable (``l < 0 < u`` in some
    box of the batch) are pushed back, in chunks of about ``memory_mb`` (at most
    ``WINDOW_CHUNK_MB`` for a convolution's neurons), and every
    bound is the intersection of the two. Neurons that intervals already prove stable
    keep their interval bounds: their ReLU is exact either way.

    Args:
        model: the network (lowered here with ``network.lower``; use ``crown_bounds`` to reuse
            a lowered network).
        initial_bound: ``(l0, u0)``, a batch of input boxes, e.g. (n, 1, 28, 28).
            Use float64 for bounds that feed a solver (weights take the box's dtype).
        c: optional objective vectors, the columns of a ``(num_logits, m)`` matrix as
            in ``interval_based_bound``, or one such matrix per box, ``(batch,
            num_logits, m)`` (e.g. ``objective_matrix`` of each box's label).
        memory_mb: rough size of the largest intermediate tensor. On a convolutional
            net, one image per call is fastest: a batch pushes back the union of its
            boxes' unstable neurons for every box.

    Returns:
        ``(pre_bounds, objective_bound)``: the ``(l, u)`` of the pre-activations of
        every affine layer, each ``(batch, width)`` flattened (the last one bounds the
        logits), and, when ``c`` is given, the ``(batch, m)`` lower bounds on
        ``c^T z_{d+1}`` (else ``None``): the larger of the back-substituted bound and
        the chapter's analytic last layer on these bounds, so never below
        ``interval_based_bound``.
    """
    l0, _ = check_box(initial_bound)
    net = lower(model, l0.shape[1:], dtype=l0.dtype, device=l0.device)
    return crown_bounds(net, initial_bound, c, memory_mb)
