"""The adversarial polytope of a 2-D toy network, and its convex outer bounds (notebook 07).

The chapter pictures what a verifier faces: the image of the ε-ball through a ReLU network
(the "adversarial polytope") is not convex, and a relaxation replaces it by a convex set
that contains it. On MNIST neither can be drawn; on a network with 2 inputs and 2 outputs
both can:

* ``toy_network``: a seeded random 2-6-6-2 ReLU network (float64);
* ``ball_image``: the exact image of the l∞ ball, sampled on a fine grid of the square
  (the network is piecewise linear, so the images of the grid's small cells tile it);
* ``lp_support``: the support function of the LP relaxation's feasible set projected on
  the output plane, ``h(d) = max dᵀz`` over the relaxation, one LP per direction ``d``
  (HiGHS through ``scipy.optimize.linprog``); ``outer_polygon`` turns it into a polygon;
* ``output_box``: the interval box of ``bounds.bound_propagation`` on the outputs.

Image ⊆ LP outer bound ⊆ interval box; the tests check both inclusions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn

from .bounds import bound_propagation
from .guard import check_network
from .models import placement

TOY_SEED = 8
TOY_WIDTHS = (2, 6, 6, 2)
TOY_X0 = (0.5, -0.5)
TOY_EPSILON = 0.6
"""The course's toy case: ``toy_network()`` and the ball of radius 0.6 around (0.5, -0.5).
Its image is clearly not convex, it stays on one side of ``z₁ = z₂`` (the ball is
robust), and the LP outer bound crosses that line (the LP cannot prove it)."""


def toy_network(seed: int = TOY_SEED, widths: Sequence[int] = TOY_WIDTHS) -> nn.Sequential:
    """A random ReLU network ``widths[0] -> ... -> widths[-1]`` in float64.

    Weights ``N(0, 1/fan_in)``, biases ``N(0, 0.25)``, drawn from a ``torch.Generator``
    seeded with ``seed`` (the same network on every machine). Inputs and outputs must
    have 2 dimensions for the pictures; the hidden widths are free.
    """
    widths = [int(w) for w in widths]
    if len(widths) < 3 or min(widths) < 1:
        raise ValueError(f"widths must list >= 3 positive layer sizes, got {widths}")
    g = torch.Generator().manual_seed(int(seed))
    layers: List[nn.Module] = []
    for i, (fan_in, fan_out) in enumerate(zip(widths[:-1], widths[1:])):
        lin = nn.Linear(fan_in, fan_out).double()
        with torch.no_grad():
            lin.weight.copy_(torch.randn(fan_out, fan_in, generator=g, dtype=torch.float64) / fan_in ** 0.5)
            lin.bias.copy_(torch.randn(fan_out, generator=g, dtype=torch.float64) * 0.5)
        layers.append(lin)
        if i < len(widths) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers).eval()


def _affine_relu(model: nn.Sequential) -> List[Tuple[np.ndarray, np.ndarray]]:
    """``[(W, b), ...]`` of a ``Linear, ReLU, ..., Linear`` network (float64 numpy), one that
    ``guard.check_network`` accepts."""
    layers = list(check_network(model))
    kinds = [type(m) for m in layers]
    expected = [nn.Linear if i % 2 == 0 else nn.ReLU for i in range(len(layers))]
    if kinds != expected or len(layers) % 2 == 0:
        raise ValueError("model must alternate Linear and ReLU layers and end with Linear, got "
                         + ", ".join(k.__name__ for k in kinds))
    return [(m.weight.detach().double().numpy(), m.bias.detach().double().numpy()) for m in layers[::2]]


def _check_point(model: nn.Sequential, x0, epsilon: float) -> Tuple[np.ndarray, float]:
    x0 = np.asarray(x0, dtype=float).reshape(-1)
    W = _affine_relu(model)
    if x0.shape != (W[0][0].shape[1],):
        raise ValueError(f"x0 must have {W[0][0].shape[1]} coordinates, got shape {x0.shape}")
    if W[-1][0].shape[0] != 2 or x0.size != 2:
        raise ValueError("the adversarial polytope is drawn for 2 inputs and 2 outputs")
    epsilon = float(epsilon)
    if not (np.isfinite(epsilon) and epsilon > 0):
        raise ValueError(f"epsilon must be finite and > 0, got {epsilon}")
    return x0, epsilon


def ball_image(model: nn.Sequential, x0, epsilon: float, resolution: int = 161) -> Tuple[np.ndarray, np.ndarray]:
    """The l∞ ball ``|x - x0|∞ <= ε`` on a ``resolution`` x ``resolution`` grid (its edges
    included) and its image: ``(inputs, outputs)``, both ``(resolution, resolution, 2)``."""
    x0, epsilon = _check_point(model, x0, epsilon)
    if resolution < 2:
        raise ValueError(f"resolution must be >= 2, got {resolution}")
    t = np.linspace(-epsilon, epsilon, int(resolution))
    inputs = np.stack(np.meshgrid(x0[0] + t, x0[1] + t), axis=-1)
    with torch.no_grad():
        outputs = model(torch.as_tensor(inputs.reshape(-1, 2), dtype=placement(model)[1])).double().numpy()
    return inputs, outputs.reshape(inputs.shape)


def _box(x0: np.ndarray, epsilon: float):
    lo = torch.as_tensor(x0 - epsilon, dtype=torch.float64)[None]
    return lo, lo + 2 * epsilon


def output_box(model: nn.Sequential, x0, epsilon: float) -> Tuple[np.ndarray, np.ndarray]:
    """Interval bounds on the two outputs over the ball: ``(lower (2,), upper (2,))``."""
    x0, epsilon = _check_point(model, x0, epsilon)
    l, u = bound_propagation(model, _box(x0, epsilon))[-1]
    return l[0].numpy(), u[0].numpy()


def _relaxation(model: nn.Sequential, x0: np.ndarray, epsilon: float):
    """The chapter's LP over ``(x, z_1, ..., z_d)`` with interval pre-activation bounds:
    stable ReLUs fixed, each unstable one replaced by its triangle. Returns the
    constraint matrices, variable bounds and the last layer ``(W, b)``."""
    Wb = _affine_relu(model)
    pre = [(l[0].numpy(), u[0].numpy()) for l, u in bound_propagation(model, _box(x0, epsilon))[::2]]
    sizes = [2] + [W.shape[0] for W, _ in Wb[:-1]]
    start = np.cumsum([0] + sizes)
    n = int(start[-1])
    A_ub, b_ub, A_eq, b_eq = [], [], [], []
    var_bounds = [(x0[0] - epsilon, x0[0] + epsilon), (x0[1] - epsilon, x0[1] + epsilon)]
    for i, (W, b) in enumerate(Wb[:-1]):
        l, u = pre[i]
        for j in range(W.shape[0]):
            row = np.zeros(n)
            row[start[i]:start[i + 1]] = W[j]          # ẑ_j = row · vars + b_j
            out = start[i + 1] + j                      # the column of z_j
            if u[j] <= 0:
                var_bounds.append((0.0, 0.0))
                continue
            var_bounds.append((0.0, None))
            if l[j] >= 0:                               # z_j = ẑ_j
                eq = -row
                eq[out] = 1.0
                A_eq.append(eq)
                b_eq.append(b[j])
                continue
            s = u[j] / (u[j] - l[j])
            ge = row.copy()                             # ẑ_j - z_j <= -b_j   (z_j >= ẑ_j)
            ge[out] = -1.0
            le = -s * row                               # z_j - s ẑ_j <= s (b_j - l_j)
            le[out] = 1.0
            A_ub += [ge, le]
            b_ub += [-b[j], s * (b[j] - l[j])]
    arrays = [np.array(a, dtype=float).reshape(-1, n) for a in (A_ub, A_eq)]
    return arrays[0], np.array(b_ub, float), arrays[1], np.array(b_eq, float), var_bounds, Wb[-1], start


def lp_support(model: nn.Sequential, x0, epsilon: float, directions) -> Tuple[np.ndarray, np.ndarray]:
    """The LP relaxation's support function on the output plane.

    For each direction ``d`` (rows of ``directions``, ``(k, 2)``) solves
    ``max dᵀ z_out`` over the chapter's LP relaxation of the network on the l∞ ball (interval
    pre-activation bounds, each unstable ReLU replaced by its triangle) with HiGHS.
    Returns ``(h (k,), points (k, 2))``: the maxima and the outputs that attain them.
    A solve that does not end "optimal" raises ``RuntimeError`` with HiGHS's message.
    """
    from scipy.optimize import linprog

    x0, epsilon = _check_point(model, x0, epsilon)
    D = np.asarray(directions, dtype=float)
    if D.ndim != 2 or D.shape[1] != 2 or len(D) == 0:
        raise ValueError(f"directions must have shape (k, 2) with k >= 1, got {D.shape}")
    A_ub, b_ub, A_eq, b_eq, var_bounds, (W, b), start = _relaxation(model, x0, epsilon)
    h, points = np.empty(len(D)), np.empty((len(D), 2))
    for k, d in enumerate(D):
        c = np.zeros(len(var_bounds))
        c[start[-2]:] = -(W.T @ d)                      # maximise dᵀ(W z_d + b)
        res = linprog(c, A_ub=A_ub if len(A_ub) else None, b_ub=b_ub if len(b_ub) else None,
                      A_eq=A_eq if len(A_eq) else None, b_eq=b_eq if len(b_eq) else None,
                      bounds=var_bounds, method="highs")
        if res.status != 0:
            raise RuntimeError(f"LP for direction {d} did not solve to optimality: {res.message}")
        points[k] = W @ res.x[start[-2]:] + b
        h[k] = d @ points[k]
    return h, points


def unit_directions(count: int = 72) -> np.ndarray:
    """``count`` unit vectors ``(count, 2)`` at equal angles, starting at (1, 0)."""
    if count < 3:
        raise ValueError(f"count must be >= 3 to enclose a bounded set, got {count}")
    a = 2 * np.pi * np.arange(count) / count
    return np.stack([np.cos(a), np.sin(a)], axis=1)


def outer_polygon(directions, h) -> np.ndarray:
    """Vertices ``(k, 2)`` of ``{z : dᵀz <= h(d) for every direction}``: the intersections of
    consecutive support lines. ``directions`` must be sorted by angle with gaps < π
    (as ``unit_directions`` gives)."""
    D, h = np.asarray(directions, float), np.asarray(h, float)
    if D.ndim != 2 or D.shape[1] != 2 or h.shape != (len(D),) or len(D) < 3:
        raise ValueError(f"need directions (k, 2) and h (k,) with k >= 3, got {D.shape} and {h.shape}")
    angles = np.unwrap(np.arctan2(D[:, 1], D[:, 0]))
    gaps = np.diff(np.append(angles, angles[0] + 2 * np.pi))
    if (gaps <= 0).any() or (gaps >= np.pi).any():
        raise ValueError("directions must go round once, counter-clockwise, with gaps below π")
    nxt = np.roll(np.arange(len(D)), -1)
    return np.array([np.linalg.solve(np.stack([D[i], D[j]]), [h[i], h[j]]) for i, j in enumerate(nxt)])


@dataclass
class AdversarialPolytope:
    """Everything ``plotting.plot_adversarial_polytope`` draws (all float64 numpy).

    ``inputs``, ``outputs``: the ball's grid and its image ``(r, r, 2)``; ``center``: the
    network's output at ``x0``; ``directions``, ``support``, ``support_points``: the LP's
    support function; ``polygon``: the LP outer bound's vertices; ``box``: the interval
    bounds ``(lower (2,), upper (2,))``.
    """
    x0: np.ndarray
    epsilon: float
    inputs: np.ndarray
    outputs: np.ndarray
    center: np.ndarray
    directions: np.ndarray
    support: np.ndarray
    support_points: np.ndarray
    polygon: np.ndarray
    box: Tuple[np.ndarray, np.ndarray]


def adversarial_polytope(model: Optional[nn.Sequential] = None, x0=TOY_X0, epsilon: float = TOY_EPSILON,
                         resolution: int = 161, num_directions: int = 72) -> AdversarialPolytope:
    """The image of the l∞ ball of radius ``epsilon`` around ``x0`` through ``model``
    (default ``toy_network()``), its LP outer bound and its interval box."""
    model = toy_network() if model is None else model
    x0, epsilon = _check_point(model, x0, epsilon)
    inputs, outputs = ball_image(model, x0, epsilon, resolution)
    D = unit_directions(num_directions)
    h, points = lp_support(model, x0, epsilon, D)
    with torch.no_grad():
        center = model(torch.as_tensor(x0[None], dtype=placement(model)[1]))[0].double().numpy()
    return AdversarialPolytope(x0, epsilon, inputs, outputs, center, D, h, points, outer_polygon(D, h),
                               output_box(model, x0, epsilon))
