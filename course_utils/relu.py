"""The rules of one ReLU ``a = max(0, p)`` whose pre-activation ``p`` is known to lie in
``[l, u]``: which neurons are stable, CROWN's two lines, the chapter's big-M rows, and
the cut from its convex hull over the box of its inputs (chapter 3, "A mixed integer
programming formulation" and "Convex relaxations"; notebooks 06, 07 and 09).

``course_utils.layers`` lists these in its table of per-layer rules; the bounds
(``bounds``) and both program writers (``programs``) call them, so each rule is
written once. Everything here works on numpy arrays (the solvers' side, which must not
import torch in worker processes); ``relu_phases`` and ``relu_relaxation`` also take
torch tensors.
"""

from __future__ import annotations

from typing import List, NamedTuple, Tuple

import numpy as np


def relu_phases(l, u):
    """``(inactive, active, unstable)`` boolean masks of neurons with bounds ``l <= p <= u``:
    ``u <= 0`` (always off, ``a = 0``), ``l >= 0`` (always on, ``a = p``) and the rest,
    ``l < 0 < u``, the only ones that need a binary or a relaxation. Numpy or torch,
    any shape (elementwise)."""
    inactive, active = u <= 0, l >= 0
    return inactive, active, ~(inactive | active)


def relu_relaxation(l, u):
    """CROWN's lines around ReLU on ``[l, u]`` (torch tensors, any shape).

    Upper: the chord ``u (p - l) / (u - l)``; lower: ``slope * p`` with ``slope`` 1 when
    ``u >= -l`` and 0 otherwise (the closer side of the triangle). Stable neurons are
    exact: slope 1 and offset 0 when active, 0 and 0 when inactive.

    Returns:
        ``(lower_slope, upper_slope, upper_offset)``, each the shape of ``l``.
    """
    import torch   # here, not at the top: the solvers' worker processes never need torch
    _, active, unstable = relu_phases(l, u)
    denom = torch.where(unstable, u - l, torch.ones_like(u))
    up_slope = torch.where(unstable, u / denom, active.to(u.dtype))
    up_off = torch.where(unstable, -l * u / denom, torch.zeros_like(u))
    lo_slope = torch.where(unstable, (u >= -l).to(u.dtype), active.to(u.dtype))
    return lo_slope, up_slope, up_off


class BigMRow(NamedTuple):
    """One inequality per unstable neuron: ``lower <= a_coef*a + p_coef*p + v_coef*v <= upper``
    (``a`` the activation, ``p`` the pre-activation, ``v`` the binary; each entry an
    array over the neurons or a scalar)."""
    a_coef: object
    p_coef: object
    v_coef: object
    lower: np.ndarray
    upper: np.ndarray


def relu_bigm_rows(l: np.ndarray, u: np.ndarray) -> List[BigMRow]:
    """The chapter's big-M encoding of ``a = max(0, p)`` for unstable neurons with bounds
    ``l < 0 < u`` (arrays over those neurons), besides the variable bounds ``a >= 0`` and
    ``v`` in {0, 1} (or ``[0, 1]`` in the LP) that each writer states its own way::

        a >= p,     a <= p - l (1 - v),     a <= u v

    With ``v = 0`` they force ``a = 0`` (and allow only ``p <= 0``), with ``v = 1``
    ``a = p`` (and ``p >= 0``)."""
    n = np.shape(l)[0]
    none, inf, zero = np.full(n, -np.inf), np.full(n, np.inf), np.zeros(n)
    return [BigMRow(1.0, -1.0, 0.0, zero, inf),                          # a - p >= 0
            BigMRow(1.0, -1.0, -np.asarray(l), none, -np.asarray(l)),      # a - p - l v <= -l
            BigMRow(1.0, 0.0, -np.asarray(u), none, zero)]                 # a - u v <= 0


def relu_bigm_slice(l: float, u: float, v: float) -> np.ndarray:
    """The points ``(p, a)`` that the big-M rows of one unstable ReLU (``l < 0 < u``) allow
    for a fixed value of its binary ``v`` in ``[0, 1]`` (notebook 06's picture).

    With ``a >= 0`` and ``a >= p`` below and ``a <= u v``, ``a <= p - l (1 - v)`` above,
    the set is the quadrilateral with corners ``(l (1 - v), 0)``, ``(0, 0)``, ``(u v, u v)``
    and ``(u v + l (1 - v), u v)``: at ``v = 0`` the segment ``a = 0``, ``l <= p <= 0`` (off),
    at ``v = 1`` the segment ``a = p``, ``0 <= p <= u`` (on). Over every ``v`` in ``[0, 1]``
    the quadrilaterals fill the triangle ``(l, 0)``, ``(0, 0)``, ``(u, u)``: the region the
    LP relaxation keeps (notebook 07).

    Returns:
        ``(4, 2)`` float array, the corners in order (``p`` first, then ``a``); at
        ``v = 0`` or ``1`` two pairs coincide.
    """
    l, u, v = (float(t) for t in (l, u, v))
    if not (np.isfinite(l) and np.isfinite(u) and l < 0 < u):
        raise ValueError(f"need finite bounds l < 0 < u (an unstable ReLU), got l={l}, u={u}")
    if not 0 <= v <= 1:
        raise ValueError(f"v must lie in [0, 1], got {v}")
    return np.array([[l * (1 - v), 0.0], [0.0, 0.0], [u * v, u * v], [u * v + l * (1 - v), u * v]])


def relu_hull_cuts(W: np.ndarray, b: np.ndarray, s: np.ndarray, s_lower: np.ndarray, s_upper: np.ndarray,
                   v: np.ndarray, a: np.ndarray, tol: float = 1e-5) -> List[Tuple[int, np.ndarray, float, float]]:
    """The most violated inequality of each neuron's convex hull over its input box.

    Neurons ``a_r = max(0, W_r . s + b_r)`` (``W``: ``(q, n)`` dense, ``b``: ``(q,)``) read
    inputs ``s`` in the box ``[s_lower, s_upper]`` (``(n,)`` each); ``s``, ``v`` and
    ``a`` are the values of a relaxation's solution. Let ``s_lo`` / ``s_hi`` be the corner
    that minimises / maximises each ``w_i s_i``. Every subset ``I`` of the inputs gives a
    valid inequality (Anderson et al., "Strong mixed-integer programming formulations for
    trained neural networks", 2020)::

        a <= sum_{i in I} w_i (s_i - s_lo_i (1 - v)) + (b + sum_{i not in I} w_i s_hi_i) v

    and together with ``a >= 0``, ``a >= w . s + b`` and the box they describe the convex
    hull; the big-M rows are the two extreme subsets. The most violated one puts ``i``
    in ``I`` exactly when its term is the smaller.

    Returns:
        For each neuron cut off by more than ``tol``: ``(r, I, v_coef, upper)``, the row
        ``a_r - sum_{i in I} W_ri s_i + v_coef v_r <= upper`` (``I`` a boolean ``(n,)``).
    """
    s_lo = np.where(W >= 0, s_lower, s_upper)
    s_hi = np.where(W >= 0, s_upper, s_lower)
    vv = v[:, None]
    inside = W * (s - s_lo * (1 - vv))        # term of i when i is in I
    outside = W * s_hi * vv                   # term of i when it is not
    pick = inside < outside
    rhs_at_point = np.where(pick, inside, outside).sum(1) + b * v
    cuts = []
    for r in np.flatnonzero(a > rhs_at_point + tol):
        I, w = pick[r], W[r]
        low_part = w[I] @ s_lo[r, I]
        v_coef = -(low_part + w[~I] @ s_hi[r, ~I] + b[r])
        cuts.append((int(r), I, float(v_coef), float(-low_part)))
    return cuts
