"""How fast are CROWN-style linear bounds next to interval bounds?

For the first n test images (default 1000) and each ε, times the full bound of every
target (the chapter's objective matrix C of each image's label, 9 targets) by

* interval propagation + the analytic last layer (``interval_based_bound``), and
* CROWN (``linear_bounds``, intermediate bounds included),

batched over all images, in float64 on the CPU, and prints the seconds, the seconds
per image, and how many images each proves robust. Then one CNN image, where the
convolutions are pushed back as transposed convolutions.

    .venv/bin/python benchmarks/crown_speed.py [--n 1000] [--models small dnn2 dnn4] [--repeats 3] [--cnn-batch B]

The fastest of ``repeats`` runs is kept. Measured output: crown_speed.txt.
"""

from __future__ import annotations

import argparse
import time

import torch

from course_utils.bounds import bound_propagation, interval_based_bound, linear_bounds, objective_matrix
from course_utils.data import eval_subset
from course_utils.models import load_model
from course_utils.threat import linf_box


def proven(bound, y):
    bound = bound.clone()
    bound[torch.arange(len(y)), y] = float("inf")
    return int((bound > 0).all(1).sum())


def best_time(fn, repeats):
    best, out = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--models", nargs="+", default=["small", "dnn2", "dnn4"])
    parser.add_argument("--eps", type=float, nargs="+", default=[0.02, 0.05])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cnn-eps", type=float, default=0.01)
    parser.add_argument("--cnn-batch", type=int, default=1, help="also the first B images in one batch")
    args = parser.parse_args()
    torch.set_grad_enabled(False)
    X, y = eval_subset(args.n)
    C = torch.stack([objective_matrix(int(t)) for t in y])
    print(f"{args.n} images, threads {torch.get_num_threads()}, float64, best of {args.repeats}")
    print(f"{'model':>6} {'eps':>5} {'interval s':>10} {'CROWN s':>8} {'CROWN ms/img':>12} "
          f"{'proven: interval':>16} {'CROWN':>6}")
    for name in args.models:
        model = load_model(name)
        for eps in args.eps:
            box = linf_box(X.double(), eps)
            ti, ib = best_time(lambda: interval_based_bound(model, C, bound_propagation(model, box)), args.repeats)
            tc, (_, cb) = best_time(lambda: linear_bounds(model, box, C), args.repeats)
            assert (cb >= ib - 1e-9).all()
            print(f"{name:>6} {eps:5.2f} {ti:10.3f} {tc:8.3f} {1000 * tc / args.n:12.2f} "
                  f"{proven(ib, y):16d} {proven(cb, y):6d}")
    cnn = load_model("cnn")
    box = linf_box(X[:1].double(), args.cnn_eps)
    Ci = objective_matrix(int(y[0]))
    ti, ib = best_time(lambda: interval_based_bound(cnn, Ci, bound_propagation(cnn, box)), 1)
    tc, (pre, cb) = best_time(lambda: linear_bounds(cnn, box, Ci), 1)
    unstable = [int(((l < 0) & (u > 0)).sum()) for l, u in pre[:-1]]
    print(f"cnn, test image 0, eps {args.cnn_eps}: interval {ti:.3f} s (min bound {ib[0][ib[0] != 0].min():.1f}), "
          f"CROWN {tc:.1f} s (min bound {cb[0][cb[0] != 0].min():.2f}); unstable neurons per layer "
          f"after CROWN {unstable} of {[l.shape[1] for l, _ in pre[:-1]]}")
    if args.cnn_batch > 1:
        B = args.cnn_batch
        box = linf_box(X[:B].double(), args.cnn_eps)
        tb, (_, bb) = best_time(lambda: linear_bounds(cnn, box, C[:B]), 1)
        print(f"cnn, test images 0-{B - 1} in one batch, eps {args.cnn_eps}: CROWN {tb:.1f} s "
              f"({tb / B:.2f} s per image), proven {proven(bb, y[:B])} of {B}")


if __name__ == "__main__":
    main()
