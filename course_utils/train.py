"""Training: the chapter's ``epoch`` and its recipes (chapter 3, "Some example networks").

Recipes (as in the chapter): SGD with learning rate 0.1, batch 100, 10 epochs; the CNN
drops the learning rate to 0.01 after its fifth epoch. The regression net of the
loss-surface demo takes 100 SGD steps (lr 0.01) on pure noise. Everything is seeded.
``python -m course_utils train [NAME ...]`` (:mod:`course_utils.cli`) retrains the shipped
weights and re-records their clean test errors.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Optional, Tuple

import torch
import torch.nn as nn
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from . import config
from .data import mnist_loaders
from .models import build_model, weights_path


def _device_of(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


def epoch(loader: DataLoader, model: nn.Module, opt: Optional[torch.optim.Optimizer] = None,
          progress: bool = False) -> Tuple[float, float]:
    """One pass over ``loader``; trains when ``opt`` is given, else only evaluates.

    Returns:
        ``(error, loss)``: the fraction of misclassified examples and the mean
        cross-entropy over the loader's dataset.
    """
    device = _device_of(model)
    model.train(opt is not None)
    total_loss, total_err = 0.0, 0
    with torch.set_grad_enabled(opt is not None):
        for X, y in tqdm(loader, disable=not progress, leave=False):
            X, y = X.to(device), y.to(device)
            yp = model(X)
            loss = nn.functional.cross_entropy(yp, y)
            if opt is not None:
                opt.zero_grad()
                loss.backward()
                opt.step()
            total_err += (yp.argmax(dim=1) != y).sum().item()
            total_loss += loss.item() * X.shape[0]
    model.eval()
    n = len(loader.dataset)
    return total_err / n, total_loss / n


@dataclass(frozen=True)
class Recipe:
    """How the chapter trains one MNIST model."""
    lr: float = 0.1
    epochs: int = 10
    lr_drop_after: Optional[int] = None  # epoch after which lr becomes lr / 10
    seed: int = 0


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
    torch.manual_seed(seed)
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
    if name not in RECIPES:
        raise ValueError(f"name must be one of {sorted(RECIPES)}, got {name!r}")
    recipe = RECIPES[name]
    device = device or config.default_device()
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


def save_weights(model: nn.Module, name: str) -> Path:
    """Write ``model``'s weights (on the CPU) as the shipped weights of ``name``; returns the path."""
    weights_path(name)  # checks the name
    path = config.writable_asset("models", f"{name}.pt")
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, path)
    return path
