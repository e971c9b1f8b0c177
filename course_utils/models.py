"""The chapter's networks, by name, and their trained weights (chapter 3).

========== ================================================ =========================
name       architecture                                      introduced
========== ================================================ =========================
regression 1-100-100-100-1 ReLU net fitted to random noise   "Moving to neural networks"
dnn2       784-200-10                                        "Some example networks"
dnn4       784-200-100-100-10                                "Some example networks"
cnn        conv 32, 32/2, 64, 64/2 (3x3) + FC 100 + 10       "Some example networks"
small      784-50-20-10                                      "Exact solutions" (MILP)
========== ================================================ =========================

Every network is a plain ``nn.Sequential`` of ``nn.Flatten``, ``nn.Linear``,
``nn.Conv2d`` and ``nn.ReLU``, so the layer indices of the state dicts match the
chapter's and the bound-propagation code can walk the layers one by one.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Callable, Dict, Optional, Union

import torch
import torch.nn as nn

from . import config

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable


def regression_net() -> nn.Sequential:
    """1 -> 100 -> 100 -> 100 -> 1 ReLU net of the loss-surface demo. Input shape (n, 1)."""
    return nn.Sequential(nn.Linear(1, 100), nn.ReLU(),
                         nn.Linear(100, 100), nn.ReLU(),
                         nn.Linear(100, 100), nn.ReLU(),
                         nn.Linear(100, 1))


def dnn2() -> nn.Sequential:
    """Two-layer fully connected MNIST net, 784-200-10. Input (n, 1, 28, 28), logits (n, 10)."""
    return nn.Sequential(nn.Flatten(),
                         nn.Linear(784, 200), nn.ReLU(),
                         nn.Linear(200, 10))


def dnn4() -> nn.Sequential:
    """Four-layer fully connected MNIST net, 784-200-100-100-10."""
    return nn.Sequential(nn.Flatten(),
                         nn.Linear(784, 200), nn.ReLU(),
                         nn.Linear(200, 100), nn.ReLU(),
                         nn.Linear(100, 100), nn.ReLU(),
                         nn.Linear(100, 10))


def cnn() -> nn.Sequential:
    """Four 3x3 convolutions (32, 32 stride 2, 64, 64 stride 2), then FC 100 and 10."""
    return nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(),
                         nn.Conv2d(32, 32, 3, padding=1, stride=2), nn.ReLU(),
                         nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(),
                         nn.Conv2d(64, 64, 3, padding=1, stride=2), nn.ReLU(),
                         nn.Flatten(),
                         nn.Linear(7 * 7 * 64, 100), nn.ReLU(),
                         nn.Linear(100, 10))


def small() -> nn.Sequential:
    """The small 784-50-20-10 net used for exact (MILP) verification."""
    return nn.Sequential(nn.Flatten(),
                         nn.Linear(784, 50), nn.ReLU(),
                         nn.Linear(50, 20), nn.ReLU(),
                         nn.Linear(20, 10))


ARCHITECTURES: Dict[str, Callable[[], nn.Sequential]] = {
    "regression": regression_net,
    "dnn2": dnn2,
    "dnn4": dnn4,
    "cnn": cnn,
    "small": small,
}
MNIST_MODELS = ("dnn2", "dnn4", "cnn", "small")
"""The MNIST classifiers (everything but the regression net)."""


def _check_name(name: str) -> None:
    if name not in ARCHITECTURES:
        raise ValueError(f"name must be one of {sorted(ARCHITECTURES)}, got {name!r}")


def build_model(name: str) -> nn.Sequential:
    """A freshly initialised network of the named architecture (untrained)."""
    _check_name(name)
    return ARCHITECTURES[name]()


def weights_path(name: str, models_dir: Optional[Union[str, Path]] = None) -> Union[Path, "Traversable"]:
    """Where the trained weights of ``name`` live: ``models_dir/<name>.pt``, by default the
    copy shipped inside the package (``course_utils/assets/models/<name>.pt``)."""
    _check_name(name)
    if models_dir is not None:
        return Path(models_dir) / f"{name}.pt"
    return config.asset("models", f"{name}.pt")


def load_model(name: str, device: Optional[Union[str, torch.device]] = None,
               models_dir: Optional[Union[str, Path]] = None) -> nn.Sequential:
    """The trained network ``name`` in eval mode, with gradients of its weights off.

    Args:
        name: one of ``"regression"``, ``"dnn2"``, ``"dnn4"``, ``"cnn"``, ``"small"``.
        device: where to put it (default ``config.default_device()``).
        models_dir: folder of the ``.pt`` files (default: the weights shipped with the package).

    Raises:
        ValueError: unknown name.
        FileNotFoundError / RuntimeError: missing or mismatched weights, with the
            command that regenerates them.
    """
    model = build_model(name)
    path = weights_path(name, models_dir)
    regenerate = f"Regenerate it with `python -m course_utils train {name}`."
    if not path.is_file():
        raise FileNotFoundError(f"no trained weights for {name!r} at {path}. {regenerate}")
    try:
        with path.open("rb") as fh:
            state = torch.load(fh, map_location="cpu", weights_only=True)
        model.load_state_dict(state)
    except Exception as exc:
        raise RuntimeError(f"weights at {path} do not fit the {name!r} architecture ({exc}). {regenerate}") from None
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model.to(device or config.default_device())


def describe(model: nn.Module) -> str:
    """One line per layer with its output size and parameter count, for the notebooks."""
    lines = []
    total = 0
    for i, layer in enumerate(model):
        n = sum(p.numel() for p in layer.parameters())
        total += n
        lines.append(f"{i:>2}  {layer!r:<60} {n:>9,d} params")
    lines.append(f"{'':>2}  {'total':<60} {total:>9,d} params")
    return "\n".join(lines)
