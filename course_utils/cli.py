"""The course's command line: ``python -m course_utils COMMAND ...``.

::

    python -m course_utils data                      # make sure MNIST is there (download if needed)
    python -m course_utils train [NAME ...]          # retrain weights, record their clean errors
    python -m course_utils evaluate [--models ...]   # full-test-set error rates under attack
    python -m course_utils evaluate --markdown       # print that record as a table
    python -m course_utils certified --model small --eps 0.05 --n 1000 [--out NAME]

``train``, ``evaluate`` and ``certified`` write the user's own run, never a file shipped
with the course: into the per-user data folder (``config.user_dir()``: weights in
``models/``, records in ``results/``, :mod:`course_utils.records`) or to ``--out``. Every
output is checked before any computing; an existing one is replaced only with ``--force``
(``--resume`` continues an interrupted ``certified`` run, or adds the missing entries of
``evaluate``). ``certified`` saves its record as images are settled, so that an interrupt
or a crash leaves a partial record. A maintainer re-records the shipped files from a
checkout with ``--shipped --force``; each record keeps the command that made it.
"""

from __future__ import annotations

import argparse
import math
import shlex
import signal
import sys
import threading
import time
from contextlib import contextmanager
from itertools import product
from pathlib import Path
from typing import Callable, Iterator, List, Optional, Sequence, Tuple

import torch

from . import config, records

PROG = "python -m course_utils"
WRITE_SHARE = 0.05
"""``certified`` spends at most about this share of its time writing its record."""


class UsageError(ValueError):
    """A command line that cannot run (found before any computing): printed as argparse
    prints its errors, exit status 2."""


def _command(name: str, argv: Sequence[str]) -> str:
    """The command line a record stores, e.g. ``python -m course_utils evaluate --models cnn``
    (without ``--force`` and ``--resume``, which say how it was written, not what)."""
    kept = [a for a in argv if a not in ("--force", "--resume")]
    return " ".join([PROG, name, *(shlex.quote(a) for a in kept)])


def run_data(args: argparse.Namespace) -> int:
    """Find (or download) MNIST and read both splits once, checking every file."""
    from .data import FILES, find_mnist, load_mnist

    folder = find_mnist()
    for split in FILES:
        load_mnist(split)
    print(f"MNIST ready in {folder} (train and test files checked)")
    return 0


# --- where a command writes, checked before it computes ---------------------------------------


def _shipped_allowed() -> None:
    if not config.in_checkout():
        raise UsageError(f"--shipped re-records the files shipped with the course and works only in a checkout "
                         f"of its repository; this course_utils is installed at {config.ROOT / 'course_utils'}, "
                         f"which is never written into. Leave --shipped out: your run goes to "
                         f"{config.user_dir()}, or to --out")


def _user_folder(folder: Path) -> Path:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot create the user folder {folder} ({exc}); set COURSE_USER_DIR to a writable "
                         f"folder, or use --out") from None
    return folder


def _record_target(args: argparse.Namespace, default: str, example: str) -> Path:
    """The file of the record that ``--out`` (a record name or a path ending in .json;
    default ``default``) and ``--shipped`` name, checked: writable, not a folder."""
    out = default if args.out is None else args.out
    name = records.RECORD_NAME.fullmatch(out) is not None
    if args.shipped:
        _shipped_allowed()
        if not name:
            raise UsageError(f"--out must be a record name made of letters, digits and _ (such as {example}) "
                             f"with --shipped, got {out!r}")
        path = records.record_path(out, shipped=True)
    elif name:
        path = _user_folder(records.user_results_dir()) / f"{out}.json"
    elif out.endswith(".json"):
        path = Path(out)
    else:
        raise UsageError(f"--out must be a record name made of letters, digits and _ (such as {example}) "
                         f"or a path ending in .json, got {out!r}")
    try:
        return records.check_output(path, "--out")
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _existing(path: Path) -> dict:
    """The record at ``path`` (``{}``: none); one that cannot be read is replaced only with --force."""
    try:
        return records.read_file(path)
    except ValueError as exc:
        raise UsageError(f"{exc}. --force replaces it, or choose another --out") from None


# --- train -----------------------------------------------------------------------------------


def _train_targets(args: argparse.Namespace, names: Sequence[str]) -> Tuple[Path, Path]:
    """``(weights folder, clean_errors record)`` for ``train``, checked before training."""
    if args.shipped and args.out is not None:
        raise UsageError("--out and --shipped exclude each other: --shipped writes the course's own files")
    if args.shipped:
        _shipped_allowed()
        folder, record = config.writable_asset("models"), records.record_path("clean_errors", shipped=True)
    elif args.out is not None:
        folder = Path(args.out).expanduser()
        if not folder.is_dir():
            raise UsageError(f"--out must be an existing folder for the weights and clean_errors.json, "
                             f"got {args.out!r} ({'not a folder' if folder.exists() else 'no such folder'})")
        record = folder / "clean_errors.json"
    else:
        folder = _user_folder(config.user_dir() / "models")
        record = _user_folder(records.user_results_dir()) / "clean_errors.json"
    try:
        for path in [record, *(folder / f"{n}.pt" for n in names)]:
            records.check_output(path, "--out" if args.out else "the output")
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    taken = [str(folder / f"{n}.pt") for n in names if (folder / f"{n}.pt").exists()]
    if taken and not args.force:
        raise UsageError(f"weights exist already: {', '.join(taken)}; --force replaces them, "
                         f"or --out FOLDER writes elsewhere")
    _existing(record)
    return folder, record


def run_train(args: argparse.Namespace) -> int:
    """Retrain the named models by the chapter's recipes (into the user folder, ``--out`` or
    with ``--shipped`` the course's own files); record their clean test errors."""
    from .models import MNIST_MODELS
    from .train import save_weights, train_mnist, train_regression

    names = args.names or ["regression", *MNIST_MODELS]
    folder, record = _train_targets(args, names)
    for name in names:
        start = time.perf_counter()
        if name == "regression":
            path = save_weights(train_regression(), name, folder, force=True)
            print(f"regression: trained in {time.perf_counter() - start:.1f} s, weights in {path}")
            continue
        model, test_err = train_mnist(name, log=print)
        path = save_weights(model, name, folder, force=True)
        seconds = time.perf_counter() - start
        published = records.PUBLISHED_CLEAN_ERRORS[name]
        errors = records.read_file(record)  # re-read: another run may have written meanwhile
        errors[name] = {"test_error": round(test_err, 4), "published": published,
                        "train_seconds": round(seconds, 1), "torch": torch.__version__,
                        "threads": torch.get_num_threads()}
        records.write_file(record, errors)
        print(f"{name}: clean test error {test_err:.4f} (chapter {published:.4f}), {seconds:.0f} s; "
              f"weights in {path}")
    if not args.shipped:
        print(f"load them with load_model(NAME, models_dir={str(folder)!r}); clean errors in {record}")
    return 0


# --- evaluate --------------------------------------------------------------------------------


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


def _evaluate_jobs(args: argparse.Namespace, path: Path) -> List[Tuple[str, str, str]]:
    """The (model, attack, clamp) entries to compute into the record at ``path``; one
    it holds already is an error without --force (--resume: skipped if of the same n)."""
    if args.resume and args.force:
        raise UsageError("--resume and --force exclude each other: --resume keeps the entries recorded, "
                         "--force replaces them")
    jobs = list(product(args.models, args.attacks, args.clamp))
    held = _existing(path)
    keys = {job: records.attack_key(job[1], job[0], job[2] == "on") for job in jobs}
    taken = [job for job in jobs if keys[job] in held]
    other_n = [keys[j] for j in taken if not isinstance(held[keys[j]], dict) or held[keys[j]].get("n") != args.n]
    if args.resume and other_n:
        raise UsageError(f"--resume: {path} holds {', '.join(other_n)} for another number of images than "
                         f"--n {args.n}; --force replaces them")
    if taken and not (args.force or args.resume):
        raise UsageError(f"{path} holds {', '.join(keys[j] for j in taken)} already; --resume computes only the "
                         f"missing entries, --force replaces them (or --out another record)")
    return [job for job in jobs if not (args.resume and job in taken)]


def run_evaluate(args: argparse.Namespace) -> int:
    """Error rates of the chapter's attacks on the first ``--n`` test images, merged into
    an ``attack_errors`` record (one entry per model, attack and clamp setting): the
    user's own (default), ``--out``'s, or with ``--shipped`` the course's."""
    if args.markdown:
        print(records.attack_errors_markdown())
        return 0
    from .data import eval_subset
    from .evaluate import tensor_loader
    from .models import load_model

    path = _record_target(args, "attack_errors", "attack_errors")
    jobs = _evaluate_jobs(args, path)
    X, y = eval_subset(args.n)
    loader = tensor_loader(X, y, args.batch_size)
    for name in dict.fromkeys(model for model, _, _ in jobs):
        model = load_model(name)
        for _, attack_name, clamp_word in (job for job in jobs if job[0] == name):
            entry = _attack_entry(args, name, model, loader, attack_name, clamp_word == "on")
            record = records.read_file(path)  # re-read: another run may have written meanwhile
            record[records.attack_key(attack_name, name, entry["clamp"])] = entry
            records.write_file(path, record)
            print(f"{attack_name:14s} {name:5s} clamp {clamp_word:3s} n={args.n}: error {entry['error']:.4f} "
                  f"(chapter {entry['published']}), {entry['seconds']:.0f} s", flush=True)
    print(f"recorded in {path}" if jobs else f"nothing to compute: {path} holds every entry asked for")
    return 0


# --- certified -------------------------------------------------------------------------------


def _run_arguments(args: argparse.Namespace) -> dict:
    """What a certified run's verdicts depend on (``--resume`` needs the same)."""
    return {"model": args.model, "n": args.n, "eps": list(args.eps), "methods": sorted(args.methods),
            "time_limit": args.time_limit, "pgd_steps": 40}


def _certified_start(args: argparse.Namespace, path: Path) -> Optional[dict]:
    """The record that ``--resume`` continues (``None``: start afresh), checked before
    computing: an existing record needs --resume or --force."""
    held = _existing(path) if path.exists() else {}
    if args.resume and args.force:
        raise UsageError("--resume and --force exclude each other: --resume continues the run in the "
                         "record, --force replaces it")
    if path.exists() and not (args.resume or args.force):
        what = f"a {held.get('status', 'complete')} run ({held.get('command', 'no command recorded')})" if held \
            else "a file"
        raise UsageError(f"{path} holds {what}; --resume continues it, --force replaces it "
                         f"(or choose another --out)")
    if not args.resume:
        return None
    if not held:
        raise UsageError(f"--resume: {path} holds no run to continue; leave --resume out to start one")
    if held.get("status") != "partial":
        raise UsageError(f"--resume: {path} holds a complete run, nothing to continue; --force replaces it")
    stored, wanted = held.get("arguments", {}), _run_arguments(args)
    differ = [f"{k} {wanted[k]} (the record's: {stored.get(k)})" for k in wanted if stored.get(k) != wanted[k]]
    if differ:
        raise UsageError(f"--resume continues the run in {path} only with its arguments "
                         f"({held.get('command')}); these differ: {'; '.join(differ)}")
    return held


class _Saver:
    """``certified``'s ``on_progress``: the record of the run so far, written atomically
    to ``path``; a write waits while less than 1 / ``WRITE_SHARE`` times the last write's
    duration has passed since it (so writing takes at most about ``WRITE_SHARE`` of the
    run, and every settled image is written at once while the record is small).
    ``flush()`` writes the latest now (an interrupt, an error, the end)."""

    def __init__(self, path: Path, meta: dict, radii: int, seconds_before: float):
        self.path, self.meta, self.radii, self.before = path, meta, radii, seconds_before
        self.started, self.latest, self.written, self.next_at, self.writes = time.perf_counter(), None, True, 0.0, 0

    def __call__(self, progress) -> None:
        self.latest, self.written = progress, False
        if time.perf_counter() >= self.next_at or progress.current is None:
            self.flush()

    def flush(self) -> None:
        if self.written or self.latest is None:
            return
        t0 = time.perf_counter()
        meta = {**self.meta, "seconds": round(self.before + t0 - self.started, 1)}
        records.write_file(self.path, records.certified_record(meta, self.latest, self.radii))
        spent, self.written, self.writes = time.perf_counter() - t0, True, self.writes + 1
        self.next_at = time.perf_counter() + spent / WRITE_SHARE


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM (``timeout``, a CI runner, ``kill``) stops the run like Ctrl-C, so that what
    it settled is saved; the previous handler is back afterwards."""
    def stop(signum, frame):
        raise KeyboardInterrupt("terminated (SIGTERM)")
    if threading.current_thread() is not threading.main_thread():
        yield                    # only the main thread may set a handler
        return
    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_certified(args: argparse.Namespace) -> int:
    """Certified accuracy of ``--model`` over the first ``--n`` test images at each ``--eps``,
    saved as images are settled into a record: the user's ``certified_MODEL`` (default),
    ``--out``'s, or with ``--shipped`` the course's. ``--resume`` continues an interrupted run."""
    from .certified import Progress, certified_accuracy
    from .data import eval_subset
    from .models import load_model
    from .widget_tables import fingerprint, model_fingerprint

    path = _record_target(args, f"certified_{args.model}", "certified_small")
    held = _certified_start(args, path)
    X, y = eval_subset(args.n)
    model = load_model(args.model, device="cpu")
    prints = {"model": model_fingerprint(model), "images": fingerprint(X, y.float())}
    if held is not None and held.get("fingerprints") != prints:
        raise UsageError(f"--resume: the weights of {args.model} or the first {args.n} test images are not those "
                         f"of the run in {path}; --force starts it over")
    start = None if held is None else records.certified_progress(held)
    meta = {"model": args.model, "n": args.n, "command": args.command if held is None else held["command"],
            "arguments": _run_arguments(args), "fingerprints": prints}
    saver = _Saver(path, meta, len(args.eps), 0.0 if held is None else held.get("seconds", 0.0))
    try:
        with _sigterm_as_interrupt():
            results = certified_accuracy(model, (X, y), args.eps, args.methods, time_limit=args.time_limit,
                                         workers=args.workers, start=start, on_progress=saver)
    except KeyboardInterrupt:
        saver.flush()
        print(f"\ninterrupted; {path} holds what was settled"
              f"{' (' + saver.latest.describe(len(args.eps)) + ')' if saver.latest else ' (nothing yet)'}; "
              f"continue with:\n  {meta['command']} --resume", file=sys.stderr)
        return 130
    except BaseException:
        saver.flush()
        raise
    saver(Progress(tuple(results)))      # complete, with the run's whole time
    for r in results:
        print(r.summary())
        print("seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in r.seconds.items()))
    print(f"total {saver.before + time.perf_counter() - saver.started:.1f} s")
    print(f"wrote {path}")
    return 0


def _add_train(sub) -> None:
    from .models import MNIST_MODELS

    p = sub.add_parser("train", help="retrain the weights by the chapter's recipes",
                       description=run_train.__doc__)
    allowed = ("regression", *MNIST_MODELS)

    def model_name(value: str) -> str:
        if value not in allowed:
            raise argparse.ArgumentTypeError(f"unknown model name {value!r}; allowed: {', '.join(allowed)}")
        return value

    p.add_argument("names", nargs="*", metavar="NAME", type=model_name,
                   help=f"among {', '.join(allowed)}; default: all")
    p.add_argument("--out", default=None, metavar="FOLDER",
                   help="an existing folder for the weights (NAME.pt) and clean_errors.json; default: the "
                        "user folder (models/, results/)")
    _add_writing(p, resume=None)
    p.set_defaults(run=run_train, usage=p)


def _add_writing(p: argparse.ArgumentParser, resume: Optional[str]) -> None:
    """The options that say how a command may write: --shipped, --force (and --resume)."""
    p.add_argument("--shipped", action="store_true",
                   help="re-record the files shipped with the course (a maintainer, in a checkout only; "
                        "with --force where they exist)")
    p.add_argument("--force", action="store_true", help="replace what the output holds already")
    if resume:
        p.add_argument("--resume", action="store_true", help=resume)


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
    p.add_argument("--out", default=None,
                   help="record to write: a name such as attack_errors (in the user folder) or a path ending "
                        "in .json; default: attack_errors")
    _add_writing(p, resume="compute only the entries that the record lacks")
    p.set_defaults(run=run_evaluate, usage=p)


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
                   help="seconds per solver call")
    p.add_argument("--workers", type=_whole(), default=1)
    p.add_argument("--out", default=None,
                   help="record to write as images are settled: a name such as certified_small (in the user "
                        "folder) or a path ending in .json; default: certified_MODEL")
    _add_writing(p, resume="continue the interrupted run in the record (same arguments)")
    p.set_defaults(run=run_certified, usage=p)


def parser() -> argparse.ArgumentParser:
    """The ``python -m course_utils`` parser with its four commands."""
    top = argparse.ArgumentParser(prog=PROG, description=__doc__,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = top.add_subparsers(dest="name", required=True, metavar="COMMAND")
    data = sub.add_parser("data", help="make sure MNIST is there (download it if needed)",
                          description=run_data.__doc__)
    data.set_defaults(run=run_data, usage=data)
    _add_train(sub)
    _add_evaluate(sub)
    _add_certified(sub)
    return top


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run one command; ``argv`` defaults to ``sys.argv[1:]``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser().parse_args(argv)
    args.command = _command(args.name, argv[1:])
    try:
        return args.run(args)
    except UsageError as exc:
        args.usage.error(str(exc))  # exits with status 2, as argparse does
