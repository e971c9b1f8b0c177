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

import os
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Dict, Iterator, Optional, Tuple, Union

import torch
import torch.nn as nn

from . import config
from .threat import check_flag, check_model

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
    if not isinstance(name, str) or name not in ARCHITECTURES:
        raise ValueError(f"name must be one of {sorted(ARCHITECTURES)}, got {name!r}")


def build_model(name: str) -> nn.Sequential:
    """A freshly initialised network of the named architecture (untrained)."""
    _check_name(name)
    return ARCHITECTURES[name]()


def weights_path(name: str, models_dir: Optional[Union[str, Path]] = None) -> Union[Path, "Traversable"]:
    """Where the trained weights of ``name`` live: ``models_dir/<name>.pt``, by default the
    copy shipped inside the package (``course_utils/assets/models/<name>.pt``)."""
    _check_name(name)
    if models_dir is None:
        return config.asset("models", f"{name}.pt")
    if not isinstance(models_dir, (str, os.PathLike)):
        raise ValueError(f"models_dir must be a folder (str or pathlib.Path) or None, got {models_dir!r}")
    return Path(models_dir) / f"{name}.pt"


def _shapes(state: dict) -> Dict[str, Tuple[int, ...]]:
    return {k: tuple(v.shape) for k, v in state.items() if isinstance(v, torch.Tensor)}


def _regenerate(path: Union[Path, "Traversable"], name: str) -> str:
    """The command that writes the weights file ``path`` again (the shipped one: from a
    checkout, on purpose; a user's: into its folder)."""
    if path == config.asset("models", f"{name}.pt"):
        return (f"Regenerate it with `python -m course_utils train {name} --shipped --force` in a checkout "
                f"of the course, or reinstall the course.")
    return f"Regenerate it with `python -m course_utils train {name} --out {Path(path).parent} --force`."


def _read_weights(path: Union[Path, "Traversable"], name: str) -> dict:
    """The state dict saved at ``path`` for the architecture ``name``, or an error that
    names the file and the real cause: unreadable, not a state dict, NaN or infinite
    values, another architecture."""
    regenerate = _regenerate(path, name)
    if path.is_dir():
        raise RuntimeError(f"weights path {path} is a folder, not a file. {regenerate}")
    if not path.is_file():
        raise FileNotFoundError(f"no trained weights for {name!r} at {path}. {regenerate}")
    try:
        with path.open("rb") as fh:
            state = torch.load(fh, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for truncated or foreign files
        raise RuntimeError(f"weights file {path} cannot be read: it is truncated, corrupt or not a "
                           f"file written by torch.save ({type(exc).__name__}: {exc}). {regenerate}") from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise RuntimeError(f"weights file {path} holds a {type(state).__name__}, not a state dict "
                           f"of tensors. {regenerate}")
    broken = [k for k, v in state.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if broken:
        raise RuntimeError(f"weights file {path} holds NaN or infinite values (in {', '.join(broken[:3])}): a "
                           f"training run diverged or the file was damaged. {regenerate}")
    expected, got = _shapes(build_model(name).state_dict()), _shapes(state)
    if got != expected:
        alike = [n for n in ARCHITECTURES if _shapes(ARCHITECTURES[n]().state_dict()) == got]
        guess = f"they are the weights of {alike[0]!r}" if alike else "they fit no course architecture"
        raise RuntimeError(f"weights at {path} do not fit the {name!r} architecture: {guess} "
                           f"({_difference(got, expected)}). {regenerate}")
    return state


def _difference(got: Dict[str, Tuple[int, ...]], expected: Dict[str, Tuple[int, ...]]) -> str:
    """The first few tensors missing, unexpected or of another shape, in words."""
    parts = [f"missing {k}" for k in expected if k not in got]
    parts += [f"unexpected {k}" for k in got if k not in expected]
    parts += [f"{k} has shape {got[k]}, expected {expected[k]}" for k in expected
              if k in got and got[k] != expected[k]]
    return "; ".join(parts[:3]) + ("; ..." if len(parts) > 3 else "")


def load_model(name: str, device: Optional[Union[str, torch.device]] = None,
               models_dir: Optional[Union[str, Path]] = None) -> nn.Sequential:
    """The trained network ``name`` in eval mode, with gradients of its weights off.

    Args:
        name: one of ``"regression"``, ``"dnn2"``, ``"dnn4"``, ``"cnn"``, ``"small"``.
        device: where to put it (default ``config.default_device()``); a device this
            machine lacks is a ``ValueError`` naming ``device``.
        models_dir: folder of the ``.pt`` files (default: the weights shipped with the package).

    Raises:
        ValueError: unknown name, unavailable device.
        FileNotFoundError / RuntimeError: missing, unreadable, non-finite (NaN) or mismatched weights, naming
            the file, the cause and the command that regenerates them.
    """
    model = build_model(name)
    if device is None:
        device = config.default_device()
    else:
        device = config.check_device(device, f"load_model(device={device!r})")
    model.load_state_dict(_read_weights(weights_path(name, models_dir), name))
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model.to(device)


# --- running any model: mode, device and dtype ----------------------------------------


@contextmanager
def evaluating(model: nn.Module, grad: bool = False) -> Iterator[nn.Module]:
    """Run a block with ``model`` in eval mode; afterwards every layer is back in its own mode.

    Eval mode makes BatchNorm use (and leave alone) its running statistics and turns
    Dropout off, so an attack or an evaluation is a deterministic function of its
    inputs. The modes are restored at exit, also after an error or an interrupt. With
    ``grad=True`` autograd is on inside the block even when the caller is inside
    ``torch.no_grad()`` or ``torch.inference_mode()``: the attacks of notebooks 02-05
    need gradients with respect to the input. Tensors the caller made in inference
    mode cannot be saved for backward; pass them through :func:`grad_ready`.
    """
    check_model(model)
    grad = check_flag(grad, "grad")
    if grad and any(p.is_inference() for p in model.parameters()):
        raise ValueError("model was built or loaded inside torch.inference_mode(), so no gradient can flow "
                         "through its weights; load it outside inference_mode (no_grad is fine)")
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        if grad:
            with torch.inference_mode(False), torch.enable_grad():
                yield model
        else:
            yield model
    finally:
        for module, training in modes:
            module.training = training


def grad_ready(t: torch.Tensor) -> torch.Tensor:
    """``t``, or a plain copy of it when it was made inside ``torch.inference_mode()``
    (autograd cannot save such a tensor for the backward pass)."""
    if not isinstance(t, torch.Tensor):
        raise ValueError(f"t must be a torch.Tensor, got {type(t).__name__}")
    if not t.is_inference():
        return t
    with torch.inference_mode(False):
        return t.clone()


def placement(model: nn.Module, X: Optional[torch.Tensor] = None) -> Tuple[torch.device, torch.dtype]:
    """The device and floating dtype ``model`` computes in: those of its first floating
    parameter, or of ``X`` (else cpu, float32) for a model without one."""
    param = next((p for p in check_model(model).parameters() if p.is_floating_point()), None)
    if param is not None:
        return param.device, param.dtype
    return (X.device, X.dtype) if X is not None else (torch.device("cpu"), torch.float32)


def count_classes(model: nn.Module, X: torch.Tensor, name: str = "X") -> int:
    """How many classes ``model`` scores: the width of its output on ``X[:1]`` (eval mode,
    no gradients). A ``ValueError`` when the model cannot take ``X`` or does not return
    logits of shape ``(n, classes)`` with at least two classes."""
    check_model(model)
    device, dtype = placement(model, X)
    with evaluating(model), torch.no_grad():
        try:
            out = model(X[:1].to(device=device, dtype=dtype))
        except (RuntimeError, ValueError, TypeError, IndexError) as exc:
            raise ValueError(f"model cannot take {name} of shape {tuple(X.shape)}: "
                             f"{type(exc).__name__}: {exc}") from exc
    if not isinstance(out, torch.Tensor) or out.dim() != 2 or out.shape[1] < 2:
        got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ValueError(f"model must return logits of shape (n, classes) with classes >= 2; "
                         f"on {name}[:1] it returned {got}")
    return int(out.shape[1])


def describe(model: nn.Module) -> str:
    """One line per layer (each child module) with its parameter count, for the notebooks."""
    check_model(model)
    lines = []
    total = 0
    for i, layer in model.named_children():
        n = sum(p.numel() for p in layer.parameters())
        total += n
        lines.append(f"{i:>2}  {layer!r:<60} {n:>9,d} params")
    lines.append(f"{'':>2}  {'total':<60} {total:>9,d} params")
    return "\n".join(lines)
