"""MNIST, read straight from its IDX files (chapter 3, "Some example networks").

No torchvision: the four IDX files (gzip-compressed or not) are parsed with numpy.
They are looked for, in order, in

1. an explicit ``path`` argument,
2. the folder named by the environment variable ``COURSE_DATA_DIR``,
3. in a checkout of the course: ``data/MNIST/raw/`` and ``../shared/data/mnist/`` beside
   it (the offline copy on build machines),
4. the per-user cache folder (``config.mnist_cache_dir()``),

and otherwise downloaded once, into ``data/MNIST/raw/`` in a checkout and into the
per-user cache folder when the package is installed, with the MD5 of every
downloaded file checked. Local copies are trusted but their IDX headers and counts
are checked, so a truncated or corrupt file is named in a clear error.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import os
import shutil
import tempfile
import urllib.request
from pathlib import Path
from typing import Iterable, Optional, Tuple, Union

import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset

from . import config

PathLike = Union[str, os.PathLike]

FILES = {
    # split: (images, labels, count)
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", 60_000),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", 10_000),
}

# MD5 of the original gzip files, checked on anything downloaded.
MD5 = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}

MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)

_IMAGE_MAGIC = 2051
_LABEL_MAGIC = 2049


class MNISTError(RuntimeError):
    """A missing, truncated or corrupt MNIST file."""


def _file_in(folder: Path, stem: str) -> Optional[Path]:
    for name in (stem + ".gz", stem):
        candidate = folder / name
        if candidate.is_file():
            return candidate
    return None


def _has_all(folder: Path) -> bool:
    return all(_file_in(folder, stem) for img, lab, _ in FILES.values() for stem in (img, lab))


def candidate_dirs(path: Optional[PathLike] = None) -> list[Path]:
    """The folders searched for MNIST, in order (see the module docstring)."""
    dirs = []
    if path is not None:
        dirs.append(Path(path))
    env = os.environ.get("COURSE_DATA_DIR")
    if env:
        dirs.append(Path(env))
    if config.in_checkout():
        dirs += [config.MNIST_RAW_DIR, config.SHARED_MNIST_DIR]
    dirs.append(config.mnist_cache_dir())
    return dirs


def download_dir() -> Path:
    """Where a missing MNIST is downloaded: ``data/MNIST/raw/`` in a checkout, else the
    per-user cache folder."""
    return config.MNIST_RAW_DIR if config.in_checkout() else config.mnist_cache_dir()


def find_mnist(path: Optional[PathLike] = None, download: bool = True) -> Path:
    """Return the folder holding the four MNIST files, downloading them if needed.

    An explicit ``path`` that lacks the files is an error (no silent fallback), as is
    a ``COURSE_DATA_DIR`` that does not hold them.
    """
    if path is not None:
        folder = Path(path)
        if not _has_all(folder):
            raise MNISTError(
                f"path={str(folder)!r} does not hold the four MNIST files "
                f"({', '.join(s for i, l, _ in FILES.values() for s in (i, l))}, optionally .gz)."
            )
        return folder
    env = os.environ.get("COURSE_DATA_DIR")
    if env:
        if not _has_all(Path(env)):
            raise MNISTError(
                f"COURSE_DATA_DIR={env!r} does not hold the four MNIST IDX files; "
                "point it at a folder that does, or unset it to use the default locations."
            )
        return Path(env)
    for folder in candidate_dirs():
        if _has_all(folder):
            return folder
    if not download:
        raise MNISTError(
            "MNIST not found in " + ", ".join(str(d) for d in candidate_dirs())
            + "; call with download=True or set COURSE_DATA_DIR."
        )
    return download_mnist(download_dir())


def _md5(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def download_mnist(folder: PathLike, mirrors: Iterable[str] = MIRRORS) -> Path:
    """Download the four gzip files into ``folder``, verifying each MD5.

    Each file is tried on every mirror in turn; files that fail everywhere are listed
    together in one ``MNISTError`` (the good ones are kept).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    failures = []
    for name, md5 in MD5.items():
        target = folder / name
        if target.is_file() and _md5(target) == md5:
            continue
        errors = []
        for mirror in mirrors:
            with tempfile.NamedTemporaryFile(dir=folder, delete=False) as tmp:
                tmp_path = Path(tmp.name)
            try:
                with urllib.request.urlopen(mirror + name, timeout=60) as response, open(tmp_path, "wb") as out:
                    shutil.copyfileobj(response, out)
                got = _md5(tmp_path)
                if got != md5:
                    raise MNISTError(f"MD5 mismatch for {name} from {mirror}: {got} != {md5}")
                tmp_path.replace(target)
                break
            except Exception as exc:  # try the next mirror, report all at the end
                errors.append(f"{mirror}: {exc}")
            finally:
                tmp_path.unlink(missing_ok=True)
        else:
            failures.append(f"could not download {name}: " + "; ".join(errors))
    if failures:
        raise MNISTError(". ".join(failures) + f". Without internet, copy the four MNIST files into "
                         f"{folder} or set COURSE_DATA_DIR.")
    return folder


def read_idx(path: PathLike, magic: int, count: int) -> np.ndarray:
    """Read one IDX file (gzip or not) into a uint8 array, checking magic and count.

    Returns shape ``(count, 28, 28)`` for images (magic 2051), ``(count,)`` for labels.
    """
    path = Path(path)
    hint = f"Delete {path} and run again to re-download it, or replace it with a good copy."
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as fh:
            raw = fh.read()
    except (OSError, EOFError) as exc:
        raise MNISTError(f"{path} is truncated or not a valid gzip file ({exc}). {hint}") from None
    ndim = 3 if magic == _IMAGE_MAGIC else 1
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise MNISTError(f"{path} is too short to hold an IDX header. {hint}")
    got_magic = int.from_bytes(raw[0:4], "big")
    if got_magic != magic:
        raise MNISTError(f"{path} has IDX magic number {got_magic}, expected {magic}. {hint}")
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    if dims[0] != count or (ndim == 3 and dims[1:] != [28, 28]):
        raise MNISTError(f"{path} declares shape {tuple(dims)}, expected {count} items of 28x28. {hint}")
    expected = header + int(np.prod(dims))
    if len(raw) != expected:
        raise MNISTError(f"{path} holds {len(raw)} bytes, expected {expected}: the file is truncated. {hint}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


@functools.lru_cache(maxsize=4)
def _load(split: str, folder: str) -> Tuple[torch.Tensor, torch.Tensor]:
    img_stem, lab_stem, count = FILES[split]
    images = read_idx(_file_in(Path(folder), img_stem), _IMAGE_MAGIC, count)
    labels = read_idx(_file_in(Path(folder), lab_stem), _LABEL_MAGIC, count)
    X = torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1)
    y = torch.from_numpy(labels.astype(np.int64))
    return X, y


def load_mnist(split: str = "test", path: Optional[PathLike] = None, download: bool = True
               ) -> Tuple[torch.Tensor, torch.Tensor]:
    """MNIST as tensors.

    Args:
        split: ``"train"`` (60,000 images) or ``"test"`` (10,000).
        path: a folder holding the IDX files; default: search (module docstring).
        download: fetch the files when no local copy is found.

    Returns:
        ``X`` float32 of shape ``(n, 1, 28, 28)`` with pixels in [0, 1], and
        ``y`` int64 of shape ``(n,)`` with labels 0..9.
    """
    if split not in FILES:
        raise ValueError(f"split must be one of {sorted(FILES)}, got {split!r}")
    folder = find_mnist(path, download=download)
    X, y = _load(split, str(folder.resolve()))
    return X.clone(), y.clone()


def mnist_loaders(batch_size: int = 100, path: Optional[PathLike] = None, seed: int = 0
                  ) -> Tuple[DataLoader, DataLoader]:
    """The chapter's loaders: ``(train_loader, test_loader)``, batch 100, train shuffled.

    The shuffle is driven by a generator seeded with ``seed``, so training is
    reproducible.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size}")
    train = TensorDataset(*load_mnist("train", path))
    test = TensorDataset(*load_mnist("test", path))
    generator = torch.Generator().manual_seed(seed)
    return (DataLoader(train, batch_size=batch_size, shuffle=True, generator=generator),
            DataLoader(test, batch_size=batch_size, shuffle=False))


def eval_subset(n: Optional[int] = None, path: Optional[PathLike] = None
                ) -> Tuple[torch.Tensor, torch.Tensor]:
    """The first ``n`` test images and labels (default ``config.N_EVAL``)."""
    n = config.N_EVAL if n is None else n
    if not 1 <= n <= config.FULL_TEST_SET:
        raise ValueError(f"n must be between 1 and {config.FULL_TEST_SET}, got {n}")
    X, y = load_mnist("test", path)
    return X[:n], y[:n]
