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

Every image ends "robust", "attacked" or "unknown" (its time limit, or no exact
step asked for), and ``decided_by`` names the step that settled it. The certified
accuracy of a method is the fraction proven robust by it *or a cheaper step before
it*: what a verifier that stops at that method proves. An interrupt (Ctrl-C, or
JupyterLab's "Interrupt kernel") stops a run within a second or two, worker processes
included. What a run has settled is handed, as it is settled, to the ``on_progress`` hook
(a ``Progress``: the radii done, and the radius in progress with its images still open),
and ``start=`` continues from such a ``Progress``; the command line saves each one into
its record, so that ``--resume`` continues an interrupted run::

    python -m course_utils certified --model small --eps 0.05 --n 1000
"""

from __future__ import annotations

import math
import numbers
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn as nn
from tqdm.auto import tqdm

from .alpha import alpha_crown_bounds
from .attacks import pgd_linf
from .bounds import bound_propagation, crown_bounds, interval_based_bound, objective_matrix
from .models import placement
from .network import LoweredNetwork, lower
from .solvers import check_time_limit, fix_highs_threads
from .guard import check_logits, check_network
from .threat import check_count, check_flag, check_images, check_labels, check_nonnegative, float64_box, points_inside
from .verdicts import STEPS, check_steps, dearest
from .workers import completed, worker_pool

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
        for key, letters in (("verdicts", "rau"), ("survived_pgd", "01")):
            bad = [c for c in d[key] if c not in letters] if isinstance(d[key], str) else None
            if bad is None or bad:
                got = f"a {type(d[key]).__name__}" if bad is None else f"{bad[0]!r} in it"
                raise ValueError(f"d['{key}'] must be a string of the letters {', '.join(letters)} (one per image), "
                                 f"got {got}")
        sizes = {len(d["verdicts"]), len(d["decided_by"]), len(d["survived_pgd"])}
        if len(sizes) > 1:
            raise ValueError(f"d['verdicts'], d['decided_by'] and d['survived_pgd'] must have one entry per image "
                             f"each, got {len(d['verdicts'])}, {len(d['decided_by'])} and {len(d['survived_pgd'])}")
        return cls(d["epsilon"], tuple(d["methods"]), np.array([words[c] for c in d["verdicts"]], dtype=object),
                   np.array(d["decided_by"], dtype=object), np.array([c == "1" for c in d["survived_pgd"]]),
                   dict(d.get("seconds", {})))


@dataclass(frozen=True)
class Progress:
    """How far ``certified_accuracy`` got: what its ``on_progress`` hook receives after
    each finished stage, and what ``start=`` continues from (notebook 09; the command line
    ``python -m course_utils certified`` stores it in its record for ``--resume``).

    ``finished``: one ``CertifiedResult`` per radius done, the first ``len(finished)`` of
    ``epsilons``. ``current``: the next radius once its batched steps are done (else
    ``None``); the images marked in ``pending`` ((n,) bool) still wait for the LP/MILP step
    (they read "unknown", decided by ""), every other image of it is final.
    """
    finished: Tuple[CertifiedResult, ...] = ()
    current: Optional[CertifiedResult] = None
    pending: Optional[np.ndarray] = None

    def describe(self, radii: int) -> str:
        """In words, e.g. "1 of 3 radii done; at eps 0.05, 37 of 60 images settled"."""
        text = f"{len(self.finished)} of {radii} radii done"
        if self.current is not None:
            open_ = int(self.pending.sum())
            text += (f"; at eps {self.current.epsilon:g}, {self.current.total - open_} of "
                     f"{self.current.total} images settled")
        return text


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
            r = solve(p, time_limit=time_limit)[target]
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
        ``None`` where its solver did not reach optimality (its status says why:
        "time_limit" when ``time_limit`` seconds, for each ε and each solver step, bound
        tightening included, ran out; ``None``: no limit).
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
    """One radius (a Python, NumPy or one-element tensor number) or several, each as a float."""
    if isinstance(epsilons, (numbers.Number, np.generic)) or (isinstance(epsilons, (torch.Tensor, np.ndarray))
                                                               and epsilons.ndim == 0):
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
        box = float64_box(X[s:s + chunk], epsilon)
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
        box = float64_box(X[s:s + chunk], epsilon)
        _, bound = crown_bounds(net, box, _objective_matrices(y[s:s + chunk], net.num_logits))
        out.append(_margins_ok(bound, y[s:s + chunk]))
    return torch.cat(out) if out else torch.zeros(0, dtype=torch.bool)


def alpha_crown_certified(net: LoweredNetwork, X: torch.Tensor, y: torch.Tensor, epsilon: float,
                          chunk: int = 500) -> torch.Tensor:
    """Step "alpha-crown", batched: boolean (n,), proven robust by optimised-slope CROWN
    (``alpha.alpha_crown_bounds``) on the lowered network ``net`` (float64, CPU)."""
    out = []
    for s in range(0, len(y), chunk):
        box = float64_box(X[s:s + chunk], epsilon)
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
    """Step "pgd": which correctly classified images untargeted l∞ PGD flips, (n,) boolean.
    Each point is put into the requested box in the model's dtype (``threat.points_inside``)
    before the model judges it; a radius >= 1 is attacked as 1 (the same box)."""
    device, dtype = placement(run.model)
    idx = torch.nonzero(run.correct)[:, 0]
    flipped = torch.zeros(len(run.y), dtype=torch.bool)
    radius = min(eps, 1.0)
    for s in tqdm(range(0, len(idx), 500), disable=not run.progress, leave=False, desc=f"PGD eps {eps:g}"):
        rows = idx[s:s + 500]
        Xb, yb = run.X[rows].to(device, dtype), run.y[rows].to(device)
        delta = pgd_linf(run.model, Xb, yb, radius, 2.5 * radius / run.pgd_steps, run.pgd_steps) if eps > 0 \
            else 0 * Xb
        points, inside = points_inside(Xb + delta, float64_box(run.X[rows], eps, outward=False), dtype)
        with torch.no_grad():
            flipped[rows] = (run.model(points.to(device)).argmax(1).cpu() != run.y[rows]) & inside
    return flipped


def _clean_inside(run: _Run, eps: float) -> np.ndarray:
    """Per image, whether the image the model was run on (its pixels in the model's dtype)
    lies in the requested box; where it does not (a float64 image that float32 cannot
    hold, at a radius below the rounding), a wrong clean prediction is no attack."""
    lo, hi = float64_box(run.X, eps, outward=False)
    seen = run.X.to(placement(run.model)[1]).double()
    return ((seen >= lo) & (seen <= hi)).flatten(1).all(1).numpy()


def _exact_steps(run: _Run, eps: float, open_: np.ndarray) -> Iterator[Tuple[int, Tuple[str, str]]]:
    """Steps "lp+cuts" / "milp" image by image (``verify.decide``), in worker processes if
    asked: ``(image index, (verdict, decided_by))`` as each image is settled."""
    steps = ("targeted pgd",) + tuple(m for m in ("crown", "lp+cuts", "milp") if m in run.methods)
    jobs = {int(i): (run.cpu_model, run.net, run.X[i:i + 1], int(run.y[i]), eps, steps, run.time_limit)
            for i in open_}
    bar = tqdm(total=len(jobs), disable=not run.progress, leave=False, desc=f"LP/MILP eps {eps:g}")
    with bar:
        if run.workers == 1:
            for i, job in jobs.items():
                yield i, _decide_image(job)
                bar.update()
            return
        with worker_pool(run.workers, initializer=_one_thread) as pool:
            futures = {pool.submit(_decide_image, job): i for i, job in jobs.items()}
            for future in completed(futures):
                yield futures[future], future.result()
                bar.update()


def _batched_steps(run: _Run, eps: float) -> CertifiedResult:
    """Steps "misclassified", "pgd" and the batched bounds at one radius; what they leave
    open reads "unknown", decided by ""."""
    verdict = np.full(len(run.y), "unknown", dtype=object)
    decided = np.full(len(run.y), "", dtype=object)
    seconds: Dict[str, float] = {}
    wrong = ~run.correct.numpy() & _clean_inside(run, eps)
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
    return CertifiedResult(eps, run.methods, verdict, decided, run.correct.numpy() & ~flipped, seconds)


def _copy(r: CertifiedResult) -> CertifiedResult:
    return CertifiedResult(r.epsilon, r.methods, r.verdict.copy(), r.decided_by.copy(), r.survived_pgd.copy(),
                           dict(r.seconds))


def _at_epsilon(run: _Run, eps: float, resumed: Optional[Progress],
                report: Callable[[Optional[CertifiedResult], Optional[np.ndarray]], None]) -> CertifiedResult:
    """The whole cascade at one radius, from ``resumed.current`` if given; ``report(result,
    pending)`` after the batched steps and after each image the LP/MILP step settles."""
    if resumed is not None and resumed.current is not None:
        result, pending = _copy(resumed.current), resumed.pending.copy()
    else:
        result = _batched_steps(run, eps)
        exact = "lp+cuts" in run.methods or "milp" in run.methods
        pending = (result.verdict == "unknown") & exact
        if pending.any():
            report(result, pending)
    if pending.any():
        t0, before = time.perf_counter(), result.seconds.get("lp+cuts/milp", 0.0)
        decided = _exact_steps(run, eps, np.flatnonzero(pending))
        try:
            for i, (v, by) in decided:
                result.verdict[i], result.decided_by[i], pending[i] = v, by, False
                result.seconds["lp+cuts/milp"] = before + time.perf_counter() - t0
                report(result, pending)
        finally:
            decided.close()      # an interrupt between two images stops the workers now
    return result


def certified_accuracy(model: nn.Module, data, epsilons: Union[float, Sequence[float]],
                       methods: Sequence[str] = METHODS, limit: Optional[int] = None, *,
                       pgd_steps: int = 40, time_limit: Optional[float] = None, workers: int = 1,
                       progress: bool = True, start: Optional[Progress] = None,
                       on_progress: Optional[Callable[[Progress], None]] = None) -> List[CertifiedResult]:
    """Certified (and PGD-attacked) accuracy of ``model`` under l∞ perturbations (notebook 09).

    Args:
        model: a ``Flatten``/``Linear``/``Conv2d``/``ReLU`` classifier in float32 or
            float64 that ``guard.check_network`` accepts, on any device (PGD runs there;
            the bounds and solvers on the CPU in float64); never moved.
        data: a DataLoader of ``(X, y)`` batches, or a pair of tensors ``(X, y)``;
            images ``(n, C, H, W)`` with pixels in [0, 1], any floating dtype: the boxes
            come from their exact values (``threat.float64_box``), the model sees them in
            its own dtype.
        epsilons: one radius or several (each finite, >= 0; Python, NumPy or one-element
            tensor numbers).
        methods: a subset of ``METHODS`` ("interval", "crown", "alpha-crown", "lp+cuts",
            "milp"); they run in that order whatever order they are given in.
        limit: use only the first ``limit`` examples.
        pgd_steps: steps of the batched l∞ PGD (step size ``2.5 ε / pgd_steps``, clamped
            to valid images).
        time_limit: seconds for each image's LP/MILP steps (its ``verify.decide``
            cascade, bound tightening included; ``None``: no limit); an image it stops
            stays "unknown".
        workers: processes for the LP/MILP step (1: in this process).
        progress: show progress bars.
        start: a ``Progress`` of an earlier call with the same model, data, epsilons and
            methods: its finished radii are kept, its current radius continues with its
            pending images (the batched steps are not run again). The result equals an
            uninterrupted run's.
        on_progress: called with a ``Progress`` (fresh copies) after the batched steps of
            each radius, after each image the LP/MILP step settles and after each radius.

    Returns:
        One ``CertifiedResult`` per ε (``.certified(method)``, ``.pgd_accuracy``,
        ``.counts``, ``.split``, ``.summary()``).

    Raises:
        KeyboardInterrupt: on an interrupt, with a message; what was settled before it
            went to ``on_progress``.
    """
    methods, epsilons = _check_methods(methods), _check_epsilons(epsilons)
    workers, pgd_steps = check_count(workers, "workers", 1), check_count(pgd_steps, "pgd_steps", 1)
    time_limit, progress = check_time_limit(time_limit), check_flag(progress, "progress")
    X, y = _collect(data, limit)
    net = lower(check_network(model), X.shape[1:])
    check_labels(X, y, "data (labels)", check_logits(net.num_logits))
    device, dtype = placement(model)
    cpu_model = model if device.type == "cpu" else _cpu_copy(model)
    with torch.no_grad():
        correct = torch.cat([model(X[s:s + 500].to(device, dtype)).argmax(1).cpu() == y[s:s + 500]
                             for s in range(0, len(y), 500)])
    run = _Run(model, cpu_model, net, X, y, correct, methods, pgd_steps, time_limit, workers, progress)
    if on_progress is not None and not callable(on_progress):
        raise ValueError(f"on_progress must be a function taking a Progress, or None, got {on_progress!r}")
    return _cascade(run, epsilons, _check_start(start, epsilons, methods, correct.numpy()), on_progress)


def _cascade(run: _Run, epsilons: List[float], start: Progress,
             on_progress: Optional[Callable[[Progress], None]]) -> List[CertifiedResult]:
    """Every radius from where ``start`` stopped, each reported to ``on_progress``."""
    out = [_copy(r) for r in start.finished]

    def report(current: Optional[CertifiedResult], pending: Optional[np.ndarray]) -> None:
        if on_progress is not None:
            on_progress(Progress(tuple(_copy(r) for r in out), None if current is None else _copy(current),
                                 None if pending is None else pending.copy()))
    try:
        for k in range(len(out), len(epsilons)):
            out.append(_at_epsilon(run, epsilons[k], start if k == len(start.finished) else None, report))
            report(None, None)
    except KeyboardInterrupt:
        kept = "what it settled went to on_progress" if on_progress else "its results are discarded"
        at = f"at eps {epsilons[len(out)]:g}" if len(out) < len(epsilons) else "after its last radius"
        raise KeyboardInterrupt(f"certified_accuracy was interrupted {at} ({len(out)} of {len(epsilons)} "
                                f"radii finished); {kept}") from None
    return out


def _check_start(start: Optional[Progress], epsilons: List[float], methods: Tuple[str, ...],
                 correct: np.ndarray) -> Progress:
    """``start`` (``None``: an empty ``Progress``) if it belongs to this run, else a
    ``ValueError`` that says what differs."""
    if start is None:
        return Progress()
    if not isinstance(start, Progress):
        raise ValueError(f"start must be a Progress (from on_progress) or None, got {type(start).__name__}")
    results = list(start.finished) + ([start.current] if start.current is not None else [])
    if len(results) > len(epsilons):
        raise ValueError(f"start holds {len(results)} radii, more than the {len(epsilons)} epsilons asked")
    for r, eps in zip(results, epsilons):
        if not isinstance(r, CertifiedResult) or r.epsilon != eps or r.methods != methods or r.total != correct.size:
            raise ValueError(f"start was made for other epsilons, methods or images: it holds "
                             f"{_describe(r)} where this run asks eps {eps:g}, {methods}, {correct.size} images")
        if not np.array_equal(r.decided_by == "misclassified", ~correct):
            raise ValueError(f"start was made for other images or another model: its misclassified images "
                             f"at eps {eps:g} are not this model's")
    if start.current is not None:
        pending = start.pending
        if not isinstance(pending, np.ndarray) or pending.dtype != bool or pending.shape != (correct.size,):
            raise ValueError(f"start.pending must be a boolean array of shape ({correct.size},), got {pending!r}")
        if not (start.current.verdict[pending] == "unknown").all():
            raise ValueError("start.pending marks images whose verdict is already settled")
    return start


def _describe(r) -> str:
    if not isinstance(r, CertifiedResult):
        return f"a {type(r).__name__}"
    return f"eps {r.epsilon:g}, {r.methods}, {r.total} images"


def _cpu_copy(model: nn.Module) -> nn.Module:
    import copy
    return copy.deepcopy(model).cpu().eval()
