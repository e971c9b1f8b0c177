"""Error rates under attack (chapter 3, "FGSM": ``epoch_adversarial``), and the
notebooks' table of the chapter's figures beside the recorded and live ones.

The full-test-set figures are recorded by ``python -m course_utils evaluate`` (see
:mod:`course_utils.cli`) and read through :mod:`course_utils.records`.
"""

from __future__ import annotations

import numbers
from typing import Callable, Dict, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset
from tqdm.auto import tqdm

from . import attacks, records
from .checks import approx
from .models import evaluating, placement
from .threat import check_count, check_flag, check_images, check_labels, check_model

CHAPTER_SETTINGS: Dict[str, Tuple[Callable, tuple]] = {
    "fgsm": (attacks.fgsm, (0.1,)),
    "pgd_linf": (attacks.pgd_linf, (0.1, 1e-2, 40)),
    "pgd_linf_rand": (attacks.pgd_linf_rand, (0.1, 1e-2, 40, 10)),
    "pgd_l2": (attacks.pgd_l2, (2.0, 0.1, 40)),
}
"""The chapter's set-wide experiments: attack and its positional arguments after ``y``."""


def tensor_loader(X: torch.Tensor, y: torch.Tensor, batch_size: int = 100) -> DataLoader:
    """A non-shuffled loader over given images ``(n, 1, 28, 28)`` and labels ``(n,)``."""
    X = check_images(X)
    y = check_labels(X, y)
    batch_size = check_count(batch_size, "batch_size", 1)
    return DataLoader(TensorDataset(X, y), batch_size=batch_size, shuffle=False)


def _loader_size(loader) -> Optional[int]:
    """How many examples ``loader`` holds, when it says (a DataLoader does), else None."""
    try:
        iter(loader)
    except TypeError:
        raise ValueError(f"loader must be an iterable of (X, y) batches, such as a DataLoader, "
                         f"got {type(loader).__name__}") from None
    try:
        return len(loader.dataset)
    except (AttributeError, TypeError):
        return None


def _unpack(batch, limit: Optional[int]) -> Tuple[torch.Tensor, torch.Tensor]:
    """One ``(X, y)`` batch of a loader, checked, cut to ``limit`` examples."""
    if not isinstance(batch, (tuple, list)) or len(batch) != 2:
        raise ValueError(f"loader must yield (X, y) pairs, got a {type(batch).__name__}")
    X = check_images(batch[0], "X (images from the loader)")
    y = check_labels(X, batch[1], "y (labels from the loader)")
    return X[:limit], y[:limit]


def epoch_adversarial(model: nn.Module, loader: DataLoader, attack: Callable, *args,
                      limit: Optional[int] = None, progress: bool = True,
                      **attack_kwargs) -> Tuple[float, float]:
    """Error and mean cross-entropy of ``model`` on ``X + attack(model, X, y, *args)``.

    Chapter 3, "FGSM" (``epoch_adversarial``); notebooks 02-05. Extra keywords (e.g.
    ``clamp=False``) go to the attack. The model is evaluated in eval mode and every
    layer's mode is restored afterwards.

    Args:
        model: classifier; batches are moved to the device and dtype of its parameters.
        loader: yields ``(X, y)`` batches (a DataLoader, or any iterable of pairs).
        attack: e.g. :func:`course_utils.attacks.fgsm`; ``*args`` follow ``y`` in its call.
        limit: stop after this many examples (the last batch is cut); default all.
        progress: show a tqdm bar (stderr).

    Returns:
        ``(error, loss)``: fraction misclassified and mean loss over the examples seen.
    """
    check_model(model)
    if not callable(attack):
        raise ValueError(f"attack must be a function (model, X, y, *args) -> delta, got {attack!r}")
    if limit is not None:
        limit = check_count(limit, "limit (a positive integer or None)", 1)
    size = _loader_size(loader)
    total = limit if size is None else size if limit is None else min(limit, size)
    seen, total_err, total_loss = 0, 0, 0.0
    with evaluating(model), tqdm(total=total, disable=not check_flag(progress, "progress"),
                                 leave=False, unit="img") as bar:
        for batch in loader:
            if total is not None and seen >= total:
                break
            X, y = _unpack(batch, None if total is None else total - seen)
            device, dtype = placement(model, X)
            X, y = X.to(device=device, dtype=dtype), y.to(device=device, dtype=torch.int64)
            delta = attack(model, X, y, *args, **attack_kwargs)
            if not isinstance(delta, torch.Tensor) or delta.shape != X.shape:
                raise ValueError(f"attack must return delta with the shape of X {tuple(X.shape)}, got "
                                 f"{tuple(delta.shape) if isinstance(delta, torch.Tensor) else type(delta).__name__}")
            with torch.no_grad():
                yp = model(X + delta)
                check_labels(X, y, "y (labels from the loader)", num_classes=yp.shape[1])
                total_loss += F.cross_entropy(yp, y, reduction="sum").item()
                total_err += (yp.argmax(dim=1) != y).sum().item()
            seen += X.shape[0]
            bar.update(X.shape[0])
    if seen == 0:
        raise ValueError("loader yielded no examples")
    return total_err / seen, total_loss / seen


def zero_attack(model: nn.Module, X: torch.Tensor, y: torch.Tensor, *args, **kwargs) -> torch.Tensor:
    """No perturbation (``delta = 0``): ``epoch_adversarial`` with it gives the clean error."""
    return torch.zeros_like(check_images(X))


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
    The last line says which record the recorded columns come from (``records.origin``).
    """
    _check_live(live, n_live)
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
    keys = [records.attack_key(attack, model, c) for model in live for c in (False, True)]
    lines.append(f"recorded: {records.origin('attack_errors', keys=keys)}")
    return "\n".join(lines)


def _check_live(live, n_live) -> None:
    if not isinstance(live, dict) or not isinstance(n_live, dict):
        raise ValueError("live must be {model: {clamp: error}} and n_live {model: n}, both dicts")
    for model, errs in live.items():
        if not isinstance(errs, dict) or not all(isinstance(c, bool) and isinstance(e, numbers.Real)
                                                 and 0 <= e <= 1 for c, e in errs.items()):
            raise ValueError(f"live[{model!r}] must map clamp (True/False) to an error in [0, 1], got {errs!r}")
        check_count(n_live.get(model), f"n_live[{model!r}] (images behind live[{model!r}])", 1)
