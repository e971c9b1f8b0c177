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


def default_device() -> torch.device:
    """``cuda`` when a GPU is visible, else ``cpu`` (override with env ``COURSE_DEVICE``)."""
    name = os.environ.get("COURSE_DEVICE")
    if name:
        return torch.device(name)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")
