"""Speed of exact verification: the chapter's MILP formulation against ours.

The chapter's formulation: cvxpy, interval bounds, a binary for every ReLU, minimise
``c^T z`` for each of the 9 targets (``form_milp(..., stable_binaries=True)``), HiGHS.
Ours, two modes (``course_utils.verify.certify``):

* optimise (step "exact milp"): tightened bounds (CROWN + one LP per neuron), stable
  neurons without binaries, HiGHS driven directly, a PGD point as the MIP start;
  must reach the same optimum.
* decide ("decide"): targeted PGD first, then CROWN, then the LP with a few rounds of
  cuts from each ReLU's convex hull over its input box, then a MILP that only asks
  whether an objective <= 0 exists (cutoff at 0); must reach the same verdicts.

Run from the project root (the output recorded beside this file)::

    .venv/bin/python benchmarks/milp_speed.py --eps 0.05 0.1 | tee benchmarks/milp_speed.txt

Decide mode is also timed with ``--workers`` processes (default 2) solving the MILPs of
different targets at once, in a pool (``workers.worker_pool``) started before the timed
call.

The chapter's formulation takes minutes at eps 0.1. ``--baseline-recorded FILE`` skips
it and reuses the times and values of an earlier run's output (``milp_speed_baseline.txt``
holds the one real run); ``--baseline-seconds 0.1=322`` reuses a time alone.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
import torch

from course_utils.bounds import bound_propagation, objective_matrix
from course_utils.data import eval_subset
from course_utils.models import load_model
from course_utils.programs import form_milp
from course_utils.solvers import solve_cvxpy
from course_utils.threat import linf_box
from course_utils.verify import certify
from course_utils.workers import worker_pool


def chapter_formulation(model, x, y, epsilon):
    box = tuple(t.double() for t in linf_box(x, epsilon))
    bounds = bound_propagation(model, box)
    C = objective_matrix(y).numpy()
    values, start = {}, time.perf_counter()
    for t in range(10):
        if t == y:
            continue
        problem, _ = form_milp(model, C[:, t], box, bounds, stable_binaries=True)
        s = solve_cvxpy(problem, "HIGHS")
        values[t] = s.value if s.status == "optimal" else s.status
    return values, time.perf_counter() - start


def read_recorded(path):
    """``{eps: (seconds, {target: value})}`` from an earlier output of this script."""
    recorded, eps = {}, None
    for line in open(path):
        if line.startswith("## eps = "):
            eps = float(line.split("=")[1])
            recorded[eps] = [None, {}]
        elif line.startswith("chapter formulation:") and eps is not None:
            recorded[eps][0] = float(line.split(":")[1].split()[0])
        elif eps is not None and line.split() and line.split()[0].isdigit():
            fields = line.split()
            try:
                recorded[eps][1][int(fields[0])] = float(fields[1])
            except ValueError:
                pass
    return {e: (s, v) for e, (s, v) in recorded.items() if s is not None}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--eps", type=float, nargs="+", default=[0.05, 0.1])
    parser.add_argument("--model", default="small")
    parser.add_argument("--index", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2,
                        help="also time decide mode with the MILPs of several targets in this many processes")
    parser.add_argument("--baseline-seconds", nargs="*", default=[], metavar="EPS=SECONDS",
                        help="skip the chapter's formulation at EPS, reuse a measured time")
    parser.add_argument("--baseline-recorded", metavar="FILE",
                        help="reuse the chapter formulation's times and values from this earlier output")
    args = parser.parse_args()
    skip = {float(k): (float(v), None) for k, v in (item.split("=") for item in args.baseline_seconds)}
    if args.baseline_recorded:
        skip.update(read_recorded(args.baseline_recorded))
    torch.set_num_threads(1)
    model = load_model(args.model, "cpu")
    X, Y = eval_subset(args.index + 1)
    x, y = X[args.index:args.index + 1], int(Y[args.index])
    print(f"# {args.model} net, test image {args.index} (label {y}), 9 targets, HiGHS, "
          f"{os.cpu_count()} cores, torch {torch.__version__}, {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.1f} at start")
    for eps in args.eps:
        print(f"\n## eps = {eps}")
        if eps in skip:
            base_s, base_values = skip[eps]
            print(f"chapter formulation: {base_s:8.1f} s  (recorded earlier, not rerun)")
        else:
            base_values, base_s = chapter_formulation(model, x, y, eps)
            print(f"chapter formulation: {base_s:8.1f} s")
        exact = certify(model, x, y, eps, "exact milp")
        decide = certify(model, x, y, eps, "decide")
        print(f"ours, optimise mode: {exact.seconds:8.1f} s   {base_s / exact.seconds:5.1f}x faster")
        print(f"ours, decide mode:   {decide.seconds:8.1f} s   {base_s / decide.seconds:5.1f}x faster")
        if args.workers > 1:
            with worker_pool(args.workers) as pool:
                certify(model, x, y, eps, "decide", workers=pool)             # the workers start
                par = certify(model, x, y, eps, "decide", workers=pool)       # timed: the pool is warm
            same = [r.verdict for r in par.results] == [r.verdict for r in decide.results]
            print(f"ours, decide mode, {args.workers} worker processes: {par.seconds:5.1f} s   "
                  f"{base_s / par.seconds:5.1f}x faster; same verdicts: {same}")
        print(f"{'target':>6} {'chapter':>10} {'optimise':>10} {'|diff|':>9} {'decide':>8} {'by':>12} {'seconds':>8}")
        worst = 0.0
        for r in exact.results:
            d = decide[r.target]
            b = None if base_values is None else base_values[r.target]
            diff = abs(b - r.value) if isinstance(b, float) and r.value is not None else None
            worst = max(worst, diff or 0.0)
            bs = "" if b is None else (f"{b:10.4f}" if isinstance(b, float) else f"{b:>10}")
            vs = "" if r.value is None else f"{r.value:10.4f}"
            ds = "" if diff is None else f"{diff:9.2e}"
            print(f"{r.target:>6} {bs:>10} {vs:>10} {ds:>9} {d.verdict:>8} {d.decided_by:>12} {d.seconds:8.2f}")
        agree = all((r.value > 0) == (decide[r.target].verdict == "robust") for r in exact.results
                    if r.value is not None)
        print(f"largest |chapter - optimise| = {worst:.2e}; decide verdicts agree with the optimum signs: {agree}")


if __name__ == "__main__":
    main()
