"""MNIST loading: the real files, and corrupt, truncated and missing ones."""

import gzip
import shutil

import numpy as np
import pytest
import torch

from course_utils import config, data
from course_utils.data import MNISTError, find_mnist, load_mnist, read_idx


def _write_idx(path, magic, dims, payload: bytes, compress=True):
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in dims)
    opener = gzip.open if compress else open
    with opener(path, "wb") as fh:
        fh.write(header + payload)


def test_real_test_split_shapes_range_and_labels():
    X, y = load_mnist("test")
    assert X.shape == (10_000, 1, 28, 28) and X.dtype == torch.float32
    assert y.shape == (10_000,) and y.dtype == torch.int64
    assert X.min() == 0 and X.max() == 1
    assert y[:5].tolist() == [7, 2, 1, 0, 4]
    assert torch.bincount(y).tolist()[0] == 980  # class counts of the MNIST test set
    assert abs(X.mean().item() - 0.1325) < 1e-3


def test_real_train_split_and_loaders():
    train_loader, test_loader = data.mnist_loaders()
    assert len(train_loader.dataset) == 60_000 and len(test_loader.dataset) == 10_000
    Xb, yb = next(iter(test_loader))
    assert Xb.shape == (100, 1, 28, 28)
    assert yb[:3].tolist() == [7, 2, 1]  # the test loader is not shuffled
    first_a = next(iter(data.mnist_loaders(seed=0)[0]))[1]
    first_b = next(iter(data.mnist_loaders(seed=0)[0]))[1]
    assert torch.equal(first_a, first_b)  # the training shuffle is seeded


def test_returned_tensors_are_copies():
    X, _ = load_mnist("test")
    X.zero_()
    assert load_mnist("test")[0].max() == 1


def test_uncompressed_files_are_read(tmp_path):
    src = find_mnist()
    for stem in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", "train-images-idx3-ubyte",
                 "train-labels-idx1-ubyte"):
        with gzip.open(src / (stem + ".gz")) as fin, open(tmp_path / stem, "wb") as fout:
            shutil.copyfileobj(fin, fout)
    X, y = load_mnist("test", path=tmp_path)
    assert torch.equal(X, load_mnist("test")[0]) and torch.equal(y, load_mnist("test")[1])


def test_bad_magic_is_named(tmp_path):
    path = tmp_path / "t10k-labels-idx1-ubyte.gz"
    _write_idx(path, 1234, [3], bytes(3))
    with pytest.raises(MNISTError, match=r"t10k-labels.*magic number 1234"):
        read_idx(path, 2049, 3)


def test_truncated_payload_is_named(tmp_path):
    path = tmp_path / "t10k-images-idx3-ubyte"
    _write_idx(path, 2051, [2, 28, 28], bytes(28 * 28), compress=False)
    with pytest.raises(MNISTError, match="truncated"):
        read_idx(path, 2051, 2)


def test_wrong_count_is_named(tmp_path):
    path = tmp_path / "t10k-labels-idx1-ubyte.gz"
    _write_idx(path, 2049, [5], bytes(5))
    with pytest.raises(MNISTError, match=r"expected 10000"):
        read_idx(path, 2049, 10_000)


def test_broken_gzip_is_named(tmp_path):
    good = find_mnist() / "t10k-labels-idx1-ubyte.gz"
    bad = tmp_path / good.name
    bad.write_bytes(good.read_bytes()[:1000])
    with pytest.raises(MNISTError, match=r"t10k-labels-idx1-ubyte.gz is truncated or not a valid gzip"):
        read_idx(bad, 2049, 10_000)


def test_explicit_folder_without_files_is_an_error(tmp_path):
    with pytest.raises(MNISTError, match="does not hold the four MNIST files"):
        load_mnist("test", path=tmp_path)


def test_course_data_dir_without_files_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))
    with pytest.raises(MNISTError, match="COURSE_DATA_DIR"):
        find_mnist()


def test_missing_everywhere_without_download(tmp_path, monkeypatch):
    monkeypatch.delenv("COURSE_DATA_DIR", raising=False)
    monkeypatch.setattr(config, "MNIST_RAW_DIR", tmp_path / "raw")
    monkeypatch.setattr(config, "SHARED_MNIST_DIR", tmp_path / "shared")
    monkeypatch.setattr(config, "mnist_cache_dir", lambda: tmp_path / "cache")
    with pytest.raises(MNISTError, match="MNIST not found"):
        find_mnist(download=False)


def test_installed_package_uses_the_per_user_cache(tmp_path, monkeypatch):
    """Outside a checkout, the checkout's folders are not searched and a missing MNIST is
    downloaded into the per-user cache folder; a checkout downloads into data/MNIST/raw."""
    monkeypatch.delenv("COURSE_DATA_DIR", raising=False)
    monkeypatch.setattr(config, "mnist_cache_dir", lambda: tmp_path / "cache")
    assert data.download_dir() == config.MNIST_RAW_DIR  # this test runs in a checkout
    assert data.candidate_dirs()[-1] == tmp_path / "cache"
    monkeypatch.setattr(config, "in_checkout", lambda: False)
    assert data.candidate_dirs() == [tmp_path / "cache"]
    assert data.download_dir() == tmp_path / "cache"
    shutil.copytree(find_mnist(path=config.SHARED_MNIST_DIR) if config.SHARED_MNIST_DIR.is_dir()
                    else data.find_mnist(), tmp_path / "cache")
    assert find_mnist(download=False) == tmp_path / "cache"


def test_cache_folder_is_the_platforms():
    path = config.mnist_cache_dir()
    assert path.name == "MNIST" and path.parent.name == "course_utils"


def test_bad_split_is_named():
    with pytest.raises(ValueError, match="split must be one of"):
        load_mnist("validation")


def test_download_checks_md5(tmp_path):
    """A local 'mirror' (file:// URL) serving the offline copy: the three original files
    pass their MD5 check; the reconstructed training images do not and are rejected."""
    mirror = find_mnist().resolve().as_uri() + "/"
    target = tmp_path / "raw"
    with pytest.raises(MNISTError, match=r"could not download train-images-idx3-ubyte.gz: .*MD5 mismatch"):
        data.download_mnist(target, mirrors=[mirror])
    assert (target / "t10k-images-idx3-ubyte.gz").is_file()
    assert not (target / "train-images-idx3-ubyte.gz").exists()
    assert not list(target.glob("tmp*"))  # no partial downloads left behind


def test_eval_subset_size_checked():
    X, y = data.eval_subset(7)
    assert X.shape[0] == 7 and y.tolist() == [7, 2, 1, 0, 4, 1, 4]
    with pytest.raises(ValueError, match="n must be between"):
        data.eval_subset(0)
