"""Project-wide settings: paths, the evaluation subset, the device.

Set-wide figures in the notebooks (error rates under attack, certified accuracy) are
computed on the first ``N_EVAL`` test images. The default keeps every notebook fast on
a 2-core laptop; a lecturer with a GPU sets ``COURSE_N_EVAL=10000`` to reproduce the
chapter on the full test set.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
"""The project's root folder (the one holding ``course_utils/`` and ``data/``)."""

DATA_DIR = ROOT / "data"
MODELS_DIR = DATA_DIR / "models"
MNIST_RAW_DIR = DATA_DIR / "MNIST" / "raw"
SHARED_MNIST_DIR = ROOT.parent / "shared" / "data" / "mnist"

FULL_TEST_SET = 10_000


def _read_n_eval() -> int:
    raw = os.environ.get("COURSE_N_EVAL", "1000")
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(
            f"COURSE_N_EVAL must be a whole number of test images (1..{FULL_TEST_SET}), got {raw!r}"
        ) from None
    if not 1 <= value <= FULL_TEST_SET:
        raise ValueError(f"COURSE_N_EVAL must be between 1 and {FULL_TEST_SET}, got {value}")
    return value


N_EVAL: int = _read_n_eval()
"""Number of test images used for set-wide figures (env ``COURSE_N_EVAL``, default 1000)."""


def check_device(device, setting: str) -> torch.device:
    """``device`` (a ``torch.device`` or a name: ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``)
    as a ``torch.device`` this machine has.

    Otherwise a ``ValueError`` that names ``setting``, whatever asked for the device
    (``"COURSE_DEVICE"``, ``"load_model(device=...)"``), and says what this machine has.
    """
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise ValueError(f"{setting} must name a device such as 'cpu' or 'cuda', got {device!r}") from None
    fallback = "use 'cpu'"
    if dev.type == "cpu":
        return dev
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            why = "this PyTorch is a CPU-only build" if torch.version.cuda is None else "no GPU is visible"
            raise ValueError(f"{setting} asks for {str(dev)!r}, but CUDA is not available here ({why}); {fallback}")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(f"{setting} asks for {str(dev)!r}, but this machine has "
                             f"{torch.cuda.device_count()} CUDA device(s); {fallback} or 'cuda:0'")
        return dev
    if dev.type == "mps" and torch.backends.mps.is_available():
        return dev
    raise ValueError(f"{setting} asks for {str(dev)!r}, which this machine does not offer to the course "
                     f"(it runs on 'cpu', 'cuda' when a GPU is visible, 'mps' on Apple silicon); {fallback}")


def default_device() -> torch.device:
    """``cuda`` when a GPU is visible, else ``cpu`` (override with env ``COURSE_DEVICE``).

    A ``COURSE_DEVICE`` this machine lacks (``cuda`` without a GPU, a misspelt name) is a
    ``ValueError`` naming ``COURSE_DEVICE``.
    """
    name = os.environ.get("COURSE_DEVICE")
    if name:
        return check_device(name, "the environment variable COURSE_DEVICE")
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")
