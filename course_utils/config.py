"""Project-wide settings: where things live, the evaluation subset, the device.

The trained weights and the recorded results ship inside the package
(``course_utils/assets/``, read with :func:`asset`), so an installed ``course_utils``
works from any folder. MNIST does not ship: in a checkout of the course it lives in
``data/MNIST/raw/``; an installed package downloads it once into a per-user cache
folder (:func:`mnist_cache_dir`).

What a user computes (``python -m course_utils train|evaluate|certified``) goes to the
per-user data folder (:func:`user_dir`), never into the package: the shipped files are
re-recorded only from a checkout, on purpose (``--shipped --force``, :func:`writable_asset`).

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


def user_dir() -> Path:
    """The per-user data folder where the user's own runs go: records of ``evaluate``,
    ``certified`` and ``train`` (``results/``), retrained weights (``models/``).

    ``platformdirs.user_data_path("course_utils")`` (``~/.local/share/course_utils`` on
    Linux), or the folder in the environment variable ``COURSE_USER_DIR`` (the tests point
    it at a fresh temporary folder). Not created here: the commands that write create it.
    """
    raw = os.environ.get("COURSE_USER_DIR")
    if raw is None:
        return platformdirs.user_data_path("course_utils")
    if not raw.strip():
        raise ValueError("the environment variable COURSE_USER_DIR must name a folder (or be unset: "
                         "the per-user data folder), got an empty value")
    return Path(raw).expanduser()


def asset(*parts: str) -> Traversable:
    """A file shipped with the package, e.g. ``asset("models", "cnn.pt")``.

    ``models/`` holds the trained weights, ``results/`` the recorded runs
    (:mod:`course_utils.records`).
    """
    return resources.files("course_utils").joinpath("assets", *parts)


def writable_asset(*parts: str) -> Path:
    """:func:`asset` as a file-system path, for a maintainer's commands that re-record it
    (``--shipped``): only in a checkout of the course, never in an installed package.

    Raises:
        RuntimeError: not a checkout (an installed package is never written into), or the
            package is not plain files (e.g. from a zip).
    """
    if not in_checkout():
        raise RuntimeError(f"re-recording a file shipped with the course works only in a checkout of its "
                           f"repository; this course_utils is installed at {ROOT / 'course_utils'}, which "
                           f"is never written into (your own runs go to {user_dir()})")
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
