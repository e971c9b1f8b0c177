"""Certified accuracy at scale (beyond the chapter): over many test images and several
radii ε, how many images each verifier proves robust, how many an attack breaks, and
how many stay undecided.

``certified_accuracy(model, data, epsilons, methods)`` runs a cascade per ε, cheapest
step first, each later step only on the images still open:

1. the clean prediction (a misclassified image is "attacked" at any ε);
2. l∞ PGD, batched: an image it flips is "attacked" (the PGD *upper bound* on robust
   accuracy is the fraction that survive);
3. ``"interval"``: interval bounds with the analytic last layer, batched;
4. ``"crown"``: CROWN-style linear bounds, batched;
5. ``"lp"`` and ``"milp"``: one image at a time through ``verify.certify``'s decide mode
   (targeted PGD, the LP relaxation on tightened bounds with a few rounds of cuts from
   each ReLU's convex hull over its input box, then a MILP that only decides the sign),
   optionally in parallel worker processes.

Every image ends "robust", "attacked" or "unknown" (a solver time limit, or no exact
step asked for), and ``decided_by`` says which step settled it. The certified
accuracy of a method is the fraction proven robust by it *or a cheaper step before
it*: what a verifier that stops at that method proves. Run from the shell::

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

from .attacks import pgd_linf
from .bounds import bound_propagation, interval_based_bound, linear_bounds, objective_matrix
from .threat import check_count, check_images, check_labels, check_nonnegative, linf_box

METHODS = ("interval", "crown", "lp", "milp")
"""Verifiers, cheapest and loosest first."""

STEPS = ("misclassified", "pgd", "interval", "crown", "lp", "targeted pgd", "milp")
"""Every value ``decided_by`` can take (besides "" for an undecided image)."""


@dataclass
class CertifiedResult:
    """The outcome of ``certified_accuracy`` at one ε, one entry per image.

    ``verdict[i]``: "robust", "attacked" or "unknown"; ``decided_by[i]``: the step of
    ``STEPS`` that settled it ("" when unknown); ``survived_pgd[i]``: correctly
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
        return cls(d["epsilon"], tuple(d["methods"]), np.array([words[c] for c in d["verdicts"]], dtype=object),
                   np.array(d["decided_by"], dtype=object), np.array([c == "1" for c in d["survived_pgd"]]),
                   dict(d.get("seconds", {})))


def accuracy_curves(results: Sequence[CertifiedResult]) -> dict:
    """``{"epsilon": [...], "pgd": [...], method: [...]}`` from results at several ε
    (for ``plotting.plot_certified_curves``)."""
    results = sorted(results, key=lambda r: r.epsilon)
    curves = {"epsilon": [r.epsilon for r in results], "pgd": [r.pgd_accuracy for r in results]}
    for m in results[0].methods:
        curves[m] = [r.certified(m) for r in results]
    return curves


def bound_sandwich(model: nn.Module, x: torch.Tensor, y: int, target: int, epsilons: Sequence[float],
                   time_limit: float = 60.0) -> dict:
    """Every bound on ``min (logit_y - logit_target)`` over the ε-box of one image, for
    several ε: the interval bound, CROWN, the chapter's LP (interval bounds), the exact
    MILP, and the value at a targeted PGD point (an upper bound). Returns lists keyed
    "epsilon", "interval", "crown", "lp", "milp", "pgd" (``None`` where a solver did
    not reach optimality; its status is in "lp_status" / "milp_status")."""
    from .verify import certify, pgd_targets
    epsilons = _check_epsilons(epsilons)
    x = x.detach().cpu()
    with torch.no_grad():
        num_classes = model(x.to(next(model.parameters()))).shape[1]
    C = objective_matrix(int(y), num_classes)[:, [int(target)]]
    out = {k: [] for k in ("epsilon", "interval", "crown", "lp", "milp", "pgd", "lp_status", "milp_status")}
    for eps in epsilons:
        box = linf_box(x.double(), eps)
        out["epsilon"].append(eps)
        out["interval"].append(interval_based_bound(model, C, bound_propagation(model, box))[0, 0].item())
        out["crown"].append(linear_bounds(model, box, C)[1][0, 0].item())
        lp = certify(model, x, y, eps, "lp", targets=[target])[target]
        milp = certify(model, x, y, eps, "milp", exact=True, targets=[target], time_limit=time_limit)[target]
        out["lp"].append(lp.value), out["lp_status"].append(lp.status)
        out["milp"].append(milp.value), out["milp_status"].append(milp.status)
        out["pgd"].append(pgd_targets(model, x, int(y), [int(target)], eps)[1][0].item())
    return out


# --- checks and data -----------------------------------------------------------------------


def _check_methods(methods) -> Tuple[str, ...]:
    if isinstance(methods, str):
        methods = (methods,)
    methods = tuple(methods)
    bad = [m for m in methods if m not in METHODS]
    if bad or not methods:
        raise ValueError(f"methods must be a non-empty subset of {METHODS}, got {methods}")
    return tuple(m for m in METHODS if m in methods)


def _check_epsilons(epsilons) -> List[float]:
    if isinstance(epsilons, (int, float)):
        epsilons = [epsilons]
    epsilons = [check_nonnegative(e, "epsilons") for e in epsilons]
    if not epsilons:
        raise ValueError("epsilons must hold at least one radius")
    return epsilons


def _collect(data, limit: Optional[int]) -> Tuple[torch.Tensor, torch.Tensor]:
    """``(X, y)`` on the CPU from a DataLoader or a pair of tensors, cut at ``limit``."""
    if limit is not None:
        check_count(limit, "limit (or None)", 1)
    if isinstance(data, (tuple, list)) and len(data) == 2 and isinstance(data[0], torch.Tensor):
        X, y = data
        X, y = X[:limit], y[:limit]
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
    """Boolean (n,): proven robust by interval bounds (chapter's analytic last layer)."""
    out = []
    for s in range(0, len(y), chunk):
        box = linf_box(X[s:s + chunk].double(), epsilon)
        bounds = bound_propagation(model, box)
        C = _objective_matrices(y[s:s + chunk], bounds[-1][0].shape[1])
        out.append(_margins_ok(interval_based_bound(model, C, bounds), y[s:s + chunk]))
    return torch.cat(out) if out else torch.zeros(0, dtype=torch.bool)


def crown_certified(model: nn.Module, X: torch.Tensor, y: torch.Tensor, epsilon: float,
                    chunk: int = 250) -> torch.Tensor:
    """Boolean (n,): proven robust by CROWN-style linear bounds."""
    with torch.no_grad():
        num_classes = model(X[:1].to(next(model.parameters()))).shape[1]
    out = []
    for s in range(0, len(y), chunk):
        box = linf_box(X[s:s + chunk].double(), epsilon)
        _, bound = linear_bounds(model, box, _objective_matrices(y[s:s + chunk], num_classes))
        out.append(_margins_ok(bound, y[s:s + chunk]))
    return torch.cat(out) if out else torch.zeros(0, dtype=torch.bool)


# --- one image through verify.certify ------------------------------------------------------

_WORKER_MODEL = None


def _init_worker(model: nn.Module) -> None:
    from . import solvers
    global _WORKER_MODEL
    torch.set_num_threads(1)
    solvers.PROCESS_OPTIONS["threads"] = 1      # the workers share the cores
    _WORKER_MODEL = model


def _exact_step(args) -> Tuple[str, str]:
    """``(verdict, decided_by)`` for one image from certify's decide mode."""
    from .verify import certify
    model, x, y, epsilon, stages, time_limit = args
    model = _WORKER_MODEL if model is None else model
    cert = certify(model, x, y, epsilon, "milp", stages=stages, time_limit=time_limit, stop_at_attack=True)
    if cert.verdict == "attack":
        r = next(r for r in cert.results if r.verdict == "attack")
        return "attacked", {"pgd": "targeted pgd", "lp point": "lp"}.get(r.decided_by, r.decided_by)
    if cert.verdict == "robust":
        used = {r.decided_by for r in cert.results}
        return "robust", next(s for s in ("milp", "lp", "crown") if s in used)
    return "unknown", ""


# --- the cascade -----------------------------------------------------------------------------


def certified_accuracy(model: nn.Module, data, epsilons: Union[float, Sequence[float]],
                       methods: Sequence[str] = METHODS, limit: Optional[int] = None, *,
                       pgd_steps: int = 40, time_limit: Optional[float] = None, workers: int = 1,
                       progress: bool = True) -> List[CertifiedResult]:
    """Certified (and PGD-attacked) accuracy of ``model`` under l∞ perturbations.

    Args:
        model: a ``Flatten``/``Linear``/``Conv2d``/``ReLU`` classifier (any device; the
            bounds and solvers run on the CPU in float64).
        data: a DataLoader of ``(X, y)`` batches, or a pair of tensors ``(X, y)``;
            images ``(n, C, H, W)`` with pixels in [0, 1].
        epsilons: one radius or several (each finite, >= 0).
        methods: a subset of ``METHODS`` ("interval", "crown", "lp", "milp"); they run
            in that order whatever order they are given in.
        limit: use only the first ``limit`` examples.
        pgd_steps: steps of the batched l∞ PGD (step size ``2.5 ε / pgd_steps``, clamped
            to valid images).
        time_limit: seconds per solver call in the LP/MILP step (default: none); a
            MILP stopped by it leaves its image "unknown".
        workers: processes for the LP/MILP step (1: in this process).
        progress: show progress bars.

    Returns:
        One ``CertifiedResult`` per ε (``.certified(method)``, ``.pgd_accuracy``,
        ``.counts``, ``.split``, ``.summary()``).
    """
    methods = _check_methods(methods)
    epsilons = _check_epsilons(epsilons)
    workers = check_count(workers, "workers", 1)
    pgd_steps = check_count(pgd_steps, "pgd_steps", 1)
    if time_limit is not None:
        time_limit = check_nonnegative(time_limit, "time_limit")
        if time_limit == 0:
            raise ValueError("time_limit must be > 0 seconds, or None for no limit")
    X, y = _collect(data, limit)
    device = next(model.parameters()).device
    cpu_model = model if device.type == "cpu" else _cpu_copy(model)
    with torch.no_grad():
        correct = torch.cat([model(X[s:s + 500].to(device)).argmax(1).cpu() == y[s:s + 500]
                             for s in range(0, len(y), 500)])
    out = []
    for eps in epsilons:
        verdict = np.full(len(y), "unknown", dtype=object)
        decided = np.full(len(y), "", dtype=object)
        seconds: Dict[str, float] = {}
        verdict[~correct.numpy()] = "attacked"
        decided[~correct.numpy()] = "misclassified"

        t0 = time.perf_counter()
        idx = torch.nonzero(correct)[:, 0]
        flipped = torch.zeros(len(y), dtype=torch.bool)
        for s in tqdm(range(0, len(idx), 500), disable=not progress, leave=False, desc=f"PGD eps {eps:g}"):
            rows = idx[s:s + 500]
            Xb, yb = X[rows].to(device), y[rows].to(device)
            delta = pgd_linf(model, Xb, yb, eps, 2.5 * eps / pgd_steps, pgd_steps) if eps > 0 else 0 * Xb
            with torch.no_grad():
                flipped[rows] = (model(Xb + delta).argmax(1) != yb).cpu()
        verdict[flipped.numpy()] = "attacked"
        decided[flipped.numpy()] = "pgd"
        survived = (correct & ~flipped).numpy()
        seconds["pgd"] = time.perf_counter() - t0

        for name, step in (("interval", interval_certified), ("crown", crown_certified)):
            if name not in methods:
                continue
            t0 = time.perf_counter()
            open_ = np.flatnonzero(verdict == "unknown")
            if open_.size:
                proven = step(cpu_model, X[open_], y[open_], eps).numpy()
                verdict[open_[proven]] = "robust"
                decided[open_[proven]] = name
            seconds[name] = time.perf_counter() - t0

        stages = tuple(s for s in ("pgd", "crown", "lp", "milp") if s in methods or s == "pgd")
        open_ = np.flatnonzero(verdict == "unknown")
        if open_.size and ("lp" in methods or "milp" in methods):
            t0 = time.perf_counter()
            tl = 1e9 if time_limit is None else time_limit      # certify wants a finite number
            jobs = [(None if workers > 1 else cpu_model, X[i:i + 1], int(y[i]), eps, stages, tl) for i in open_]
            bar = dict(total=len(jobs), disable=not progress, leave=False, desc=f"LP/MILP eps {eps:g}")
            if workers == 1:
                answers = [_exact_step(j) for j in tqdm(jobs, **bar)]
            else:
                import multiprocessing
                from concurrent.futures import ProcessPoolExecutor
                ctx = multiprocessing.get_context("spawn")
                with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker,
                                         initargs=(cpu_model,)) as pool:
                    answers = list(tqdm(pool.map(_exact_step, jobs, chunksize=4), **bar))
            for i, (v, by) in zip(open_, answers):
                verdict[i], decided[i] = v, by
            seconds["lp/milp"] = time.perf_counter() - t0
        out.append(CertifiedResult(eps, methods, verdict, decided, survived, seconds))
    return out


def _cpu_copy(model: nn.Module) -> nn.Module:
    import copy
    return copy.deepcopy(model).cpu().eval()
