"""What do the argument checks and the eval-mode/grad set-up cost an attack?

Times ``pgd_linf`` of this tree against the same function of an older tree (by default
commit 8ee1ec7, before the checks of issue 15), each at its fastest over many repeats, so
that the figure holds on a busy machine where whole-attack timings swing by ±15%:

* the fixed cost of one call: ``num_iter=0`` on 1000 CNN test images (checks, the one-image
  probe for the class count, the set-up; no gradient step);
* the cost of one step beyond the gradient: 200 steps on a 784-10 linear net and one
  image, where the Python around the step dominates.

One step of the CNN on 1000 images is printed for scale. Prepare the older tree with::

    git archive 8ee1ec7 course_utils | tar -x -C /tmp/old && mv /tmp/old/course_utils /tmp/old/course_utils_old
    .venv/bin/python benchmarks/pgd_checks_overhead.py --old /tmp/old

The measured output is in pgd_overhead.txt.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time

import torch

from course_utils.attacks import pgd_linf
from course_utils.data import eval_subset
from course_utils.models import load_model


def fastest(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--old", required=True, help="folder holding the older package as course_utils_old/")
    args = parser.parse_args()
    sys.path.insert(0, args.old)
    versions = {"old": importlib.import_module("course_utils_old.attacks").pgd_linf, "new": pgd_linf}
    model = load_model("cnn", device="cpu")
    X, y = eval_subset(1000)
    tiny = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 10)).eval()
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}")
    for name, attack in versions.items():
        fixed = fastest(lambda: attack(model, X, y, 0.1, 0.01, 0), 30)
        step = fastest(lambda: attack(tiny, X[:1], y[:1], 0.1, 0.01, 200), 10) / 200
        print(f"{name}: fixed cost per call {1e3 * fixed:.2f} ms (num_iter=0, 1000 CNN images); "
              f"per step beyond the gradient {1e6 * step:.1f} us (784-10 net, 1 image)")
    one = fastest(lambda: pgd_linf(model, X, y, 0.1, 0.01, 1), 3)
    print(f"for scale: one CNN step on 1000 images {1e3 * one:.0f} ms")


if __name__ == "__main__":
    main()
