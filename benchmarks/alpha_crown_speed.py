"""How many of the first n test images optimised-slope CROWN proves, and how fast
(issue 14 §7: small net, ε = 0.05, 1000 images, at least 240 proven in under 61 s).

    .venv/bin/python benchmarks/alpha_crown_speed.py [--model small] [--n 1000] [--eps 0.05] [--iterations 20]

Times CROWN (``bounds.crown_bounds``) and alpha-CROWN (``alpha.alpha_crown_bounds``, its
CROWN pass included) on all n images in one batch, float64 on the CPU, and counts the
images each proves robust (every target's margin bound > 0).
"""

from __future__ import annotations

import argparse
import time

import torch

from course_utils.alpha import alpha_crown_bounds
from course_utils.bounds import crown_bounds, objective_matrix
from course_utils.data import eval_subset
from course_utils.models import load_model
from course_utils.network import lower
from course_utils.threat import linf_box


def proven(bound, y):
    bound = bound.clone()
    bound[torch.arange(len(y)), y] = float("inf")
    return int((bound > 0).all(1).sum())


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="small")
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--eps", type=float, default=0.05)
    parser.add_argument("--iterations", type=int, default=20)
    args = parser.parse_args()
    X, y = eval_subset(args.n)
    net = lower(load_model(args.model), X.shape[1:])
    C = torch.stack([objective_matrix(int(t)) for t in y])
    box = linf_box(X.double(), args.eps)
    start = time.perf_counter()
    _, crown = crown_bounds(net, box, C)
    t_crown = time.perf_counter() - start
    start = time.perf_counter()
    _, alpha = alpha_crown_bounds(net, box, C, iterations=args.iterations)
    t_alpha = time.perf_counter() - start
    assert (alpha >= crown - 1e-12).all()
    print(f"{args.model}, eps {args.eps}, first {args.n} test images, threads {torch.get_num_threads()}, float64")
    print(f"CROWN: {proven(crown, y)} proven in {t_crown:.2f} s")
    print(f"alpha-CROWN ({args.iterations} iterations): {proven(alpha, y)} proven in {t_alpha:.1f} s")


if __name__ == "__main__":
    main()
