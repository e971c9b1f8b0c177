"""Project-wide settings: where things live, the evaluation subset, the device.

The trained weights and the recorded results ship inside the package
(``course_utils/assets/``, read with :func:`asset`), so an installed ``course_utils``
works from any folder. MNIST does not ship: in a checkout of the course it lives in
``data/MNIST/raw/``; an installed package downloads it once into a per-user cache
folder (:func:`mnist_cache_dir`).

Set-wide figures in the notebooks (error rates under attack, certified accuracy) are
computed on the first ``N_EVAL`` test images. The default keeps every notebook fast on
a 2-core laptop; a lecturer with a GPU sets ``COURSE_N_EVAL=10000`` to reproduce the
chapter on the full test set.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import platformdirs
import torch

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

ROOT = Path(__file__).resolve().parent.parent
"""The folder above the package: the course's root in a checkout, ``site-packages`` when installed."""

MNIST_RAW_DIR = ROOT / "data" / "MNIST" / "raw"
"""Where a checkout keeps MNIST (git-ignored)."""
SHARED_MNIST_DIR = ROOT.parent / "shared" / "data" / "mnist"
"""The offline copy beside a checkout on the course's build machines."""


def in_checkout() -> bool:
    """Whether the package runs from a checkout of the course (not an installed copy)."""
    return (ROOT / "pyproject.toml").is_file() and (ROOT / "notebooks").is_dir()


def mnist_cache_dir() -> Path:
    """The per-user cache folder an installed package downloads MNIST into
    (``~/.cache/course_utils/MNIST`` on Linux; the platform's usual place elsewhere)."""
    return platformdirs.user_cache_path("course_utils") / "MNIST"


def asset(*parts: str) -> Traversable:
    """A file shipped with the package, e.g. ``asset("models", "cnn.pt")``.

    ``models/`` holds the trained weights, ``results/`` the recorded runs
    (:mod:`course_utils.records`).
    """
    return resources.files("course_utils").joinpath("assets", *parts)


def writable_asset(*parts: str) -> Path:
    """:func:`asset` as a file-system path, for the commands that re-record it.

    Raises:
        RuntimeError: the package is not installed as plain files (e.g. from a zip).
    """
    try:
        return Path(os.fspath(asset(*parts)))
    except TypeError:
        raise RuntimeError("re-recording a shipped file needs course_utils installed as plain files "
                           "(a checkout, or pip install -e); this copy is read-only") from None

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
