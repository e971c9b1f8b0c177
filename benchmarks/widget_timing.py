"""How fast every widget of the course answers a slider move (benchmarks/widgets.md).

    flock -x /work/.cpu.lock .venv/bin/python benchmarks/widget_timing.py
    flock -x /work/.cpu.lock .venv/bin/python benchmarks/widget_timing.py --package-root /tmp/old --budget 60

Method. Each case builds one widget as its notebook does, inside a real Jupyter kernel
(nbclient, the kernel the notebooks run in, 2 torch threads), sets the menus it needs
(not timed), then moves one control to 5 new values, one after the other. A move is timed
from setting the control's ``value`` in the kernel — which is what the kernel does when
the browser reports a slider move — until that assignment returns: the widget's callback
runs synchronously, so by then the new figure has been computed, rendered to PNG and
handed to the output. The browser's own drawing (tens of milliseconds) is not included.
Every move must produce a new output; the case reports median and worst of the 5.

``--package-root`` runs the same cases against another copy of ``course_utils`` (e.g. the
version before the widgets were reworked, extracted with ``git archive``) to measure the
previous figures beside the new ones; ``--budget`` stops a case's moves once they have
taken that many seconds in all (the old MILP widget can take minutes per move).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent

SETUP = """
import json, sys, time
sys.path.insert(0, {root!r})
import numpy as np, torch
import matplotlib
matplotlib.use("module://matplotlib_inline.backend_inline")
from course_utils.data import eval_subset
from course_utils.models import load_model
from course_utils import widgets as W
X, y = eval_subset(100)
zoo = {{name: load_model(name) for name in ("dnn2", "dnn4", "cnn", "small")}}
net = load_model("regression", device="cpu")
def pick(*names):
    return {{n: zoo[n] for n in names}}
def f(Z):
    return Z[..., 0] + 0.3 * Z[..., 1] - 0.25 * (Z[..., 0] - Z[..., 1]) ** 2
def grad_f(z):
    d = z[0] - z[1]
    return np.array([1 - 0.5 * d, 0.3 + 0.5 * d])
def controls(w):
    if hasattr(w, "controls"):
        return w.controls
    return {{c._kwarg: c for c in w.kwargs_widgets}}
def output_of(w):
    out = getattr(w, "out", None)
    return repr(out.outputs) if out is not None else ""
def run_case(build, pre, name, values, budget):
    t0 = time.perf_counter()
    w = build()
    built = time.perf_counter() - t0
    c = controls(w)
    for k, v in pre:
        c[k].value = v
    seconds, changed = [], []
    for v in values:
        before = output_of(w)
        t = time.perf_counter()
        c[name].value = v
        seconds.append(time.perf_counter() - t)
        changed.append(output_of(w) != before)
        if sum(seconds) > budget:
            break
    print(json.dumps({{"built": built, "seconds": seconds, "changed": changed}}))
"""

EPS = [0.02, 0.05, 0.08, 0.12, 0.15]
VERIFY_EPS = [0.01, 0.03, 0.05, 0.07, 0.1]
ATTACKS = 'pick("dnn2", "dnn4", "cnn"), X, y'

# (case, notebook, build expression, menus set first, control moved, 5 values)
CASES = [
    ("inner_max_1d_widget", "01", "W.inner_max_1d_widget(net, x0=0.75, epsilon=0.3)", [], "epsilon",
     [0.35, 0.45, 0.55, 0.65, 0.75]),
    ("attack_widget: FGSM, dnn2", "02", f'W.attack_widget({ATTACKS}, attack="fgsm", epsilon=0.1)', [], "epsilon", EPS),
    ("attack_widget: FGSM, cnn", "02", f'W.attack_widget({ATTACKS}, attack="fgsm", epsilon=0.1)',
     [("model_name", "cnn")], "epsilon", EPS),
    ("attack_widget: PGD 40 steps, dnn2", "03",
     f'W.attack_widget({ATTACKS}, attack=["pgd_linf", "pgd", "pgd_linf_rand"], epsilon=0.1, alpha=0.01, '
     'num_iter=40, alpha_range=(1e-3, 1e5))', [], "epsilon", EPS),
    ("attack_widget: PGD + restart, cnn", "03",
     f'W.attack_widget({ATTACKS}, attack=["pgd_linf", "pgd", "pgd_linf_rand"], epsilon=0.1, alpha=0.01, '
     'num_iter=40, alpha_range=(1e-3, 1e5))', [("model_name", "cnn"), ("attack_name", "pgd_linf_rand")],
     "epsilon", EPS),
    ("attack_widget: PGD 30-60 steps, cnn", "03",
     f'W.attack_widget({ATTACKS}, attack=["pgd_linf", "pgd", "pgd_linf_rand"], epsilon=0.1, alpha=0.01, '
     'num_iter=40, alpha_range=(1e-3, 1e5))', [("model_name", "cnn")], "num_iter", [30, 45, 50, 55, 60]),
    ("steepest_ascent_widget", "04", "W.steepest_ascent_widget(f, grad_f, epsilon=1.0, alpha=0.2, num_iter=10)", [],
     "epsilon", [0.5, 0.7, 0.9, 1.2, 1.4]),
    ("attack_widget: ℓ2 PGD, cnn", "04",
     f'W.attack_widget({ATTACKS}, attack=["pgd_linf", "pgd_l2"], epsilon=0.1, alpha=0.01, num_iter=40{{l2}})',
     [("model_name", "cnn"), ("attack_name", "pgd_l2")], "epsilon", [0.5, 1.0, 1.5, 2.0, 2.5]),
    ("attack_widget: targeted PGD, cnn", "05",
     f'W.attack_widget({ATTACKS}, attack=["pgd_linf_targ", "pgd_linf_targ2", "pgd_l2"], epsilon=0.2, alpha=0.01, '
     'num_iter=40, y_targ=2{l2})', [("model_name", "cnn")], "epsilon", EPS),
    ("logit_bounds_widget, cnn", "06", 'W.logit_bounds_widget(pick("dnn2", "dnn4", "cnn", "small"), X, y, epsilon=0.1)',
     [("name", "cnn")], "epsilon", VERIFY_EPS),
    ("bound_comparison_widget (interval, LP), small", "07",
     'W.bound_comparison_widget(pick("small", "dnn2", "dnn4"), X, y, epsilon=0.02, model="small", '
     'methods=("interval", "lp"))', [], "epsilon", VERIFY_EPS),
    ("bound_comparison_widget (interval, LP), dnn4", "07",
     'W.bound_comparison_widget(pick("small", "dnn2", "dnn4"), X, y, epsilon=0.02, model="small", '
     'methods=("interval", "lp"))', [("name", "dnn4")], "epsilon", VERIFY_EPS),
    ("bound_comparison_widget (+ MILP), small: ε", "08",
     'W.bound_comparison_widget(pick("small", "dnn2", "dnn4"), X, y, epsilon=0.02, model="small", '
     'methods=("interval", "lp", "exact milp"))', [], "epsilon", VERIFY_EPS),
    ("bound_comparison_widget (+ MILP), small: image", "08",
     'W.bound_comparison_widget(pick("small", "dnn2", "dnn4"), X, y, epsilon=0.02, model="small", '
     'methods=("interval", "lp", "exact milp"))', [], "index", [1, 2, 3, 4, 5]),
    ("certified_widget: CROWN cascade, small", "09",
     'W.certified_widget(pick("small", "dnn2"), X, y, epsilon=0.02, method="crown", model="small")', [],
     "epsilon", VERIFY_EPS),
    ("certified_widget: CROWN cascade, dnn2", "09",
     'W.certified_widget(pick("small", "dnn2"), X, y, epsilon=0.02, method="crown", model="small")',
     [("name", "dnn2")], "epsilon", VERIFY_EPS),
    ("certified_widget: MILP cascade, small", "09",
     'W.certified_widget(pick("small", "dnn2"), X, y, epsilon=0.02, method="crown", model="small")',
     [("method", "milp")], "epsilon", VERIFY_EPS),
]


def notebook(package_root: str, budget: float, old: bool) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell(SETUP.format(root=package_root)))
    for _, _, build, pre, name, values in CASES:
        # the previous attack_widget had one ε range for both norms
        build = build.replace("{l2}", ", epsilon_max=3.0" if old else "")
        nb.cells.append(nbformat.v4.new_code_cell(
            f"run_case(lambda: {build}, {pre!r}, {name!r}, {values!r}, {budget})"))
    return nb


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="Time 5 slider moves per widget in a Jupyter kernel.")
    parser.add_argument("--package-root", default=str(ROOT), help="folder holding the course_utils to time")
    parser.add_argument("--budget", type=float, default=1e9, help="stop a case's moves after this many seconds")
    parser.add_argument("--old", action="store_true", help="the previous widgets' arguments (one ε range)")
    parser.add_argument("--json", default=None, help="also write the results here")
    args = parser.parse_args(argv)
    nb = notebook(args.package_root, args.budget, args.old)
    start = time.perf_counter()
    NotebookClient(nb, timeout=3600, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}).execute()
    rows = []
    print("| notebook | widget, setting | control | build/s | median/s | worst/s | moves | redrawn |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for (case, number, *_rest), cell in zip(CASES, nb.cells[1:]):
        text = "".join(o.get("text", "") for o in cell.outputs if o.get("name") == "stdout")
        r = json.loads(text.strip().splitlines()[-1])
        s = r["seconds"]
        rows.append({"case": case, "notebook": number, **r})
        redrawn = "yes" if all(r["changed"]) else ("n/a" if args.old else f"{sum(r['changed'])}/{len(s)}")
        print(f"| {number} | {case} | {_rest[2]} | {r['built']:.2f} | {statistics.median(s):.2f} | {max(s):.2f} | "
              f"{len(s)} | {redrawn} |")
    print(f"\ntotal {time.perf_counter() - start:.0f} s", file=sys.stderr)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
