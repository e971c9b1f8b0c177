"""Certified accuracy at scale (beyond the chapter; notebook 09): over many test images
and several radii ε, how many images each verifier proves robust, how many an attack
breaks, and how many stay undecided.

``certified_accuracy(model, data, epsilons, methods)`` runs a cascade per ε, cheapest
step first, each later step only on the images still open (step names as in
``course_utils.verdicts``):

1. "misclassified": the clean prediction (a misclassified image is "attacked" at any ε);
2. "pgd": untargeted l∞ PGD, batched: an image it flips is "attacked" (the fraction
   that survive is an *upper bound* on robust accuracy);
3. "interval": interval bounds with the analytic last layer, batched;
4. "crown": CROWN-style linear bounds, batched;
5. "alpha-crown": CROWN with optimised slopes (``alpha.alpha_crown_bounds``), batched;
6. "lp+cuts" and "milp": one image at a time through ``verify.decide`` (targeted PGD,
   CROWN, the LP on tightened bounds with cuts from each ReLU's convex hull over its
   input box, then a MILP that only decides the sign), optionally in worker processes.

Every image ends "robust", "attacked" or "unknown" (a solver time limit, or no exact
step asked for), and ``decided_by`` names the step that settled it. The certified
accuracy of a method is the fraction proven robust by it *or a cheaper step before
it*: what a verifier that stops at that method proves. An interrupt (Ctrl-C, or
JupyterLab's "Interrupt kernel") stops a run within a second or two, worker processes
included, and discards its results. Run from the shell::

    python -m course_utils certified --model small --eps 0.05 --n 1000
"""

from __future__ import annotations

import math
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn as nn
from tqdm.auto import tqdm

from .alpha import alpha_crown_bounds
from .attacks import pgd_linf
from .bounds import bound_propagation, crown_bounds, interval_based_bound, objective_matrix
from .network import LoweredNetwork, lower
from .solvers import check_time_limit, fix_highs_threads
from .layers import check_network
from .threat import check_count, check_flag, check_images, check_labels, check_nonnegative, linf_box
from .verdicts import STEPS, check_steps, dearest
from .workers import results_in_order, worker_pool

METHODS = ("interval", "crown", "alpha-crown", "lp+cuts", "milp")
"""Verifiers, cheapest and loosest first (names from ``verdicts.STEPS``)."""


@dataclass
class CertifiedResult:
    """The outcome of ``certified_accuracy`` at one ε, one entry per image.

    ``verdict[i]``: "robust", "attacked" or "unknown"; ``decided_by[i]``: the step of
    ``verdicts.STEPS`` that settled it ("" when unknown); ``survived_pgd[i]``: correctly
    classified and not flipped by the batched PGD; ``seconds``: wall time per step.
    """
    epsilon: float
    methods: Tuple[str, ...]
    verdict: np.ndarray
    decided_by: np.ndarray
    survived_pgd: np.ndarray
    seconds: Dict[str, float] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return int(self.verdict.size)

    @property
    def counts(self) -> Dict[str, int]:
        """How many images ended robust, attacked and unknown (they sum to ``total``)."""
        return {v: int((self.verdict == v).sum()) for v in ("robust", "attacked", "unknown")}

    @property
    def split(self) -> Dict[str, int]:
        """How many images each step settled, in cascade order."""
        c = Counter(self.decided_by.tolist())
        return {s: c[s] for s in STEPS if c[s]} | ({"unknown": c[""]} if c[""] else {})

    @property
    def clean_accuracy(self) -> float:
        return float((self.decided_by != "misclassified").mean())

    @property
    def pgd_accuracy(self) -> float:
        """Fraction that survive PGD: an upper bound on the true robust accuracy."""
        return float(self.survived_pgd.mean())

    def certified(self, method: str) -> float:
        """Fraction proven robust by ``method`` or a cheaper method before it."""
        if method not in self.methods:
            raise ValueError(f"method must be one of those run, {self.methods}, got {method!r}")
        upto = METHODS[: METHODS.index(method) + 1]
        return float(((self.verdict == "robust") & np.isin(self.decided_by, upto)).mean())

    def summary(self) -> str:
        """A few lines: the accuracies, the counts and the split."""
        parts = [f"eps {self.epsilon:g}, {self.total} images: clean {self.clean_accuracy:.3f}, "
                 f"PGD upper bound {self.pgd_accuracy:.3f}"]
        parts.append("certified: " + ", ".join(f"{m} {self.certified(m):.3f}" for m in self.methods))
        parts.append("counts: " + ", ".join(f"{k} {v}" for k, v in self.counts.items()))
        parts.append("settled by: " + ", ".join(f"{k} {v}" for k, v in self.split.items()))
        return "\n".join(parts)

    def as_dict(self) -> dict:
        """The summary and, per image, its verdict (one letter of ``r``obust,
        ``a``ttacked, ``u``nknown), the deciding step and whether it survived PGD."""
        return {"epsilon": self.epsilon, "total": self.total, "methods": list(self.methods),
                "clean_accuracy": self.clean_accuracy, "pgd_accuracy": self.pgd_accuracy,
                "certified": {m: self.certified(m) for m in self.methods}, "counts": self.counts,
                "split": self.split, "seconds": {k: round(v, 3) for k, v in self.seconds.items()},
                "verdicts": "".join(v[0] for v in self.verdict), "decided_by": list(self.decided_by),
                "survived_pgd": "".join("1" if s else "0" for s in self.survived_pgd)}

    @classmethod
    def from_dict(cls, d: dict) -> "CertifiedResult":
        """Inverse of ``as_dict`` (e.g. for results read back from a JSON file)."""
        words = {"r": "robust", "a": "attacked", "u": "unknown"}
        missing = [k for k in ("epsilon", "methods", "verdicts", "decided_by", "survived_pgd")
                   if not isinstance(d, dict) or k not in d]
        if missing:
            raise ValueError(f"d must be a dict from CertifiedResult.as_dict(); it lacks {', '.join(missing)}")
        return cls(d["epsilon"], tuple(d["methods"]), np.array([words[c] for c in d["verdicts"]], dtype=object),
                   np.array(d["decided_by"], dtype=object), np.array([c == "1" for c in d["survived_pgd"]]),
                   dict(d.get("seconds", {})))


def accuracy_curves(results: Sequence[CertifiedResult]) -> dict:
    """``{"epsilon": [...], "pgd": [...], method: [...]}`` from results at several ε
    (for ``plotting.plot_certified_curves``)."""
    results = sorted(results, key=lambda r: r.epsilon)
    if not results:
        raise ValueError("results must hold at least one CertifiedResult")
    curves = {"epsilon": [r.epsilon for r in results], "pgd": [r.pgd_accuracy for r in results]}
    for m in results[0].methods:
        curves[m] = [r.certified(m) for r in results]
    return curves


SANDWICH_STEPS = ("interval", "crown", "alpha-crown", "lp", "lp+cuts", "exact milp", "targeted pgd")
"""The steps ``bound_sandwich`` can run: five lower bounds on the minimum margin, the minimum
itself ("exact milp") and the margin at an attack's point (an upper bound)."""
CHAPTER_SANDWICH = ("interval", "crown", "lp", "exact milp", "targeted pgd")
"""``bound_sandwich``'s steps by default: the chapter's three (interval, LP, MILP), CROWN and the attack."""
_SOLVED = ("lp", "lp+cuts", "exact milp")


def _sandwich_row(p, target: int, steps: Tuple[str, ...], time_limit: Optional[float]) -> dict:
    """``{step: (value, status)}`` of one ``verify.Problem`` with the single target ``target``."""
    from .verify import exact_milp, lp, lp_cuts
    row = {}
    if "interval" in steps:
        row["interval"] = (interval_based_bound(p.model, p.C, p.interval_bounds)[0, 0].item(), "bound")
    if "crown" in steps:
        row["crown"] = (p.crown[1][0].item(), "bound")
    if "alpha-crown" in steps:
        row["alpha-crown"] = (p.alpha_crown[0].item(), "bound")
    for step, solve, value in (("lp", lp, "value"), ("lp+cuts", lp_cuts, "bound"), ("exact milp", exact_milp, "value")):
        if step in steps:
            r = (solve(p, time_limit=time_limit) if step == "exact milp" else solve(p))[target]
            row[step] = (getattr(r, value) if r.status == "optimal" else None, r.status)
    if "targeted pgd" in steps:
        row["targeted pgd"] = (p.pgd_points[1][0].item(), "attack")
    return row


def bound_sandwich(model: nn.Module, x: torch.Tensor, y: int, target: int, epsilons: Sequence[float],
                   time_limit: Optional[float] = 60.0, steps: Sequence[str] = CHAPTER_SANDWICH) -> dict:
    """Bounds on ``min (logit_y - logit_target)`` over the ε-box of one image, for several ε
    (notebook 01 previews them, notebook 09 closes the bracket), one series per step of
    ``steps`` (names of ``SANDWICH_STEPS``): lower bounds "interval", "crown",
    "alpha-crown", "lp" (the chapter's, on interval bounds) and "lp+cuts" (on tightened
    bounds, with cuts); the minimum itself, "exact milp"; and "targeted pgd", the margin at
    the attack's point (an upper bound). By default ``CHAPTER_SANDWICH``.

    Returns:
        ``{"epsilon": [...], step: [...] for each step, "status": {step: [...]}}`` with a
        status list for each solver step ("lp", "lp+cuts", "exact milp"); a value is
        ``None`` where its solver did not reach optimality (its status says why;
        ``time_limit`` seconds per MILP, ``None``: none).
    """
    from .verify import verification_problem
    epsilons, time_limit = _check_epsilons(epsilons), check_time_limit(time_limit)
    steps = check_steps(steps, SANDWICH_STEPS, "steps")
    first = verification_problem(model, x, y, 0.0)
    if target not in first.targets or isinstance(target, bool) or not isinstance(target, (int, np.integer)):
        raise ValueError(f"target must be a class label (int) among {first.targets} (not y), got {target!r}")
    out = {"epsilon": [], **{k: [] for k in steps}, "status": {k: [] for k in steps if k in _SOLVED}}
    for eps in epsilons:
        p = verification_problem(model, x, y, eps, targets=[int(target)])
        out["epsilon"].append(eps)
        for step, (value, status) in _sandwich_row(p, int(target), steps, time_limit).items():
            out[step].append(value)
            if step in _SOLVED:
                out["status"][step].append(status)
    return out


# --- checks and data -----------------------------------------------------------------------


def _check_methods(methods) -> Tuple[str, ...]:
    return check_steps(methods, METHODS, "methods")


def _check_epsilons(epsilons) -> List[float]:
    if isinstance(epsilons, (int, float)) or (isinstance(epsilons, torch.Tensor) and epsilons.dim() == 0):
        epsilons = [epsilons]
    if isinstance(epsilons, (str, bytes)) or not hasattr(epsilons, "__iter__"):
        raise ValueError(f"epsilons must be a radius >= 0 or a list of them, got {epsilons!r}")
    epsilons = [check_nonnegative(e, "epsilons") for e in epsilons]
    if not epsilons:
        raise ValueError("epsilons must hold at least one radius")
    return epsilons


def _collect(data, limit: Optional[int]) -> Tuple[torch.Tensor, torch.Tensor]:
    """``(X, y)`` on the CPU from a DataLoader or a pair of tensors, cut at ``limit``."""
    if limit is not None:
        limit = check_count(limit, "limit (or None)", 1)
    if isinstance(data, (tuple, list)) and len(data) == 2 and isinstance(data[0], torch.Tensor):
        X, y = data
        X, y = X[:limit], y[:limit]
    elif isinstance(data, (tuple, list, str, bytes, torch.Tensor)) or not hasattr(data, "__iter__"):
        raise ValueError(f"data must be a pair (X, y) of tensors or a DataLoader of (X, y) batches, got "
                         f"{type(data).__name__}" + (f" of length {len(data)}" if isinstance(data, (tuple, list)) else ""))
    else:
        xs, ys, seen = [], [], 0
        for X, y in data:
            xs.append(X), ys.append(y)
            seen += X.shape[0]
            if limit is not None and seen >= limit:
                break
        if not xs:
            raise ValueError("data yielded no examples")
        X, y = torch.cat(xs)[:limit], torch.cat(ys)[:limit]
    check_images(X, "data (images)")
    check_labels(X, y, "data (labels)")
    return X.detach().cpu(), y.detach().cpu().long()


# --- the batched steps ---------------------------------------------------------------------


def _margins_ok(bound: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``bound``: (n, classes) lower bounds on logit_y - logit_j; robust iff all j != y > 0."""
    bound = bound.clone()
    bound[torch.arange(len(y)), y] = math.inf
    return (bound > 0).all(1)


def _objective_matrices(y: torch.Tensor, num_classes: int) -> torch.Tensor:
    return torch.stack([objective_matrix(int(t), num_classes) for t in y])


def interval_certified(model: nn.Module, X: torch.Tensor, y: torch.Tensor, epsilon: float,
                       chunk: int = 1000) -> torch.Tensor:
    """Step "interval", batched: boolean (n,), proven robust by interval bounds (the
    chapter's analytic last layer). Runs on the CPU in float64; the model is not moved."""
    out, chunk = [], check_count(chunk, "chunk", 1)
    for s in range(0, len(y), chunk):
        box = linf_box(X[s:s + chunk].double(), epsilon)
        bounds = bound_propagation(model, box)
        check_labels(X, y, "y", bounds[-1][0].shape[1])
        C = _objective_matrices(y[s:s + chunk], bounds[-1][0].shape[1])
        out.append(_margins_ok(interval_based_bound(model, C, bounds), y[s:s + chunk]))
    return torch.cat(out) if out else torch.zeros(0, dtype=torch.bool)


def crown_certified(net: LoweredNetwork, X: torch.Tensor, y: torch.Tensor, epsilon: float,
                    chunk: int = 250) -> torch.Tensor:
    """Step "crown", batched: boolean (n,), proven robust by CROWN-style linear bounds on
    the lowered network ``net`` (``network.lower``, float64 on the CPU)."""
    out, chunk = [], check_count(chunk, "chunk", 1)
    check_labels(X, y, "y", net.num_logits)
    for s in range(0, len(y), chunk):
        box = linf_box(X[s:s + chunk].double(), epsilon)
        _, bound = crown_bounds(net, box, _objective_matrices(y[s:s + chunk], net.num_logits))
        out.append(_margins_ok(bound, y[s:s + chunk]))
    return torch.cat(out) if out else torch.zeros(0, dtype=torch.bool)


def alpha_crown_certified(net: LoweredNetwork, X: torch.Tensor, y: torch.Tensor, epsilon: float,
                          chunk: int = 500) -> torch.Tensor:
    """Step "alpha-crown", batched: boolean (n,), proven robust by optimised-slope CROWN
    (``alpha.alpha_crown_bounds``) on the lowered network ``net`` (float64, CPU)."""
    out = []
    for s in range(0, len(y), chunk):
        box = linf_box(X[s:s + chunk].double(), epsilon)
        _, bound = alpha_crown_bounds(net, box, _objective_matrices(y[s:s + chunk], net.num_logits))
        out.append(_margins_ok(bound, y[s:s + chunk]))
    return torch.cat(out) if out else torch.zeros(0, dtype=torch.bool)


# --- one image through verify.decide ---------------------------------------------------------


def _one_thread() -> None:
    """Worker set-up: the workers share the cores."""
    torch.set_num_threads(1)
    fix_highs_threads(1)


def _decide_image(job) -> Tuple[str, str]:
    """``(verdict, decided_by)`` for one image from ``verify.decide`` (stopping at the
    first attack): the attack's step, or the dearest step any target needed."""
    from .verify import decide, verification_problem
    model, net, x, y, epsilon, steps, time_limit = job
    cert = decide(verification_problem(model, x, y, epsilon, net=net), steps, time_limit=time_limit,
                  stop_at_attack=True)
    if cert.verdict == "attacked":
        return "attacked", next(r.decided_by for r in cert.results if r.verdict == "attacked")
    if cert.verdict == "robust":
        return "robust", dearest([r.decided_by for r in cert.results])
    return "unknown", ""


# --- the cascade -----------------------------------------------------------------------------


@dataclass
class _Run:
    """What ``certified_accuracy`` works on, shared by every ε."""
    model: nn.Module
    cpu_model: nn.Module
    net: LoweredNetwork
    X: torch.Tensor
    y: torch.Tensor
    correct: torch.Tensor
    methods: Tuple[str, ...]
    pgd_steps: int
    time_limit: Optional[float]
    workers: int
    progress: bool


def _pgd_step(run: _Run, eps: float) -> torch.Tensor:
    """Step "pgd": which correctly classified images untargeted l∞ PGD flips, (n,) boolean."""
    device = next(run.model.parameters()).device
    idx = torch.nonzero(run.correct)[:, 0]
    flipped = torch.zeros(len(run.y), dtype=torch.bool)
    for s in tqdm(range(0, len(idx), 500), disable=not run.progress, leave=False, desc=f"PGD eps {eps:g}"):
        rows = idx[s:s + 500]
        Xb, yb = run.X[rows].to(device), run.y[rows].to(device)
        delta = pgd_linf(run.model, Xb, yb, eps, 2.5 * eps / run.pgd_steps, run.pgd_steps) if eps > 0 else 0 * Xb
        with torch.no_grad():
            flipped[rows] = (run.model(Xb + delta).argmax(1) != yb).cpu()
    return flipped


def _exact_steps(run: _Run, eps: float, open_: np.ndarray) -> List[Tuple[str, str]]:
    """Steps "lp+cuts" / "milp" image by image (``verify.decide``), in worker processes if asked."""
    steps = ("targeted pgd",) + tuple(m for m in ("crown", "lp+cuts", "milp") if m in run.methods)
    jobs = [(run.cpu_model, run.net, run.X[i:i + 1], int(run.y[i]), eps, steps, run.time_limit) for i in open_]
    bar = dict(total=len(jobs), disable=not run.progress, leave=False, desc=f"LP/MILP eps {eps:g}")
    if run.workers == 1:
        return [_decide_image(j) for j in tqdm(jobs, **bar)]
    with worker_pool(run.workers, initializer=_one_thread) as pool:
        return list(tqdm(results_in_order([pool.submit(_decide_image, j) for j in jobs]), **bar))


def _at_epsilon(run: _Run, eps: float) -> CertifiedResult:
    """The whole cascade at one radius."""
    verdict = np.full(len(run.y), "unknown", dtype=object)
    decided = np.full(len(run.y), "", dtype=object)
    seconds: Dict[str, float] = {}
    wrong = ~run.correct.numpy()
    verdict[wrong], decided[wrong] = "attacked", "misclassified"
    t0 = time.perf_counter()
    flipped = _pgd_step(run, eps).numpy()
    verdict[flipped], decided[flipped] = "attacked", "pgd"
    seconds["pgd"] = time.perf_counter() - t0
    for name, step in (("interval", lambda X, y: interval_certified(run.cpu_model, X, y, eps)),
                       ("crown", lambda X, y: crown_certified(run.net, X, y, eps)),
                       ("alpha-crown", lambda X, y: alpha_crown_certified(run.net, X, y, eps))):
        if name in run.methods:
            t0, open_ = time.perf_counter(), np.flatnonzero(verdict == "unknown")
            if open_.size:
                proven = step(run.X[open_], run.y[open_]).numpy()
                verdict[open_[proven]], decided[open_[proven]] = "robust", name
            seconds[name] = time.perf_counter() - t0
    open_ = np.flatnonzero(verdict == "unknown")
    if open_.size and ("lp+cuts" in run.methods or "milp" in run.methods):
        t0 = time.perf_counter()
        for i, (v, by) in zip(open_, _exact_steps(run, eps, open_)):
            verdict[i], decided[i] = v, by
        seconds["lp+cuts/milp"] = time.perf_counter() - t0
    return CertifiedResult(eps, run.methods, verdict, decided, run.correct.numpy() & ~flipped, seconds)


def certified_accuracy(model: nn.Module, data, epsilons: Union[float, Sequence[float]],
                       methods: Sequence[str] = METHODS, limit: Optional[int] = None, *,
                       pgd_steps: int = 40, time_limit: Optional[float] = None, workers: int = 1,
                       progress: bool = True) -> List[CertifiedResult]:
    """Certified (and PGD-attacked) accuracy of ``model`` under l∞ perturbations (notebook 09).

    Args:
        model: a ``Flatten``/``Linear``/``Conv2d``/``ReLU`` classifier on any device (PGD
            runs there; the bounds and solvers on the CPU in float64); never moved.
        data: a DataLoader of ``(X, y)`` batches, or a pair of tensors ``(X, y)``;
            images ``(n, C, H, W)`` with pixels in [0, 1].
        epsilons: one radius or several (each finite, >= 0).
        methods: a subset of ``METHODS`` ("interval", "crown", "alpha-crown", "lp+cuts",
            "milp"); they run in that order whatever order they are given in.
        limit: use only the first ``limit`` examples.
        pgd_steps: steps of the batched l∞ PGD (step size ``2.5 ε / pgd_steps``, clamped
            to valid images).
        time_limit: seconds per solver call in the LP/MILP step (``None``: no limit); a
            MILP stopped by it leaves its image "unknown".
        workers: processes for the LP/MILP step (1: in this process).
        progress: show progress bars.

    Returns:
        One ``CertifiedResult`` per ε (``.certified(method)``, ``.pgd_accuracy``,
        ``.counts``, ``.split``, ``.summary()``).

    Raises:
        KeyboardInterrupt: on an interrupt, with a message; nothing of the run is kept.
    """
    methods, epsilons = _check_methods(methods), _check_epsilons(epsilons)
    workers, pgd_steps = check_count(workers, "workers", 1), check_count(pgd_steps, "pgd_steps", 1)
    time_limit, progress = check_time_limit(time_limit), check_flag(progress, "progress")
    X, y = _collect(data, limit)
    net = lower(check_network(model), X.shape[1:])
    check_labels(X, y, "data (labels)", net.num_logits)
    device = next(model.parameters()).device
    cpu_model = model if device.type == "cpu" else _cpu_copy(model)
    with torch.no_grad():
        correct = torch.cat([model(X[s:s + 500].to(device)).argmax(1).cpu() == y[s:s + 500]
                             for s in range(0, len(y), 500)])
    run = _Run(model, cpu_model, net, X, y, correct, methods, pgd_steps, time_limit, workers, progress)
    out = []
    try:
        for eps in epsilons:
            out.append(_at_epsilon(run, eps))
    except KeyboardInterrupt:
        raise KeyboardInterrupt(f"certified_accuracy was interrupted at eps {eps:g} ({len(out)} of "
                                f"{len(epsilons)} radii finished); its results are discarded") from None
    return out


def _cpu_copy(model: nn.Module) -> nn.Module:
    import copy
    return copy.deepcopy(model).cpu().eval()
