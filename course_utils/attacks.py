"""Solving the inner maximization approximately: FGSM, PGD and friends (chapter 3).

Every attack here is a short recipe over ONE loop, :func:`projected_steepest_ascent`,

.. math::

    \\delta \\leftarrow \\mathcal{P}\\big(\\delta + \\alpha\\, v(\\nabla_\\delta \\ell)\\big),

built from three small pure functions that can be read and tested alone:

* :func:`steepest_direction` -- the normalized steepest-ascent direction ``v`` for a
  norm: ``sign(g)`` under l∞, ``g / ||g||_2`` under l2 (section "Aside: steepest descent");
* :func:`project_ball` -- the projection ``P`` onto the ε-ball of that norm;
* :func:`clamp_images` -- keep ``x + δ`` a valid image in [0, 1].

The clamp to [0, 1] is ON by default (``clamp=True``). The chapter's own l∞ code never
clamps (its l2 code does); pass ``clamp=False`` to reproduce its published l∞ figures,
which partly rely on pixels no image can have.

Conventions (the chapter's): every attack takes ``(model, X, y, epsilon, ...)`` and
returns the perturbation ``delta`` with the shape of ``X``, never ``X + delta``; ``X``
is never modified. ``X`` has shape ``(n, ...)`` with pixels in [0, 1], ``y`` shape
``(n,)`` of class indices. Work happens on the device and in the floating dtype of the
model's parameters; the result comes back on ``X``'s device, in ``X``'s dtype. Every
model call is made in eval mode (BatchNorm's running statistics are used and left
alone, Dropout is off) and each layer's mode is restored afterwards; no gradient is
left on the parameters. The attacks compute their gradients even when called inside
``torch.no_grad()`` or ``torch.inference_mode()``.

Losses are summed over the batch, so each example's gradient does not depend on the
batch size (the chapter's plain ``pgd`` multiplies the mean loss by ``X.shape[0]``
for the same reason).
"""

from __future__ import annotations

from typing import Callable, Optional, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

from .models import count_classes, evaluating, grad_ready, placement
from .threat import (check_class, check_count, check_delta, check_flag, check_images, check_labels,
                     check_model, check_nonnegative, check_norm)

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
"""``loss_fn(logits, y) -> (n,)`` per-example objective that the attack MAXIMISES."""

Target = Union[int, torch.Tensor]

# --- the three building blocks ---------------------------------------------------------


def _check_batch(t: torch.Tensor, name: str) -> torch.Tensor:
    """A floating tensor ``(n, ...)`` (shape and dtype only: the loop calls this every step)."""
    if not isinstance(t, torch.Tensor) or not t.is_floating_point() or t.dim() == 0:
        got = f"{t.dtype} of shape {tuple(t.shape)}" if isinstance(t, torch.Tensor) else type(t).__name__
        raise ValueError(f"{name} must be a floating-point tensor of shape (n, ...), got {got}")
    return t


def _per_example_l2(Z: torch.Tensor) -> torch.Tensor:
    """l2 norm of each example, shaped ``(n, 1, 1, ...)`` to broadcast against ``Z``."""
    return Z.reshape(Z.shape[0], -1).norm(dim=1).reshape(-1, *([1] * (Z.dim() - 1)))


def steepest_direction(grad: torch.Tensor, norm: str = "linf") -> torch.Tensor:
    """The normalized steepest-ascent direction ``argmax_{||v|| <= 1} v^T grad``, per example.

    Chapter 3, "Aside: steepest descent". ``"linf"`` gives ``sign(grad)``; ``"l2"`` gives
    ``grad / ||grad||_2`` with the norm taken over each example (all but the first
    dimension); an example whose gradient is exactly zero gets a zero direction
    instead of NaN. Shape in = shape out = ``(n, ...)``.
    """
    check_norm(norm)
    _check_batch(grad, "grad")
    if norm == "linf":
        return grad.sign()
    return grad / _per_example_l2(grad).clamp(min=torch.finfo(grad.dtype).tiny)


def project_ball(delta: torch.Tensor, epsilon: float, norm: str = "linf") -> torch.Tensor:
    """Euclidean projection of each example of ``delta`` onto ``{||d|| <= epsilon}``.

    Chapter 3: under l∞ this is clipping every entry to ``[-epsilon, epsilon]``; under
    l2 it is ``epsilon * delta / max(epsilon, ||delta||_2)`` (examples already inside
    are left alone). Shape in = shape out = ``(n, ...)``.
    """
    check_norm(norm)
    epsilon = check_nonnegative(epsilon, "epsilon")
    _check_batch(delta, "delta")
    if norm == "linf":
        return delta.clamp(-epsilon, epsilon)
    size = _per_example_l2(delta)
    scale = torch.where(size > epsilon, epsilon / size.clamp(min=torch.finfo(delta.dtype).tiny),
                        torch.ones_like(size))
    return delta * scale


def clamp_images(X: torch.Tensor, delta: torch.Tensor) -> torch.Tensor:
    """The part of ``delta`` that keeps ``X + delta`` inside the image domain [0, 1].

    Entry-wise ``delta`` is clipped to ``[-X, 1 - X]``. Shapes: both ``(n, ...)``.
    """
    if _check_batch(delta, "delta").shape != _check_batch(X, "X").shape:
        raise ValueError(f"delta must have the shape of X {tuple(X.shape)}, got {tuple(delta.shape)}")
    return torch.max(torch.min(delta, 1 - X), -X)


# --- objectives: untargeted and the two targeted ones --------------------------------


def _check_scores(logits: torch.Tensor, **labels: torch.Tensor) -> None:
    """Shapes and dtypes only (no values: this runs at every step of the loop)."""
    if not isinstance(logits, torch.Tensor) or logits.dim() != 2:
        got = tuple(logits.shape) if isinstance(logits, torch.Tensor) else type(logits).__name__
        raise ValueError(f"logits must be a tensor of shape (n, classes), got {got}")
    for name, t in labels.items():
        if not isinstance(t, torch.Tensor) or t.dtype != torch.int64 or t.shape != logits.shape[:1]:
            got = f"{t.dtype} {tuple(t.shape)}" if isinstance(t, torch.Tensor) else type(t).__name__
            raise ValueError(f"{name} must be an int64 tensor of shape ({logits.shape[0]},), got {got}")


def cross_entropy_loss(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-example cross-entropy ``l(h(x + delta), y)``: the untargeted objective. ``(n,)``."""
    _check_scores(logits, y=y)
    return F.cross_entropy(logits, y, reduction="none")


def target_margin(logits: torch.Tensor, y: torch.Tensor, y_targ: torch.Tensor) -> torch.Tensor:
    """``h(x)[y_targ] - h(x)[y]`` per example: the first targeted objective. ``(n,)``."""
    _check_scores(logits, y=y, y_targ=y_targ)
    return logits.gather(1, y_targ[:, None])[:, 0] - logits.gather(1, y[:, None])[:, 0]


def target_vs_all(logits: torch.Tensor, y_targ: torch.Tensor) -> torch.Tensor:
    """``h(x)[y_targ] - sum_{y' != y_targ} h(x)[y']`` per example: the second one. ``(n,)``."""
    _check_scores(logits, y_targ=y_targ)
    return 2 * logits.gather(1, y_targ[:, None])[:, 0] - logits.sum(dim=1)


# --- argument checks -----------------------------------------------------------------


def _check_target(model: nn.Module, X: torch.Tensor, y_targ: Target) -> torch.Tensor:
    """``y_targ`` (a class index or an ``(n,)`` tensor of them) as an ``(n,)`` int64 tensor of
    valid classes on the model's device."""
    check_model(model)
    X = check_images(X)
    num_classes = count_classes(model, X)
    if isinstance(y_targ, torch.Tensor) and y_targ.dim() > 0:
        targets = check_labels(X, y_targ, "y_targ", num_classes)
    else:
        targets = torch.full((X.shape[0],), check_class(y_targ, "y_targ", num_classes))
    return grad_ready(targets.to(device=placement(model, X)[0], dtype=torch.int64))


def _check_loss_fn(loss_fn: LossFn) -> LossFn:
    if not callable(loss_fn):
        raise ValueError(f"loss_fn must be a function (logits, y) -> (n,) losses, got {loss_fn!r}")
    return loss_fn


def _in_dtype_of(X: torch.Tensor, delta: torch.Tensor, epsilon: float, norm: str,
                 clamp: bool) -> torch.Tensor:
    """``delta`` on ``X``'s device, in ``X``'s dtype. When the model computed in another dtype,
    rounding could take ``X + delta`` out of the ball or of [0, 1]: constrain it again."""
    if delta.dtype == X.dtype:
        return delta.to(X.device)
    delta = delta.to(device=X.device, dtype=X.dtype)
    return project_ball(clamp_images(X, delta) if clamp else delta, epsilon, norm)


# --- the one loop ---------------------------------------------------------------------


def projected_steepest_ascent(model: nn.Module, X: torch.Tensor, y: torch.Tensor,
                              epsilon: float, alpha: float, num_iter: int, *,
                              norm: str = "linf", normalize: bool = True,
                              loss_fn: LossFn = cross_entropy_loss,
                              delta_init: Optional[torch.Tensor] = None,
                              clamp: bool = True, keep_best: bool = False) -> torch.Tensor:
    """Projected (normalized) steepest ascent on ``loss_fn`` over the ε-ball of ``norm``.

    Chapter 3, "Projected gradient descent" and "Aside: steepest descent". Starting from
    ``delta_init`` (default zeros), repeats ``num_iter`` times::

        g     = grad_delta sum_i loss_fn(model(X + delta), y)_i
        delta = delta + alpha * steepest_direction(g, norm)   # or alpha * g if not normalize
        delta = clamp_images(X, delta)                        # if clamp
        delta = project_ball(delta, epsilon, norm)

    Clamping before projecting keeps both constraints: under l∞ both are boxes, under
    l2 shrinking a valid perturbation towards 0 keeps ``X + delta`` valid.

    Args:
        model: classifier, ``(n, ...) -> (n, classes)`` logits.
        X: images ``(n, ...)`` in [0, 1]; not modified.
        y: labels ``(n,)``.
        epsilon: radius of the ball (pixel units for l∞, l2 norm of the whole image for l2).
        alpha: step size, in the same units.
        num_iter: number of steps (0 returns the projected start).
        norm: ``"linf"`` or ``"l2"``.
        normalize: take the steepest-ascent step (True) or the raw gradient step
            ``alpha * g`` (False; the chapter's plain ``pgd``).
        loss_fn: per-example objective to maximise, ``(logits, y) -> (n,)``.
        delta_init: starting perturbation, shape of ``X`` (projected before the first step).
        clamp: keep ``X + delta`` in [0, 1] (default True).
        keep_best: return, per example, the iterate with the highest ``loss_fn`` among
            all ``num_iter + 1`` visited (the start included; the earliest on ties)
            instead of the last one.

    Returns:
        ``delta`` with the shape, dtype and device of ``X``.
    """
    check_norm(norm)
    check_model(model)
    X = check_images(X)
    epsilon = check_nonnegative(epsilon, "epsilon")
    alpha = check_nonnegative(alpha, "alpha")
    num_iter = check_count(num_iter, "num_iter", 0)
    normalize, clamp = check_flag(normalize, "normalize"), check_flag(clamp, "clamp")
    loss_fn = _check_loss_fn(loss_fn)
    device, dtype = placement(model, X)
    Xd = X.to(device=device, dtype=dtype)
    y = check_labels(X, y, num_classes=count_classes(model, Xd))
    yd = grad_ready(y.to(device=device, dtype=torch.int64))

    def constrain(delta: torch.Tensor) -> torch.Tensor:
        if clamp:
            delta = clamp_images(Xd, delta)
        return project_ball(delta, epsilon, norm)

    with evaluating(model, grad=True):
        if delta_init is None:
            delta = torch.zeros_like(Xd)
        else:
            check_delta(delta_init, X, "delta_init")
            delta = constrain(delta_init.detach().to(device=device, dtype=dtype))
        best = None
        for _ in range(num_iter):
            delta.requires_grad_(True)
            losses = loss_fn(model(Xd + delta), yd)
            if keep_best:
                best = _keep_better(best, delta.detach(), losses.detach())
            (grad,) = torch.autograd.grad(losses.sum(), delta)
            with torch.no_grad():
                step = steepest_direction(grad, norm) if normalize else grad
                delta = constrain(delta + alpha * step)
        if keep_best:
            with torch.no_grad():
                delta = _keep_better(best, delta, loss_fn(model(Xd + delta), yd))[0]
    return _in_dtype_of(X, delta.detach(), epsilon, norm, clamp)


def _keep_better(best, delta: torch.Tensor, losses: torch.Tensor):
    """``(delta, losses)`` of the best iterate so far per example, given the next one
    (``best`` is ``None`` before the first); only a strictly higher loss replaces."""
    if best is None:
        return delta.clone(), losses.clone()
    kept, kept_losses = best
    better = losses > kept_losses
    kept[better] = delta[better]
    return kept, torch.where(better, losses, kept_losses)


def per_example_loss(model: nn.Module, X: torch.Tensor, y: torch.Tensor, delta: torch.Tensor,
                     loss_fn: LossFn = cross_entropy_loss) -> torch.Tensor:
    """``loss_fn(model(X + delta), y)`` per example, in eval mode, without gradients.

    Shapes: ``X`` and ``delta`` ``(n, ...)``, ``y`` ``(n,)``; returns ``(n,)`` on the
    model's device.
    """
    check_model(model)
    X = check_images(X)
    delta = check_delta(delta, X, "delta")
    loss_fn = _check_loss_fn(loss_fn)
    device, dtype = placement(model, X)
    with evaluating(model), torch.no_grad():
        logits = model((X + delta).to(device=device, dtype=dtype))
        _check_scores(logits)
        y = check_labels(X, y, num_classes=logits.shape[1])
        loss = loss_fn(logits, y.to(device=device, dtype=torch.int64))
    if not isinstance(loss, torch.Tensor) or loss.shape != (X.shape[0],):
        got = tuple(loss.shape) if isinstance(loss, torch.Tensor) else type(loss).__name__
        raise ValueError(f"loss_fn must return one loss per example, shape ({X.shape[0]},), got {got}")
    return loss


def best_per_example(model: nn.Module, X: torch.Tensor, y: torch.Tensor, deltas: torch.Tensor,
                     loss_fn: LossFn = cross_entropy_loss) -> torch.Tensor:
    """Per example, the candidate perturbation with the highest loss.

    Chapter 3, "random restarts". ``deltas``: ``(R, n, ...)``, ``R`` candidates for each of
    the ``n`` examples of ``X``. Ties keep the earliest candidate, so candidate 0 is only
    ever replaced by a strictly better one. Returns ``(n, ...)``.
    """
    X = check_images(X)
    if not isinstance(deltas, torch.Tensor) or deltas.shape[1:] != X.shape or deltas.shape[0] == 0:
        got = tuple(deltas.shape) if isinstance(deltas, torch.Tensor) else type(deltas).__name__
        raise ValueError(f"deltas must be a tensor of shape (R, *X.shape) = (R, {', '.join(map(str, X.shape))}) "
                         f"with R >= 1 candidates, got {got}")
    R, n = deltas.shape[0], X.shape[0]
    flat = deltas.reshape(R * n, *X.shape[1:])
    losses = per_example_loss(model, X.repeat(R, *([1] * (X.dim() - 1))), y.repeat(R), flat,
                              loss_fn).reshape(R, n).to(X.device)
    best = losses.argmax(dim=0)  # the first maximal index on ties
    return deltas[best, torch.arange(n, device=X.device)]


def with_restarts(attack: Callable[..., torch.Tensor], init: Callable[[], torch.Tensor],
                  restarts: int, model: nn.Module, X: torch.Tensor, y: torch.Tensor, *args,
                  loss_fn: Optional[LossFn] = None, **kwargs) -> torch.Tensor:
    """Run ``attack(model, X, y, *args, delta_init=init(), **kwargs)`` from ``restarts`` starts.

    Chapter 3, "random restarts"; wraps any attack that accepts ``delta_init``. The
    starts are drawn one after the other (so the first is the start a single run would
    get from the same random state), then ALL restarts run as one batch of
    ``restarts * n`` examples — much faster than one after the other on a CPU, at
    ``restarts`` times the memory. Keeps, per example, the result with the highest
    objective. Returns ``(n, ...)``.

    ``loss_fn``: the objective, passed on to ``attack`` (which must then accept
    ``loss_fn``) and used to pick the best restart. It sees the repeated batch, so it
    may depend on the labels ``y`` it is given but must not hold per-example data of its
    own. Without it the attack keeps its own objective and restarts are compared by
    cross-entropy.
    """
    restarts = check_count(restarts, "restarts", 1)
    for value, name in ((attack, "attack"), (init, "init")):
        if not callable(value):
            raise ValueError(f"{name} must be a function, got {value!r}")
    X = check_images(X)
    y = check_labels(X, y)
    starts = torch.stack([check_delta(init(), X, "init()") for _ in range(restarts)])  # (R, n, ...)
    ones = [1] * (X.dim() - 1)
    if loss_fn is not None:
        kwargs["loss_fn"] = loss_fn
    flat = attack(model, X.repeat(restarts, *ones), y.repeat(restarts), *args,
                  delta_init=starts.reshape(-1, *X.shape[1:]), **kwargs)
    return best_per_example(model, X, y, flat.reshape(restarts, *X.shape), loss_fn or cross_entropy_loss)


# --- the chapter's named attacks ------------------------------------------------------


def fgsm(model: nn.Module, X: torch.Tensor, y: torch.Tensor, epsilon: float, *,
         clamp: bool = True) -> torch.Tensor:
    """Fast Gradient Sign Method: ``delta = epsilon * sign(grad)`` (chapter 3, "FGSM").

    One l∞ steepest-ascent step of size ``epsilon`` from ``delta = 0``. Returns ``delta``
    ``(n, ...)``; with ``clamp`` (default) ``X + delta`` stays in [0, 1].
    """
    return projected_steepest_ascent(model, X, y, epsilon, epsilon, 1, norm="linf", clamp=clamp)


def pgd(model: nn.Module, X: torch.Tensor, y: torch.Tensor, epsilon: float, alpha: float,
        num_iter: int, *, clamp: bool = True) -> torch.Tensor:
    """Plain projected gradient ascent: ``delta = clip(delta + alpha * grad)`` (chapter 3, "PGD").

    The gradient is NOT normalized, so the step is tiny unless ``alpha`` is huge (the
    chapter uses ``alpha=1e4``, 1000 steps): the reason steepest descent is needed.
    """
    return projected_steepest_ascent(model, X, y, epsilon, alpha, num_iter, norm="linf",
                                     normalize=False, clamp=clamp)


def pgd_linf(model: nn.Module, X: torch.Tensor, y: torch.Tensor, epsilon: float, alpha: float,
             num_iter: int, *, clamp: bool = True) -> torch.Tensor:
    """l∞ PGD with steepest-ascent steps ``alpha * sign(grad)``: "mini-FGSM repeated".

    Chapter 3, "Steepest descent". The chapter's setting: ``epsilon=0.1, alpha=1e-2,
    num_iter=40``.
    """
    return projected_steepest_ascent(model, X, y, epsilon, alpha, num_iter, norm="linf", clamp=clamp)


def pgd_linf_rand(model: nn.Module, X: torch.Tensor, y: torch.Tensor, epsilon: float,
                  alpha: float, num_iter: int, restarts: int, *, clamp: bool = True,
                  generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """l∞ PGD from ``restarts`` uniform random starts in the ball; per example the best.

    Chapter 3, "random restarts" (the chapter: 10 restarts); the restarts run as one batch
    of ``restarts * n`` examples (see :func:`with_restarts`). Random starts are drawn on
    the CPU from ``generator`` (default: torch's global generator), in the model's dtype,
    so a seeded run is reproducible on any device and for inputs of any dtype.
    """
    restarts = check_count(restarts, "restarts", 1)
    epsilon = check_nonnegative(epsilon, "epsilon")
    X = check_images(X)
    y = check_labels(X, y)
    if generator is not None and (not isinstance(generator, torch.Generator) or generator.device.type != "cpu"):
        raise ValueError(f"generator must be None or a CPU torch.Generator (the starts are drawn on the "
                         f"CPU), got {generator!r}")

    def init() -> torch.Tensor:  # drawn in the dtype the model computes in
        u = torch.rand(X.shape, generator=generator, dtype=placement(model, X)[1])
        return ((2 * u - 1) * epsilon).to(X.device)

    return with_restarts(projected_steepest_ascent, init, restarts, model, X, y,
                         epsilon, alpha, num_iter, norm="linf", clamp=clamp)


def pgd_linf_targ(model: nn.Module, X: torch.Tensor, y: torch.Tensor, epsilon: float,
                  alpha: float, num_iter: int, y_targ: Target, *, clamp: bool = True) -> torch.Tensor:
    """Targeted l∞ PGD maximising ``h(x+delta)[y_targ] - h(x+delta)[y]`` (chapter 3, "Targeted").

    ``y_targ``: a class index or an ``(n,)`` tensor of them. The chapter: ``epsilon=0.2,
    alpha=1e-2, num_iter=40``, targets 2 and 0.
    """
    targets = _check_target(model, X, y_targ)
    return projected_steepest_ascent(model, X, y, epsilon, alpha, num_iter, norm="linf",
                                     loss_fn=lambda logits, yy: target_margin(logits, yy, targets),
                                     clamp=clamp)


def pgd_linf_targ2(model: nn.Module, X: torch.Tensor, y: torch.Tensor, epsilon: float,
                   alpha: float, num_iter: int, y_targ: Target, *, clamp: bool = True) -> torch.Tensor:
    """Targeted l∞ PGD maximising ``h[y_targ] - sum_{y' != y_targ} h[y']`` (chapter 3).

    The target logit against ALL the others, not only the true class: a harder objective.
    """
    targets = _check_target(model, X, y_targ)
    return projected_steepest_ascent(model, X, y, epsilon, alpha, num_iter, norm="linf",
                                     loss_fn=lambda logits, yy: target_vs_all(logits, targets),
                                     clamp=clamp)


def pgd_l2(model: nn.Module, X: torch.Tensor, y: torch.Tensor, epsilon: float, alpha: float,
           num_iter: int, *, clamp: bool = True) -> torch.Tensor:
    """l2 PGD: steps ``alpha * g / ||g||_2`` per example, projected onto the l2 ball.

    Chapter 3, "Non-l∞ norms". The chapter's setting: ``epsilon=2, alpha=0.1,
    num_iter=40``; unlike its l∞ attacks, the chapter's l2 attack does clamp to [0, 1].
    """
    return projected_steepest_ascent(model, X, y, epsilon, alpha, num_iter, norm="l2", clamp=clamp)


ATTACKS = {
    "fgsm": fgsm, "pgd": pgd, "pgd_linf": pgd_linf, "pgd_linf_rand": pgd_linf_rand,
    "pgd_linf_targ": pgd_linf_targ, "pgd_linf_targ2": pgd_linf_targ2, "pgd_l2": pgd_l2,
}
"""The named attacks, by the chapter's function names."""
