"""Decide mode on one image, one process: the default cascade, and the same with the
optimised-slope CROWN step ("alpha-crown") before the LP (issue 14 §7).

    .venv/bin/python benchmarks/decide_speed.py [--model small] [--index 0] [--eps 0.1] [--repeats 3]

Prints, for each cascade, the fastest wall time of ``repeats`` runs (each on a fresh
``verify.Problem``) and the verdict and deciding step of every target.
"""

from __future__ import annotations

import argparse
import time

import torch

from course_utils.data import eval_subset
from course_utils.models import load_model
from course_utils.verify import DECIDE_CHOICES, DECIDE_STEPS, decide, verification_problem


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="small")
    parser.add_argument("--index", type=int, default=0)
    parser.add_argument("--eps", type=float, default=0.1)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    X, y = eval_subset(args.index + 1)
    model = load_model(args.model)
    x, label = X[args.index:args.index + 1], int(y[args.index])
    without = tuple(s for s in DECIDE_STEPS if s != "alpha-crown")
    with_alpha = without[:2] + ("alpha-crown",) + without[2:]
    print(f"{args.model}, test image {args.index}, eps {args.eps}, threads {torch.get_num_threads()}, "
          f"best of {args.repeats}")
    for steps in (without, with_alpha) if "alpha-crown" in DECIDE_CHOICES else (without,):
        best, cert = float("inf"), None
        for _ in range(args.repeats):
            start = time.perf_counter()
            cert = decide(verification_problem(model, x, label, args.eps), steps)
            best = min(best, time.perf_counter() - start)
        split = ", ".join(f"{r.target}:{r.verdict[0]}/{r.decided_by}" for r in cert.results)
        print(f"{' -> '.join(steps)}: {best:.2f} s, {cert.verdict}; {split}")


if __name__ == "__main__":
    main()
