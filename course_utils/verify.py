"""Exact and relaxed verification of ReLU networks, one image at a time (chapter 3,
"Exactly solving the inner maximization" and "Upper bounding the inner maximization";
notebooks 06-09).

For an image ``x`` with label ``y`` and each target class ``t``, the question is the sign
of ``min (logit_y - logit_t)`` over the l∞ ball of radius ε intersected with [0, 1]. A
``Problem`` holds everything about one such question (the model, the box, the margin
matrix ``C``, the lowered network and every bound computed so far, each once), and
each *step* answers it one way, for some or all targets (``verdicts`` names them):

``targeted_pgd(p)``   "targeted pgd": a targeted attack; finds attacks only
``interval(p)``       "interval": interval bounds, analytic last layer; proves only
``crown(p)``          "crown": CROWN-style linear bounds; proves only
``alpha_crown(p)``    "alpha-crown": CROWN with optimised lower slopes; proves only
``lp(p)``             "lp": the chapter's LP relaxation on interval bounds
``lp_cuts(p)``        "lp+cuts": the LP on tightened bounds, with cuts from each ReLU's hull
``milp(p)``           "milp": the MILP, stopped as soon as the sign is known
``exact_milp(p)``     "exact milp": the MILP solved to its minimum (the chapter's values)

``decide(p, steps)`` runs a list of steps cheapest first, each on the targets still
open; ``certify(model, x, y, epsilon, step)`` builds the problem and runs one step or
``"decide"``.

The model is checked first, and again by every step (``guard.check_network``: its call
must be its layers, its weights float32 or float64). "robust" is then about the model's
weights in exact arithmetic on a box that contains the requested one, "attacked" about
the model as called, at a point of the requested box (``course_utils.guard`` says what
each means for a float32 model).
"""

from __future__ import annotations

import math
import numbers
import time
from concurrent.futures import Executor
from contextlib import nullcontext
from dataclasses import dataclass, field
from functools import cached_property
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn as nn

from .attacks import per_example_loss, projected_steepest_ascent, with_restarts
from .alpha import alpha_crown_bounds
from .bounds import bound_propagation, check_box, crown_bounds, interval_based_bound, objective_matrix
from .network import LoweredNetwork, lower
from .programs import (QUIET_MIP_OPTIONS, HighsProgram, build_program, cvxpy_program, decide_sign,
                       solve_with_cuts)
from .relu import relu_phases
from .splits import SPLIT_NODES, split_search
from .solvers import DEFAULT_SOLVER, Solution, check_solver, check_time_limit, solve_cvxpy
from .guard import check_logits, check_network
from .threat import check_count, check_flag, check_images, check_nonnegative, float64_box, linf_box, points_inside
from .verdicts import SOLVER_STEPS, check_step, check_steps, dearest
from .workers import completed, worker_pool

REPLAY_TOLERANCE = 1e-4
"""Largest allowed gap between a program's logits and the model's at its witness."""

DECIDE_STEPS = ("targeted pgd", "crown", "alpha-crown", "lp+cuts", "milp")
"""``decide``'s default steps, cheapest first."""

DECIDE_CHOICES = ("targeted pgd", "interval", "crown", "alpha-crown", "lp", "lp+cuts", "milp", "exact milp")
"""Every step ``decide`` can run."""


# --- results ---------------------------------------------------------------------------------


@dataclass
class TargetResult:
    """What a step found for one target class.

    ``verdict``: ``"robust"`` (the objective ``logit_y - logit_t`` of the lowered network,
    the model's weights in exact arithmetic, is > 0 on the whole box: see
    ``course_utils.guard`` for what that says of a float32 model), ``"attacked"`` (a
    witness in the requested box, in the model's dtype, where the model itself gives
    objective <= 0) or ``"unknown"``.
    ``value``: the objective's exact minimum when a solver proved it ("exact milp") or the
    LP's optimum ("lp"); ``bound``: a proven lower bound on the minimum; ``witness``: the
    image (shape of ``x``) of an attack or of a relaxation's optimum, and
    ``witness_objective`` the model's objective there; ``replay_error``: the largest gap
    between the program's logits and the model's at the witness (``flagged`` when above
    ``REPLAY_TOLERANCE``). ``decided_by``: the step that gave this answer (for an
    unknown verdict, the last one tried); ``status``: the solver's status, ``"bound"``,
    ``"attack"``/``"no attack"`` for PGD, ``"skipped"``, or ``"unconfirmed"``: a solver
    claimed a point with objective <= 0 that the model, run there, does not confirm
    (its ``witness_objective`` > 0, e.g. float32 rounding at a minimum near 0), so the
    verdict stays "unknown".
    """
    target: int
    verdict: str
    value: Optional[float] = None
    bound: Optional[float] = None
    decided_by: str = ""
    status: str = ""
    seconds: float = 0.0
    witness: Optional[torch.Tensor] = None
    witness_objective: Optional[float] = None
    program_logits: Optional[np.ndarray] = None
    model_logits: Optional[np.ndarray] = None
    replay_error: Optional[float] = None

    @property
    def flagged(self) -> bool:
        # only a MILP's claim rests on its own last layer; an LP point or a PGD point
        # is judged by the real model's logits alone
        return (self.verdict == "attacked" and self.decided_by in ("milp", "exact milp")
                and self.replay_error is not None and self.replay_error > REPLAY_TOLERANCE)


@dataclass
class Certificate:
    """The answer for one image: one ``TargetResult`` per target class, from ``steps``."""
    label: int
    epsilon: float
    steps: Tuple[str, ...]
    results: List[TargetResult] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def verdict(self) -> str:
        verdicts = {r.verdict for r in self.results}
        if "attacked" in verdicts:
            return "attacked"
        return "robust" if verdicts == {"robust"} else "unknown"

    def __getitem__(self, target: int) -> TargetResult:
        for r in self.results:
            if r.target == target:
                return r
        raise KeyError(target)

    def table(self) -> str:
        """A plain-text table: target, verdict, value, bound, the deciding step, status."""
        def fmt(v, r=None):
            if v is None:
                return "> 0" if (r is not None and r.verdict == "robust") else ""
            return f"{v:9.4f}"
        lines = [f"label {self.label}, eps {self.epsilon:g}, steps {', '.join(self.steps)}: {self.verdict}",
                 f"{'target':>6} {'verdict':>8} {'value':>9} {'bound':>9} {'by':>12} {'status':>11}"]
        for r in self.results:
            flag = "  FLAGGED: replay mismatch" if r.flagged else ""
            lines.append(f"{r.target:>6} {r.verdict:>8} {fmt(r.value):>9} {fmt(r.bound, r):>9} "
                         f"{r.decided_by:>12} {r.status:>11}{flag}")
        return "\n".join(lines)


# --- the problem -------------------------------------------------------------------------------


@dataclass
class Problem:
    """One image's verification question (make it with ``verification_problem``).

    ``x``: the image ``(1, ...)`` on the CPU in the model's dtype (PGD's centre);
    ``box``: its ε-box ∩ [0, 1] in float64, computed from the exact pixels and rounded
    outward (``threat.float64_box``): what is verified, never smaller than what was
    asked; ``inner``: the same rounded inward, where witnesses are put
    (``threat.points_inside``); ``targets``: the target classes; ``C``: ``(num_classes,
    len(targets))`` float64, column ``i`` is ``e_y - e_{targets[i]}``; ``net``: the model
    lowered for this input shape. The bounds and the PGD points are computed on first
    use and kept (``interval_bounds``, ``crown``, ``tightened``, ``pgd_points``). The
    model must not change while its problem is in use (each step checks it again with
    ``guard.check_network``, but cannot see new weights).
    """
    model: nn.Module
    x: torch.Tensor
    y: int
    epsilon: float
    targets: List[int]
    net: LoweredNetwork
    box: Tuple[torch.Tensor, torch.Tensor]
    C: torch.Tensor
    inner: Tuple[torch.Tensor, torch.Tensor]

    @property
    def flat_box(self) -> Tuple[np.ndarray, np.ndarray]:
        return tuple(t[0].reshape(-1).numpy() for t in self.box)

    def column(self, target: int) -> np.ndarray:
        """``c = e_y - e_target`` (numpy, one entry per logit)."""
        return self.C[:, self.targets.index(target)].numpy()

    @cached_property
    def interval_bounds(self) -> list:
        """``bound_propagation`` over the box: one ``(l, u)`` per module (the chapter's)."""
        return bound_propagation(self.model, self.box)

    @cached_property
    def crown(self) -> Tuple[list, torch.Tensor]:
        """``(pre_bounds, objective)`` of ``bounds.crown_bounds``; ``objective[i]`` bounds
        the margin of ``targets[i]``."""
        pre, objective = crown_bounds(self.net, self.box, self.C)
        return pre, objective[0]

    @cached_property
    def alpha_crown(self) -> torch.Tensor:
        """``alpha.alpha_crown_bounds``' objective: ``(len(targets),)`` lower bounds on the margins."""
        return alpha_crown_bounds(self.net, self.box, self.C)[1][0]

    @cached_property
    def tightened(self) -> List[Tuple[np.ndarray, np.ndarray]]:
        """``tighten_bounds``: CROWN, then one LP per unstable neuron (numpy, per hidden layer)."""
        return tighten_bounds(self.model, self.box, net=self.net, crown_pre=self.crown[0])

    @cached_property
    def relaxation(self) -> HighsProgram:
        """The LP relaxation on ``tightened`` bounds in HiGHS, shared by the steps: "lp+cuts"
        adds its cuts to it, "milp" searches its splits (``splits.split_search``) first."""
        return HighsProgram(build_program(self.net.matrices(), self.flat_box, self.tightened, relax=True))

    @cached_property
    def pgd_points(self) -> Tuple[torch.Tensor, torch.Tensor]:
        """``pgd_targets`` for every target: ``(points, objectives)`` on the CPU."""
        points, objective = pgd_targets(self.model, self.x, self.y, self.targets, self.epsilon)
        return points.cpu(), objective.cpu()


def _check_label(y, num_classes: int, name: str = "y") -> int:
    if isinstance(y, torch.Tensor):
        if y.numel() != 1 or y.is_floating_point() or y.is_complex() or y.dtype == torch.bool:
            raise ValueError(f"{name} must be an integer class label in 0..{num_classes - 1}, got the tensor {y!r}")
        y = y.reshape(-1)[0].item()
    if isinstance(y, bool) or not isinstance(y, numbers.Integral) or not 0 <= int(y) < num_classes:
        raise ValueError(f"{name} must be an integer class label in 0..{num_classes - 1}, got {y!r}")
    return int(y)


def _check_targets(targets, y: int, num_classes: int) -> List[int]:
    """Distinct class labels other than ``y`` (a sequence or an integer tensor), as ints."""
    if isinstance(targets, (str, bytes)) or not hasattr(targets, "__iter__"):
        raise ValueError(f"targets must be a list of class labels in 0..{num_classes - 1} other than y={y}, "
                         f"got {targets!r}")
    targets = [_check_label(t, num_classes, "targets") for t in targets]
    if y in targets or not targets or len(set(targets)) < len(targets):
        raise ValueError(f"targets must be distinct class labels in 0..{num_classes - 1} other than "
                         f"y={y}, got {targets}")
    return targets


def _check_lowered(net, model: nn.Module, x: torch.Tensor) -> LoweredNetwork:
    """``net`` given to ``verification_problem``: ``model`` lowered for ``x``'s shape."""
    if not isinstance(net, LoweredNetwork):
        raise ValueError(f"net must be network.lower(model, x.shape[1:]), a LoweredNetwork; got {type(net).__name__}")
    modules = [i for i, m in enumerate(model) if isinstance(m, (nn.Linear, nn.Conv2d))]
    if tuple(net.input_shape) != tuple(x.shape[1:]) or [layer.index for layer in net.layers] != modules:
        raise ValueError(f"net must be this model lowered for inputs of shape {tuple(x.shape[1:])} "
                         f"(network.lower(model, x.shape[1:])); it was lowered for {tuple(net.input_shape)} or "
                         f"from another model")
    return net


def verification_problem(model: nn.Module, x: torch.Tensor, y, epsilon: float,
                         targets: Optional[Sequence[int]] = None, net: Optional[LoweredNetwork] = None) -> Problem:
    """The question "can ``x`` be pushed to class ``t`` inside the ε-box?" for each target.

    Args:
        model: ``Flatten``/``Linear``/``Conv2d``/``ReLU`` network in float32 or float64
            that ``guard.check_network`` accepts (no hooks, no ``forward`` of its own);
            it is neither moved nor changed.
        x: one image, shape ``(1, C, H, W)`` (or ``(1, n)``), pixels in [0, 1], any
            floating dtype: the box is computed from its exact values.
        y: its label (an integer, or a one-element integer tensor).
        epsilon: the l∞ radius, finite and >= 0.
        targets: the target classes (default: every class but ``y``).
        net: ``network.lower(model, x.shape[1:])`` when already at hand.
    """
    epsilon = check_nonnegative(epsilon, "epsilon")
    check_images(x, "x")
    if x.dim() < 2 or x.shape[0] != 1:
        raise ValueError(f"x must be one image with a batch dimension of 1, e.g. (1, 1, 28, 28); "
                         f"got shape {tuple(x.shape)}")
    net = lower(model, x.shape[1:]) if net is None else _check_lowered(net, check_network(model), x)
    y = _check_label(y, check_logits(net.num_logits))
    if targets is None:
        targets = [t for t in range(net.num_logits) if t != y]
    else:
        targets = _check_targets(targets, y, net.num_logits)
    box, inner = float64_box(x, epsilon), float64_box(x, epsilon, outward=False)
    x = x.detach().cpu().to(next(model.parameters()).dtype)
    C = objective_matrix(y, net.num_logits)[:, targets]
    return Problem(model, x, y, epsilon, targets, net, box, C, inner)


# --- attacks and replays -------------------------------------------------------------------------


def pgd_targets(model: nn.Module, x: torch.Tensor, y: int, targets: Sequence[int], epsilon: float,
                num_iter: int = 50, restarts: int = 2, seed: int = 0) -> Tuple[torch.Tensor, torch.Tensor]:
    """Targeted l∞ PGD on one image, all targets at once, clamped to [0, 1] (notebook 07).

    A recipe over ``attacks.projected_steepest_ascent``: it maximises
    ``logit_t - logit_y`` (i.e. minimises the chapter's objective ``logit_y - logit_t``)
    with signed-gradient steps of ``2.5 ε / num_iter``, keeping the best iterate, from
    ``restarts`` starts (``attacks.with_restarts``; the first at δ = 0, the others uniform
    in the box, drawn from a generator seeded with ``seed``). A radius >= 1 is attacked
    as 1: the box is all of [0, 1] either way. The points are PGD's own, in the dtype
    of ``x``; the steps that claim an attack put them into the requested box first.

    Returns:
        ``(X_adv, objective)``: shape ``(len(targets), *x.shape[1:])`` and
        ``(len(targets),)``, on the model's device: the best point per target and its
        objective ``logit_y - logit_t``.
    """
    radius = min(check_nonnegative(epsilon, "epsilon"), 1.0)      # a radius >= 1 already reaches all of [0, 1]
    check_images(x, "x")
    if x.shape[0] != 1:
        raise ValueError(f"x must be one image with a batch dimension of 1, got shape {tuple(x.shape)}")
    num_classes = check_logits(lower(model, x.shape[1:]).num_logits)      # (not a model call: modes untouched)
    y = _check_label(y, num_classes)
    targets = torch.as_tensor(_check_targets(targets, y, num_classes), dtype=torch.long)
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise ValueError(f"seed must be an integer, got {seed!r}")
    X = x.expand(len(targets), *x.shape[1:])
    lower_box, upper_box = linf_box(X, radius)
    generator = torch.Generator(device="cpu").manual_seed(seed)
    starts = [torch.zeros_like(X)] + [lower_box + torch.rand(X.shape, generator=generator, dtype=X.dtype)
                                      * (upper_box - lower_box) - X for _ in range(restarts - 1)]
    margin = lambda logits, t: logits.gather(1, t[:, None])[:, 0] - logits[:, y]     # logit_t - logit_y
    alpha = 2.5 * radius / max(num_iter, 1)
    delta = with_restarts(projected_steepest_ascent, iter(starts).__next__, restarts, model, X, targets,
                          radius, alpha, num_iter, loss_fn=margin, keep_best=True)
    device = next(model.parameters()).device
    objective = -per_example_loss(model, X, targets, delta, margin)
    return (X + delta).to(device), objective


def _replay(p: Problem, point: np.ndarray, program_logits, result: TargetResult) -> None:
    """Put a point (flattened input) into the requested box in the model's dtype
    (``threat.points_inside``), run it through the real model, record the witness, the
    model's logits and objective, and the gap to the program's logits. Where the box
    holds no number of the model's dtype near the point, the objective is ``inf``: no
    attack can be claimed."""
    param = next(p.model.parameters())
    img, ok = points_inside(torch.as_tensor(point, dtype=torch.float64).reshape(p.x.shape), p.inner, param.dtype)
    if not ok.all():
        result.witness_objective = math.inf
        return
    img = img.to(param.device)
    was_training = p.model.training
    try:
        p.model.eval()
        with torch.no_grad():
            logits = p.model(img)[0].double().cpu().numpy()
    finally:
        p.model.train(was_training)
    result.witness, result.model_logits = img.cpu(), logits
    result.witness_objective = float(logits[p.y] - logits[result.target])
    if program_logits is not None:
        result.program_logits = np.asarray(program_logits, float)
        result.replay_error = float(np.abs(result.program_logits - logits).max())


# --- the steps -----------------------------------------------------------------------------------


def _pick(p: Problem, targets) -> List[int]:
    if not isinstance(p, Problem):
        raise ValueError(f"p must be a Problem (verification_problem(model, x, y, epsilon)), got {type(p).__name__}")
    check_network(p.model)                     # a hook added since the problem was made would go unseen
    if targets is None:
        return list(p.targets)
    if isinstance(targets, (str, bytes)) or not hasattr(targets, "__iter__"):
        raise ValueError(f"targets must be a list among the problem's targets {p.targets}, got {targets!r}")
    bad = [t for t in targets if t not in p.targets]
    if bad:
        raise ValueError(f"targets must be among the problem's targets {p.targets}, got {list(targets)}")
    return list(targets)


def _certificate(p: Problem, step: str, results: List[TargetResult], start: float) -> Certificate:
    return Certificate(p.y, p.epsilon, (step,), results, time.perf_counter() - start)


def targeted_pgd(p: Problem, targets: Optional[Sequence[int]] = None) -> Certificate:
    """Step "targeted pgd": ``pgd_targets`` towards each target; "attacked" where the
    model's objective at the replayed point is <= 0 (the witness), else "unknown"."""
    targets = _pick(p, targets)
    start, results = time.perf_counter(), []
    points, _ = p.pgd_points
    for t in _pick(p, targets):
        r = TargetResult(t, "unknown", decided_by="targeted pgd", status="no attack")
        _replay(p, points[p.targets.index(t)].reshape(-1).double().numpy(), None, r)
        if r.witness_objective <= 0:
            r.verdict, r.status = "attacked", "attack"
        r.seconds = time.perf_counter() - start
        results.append(r)
    return _certificate(p, "targeted pgd", results, start)


def _bound_step(p: Problem, step: str, bounds: torch.Tensor, targets, start: float) -> Certificate:
    results = []
    for t in _pick(p, targets):
        v = float(bounds[p.targets.index(t)])
        results.append(TargetResult(t, "robust" if v > 0 else "unknown", bound=v, decided_by=step, status="bound",
                                    seconds=time.perf_counter() - start))
    return _certificate(p, step, results, start)


def interval(p: Problem, targets: Optional[Sequence[int]] = None) -> Certificate:
    """Step "interval": the chapter's interval-based bound (notebook 08); "robust" where > 0."""
    targets = _pick(p, targets)
    start = time.perf_counter()
    return _bound_step(p, "interval", interval_based_bound(p.model, p.C, p.interval_bounds)[0], targets, start)


def crown(p: Problem, targets: Optional[Sequence[int]] = None) -> Certificate:
    """Step "crown": CROWN-style linear bounds (notebook 09); "robust" where > 0."""
    targets = _pick(p, targets)
    start = time.perf_counter()
    return _bound_step(p, "crown", p.crown[1], targets, start)


def alpha_crown(p: Problem, targets: Optional[Sequence[int]] = None) -> Certificate:
    """Step "alpha-crown": CROWN with each unstable ReLU's lower slope optimised for each
    bound (``alpha.alpha_crown_bounds``; notebook 09); "robust" where > 0."""
    start = time.perf_counter()
    return _bound_step(p, "alpha-crown", p.alpha_crown, targets, start)


def _solve_chapter_program(p: Problem, target: int, pre, relax: bool, solver: str,
                           time_limit: Optional[float]) -> Solution:
    """The chapter's cvxpy program for ``target`` on bounds ``pre``, solved by ``solver``;
    the solution's ``x`` and ``logits`` only when optimal."""
    problem, (z, _) = cvxpy_program(p.net.matrices(), p.column(target), p.flat_box, pre, relax)
    s = solve_cvxpy(problem, solver, integer=not relax, time_limit=time_limit)
    if s.status == "optimal":
        s.x, s.logits, s.primal = z[0].value, z[-1].value, s.value
    return s


def lp(p: Problem, targets: Optional[Sequence[int]] = None, *, solver: str = DEFAULT_SOLVER,
       time_limit: Optional[float] = 120.0) -> Certificate:
    """Step "lp": the chapter's LP relaxation on interval bounds (notebook 07), one per
    target, with ``solver`` (HiGHS directly, any other through ``form_lp``'s program) and
    ``time_limit`` seconds per LP (``None``: none). "robust" where its minimum is > 0;
    "attacked" where its optimal input, replayed on the model, is a real attack."""
    targets = _pick(p, targets)
    start, results = time.perf_counter(), []
    solver, time_limit = check_solver(solver, integer=False), check_time_limit(time_limit)
    pre = p.net.hidden_bounds(p.interval_bounds)
    program = HighsProgram(build_program(p.net.matrices(), p.flat_box, pre, relax=True)) if solver == "HIGHS" \
        else None
    for t in _pick(p, targets):
        if program is not None:
            program.set_logit_objective(p.column(t))
            s = program.solve(time_limit=time_limit)
        else:
            s = _solve_chapter_program(p, t, pre, True, solver, time_limit)
        r = TargetResult(t, "unknown", decided_by="lp", status=s.status, seconds=s.seconds)
        if s.status == "optimal":
            r.value = r.bound = s.value
            _replay(p, s.x, s.logits, r)
            if s.value > 0:
                r.verdict = "robust"
            elif r.witness_objective <= 0:
                r.verdict = "attacked"       # the relaxation's point happens to be a real attack
        results.append(r)
    return _certificate(p, "lp", results, start)


def lp_cuts(p: Problem, targets: Optional[Sequence[int]] = None, *, rounds: int = 8,
            time_limit: Optional[float] = 120.0, solver: str = DEFAULT_SOLVER) -> Certificate:
    """Step "lp+cuts": the LP relaxation on tightened bounds (``tighten_bounds``) with up to
    ``rounds`` rounds of cuts from each ReLU's convex hull over its input box (notebook
    07; ``rounds=0``: the plain LP). "robust" where its minimum is > 0. HiGHS only (the
    cuts are added to HiGHS's model); ``time_limit`` seconds per LP solve."""
    targets = _pick(p, targets)
    if check_solver(solver, integer=False) != "HIGHS":
        raise ValueError(f"step 'lp+cuts' needs solver='HIGHS' (cuts are added to HiGHS's own model), "
                         f"got {solver!r}; leave 'lp+cuts' out of the steps to use {solver!r}")
    rounds, time_limit = check_count(rounds, "rounds", 0), check_time_limit(time_limit)
    start, results = time.perf_counter(), []
    program = p.relaxation
    for t in _pick(p, targets):
        program.set_logit_objective(p.column(t))
        s, _, _ = solve_with_cuts(program, rounds, time_limit=time_limit)
        r = TargetResult(t, "unknown", decided_by="lp+cuts", status=s.status, seconds=s.seconds)
        if s.status == "optimal":
            r.bound = s.value
            r.verdict = "robust" if s.value > 0 else "unknown"
        results.append(r)
    return _certificate(p, "lp+cuts", results, start)


def _sign_result(p: Problem, t: int, s: Solution) -> TargetResult:
    """A sign decision's answer: "robust" when every branch was cut off at 0 (or its bound
    is above 0), "attacked" when it found a point with objective <= 0. A robust answer
    has no ``bound``: with the cutoff at 0, HiGHS's own bound (and an "optimal" value)
    proves only the sign, not the minimum (one was found 2 % above the true minimum)."""
    r = TargetResult(t, "unknown", decided_by="milp", status=s.status, seconds=s.seconds)
    if s.status == "infeasible" or (s.bound is not None and s.bound > 0):
        r.verdict = "robust"
        r.status = "infeasible" if s.status != "optimal" else s.status
    if _is_attack(s):
        _replay(p, s.x, s.logits, r)
        r.verdict, r.status = ("attacked", r.status) if r.witness_objective <= 0 else ("unknown", "unconfirmed")
    return r


def _sign_jobs(p: Problem, targets: List[int], time_limit, pool: Executor, stop_at_attack: bool):
    """The sign decisions of ``targets`` in worker processes: ``{target: Solution}`` (with
    ``stop_at_attack``, the targets not started before an attack was found are missing)."""
    options = {**QUIET_MIP_OPTIONS, "threads": 1}
    jobs = {pool.submit(decide_sign, (p.net.matrices(), p.flat_box, p.tightened, p.column(t), time_limit,
                                      options)): t for t in targets}
    answers = {}
    for future in completed(jobs):
        if future.cancelled():
            continue
        answers[jobs[future]] = s = future.result()
        if stop_at_attack and _is_attack(s):
            for other in jobs:
                other.cancel()
    return answers


def _network_margin(p: Problem, t: int):
    """``x -> logit_y - logit_t`` of the lowered network at a flattened input (numpy, float64)."""
    layers, c = p.net.matrices(), p.column(t)

    def margin(x: np.ndarray) -> float:
        a = np.clip(np.asarray(x, float), *p.flat_box)
        for k, (W, b) in enumerate(layers):
            a = W @ a + b
            a = np.maximum(a, 0.0) if k < len(layers) - 1 else a
        return float(c @ a)
    return margin


def _split_first(p: Problem, t: int, nodes: int, time_limit) -> Optional[TargetResult]:
    """The sign of target ``t`` by ``splits.split_search`` on the problem's LP relaxation
    (with the cuts "lp+cuts" left in it), or ``None`` when it did not settle it."""
    start, program = time.perf_counter(), p.relaxation
    program.set_logit_objective(p.column(t))
    answer, x, _ = split_search(program, _network_margin(p, t), nodes, time_limit)
    r = TargetResult(t, "unknown", decided_by="milp", seconds=time.perf_counter() - start)
    if answer == "robust":
        r.verdict, r.status = "robust", "infeasible"
    elif answer == "attacked":
        r.status = "attack"
        _replay(p, x, None, r)
        if r.witness_objective <= 0:               # the model agrees (float32 rounding aside)
            r.verdict = "attacked"
    return r if r.verdict != "unknown" else None


def _is_attack(s: Solution) -> bool:
    return s.x is not None and s.primal is not None and s.primal <= 0


def milp(p: Problem, targets: Optional[Sequence[int]] = None, *, time_limit: Optional[float] = 120.0,
         workers: Union[int, Executor] = 1, stop_at_attack: bool = False, solver: str = DEFAULT_SOLVER,
         split_nodes: int = SPLIT_NODES) -> Certificate:
    """Step "milp": only the sign of each minimum (notebook 06), on tightened bounds. First
    a branch and bound over ReLU phases on the LP relaxation, at most ``split_nodes`` LPs
    (``splits.split_search``; 0: none), settles the easy signs; then HiGHS's MILP solver
    gets the cutoff 0 and stops at the first point below it, or once every branch is
    cut off; ``time_limit`` seconds per LP or MILP (``None``: none; a MILP stopped by it gives
    "unknown"). ``workers``: a number of worker processes started for this call, or a
    pool the caller runs (``workers.worker_pool``), to solve several targets at once
    (HiGHS only). ``stop_at_attack``: stop at the first attack (the image is then not
    robust); targets not solved are "unknown" with status "skipped". A point the solver
    finds is "attacked" only when the model, run on it, confirms it; else "unknown" with
    status "unconfirmed"."""
    targets = _pick(p, targets)
    solver, time_limit = check_solver(solver, integer=True), check_time_limit(time_limit)
    stop_at_attack = check_flag(stop_at_attack, "stop_at_attack")
    split_nodes = check_count(split_nodes, "split_nodes", 0)
    parallel = isinstance(workers, Executor) or check_count(workers, "workers", 1) > 1
    if parallel and solver != "HIGHS":
        raise ValueError(f"workers other than 1 need solver='HIGHS', got {solver!r}")
    start, targets = time.perf_counter(), _pick(p, targets)
    answers = {}
    if parallel and len(targets) > 1:
        own = worker_pool(workers) if not isinstance(workers, Executor) else nullcontext(workers)
        with own as pool:
            answers = _sign_jobs(p, targets, time_limit, pool, stop_at_attack)
    program = HighsProgram(build_program(p.net.matrices(), p.flat_box, p.tightened), QUIET_MIP_OPTIONS) \
        if solver == "HIGHS" and len(answers) < len(targets) else None
    results = []
    for t in targets:
        found = any(r.verdict == "attacked" for r in results) or any(map(_is_attack, answers.values()))
        if stop_at_attack and found and t not in answers:
            results.append(TargetResult(t, "unknown", decided_by="milp", status="skipped"))
            continue
        settled = _split_first(p, t, split_nodes, time_limit) if t not in answers and program is not None \
            and split_nodes else None
        if settled is not None:
            results.append(settled)
            continue
        if t not in answers and program is not None:
            program.set_logit_objective(p.column(t))
            answers[t] = program.solve(time_limit=time_limit, stop_at_sign=True)
        elif t not in answers:
            answers[t] = _solve_chapter_program(p, t, p.tightened, False, solver, time_limit)
        results.append(_sign_result(p, t, answers[t]))
    return _certificate(p, "milp", results, start)


def exact_milp(p: Problem, targets: Optional[Sequence[int]] = None, *, time_limit: Optional[float] = 120.0,
               solver: str = DEFAULT_SOLVER) -> Certificate:
    """Step "exact milp": each minimum solved exactly (the chapter's values; notebook 06),
    on tightened bounds, HiGHS starting from the targeted PGD point. ``value`` is the
    minimum when the solver calls it optimal (within its gap: HiGHS's 1e-4 relative,
    1e-6 absolute), the minimiser the witness; ``bound`` is the proven lower bound
    (HiGHS's dual bound, at most ``value``). "robust" only if that bound is > 0,
    "attacked" if the value is <= 0 and the model, run on the minimiser, confirms it
    (else "unknown", status "unconfirmed"); stopped by ``time_limit`` (seconds per MILP,
    ``None``: none), the best proven bound is kept."""
    targets = _pick(p, targets)
    solver, time_limit = check_solver(solver, integer=True), check_time_limit(time_limit)
    start, results = time.perf_counter(), []
    program = HighsProgram(build_program(p.net.matrices(), p.flat_box, p.tightened), QUIET_MIP_OPTIONS) \
        if solver == "HIGHS" else None
    for t in _pick(p, targets):
        if program is not None:
            program.set_logit_objective(p.column(t))
            program.start_from(p.pgd_points[0][p.targets.index(t)].reshape(-1).double().numpy())
            s = program.solve(time_limit=time_limit)
        else:
            s = _solve_chapter_program(p, t, p.tightened, False, solver, time_limit)
        r = TargetResult(t, "unknown", decided_by="exact milp", status=s.status, seconds=s.seconds)
        if s.status == "optimal":
            # "optimal" is within the solver's gap: the bound is the proven one below the value
            r.value, r.bound = s.value, s.value if s.bound is None else min(s.value, s.bound)
            r.verdict = "robust" if r.bound > 0 else ("attacked" if s.value <= 0 else "unknown")
        elif s.bound is not None and math.isfinite(s.bound):
            r.bound = s.bound
            r.verdict = "robust" if s.bound > 0 else "unknown"
        if s.x is not None and s.primal is not None and s.primal <= 0:
            r.verdict = "attacked"
        if s.x is not None and (r.verdict == "attacked" or s.status == "optimal"):
            _replay(p, s.x, s.logits, r)
        if r.verdict == "attacked" and r.witness_objective > 0:
            r.verdict, r.status = "unknown", "unconfirmed"
        results.append(r)
    return _certificate(p, "exact milp", results, start)


STEP_FUNCTIONS = {"targeted pgd": targeted_pgd, "interval": interval, "crown": crown, "alpha-crown": alpha_crown,
                  "lp": lp, "lp+cuts": lp_cuts, "milp": milp, "exact milp": exact_milp}
"""Step name -> its function ``(problem, targets=None, **options) -> Certificate``."""


# --- the cascade -----------------------------------------------------------------------------


def _merge(results: Dict[int, TargetResult], answer: Certificate) -> None:
    """Take a step's answers; an undecided one keeps the best lower bound known."""
    for r in answer.results:
        before = results[r.target]
        if r.verdict == "unknown" and before.bound is not None:
            r.bound = before.bound if r.bound is None else max(r.bound, before.bound)
        results[r.target] = r


def decide(p: Problem, steps: Sequence[str] = DECIDE_STEPS, *, time_limit: Optional[float] = 120.0,
           cut_rounds: int = 8, workers: Union[int, Executor] = 1, stop_at_attack: bool = False,
           solver: str = DEFAULT_SOLVER) -> Certificate:
    """Run ``steps`` (a subset of ``DECIDE_CHOICES``) cheapest first, each on the targets
    the steps before left "unknown" (notebooks 06 and 09). The default: a targeted attack,
    CROWN, CROWN with optimised slopes ("alpha-crown"), the LP with cuts, and the MILP
    that settles every sign unless ``time_limit`` stops it; without "milp" (or "exact
    milp") the targets left open stay "unknown" with their best bound.

    Options, each for the steps named: ``time_limit`` (seconds per solve, ``None`` for
    none) and ``solver`` for every solver step; ``cut_rounds`` for "lp+cuts";
    ``workers`` for "milp" (see ``milp``). ``stop_at_attack``: stop at the first attack
    (the image's verdict is then known); targets not yet settled stay "unknown" with
    status "skipped", and the MILP takes the open targets lowest bound first.
    """
    _pick(p, None)
    steps, stop_at_attack = check_steps(steps, DECIDE_CHOICES), check_flag(stop_at_attack, "stop_at_attack")
    cut_rounds, time_limit = check_count(cut_rounds, "cut_rounds", 0), check_time_limit(time_limit)
    if not isinstance(workers, Executor):
        check_count(workers, "workers", 1)
    if any(step in SOLVER_STEPS for step in steps):
        check_solver(solver, integer="milp" in steps or "exact milp" in steps)
    start = time.perf_counter()
    results = {t: TargetResult(t, "unknown") for t in p.targets}
    options = {"lp": dict(solver=solver, time_limit=time_limit),
               "lp+cuts": dict(rounds=cut_rounds, time_limit=time_limit, solver=solver),
               "milp": dict(time_limit=time_limit, workers=workers, stop_at_attack=stop_at_attack, solver=solver),
               "exact milp": dict(time_limit=time_limit, solver=solver)}
    for step in steps:
        open_ = [t for t in p.targets if results[t].verdict == "unknown"]
        if stop_at_attack and any(r.verdict == "attacked" for r in results.values()):
            for t in open_:
                results[t].status = "skipped"
            break
        if not open_:
            break
        if step == "milp" and stop_at_attack:
            open_.sort(key=lambda t: -math.inf if results[t].bound is None else results[t].bound)
        _merge(results, STEP_FUNCTIONS[step](p, open_, **options.get(step, {})))
    return Certificate(p.y, p.epsilon, steps, [results[t] for t in p.targets], time.perf_counter() - start)


def certify(model: nn.Module, x: torch.Tensor, y, epsilon: float, step: str = "decide", *,
            targets: Optional[Sequence[int]] = None, **options) -> Certificate:
    """Is ``x`` robust to l∞ perturbations of size ``epsilon``, target by target? (chapter
    3, "Certifying robustness"; notebooks 06-08.)

    Builds the problem (``verification_problem(model, x, y, epsilon, targets)``) and
    answers it with one step, by its name (``verdicts.STEPS``: "targeted pgd",
    "interval", "crown", "alpha-crown", "lp", "lp+cuts", "milp", "exact milp"), or with ``"decide"``
    (the default): the cascade of ``decide``. ``options`` go to that function (e.g.
    ``time_limit``, ``solver``, ``steps``, ``workers``); see each.

    Returns:
        A ``Certificate`` (``.results``, ``.verdict``, ``.table()``, ``cert[target]``).
    """
    step = check_step(step, tuple(STEP_FUNCTIONS) + ("decide",))
    p = verification_problem(model, x, y, epsilon, targets)
    return (decide if step == "decide" else STEP_FUNCTIONS[step])(p, **options)


# --- tightened intermediate bounds, and the cuts one at a time ---------------------------------


def tighten_bounds(model: nn.Module, initial_bound, lp: bool = True, time_limit: Optional[float] = 10.0,
                   max_lp_neurons: int = 300, *, net: Optional[LoweredNetwork] = None,
                   crown_pre: Optional[list] = None) -> List[Tuple[np.ndarray, np.ndarray]]:
    """Pre-activation bounds of every hidden layer, tighter than intervals (notebook 06).

    First CROWN-style linear bounds (``bounds.linear_bounds``), which already intersect
    every layer with its interval bound; then, with ``lp``, layer by layer, one LP per
    still-unstable neuron (its minimum and maximum over the LP relaxation of the layers
    before it, built with the bounds already tightened), as MIPVerify does. A layer with
    more than ``max_lp_neurons`` unstable neurons (a CNN's convolutions) keeps its linear
    bounds: two LPs per neuron would cost minutes. Every bound stays sound: a solve that
    does not reach optimality (``time_limit`` seconds per LP) keeps the previous bound.

    ``initial_bound``: ``(l0, u0)`` of batch 1. ``net``: the lowered model, and
    ``crown_pre``: the first output of ``bounds.crown_bounds`` on this box, when at hand.

    Returns:
        ``[(l, u), ...]`` float64 arrays, one pair per hidden affine layer.
    """
    l0, u0 = (t.double().cpu() for t in check_box(initial_bound))
    if l0.shape[0] != 1:
        raise ValueError(f"initial_bound must hold one box (batch 1), got a batch of {l0.shape[0]}")
    net = lower(model, l0.shape[1:]) if net is None else _check_lowered(net, check_network(model), l0)
    crown_pre = crown_bounds(net, (l0, u0))[0] if crown_pre is None else crown_pre
    pre = [(lc[0].double().cpu().numpy(), uc[0].double().cpu().numpy()) for lc, uc in crown_pre[:-1]]
    if not check_flag(lp, "lp"):
        return pre
    time_limit, max_lp_neurons = check_time_limit(time_limit), check_count(max_lp_neurons, "max_lp_neurons", 0)
    layers, box = net.matrices(), (l0[0].reshape(-1).numpy(), u0[0].reshape(-1).numpy())
    for k in range(1, net.num_hidden):
        unstable = np.flatnonzero(relu_phases(*pre[k])[2])
        if 0 < unstable.size <= max_lp_neurons:
            pre[k] = _tighten_layer(layers, box, pre, k, unstable, time_limit)
    return pre


def _tighten_layer(layers, box, pre, k: int, unstable: np.ndarray, time_limit) -> Tuple[np.ndarray, np.ndarray]:
    """Layer ``k``'s bounds, each unstable neuron's minimum and maximum taken over the LP
    relaxation of the layers before it."""
    l, u = pre[k][0].copy(), pre[k][1].copy()
    program = HighsProgram(build_program(layers, box, pre[:k], relax=True, hidden_layers=k))
    W, b = layers[k]
    inputs = program.program.a_cols[k - 1]
    for j in unstable:
        row = W[j].toarray().ravel() if hasattr(W, "toarray") else W[j]
        program.set_objective(inputs, row, b[j])
        s = program.solve(time_limit=time_limit)
        if s.status == "optimal":
            l[j] = max(l[j], s.value)
        if l[j] >= 0:
            continue
        program.set_objective(inputs, -row, -b[j])
        s = program.solve(time_limit=time_limit)
        if s.status == "optimal":
            u[j] = min(u[j], -s.value)
    return l, u


def lp_cut_rounds(model: nn.Module, x: torch.Tensor, y, target: int, epsilon: float,
                  rounds: int = 8) -> Tuple[List[float], List[int]]:
    """The LP relaxation of ``min logit_y - logit_target`` over the l∞ ball, on tightened
    bounds (``tighten_bounds``), and how each round of cuts from every ReLU's convex hull
    over its input box (``programs.hull_cuts``) raises its minimum (notebook 07).

    Args:
        model, x, y, epsilon: as for ``certify`` (one image ``(1, C, H, W)``).
        target: the target class (not ``y``).
        rounds: at most this many rounds; it stops early when no cut is violated.

    Returns:
        ``(values, cuts)``: the LP minimum before any cut and after each round, and the
        number of cuts each round added.
    """
    rounds = check_count(rounds, "rounds", 0)
    if isinstance(target, bool) or not isinstance(target, numbers.Integral):
        raise ValueError(f"target must be a class label (int) other than y, got {target!r}")
    p = verification_problem(model, x, y, epsilon, targets=[target])
    program = HighsProgram(build_program(p.net.matrices(), p.flat_box, p.tightened, relax=True))
    program.set_logit_objective(p.column(target))
    s, values, added = solve_with_cuts(program, rounds, stop_above=math.inf, give_up=False)
    if s.status != "optimal":
        raise RuntimeError(f"the LP relaxation (with {sum(added)} cuts) ended with status {s.status!r}")
    return values, added
