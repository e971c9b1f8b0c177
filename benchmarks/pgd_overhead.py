"""How much does the attack loop cost on top of the gradients it needs?

Times l∞ PGD (ε 0.1, α 0.01, 40 steps, ``course_utils.attacks.pgd_linf``) on the first
1000 CNN test images against the bare cost of 40 forward+backward passes (gradient
with respect to the input) on the same batch, and prints the ratio. Target: <= 1.1.

    .venv/bin/python benchmarks/pgd_overhead.py [--n 1000] [--repeats 3]

The two are timed in alternation and the fastest run of each is kept, which damps the
noise of a shared machine. The measured output is saved in pgd_overhead.txt.
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F

from course_utils.attacks import pgd_linf
from course_utils.data import eval_subset
from course_utils.models import load_model


def bare(model, X, y, num_iter):
    delta = torch.zeros_like(X)
    for _ in range(num_iter):
        delta.requires_grad_(True)
        loss = F.cross_entropy(model(X + delta), y, reduction="sum")
        (grad,) = torch.autograd.grad(loss, delta)
        delta = delta.detach()
    return grad


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    model = load_model("cnn")
    device = next(model.parameters()).device
    X, y = eval_subset(args.n)
    X, y = X.to(device), y.to(device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    pgd_linf(model, X[:10], y[:10], 0.1, 0.01, 2)  # warm-up
    times = {"pgd_linf": [], "bare": []}
    for _ in range(args.repeats):
        for name, fn in (("pgd_linf", lambda: pgd_linf(model, X, y, 0.1, 0.01, 40)),
                         ("bare", lambda: bare(model, X, y, 40))):
            sync()
            start = time.perf_counter()
            fn()
            sync()
            times[name].append(time.perf_counter() - start)
    best = {k: min(v) for k, v in times.items()}
    print(f"device {device}, torch {torch.__version__}, threads {torch.get_num_threads()}, "
          f"{args.n} CNN test images, 40 steps, {args.repeats} alternating repeats")
    for k, v in times.items():
        print(f"{k:9s} runs: " + ", ".join(f"{t:.2f} s" for t in v) + f"  (best {best[k]:.2f} s)")
    print(f"ratio pgd_linf / bare (best vs best): {best['pgd_linf'] / best['bare']:.3f}  (target <= 1.1)")


if __name__ == "__main__":
    main()
