"""Error rates under attack (chapter 3, "FGSM": ``epoch_adversarial``), and the
notebooks' table of the chapter's figures beside the recorded and live ones.

The full-test-set figures are recorded by ``python -m course_utils evaluate`` (see
:mod:`course_utils.cli`) and read through :mod:`course_utils.records`.
"""

from __future__ import annotations

from typing import Callable, Dict, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset
from tqdm.auto import tqdm

from . import attacks, records
from .checks import approx

CHAPTER_SETTINGS: Dict[str, Tuple[Callable, tuple]] = {
    "fgsm": (attacks.fgsm, (0.1,)),
    "pgd_linf": (attacks.pgd_linf, (0.1, 1e-2, 40)),
    "pgd_linf_rand": (attacks.pgd_linf_rand, (0.1, 1e-2, 40, 10)),
    "pgd_l2": (attacks.pgd_l2, (2.0, 0.1, 40)),
}
"""The chapter's set-wide experiments: attack and its positional arguments after ``y``."""


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
        rec = {c: records.attack_error(attack, model, c) for c in (False, True)}
        ns = {e["n"] for e in rec.values() if e}
        n_rec = "/".join(str(n) for n in sorted(ns)) if ns else "—"
        lines.append(
            f"{model:6s} {_fmt(records.PUBLISHED_ATTACK_ERRORS.get(attack, {}).get(model)):>8s} | "
            f"{_fmt(rec[False] and rec[False]['error']):>13s} {_fmt(rec[True] and rec[True]['error']):>7s} "
            f"{n_rec:>7s} | {_live(errs.get(False)):>13s} {_live(errs.get(True)):>7s} {n_live[model]:>6d}")
    return "\n".join(lines)
