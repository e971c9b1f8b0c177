"""The course's command line: ``python -m course_utils COMMAND ...``.

::

    python -m course_utils data                      # make sure MNIST is there (download if needed)
    python -m course_utils train [NAME ...]          # retrain shipped weights, record clean errors
    python -m course_utils evaluate [--models ...]   # full-test-set error rates under attack
    python -m course_utils evaluate --markdown       # print that record as a table
    python -m course_utils certified --model small --eps 0.05 --n 1000 [--out NAME]

``train``, ``evaluate`` and ``certified --out NAME`` re-record figures that ship with the
package (:mod:`course_utils.records`); each record keeps the command that made it.
"""

from __future__ import annotations

import argparse
import json
import math
import shlex
import sys
import time
from pathlib import Path
from typing import Callable, Optional, Sequence

import torch

from . import config, records

PROG = "python -m course_utils"


def _command(name: str, argv: Sequence[str]) -> str:
    """The command line a record stores, e.g. ``python -m course_utils evaluate --models cnn``."""
    return " ".join([PROG, name, *(shlex.quote(a) for a in argv)])


def run_data(args: argparse.Namespace) -> int:
    """Find (or download) MNIST and read both splits once, checking every file."""
    from .data import FILES, find_mnist, load_mnist

    folder = find_mnist()
    for split in FILES:
        load_mnist(split)
    print(f"MNIST ready in {folder} (train and test files checked)")
    return 0


def run_train(args: argparse.Namespace) -> int:
    """Retrain the named models by the chapter's recipes; record their clean test errors."""
    from .models import MNIST_MODELS
    from .train import save_weights, train_mnist, train_regression

    names = args.names or ["regression", *MNIST_MODELS]
    errors = records.read("clean_errors")
    for name in names:
        start = time.perf_counter()
        if name == "regression":
            save_weights(train_regression(), name)
            print(f"regression: trained in {time.perf_counter() - start:.1f} s")
            continue
        model, test_err = train_mnist(name, log=print)
        save_weights(model, name)
        seconds = time.perf_counter() - start
        published = records.PUBLISHED_CLEAN_ERRORS[name]
        errors[name] = {"test_error": round(test_err, 4), "published": published,
                        "train_seconds": round(seconds, 1), "torch": torch.__version__,
                        "threads": torch.get_num_threads()}
        print(f"{name}: clean test error {test_err:.4f} (chapter {published:.4f}), {seconds:.0f} s")
        records.write("clean_errors", errors)
    return 0


def _attack_entry(args, name, model, loader, attack_name, clamp) -> dict:
    from .evaluate import CHAPTER_SETTINGS, epoch_adversarial

    attack, attack_args = CHAPTER_SETTINGS[attack_name]
    kwargs = {"clamp": clamp}
    if attack_name == "pgd_linf_rand":
        kwargs["generator"] = torch.Generator().manual_seed(args.seed)
    start = time.perf_counter()
    err, loss = epoch_adversarial(model, loader, attack, *attack_args, progress=not args.no_progress, **kwargs)
    return {"attack": attack_name, "model": name, "args": list(attack_args), "clamp": clamp, "n": args.n,
            "error": round(err, 4), "loss": round(loss, 4),
            "published": records.PUBLISHED_ATTACK_ERRORS.get(attack_name, {}).get(name),
            "seconds": round(time.perf_counter() - start, 1), "command": args.command,
            "torch": torch.__version__, "threads": torch.get_num_threads()}


def run_evaluate(args: argparse.Namespace) -> int:
    """Error rates of the chapter's attacks on the first ``--n`` test images, merged into
    the ``attack_errors`` record (one entry per model, attack and clamp setting)."""
    if args.markdown:
        print(records.attack_errors_markdown())
        return 0
    from .data import eval_subset
    from .evaluate import tensor_loader
    from .models import load_model

    X, y = eval_subset(args.n)
    loader = tensor_loader(X, y, args.batch_size)
    for name in args.models:
        model = load_model(name)
        for attack_name in args.attacks:
            for clamp_word in args.clamp:
                entry = _attack_entry(args, name, model, loader, attack_name, clamp_word == "on")
                record = records.read("attack_errors")  # re-read: another run may have written meanwhile
                record[records.attack_key(attack_name, name, entry["clamp"])] = entry
                records.write("attack_errors", record)
                print(f"{attack_name:14s} {name:5s} clamp {clamp_word:3s} n={args.n}: error {entry['error']:.4f} "
                      f"(chapter {entry['published']}), {entry['seconds']:.0f} s", flush=True)
    return 0


def run_certified(args: argparse.Namespace) -> int:
    """Certified accuracy of ``--model`` over the first ``--n`` test images at each ``--eps``."""
    from .certified import certified_accuracy
    from .data import eval_subset
    from .models import load_model

    X, y = eval_subset(args.n)
    model = load_model(args.model, device="cpu")
    start = time.perf_counter()
    results = certified_accuracy(model, (X, y), args.eps, args.methods, time_limit=args.time_limit,
                                 workers=args.workers)
    total = time.perf_counter() - start
    for r in results:
        print(r.summary())
        print("seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in r.seconds.items()))
    print(f"total {total:.1f} s")
    if args.out:
        record = {"model": args.model, "n": args.n, "seconds": round(total, 1), "command": args.command,
                  "results": [r.as_dict() for r in results]}
        if args.out.endswith(".json") or "/" in args.out:
            path = Path(args.out)
            path.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
        else:
            path = records.write(args.out, record)
        print(f"wrote {path}")
    return 0


def _add_train(sub) -> None:
    from .models import MNIST_MODELS

    p = sub.add_parser("train", help="retrain shipped weights by the chapter's recipes",
                       description="Retrain the named models (default: all) and record their clean test errors.")
    allowed = ("regression", *MNIST_MODELS)

    def model_name(value: str) -> str:
        if value not in allowed:
            raise argparse.ArgumentTypeError(f"unknown model name {value!r}; allowed: {', '.join(allowed)}")
        return value

    p.add_argument("names", nargs="*", metavar="NAME", type=model_name,
                   help=f"among {', '.join(allowed)}; default: all")
    p.set_defaults(run=run_train)


def _whole(high: Optional[int] = None) -> Callable[[str], int]:
    """An argparse type: a whole number >= 1 (and <= ``high``)."""
    allowed = "a whole number >= 1" if high is None else f"a whole number in 1..{high}"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = 0
        if value < 1 or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"must be {allowed}, got {text!r}")
        return value
    return parse


def _number(low: Optional[float], allowed: str) -> Callable[[str], float]:
    """An argparse type: a finite number >= ``low`` (``None``: > 0)."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or (value <= 0 if low is None else value < low):
            raise argparse.ArgumentTypeError(f"must be {allowed}, got {text!r}")
        return value
    return parse


def _add_evaluate(sub) -> None:
    from .evaluate import CHAPTER_SETTINGS
    from .models import MNIST_MODELS

    p = sub.add_parser("evaluate", help="full-test-set error rates under the chapter's attacks",
                       description=run_evaluate.__doc__)
    p.add_argument("--models", nargs="+", default=["dnn2", "dnn4", "cnn"], choices=MNIST_MODELS)
    p.add_argument("--attacks", nargs="+", default=list(CHAPTER_SETTINGS), choices=list(CHAPTER_SETTINGS))
    p.add_argument("--clamp", nargs="+", default=["off", "on"], choices=["off", "on"])
    p.add_argument("--n", type=_whole(config.FULL_TEST_SET), default=config.FULL_TEST_SET,
                   help="first N test images")
    p.add_argument("--batch-size", type=_whole(), default=500)
    p.add_argument("--seed", type=int, default=0, help="seed of the random restarts")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--markdown", action="store_true", help="only print the recorded figures as a markdown table")
    p.set_defaults(run=run_evaluate)


def _add_certified(sub) -> None:
    from .certified import METHODS
    from .models import MNIST_MODELS

    p = sub.add_parser("certified", help="certified accuracy over the first n test images",
                       description=run_certified.__doc__)
    p.add_argument("--model", default="small", choices=MNIST_MODELS)
    p.add_argument("--eps", type=_number(0.0, "a radius >= 0"), nargs="+", default=[0.05])
    p.add_argument("--n", type=_whole(config.FULL_TEST_SET), default=1000, help="first n test images")
    p.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    p.add_argument("--time-limit", type=_number(None, "a number of seconds > 0"), default=None,
                   help="seconds for each image's LP/MILP steps (bound tightening included)")
    p.add_argument("--workers", type=_whole(), default=1)
    p.add_argument("--out", default=None,
                   help="record to write: a name such as certified_small (stored with the package, "
                        "read by notebook 09) or a path ending in .json; default: print only")
    p.set_defaults(run=run_certified)


def parser() -> argparse.ArgumentParser:
    """The ``python -m course_utils`` parser with its four commands."""
    top = argparse.ArgumentParser(prog=PROG, description=__doc__,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = top.add_subparsers(dest="name", required=True, metavar="COMMAND")
    sub.add_parser("data", help="make sure MNIST is there (download it if needed)",
                   description=run_data.__doc__).set_defaults(run=run_data)
    _add_train(sub)
    _add_evaluate(sub)
    _add_certified(sub)
    return top


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run one command; ``argv`` defaults to ``sys.argv[1:]``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser().parse_args(argv)
    args.command = _command(args.name, argv[1:])
    return args.run(args)
