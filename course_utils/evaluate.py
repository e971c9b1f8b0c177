"""Error rates under attack (chapter 3, "FGSM": ``epoch_adversarial``), and the record of
full-test-set figures.

Reproduce ``data/results/attack_errors.json`` (one entry per model, attack and clamp
setting; the file is merged into, so runs can be split)::

    python -m course_utils.evaluate                              # everything, full test set
    python -m course_utils.evaluate --models dnn2 dnn4 --attacks fgsm pgd_linf
    python -m course_utils.evaluate --models cnn --attacks pgd_linf_rand --n 1000
    python -m course_utils.evaluate --markdown                   # print the record as a table

Each entry records the error, the loss, the number of test images, the clamp setting,
the seconds it took and the command that produced it.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from typing import Callable, Dict, Iterable, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset
from tqdm.auto import tqdm

from . import attacks, config
from .checks import approx

RESULTS_FILE = config.DATA_DIR / "results" / "attack_errors.json"

CHAPTER_SETTINGS: Dict[str, Tuple[Callable, tuple]] = {
    "fgsm": (attacks.fgsm, (0.1,)),
    "pgd_linf": (attacks.pgd_linf, (0.1, 1e-2, 40)),
    "pgd_linf_rand": (attacks.pgd_linf_rand, (0.1, 1e-2, 40, 10)),
    "pgd_l2": (attacks.pgd_l2, (2.0, 0.1, 40)),
}
"""The chapter's set-wide experiments: attack and its positional arguments after ``y``."""

PUBLISHED = {
    "fgsm": {"dnn2": 0.9259, "dnn4": 0.8827, "cnn": 0.4173},
    "pgd_linf": {"dnn2": 0.9637, "dnn4": 0.9838, "cnn": 0.7432},
    "pgd_linf_rand": {"cnn": 0.7648},
    "pgd_l2": {"dnn2": 0.9232, "dnn4": 0.9435, "cnn": 0.7854},
}
"""Test errors the chapter reports (full MNIST test set; l∞ without clamp, l2 with)."""


def tensor_loader(X: torch.Tensor, y: torch.Tensor, batch_size: int = 100) -> DataLoader:
    """A non-shuffled loader over given images ``(n, 1, 28, 28)`` and labels ``(n,)``."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size}")
    return DataLoader(TensorDataset(X, y), batch_size=batch_size, shuffle=False)


def epoch_adversarial(model: nn.Module, loader: DataLoader, attack: Callable, *args,
                      limit: Optional[int] = None, progress: bool = True,
                      **attack_kwargs) -> Tuple[float, float]:
    """Error and mean cross-entropy of ``model`` on ``X + attack(model, X, y, *args)``.

    Chapter 3, "FGSM" (``epoch_adversarial``). Extra keywords (e.g. ``clamp=False``) go
    to the attack.

    Args:
        model: classifier; batches are moved to the device of its parameters.
        loader: yields ``(X, y)`` batches.
        attack: e.g. :func:`course_utils.attacks.fgsm`; ``*args`` follow ``y`` in its call.
        limit: stop after this many examples (the last batch is cut); default all.
        progress: show a tqdm bar (stderr).

    Returns:
        ``(error, loss)``: fraction misclassified and mean loss over the examples seen.
    """
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise ValueError(f"limit must be a positive integer or None, got {limit!r}")
    param = next(model.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    total = len(loader.dataset) if limit is None else min(limit, len(loader.dataset))
    seen, total_err, total_loss = 0, 0, 0.0
    with tqdm(total=total, disable=not progress, leave=False, unit="img") as bar:
        for X, y in loader:
            if seen >= total:
                break
            X, y = X[: total - seen].to(device), y[: total - seen].to(device)
            delta = attack(model, X, y, *args, **attack_kwargs)
            with torch.no_grad():
                yp = model(X + delta)
                total_loss += F.cross_entropy(yp, y, reduction="sum").item()
                total_err += (yp.argmax(dim=1) != y).sum().item()
            seen += X.shape[0]
            bar.update(X.shape[0])
    if seen == 0:
        raise ValueError("loader yielded no examples")
    return total_err / seen, total_loss / seen


def zero_attack(model: nn.Module, X: torch.Tensor, y: torch.Tensor, *args, **kwargs) -> torch.Tensor:
    """No perturbation (``delta = 0``): ``epoch_adversarial`` with it gives the clean error."""
    return torch.zeros_like(X)


# --- the recorded full-test-set figures ----------------------------------------------


def load_results() -> dict:
    """The recorded figures (``{}`` when none were recorded yet)."""
    return json.loads(RESULTS_FILE.read_text()) if RESULTS_FILE.is_file() else {}


def result_key(attack: str, model: str, clamp: bool) -> str:
    """Key of one figure in the results file, e.g. ``"pgd_linf/cnn/clamp_off"``."""
    return f"{attack}/{model}/clamp_{'on' if clamp else 'off'}"


def recorded(attack: str, model: str, clamp: bool) -> Optional[dict]:
    """One recorded entry, or ``None``."""
    return load_results().get(result_key(attack, model, clamp))


def _fmt(value: Optional[float]) -> str:
    return "—" if value is None else f"{value:.4f}"


def _live(value: Optional[float]) -> str:
    """A live error rate: its last digit may differ on another CPU (``checks.approx``)."""
    return "—" if value is None else approx(value, 3)


def comparison_table(attack: str, live: Dict[str, Dict[bool, float]], n_live: Dict[str, int]) -> str:
    """The notebooks' "chapter vs ours" table for one attack, as text.

    Columns: the chapter's figure; the recorded full-test-set error (clamp off, clamp
    on; with its number of images when it is not the full set); this run's error on
    the first ``n_live[model]`` images, marked ``≈`` (its last digit may differ on another
    CPU; the notebook checks it with ``checks.check_close``). ``live``: ``{model: {clamp: error}}``.
    """
    head = (f"{'model':6s} {'chapter':>8s} | {'recorded: off':>13s} {'on':>7s} {'(n)':>7s} | "
            f"{'this run: off':>13s} {'on':>7s} {'(n)':>6s}")
    lines = [f"{attack} — error rates; off/on = x+δ clamped to [0, 1] or not", head, "-" * len(head)]
    for model, errs in live.items():
        rec = {c: recorded(attack, model, c) for c in (False, True)}
        ns = {e["n"] for e in rec.values() if e}
        n_rec = "/".join(str(n) for n in sorted(ns)) if ns else "—"
        lines.append(
            f"{model:6s} {_fmt(PUBLISHED.get(attack, {}).get(model)):>8s} | "
            f"{_fmt(rec[False] and rec[False]['error']):>13s} {_fmt(rec[True] and rec[True]['error']):>7s} "
            f"{n_rec:>7s} | {_live(errs.get(False)):>13s} {_live(errs.get(True)):>7s} {n_live[model]:>6d}")
    return "\n".join(lines)


def results_markdown() -> str:
    """The recorded figures as a markdown table (``python -m course_utils.evaluate --markdown``)."""
    rows = ["| attack | model | clamp | n | error | chapter | seconds | command |",
            "| --- | --- | --- | ---: | ---: | ---: | ---: | --- |"]
    for key, e in sorted(load_results().items()):
        chapter_setting = e["clamp"] == (e["attack"] == "pgd_l2")
        published = e.get("published") if chapter_setting else None
        rows.append(f"| {e['attack']} | {e['model']} | {'on' if e['clamp'] else 'off'} | {e['n']} | "
                    f"{e['error']:.4f} | {_fmt(published)} | {e['seconds']:.0f} | `{e['command']}` |")
    return "\n".join(rows)


def main(argv: Optional[Iterable[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_utils.evaluate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["dnn2", "dnn4", "cnn"])
    parser.add_argument("--attacks", nargs="+", default=list(CHAPTER_SETTINGS),
                        choices=list(CHAPTER_SETTINGS))
    parser.add_argument("--clamp", nargs="+", default=["off", "on"], choices=["off", "on"])
    parser.add_argument("--n", type=int, default=config.FULL_TEST_SET, help="first N test images")
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0, help="seed of the random restarts")
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument("--markdown", action="store_true",
                        help="only print the recorded figures as a markdown table")
    args = parser.parse_args(list(argv) if argv is not None else None)
    if args.markdown:
        print(results_markdown())
        return 0

    from .data import eval_subset
    from .models import load_model

    command = "python -m course_utils.evaluate " + " ".join(
        shlex.quote(a) for a in (list(argv) if argv is not None else sys.argv[1:]))
    X, y = eval_subset(args.n)
    loader = tensor_loader(X, y, args.batch_size)
    for name in args.models:
        model = load_model(name)
        for attack_name in args.attacks:
            attack, attack_args = CHAPTER_SETTINGS[attack_name]
            for clamp_word in args.clamp:
                clamp = clamp_word == "on"
                kwargs = {"clamp": clamp}
                if attack_name == "pgd_linf_rand":
                    kwargs["generator"] = torch.Generator().manual_seed(args.seed)
                start = time.perf_counter()
                err, loss = epoch_adversarial(model, loader, attack, *attack_args,
                                              progress=not args.no_progress, **kwargs)
                seconds = time.perf_counter() - start
                entry = {"attack": attack_name, "model": name, "args": list(attack_args),
                         "clamp": clamp, "n": args.n, "error": round(err, 4), "loss": round(loss, 4),
                         "published": PUBLISHED.get(attack_name, {}).get(name),
                         "seconds": round(seconds, 1), "command": command,
                         "torch": torch.__version__, "threads": torch.get_num_threads()}
                results = load_results()  # re-read: another run may have written meanwhile
                results[result_key(attack_name, name, clamp)] = entry
                RESULTS_FILE.parent.mkdir(parents=True, exist_ok=True)
                RESULTS_FILE.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
                print(f"{attack_name:14s} {name:5s} clamp {clamp_word:3s} n={args.n}: "
                      f"error {err:.4f} (chapter {entry['published']}), {seconds:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
