"""Optimised-slope CROWN ("alpha-CROWN"): CROWN with the lower lines of the unstable
ReLUs chosen by gradient ascent on the bound (beyond the chapter; notebook 09).

CROWN bounds each unstable ReLU ``a = max(0, p)``, ``l < 0 < u``, from below by
``alpha * p`` with ``alpha`` 0 or 1 (``relu.relu_relaxation``). *Any* ``alpha`` in
``[0, 1]`` gives a sound bound, so each bound row may pick its own: the bound is a
differentiable function of the slopes, and a few steps of projected Adam on it (Xu et
al., "Fast and complete", 2021) prove more. The bound returned is computed once more
with the slopes found and intersected with CROWN's, so it is never looser than CROWN.

The slopes used for the bounds of a hidden layer are optimised too (through the final
bound that depends on them), where their number fits in ``memory_mb``; the first layer's
bounds are exact and need none.

The search computes its own gradients, also when called inside ``torch.no_grad()`` or
``torch.inference_mode()`` (as the attacks do), and a time limit may stop it early: the
slopes found so far give a bound as sound as any.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import List, Optional, Sequence, Tuple

import torch

from .bounds import _backward, _check_c, check_box, crown_bounds
from .layers import Box
from .network import LoweredNetwork
from .relu import relu_phases, relu_relaxation
from .solvers import deadline, out_of_time
from .threat import check_count


def _lines(bounds: Box, alpha: torch.Tensor):
    """The ReLU lines on ``bounds`` (``(batch, width)`` each) with the lower slope of each
    unstable neuron taken from ``alpha`` ``(batch, m, width)`` (one per bound row)."""
    lo_s, up_s, up_o = relu_relaxation(*bounds)
    unstable = relu_phases(*bounds)[2][:, None, :]
    return torch.where(unstable, alpha, lo_s[:, None, :]), up_s[:, None, :], up_o[:, None, :]


def _rows_matrix(rows: torch.Tensor, width: int, batch: int, like: torch.Tensor) -> torch.Tensor:
    """``(batch, 2n, width)``: ``+e_r`` then ``-e_r`` for the ``n`` neurons ``rows`` (their
    lower bounds, then minus their upper bounds)."""
    n = rows.numel()
    A = torch.zeros(batch, 2 * n, width, dtype=like.dtype, device=like.device)
    r = torch.arange(n, device=like.device)
    A[:, r, rows], A[:, r + n, rows] = 1.0, -1.0
    return A


def _plan(net: LoweredNetwork, pre: List[Box], memory_mb: float) -> List[Optional[torch.Tensor]]:
    """For each hidden layer, the neurons whose bounds get their own slopes: those CROWN
    leaves unstable in some box, when their slopes fit in ``memory_mb`` (else ``None``:
    the layer keeps CROWN's bounds). The first layer's bounds are exact (``None``)."""
    plan, batch = [None], pre[0][0].shape[0]
    for k in range(1, net.num_hidden):
        rows = torch.nonzero(relu_phases(*pre[k])[2].any(0))[:, 0]
        size = 8 * batch * 2 * rows.numel() * sum(net.widths[:k])
        plan.append(rows if rows.numel() and size <= memory_mb * 2 ** 20 else None)
    return plan


def _pass(net: LoweredNetwork, best: List[Box], plan, alphas, A_final: torch.Tensor, l0, u0):
    """One evaluation, as functions of the slopes ``alphas``: the hidden layers' bounds
    (each intersected with ``best``), every bound row's own value (``values[k]``: ``(batch,
    2n)`` for the rows of layer ``k`` in ``plan``, ``None`` for the others; last the
    final bound, ``(batch, m)``)."""
    bounds, values = [best[0]], [None]
    for k in range(1, net.num_hidden):
        rows = plan[k]
        values.append(None)
        if rows is None:
            bounds.append(best[k])
            continue
        A = _rows_matrix(rows, net.layers[k].n_out, l0.shape[0], l0)
        values[k] = both = _backward(net.layers, [_lines(bounds[j], alphas[k][j]) for j in range(k)], A, l0, u0)
        n, (l, u) = rows.numel(), best[k]
        l = l.index_copy(1, rows, torch.maximum(l[:, rows], both[:, :n]))
        u = u.index_copy(1, rows, torch.minimum(u[:, rows], -both[:, n:]))
        bounds.append((l, u))
    relax = [_lines(bounds[j], alphas[-1][j]) for j in range(net.num_hidden)]
    return bounds, values + [_backward(net.layers, relax, A_final, l0, u0)]


def _initial_alphas(net: LoweredNetwork, pre: List[Box], plan, m: int) -> List[List[torch.Tensor]]:
    """CROWN's own lower slopes, one copy per bound row: ``alphas[k][j]`` ``(batch, rows,
    width_j)``, ``j < k``, for the rows of hidden layer ``k`` in ``plan`` (``[]`` for the
    others), and last the slopes of the final bound's ``m`` rows."""
    crown = [relu_relaxation(*b)[0][:, None, :] for b in pre[:net.num_hidden]]
    counts = [0 if rows is None else 2 * rows.numel() for rows in plan] + [m]
    return [[crown[j].expand(-1, n, -1).clone().requires_grad_(True) for j in range(k)] if n else []
            for k, n in enumerate(counts)]


def _cast(net: LoweredNetwork, dtype: torch.dtype) -> LoweredNetwork:
    """The same lowered network with its weights in ``dtype``, as plain tensors (copies of
    those made inside ``torch.inference_mode()``, which autograd cannot save)."""
    plain = lambda t: _plain(t.to(dtype))
    layers = [replace(layer, weight=plain(layer.weight), bias=plain(layer.bias)) for layer in net.layers]
    return LoweredNetwork(layers, net.input_shape, dtype, net.device)


def _plain(t: torch.Tensor) -> torch.Tensor:
    """``t``, or a copy of it made outside ``torch.inference_mode()`` if it is an inference tensor."""
    if not t.is_inference():
        return t
    with torch.inference_mode(False):
        return t.clone()


def _keep_best(kept, top, alphas, values) -> None:
    """Where a bound row's value beats its best so far (``top``), keep its slopes, in place."""
    for k, value in enumerate(values):
        if value is None or not alphas[k]:
            continue
        better = (value > top[k])[:, :, None]
        top[k] = torch.maximum(top[k], value)
        for j, a in enumerate(alphas[k]):
            kept[k][j] = torch.where(better, a, kept[k][j])


def _optimise(net: LoweredNetwork, pre: List[Box], plan, C: torch.Tensor, l0, u0, iterations: int, lr: float,
              at: Optional[float] = None):
    """Projected Adam (``_ascend``) on the slopes: ``iterations`` evaluations, a step
    between two, each hidden layer's bounds the best seen so far, stopped early once the
    deadline ``at`` (``time.monotonic()``) has passed. Returns, for every bound row, the
    slopes of its best evaluation (the dtype of ``net``), and whether every evaluation ran.
    Gradients are on whatever the caller's mode (``no_grad``, ``inference_mode``)."""
    with torch.inference_mode(False):
        net, plan = _cast(net, net.dtype), [None if rows is None else _plain(rows) for rows in plan]
        cast = lambda t: _plain(t).to(net.dtype)
        best = [(cast(l), cast(u)) for l, u in pre]
        l0, u0, A = cast(l0), cast(u0), cast(C).transpose(1, 2)
        alphas = _initial_alphas(net, best, plan, C.shape[2])
        kept = [[a.detach().clone() for a in per] for per in alphas]
        top = [None if not per else torch.full(per[0].shape[:2], -math.inf, dtype=net.dtype) for per in alphas]
        params = [a for per in alphas for a in per]
        moments = [(torch.zeros_like(a), torch.zeros_like(a)) for a in params]
        for step in range(iterations):
            with torch.enable_grad():
                bounds, values = _pass(net, best, plan, alphas, A, l0, u0)
                objective = values[-1].sum()
            with torch.no_grad():
                _keep_best(kept, top, alphas, values)
                best[1:net.num_hidden] = [(torch.maximum(bl, l), torch.minimum(bu, u)) for (bl, bu), (l, u)
                                          in zip(best[1:net.num_hidden], bounds[1:])]
            if step == iterations - 1 or out_of_time(at):
                return kept, step == iterations - 1
            _ascend(params, torch.autograd.grad(objective, params), moments, step + 1, lr)
    return kept, True


def _ascend(params, grads, moments, t: int, lr: float, betas=(0.9, 0.999), eps: float = 1e-8) -> None:
    """One Adam step up the gradients ``grads`` (step ``t`` >= 1; the moments are updated
    in place), each slope then clipped back into ``[0, 1]`` (the projection)."""
    with torch.no_grad():
        for a, g, (m, v) in zip(params, grads, moments):
            m.mul_(betas[0]).add_(g, alpha=1 - betas[0])
            v.mul_(betas[1]).addcmul_(g, g, value=1 - betas[1])
            denom = (v.sqrt() / math.sqrt(1 - betas[1] ** t)).add_(eps)
            a.addcdiv_(m, denom, value=lr / (1 - betas[0] ** t)).clamp_(0.0, 1.0)


def alpha_crown_bounds(net: LoweredNetwork, initial_bound: Sequence[torch.Tensor], c, iterations: int = 20,
                       lr: float = 0.5, memory_mb: float = 256.0, search_dtype: Optional[torch.dtype] = None,
                       time_limit: Optional[float] = None) -> Tuple[List[Box], torch.Tensor]:
    """Optimised-slope CROWN lower bounds on ``c^T z_{d+1}`` over a batch of input boxes.

    The slopes are searched in ``search_dtype`` (default: the box's; float32 is about
    twice as fast and a little less tight); the bounds returned are then computed once
    with each row's best slopes, in the box's dtype, and intersected with CROWN's.

    Args:
        net: ``network.lower(model, input_shape)`` in the box's dtype and device.
        initial_bound: ``(l0, u0)``, a batch of input boxes, e.g. ``(n, 1, 28, 28)``.
        c: objective vectors as in ``bounds.crown_bounds``: ``(num_logits, m)``,
            ``(num_logits,)`` or ``(batch, num_logits, m)``.
        iterations: bound evaluations (Adam steps between them), >= 1.
        lr: Adam's step size on the slopes (they stay in ``[0, 1]``).
        memory_mb: the most memory the slopes of one hidden layer's bounds may take.
        time_limit: seconds for the whole call (``None``: none): the search stops at the
            first evaluation that ends after it (CROWN's bounds and the last
            evaluation with the slopes found come on top).

    Returns:
        ``(pre_bounds, objective)``: the hidden layers' bounds (each ``(batch, width)``,
        flattened; at least as tight as CROWN's) and ``(batch, m)`` lower bounds on
        ``c^T z_{d+1}`` (never below CROWN's).
    """
    bounds, objective, _ = alpha_crown_search(net, initial_bound, c, iterations, lr, memory_mb, search_dtype,
                                              deadline(time_limit))
    return bounds, objective


def alpha_crown_search(net: LoweredNetwork, initial_bound: Sequence[torch.Tensor], c, iterations: int = 20,
                       lr: float = 0.5, memory_mb: float = 256.0, search_dtype: Optional[torch.dtype] = None,
                       at: Optional[float] = None, crown: Optional[tuple] = None) -> Tuple[List[Box], torch.Tensor, bool]:
    """``alpha_crown_bounds`` until the deadline ``at`` (a ``time.monotonic()`` moment,
    ``None``: none), and whether the search ran all its ``iterations`` (``False``: the
    deadline stopped it; the bounds are sound all the same). ``crown``: what
    ``bounds.crown_bounds`` gives for this box and ``c``, when at hand."""
    iterations = check_count(iterations, "iterations", 1)
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not 0 < lr < math.inf:
        raise ValueError(f"lr must be a finite number > 0, got {lr!r}")
    l0, u0 = (t.flatten(1) for t in check_box(initial_bound))
    C = _check_c(c, l0.shape[0], net.num_logits, l0)
    pre, crown_obj = crown_bounds(net, initial_bound, C, memory_mb) if crown is None else crown
    plan = _plan(net, pre, memory_mb)
    search = net if search_dtype in (None, net.dtype) else _cast(net, search_dtype)
    alphas, finished = _optimise(search, pre, plan, C, l0, u0, iterations, lr, at)
    with torch.no_grad():
        alphas = [[a.to(net.dtype) for a in per] for per in alphas]
        bounds, values = _pass(net, pre, plan, alphas, C.transpose(1, 2), l0, u0)
    return bounds, torch.maximum(crown_obj, values[-1]), finished
