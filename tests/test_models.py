"""The model zoo: architectures, shipped weights, and their clean test errors."""

import pytest
import torch

from course_utils import config, records
from course_utils.data import mnist_loaders
from course_utils.models import MNIST_MODELS, build_model, load_model, weights_path
from course_utils.records import PUBLISHED_CLEAN_ERRORS
from course_utils.train import epoch


@pytest.mark.parametrize("name, n_params", [("dnn2", 159_010), ("dnn4", 188_210),
                                            ("cnn", 379_702), ("small", 40_480),
                                            ("regression", 20_501)])
def test_architectures(name, n_params):
    model = build_model(name)
    assert sum(p.numel() for p in model.parameters()) == n_params
    x = torch.rand(3, 1) if name == "regression" else torch.rand(3, 1, 28, 28)
    assert model(x).shape == ((3, 1) if name == "regression" else (3, 10))


def test_unknown_name_is_named():
    with pytest.raises(ValueError, match=r"name must be one of .*'dnn2'.*got 'resnet'"):
        load_model("resnet")


def test_loaded_model_is_frozen_and_in_eval_mode():
    model = load_model("small", device="cpu")
    assert not model.training
    assert all(not p.requires_grad for p in model.parameters())


def test_missing_weights_say_how_to_regenerate(tmp_path, monkeypatch):
    """A user's folder: train into it again; the shipped file: --shipped, from a checkout."""
    with pytest.raises(FileNotFoundError, match=rf"`python -m course_utils train dnn2 --out {tmp_path} --force`"):
        load_model("dnn2", models_dir=tmp_path)
    monkeypatch.setattr(config, "asset", lambda *parts: tmp_path.joinpath(*parts))
    with pytest.raises(FileNotFoundError, match=r"`python -m course_utils train dnn2 --shipped --force` in a "
                                                r"checkout of the course, or reinstall the course"):
        load_model("dnn2", device="cpu")


def test_mismatched_weights_say_how_to_regenerate(tmp_path):
    torch.save(build_model("small").state_dict(), tmp_path / "dnn2.pt")
    with pytest.raises(RuntimeError, match=r"(?s)do not fit the 'dnn2' architecture.*course_utils train dnn2"):
        load_model("dnn2", models_dir=tmp_path)


def test_weights_ship_with_the_package_and_are_small():
    paths = [weights_path(n) for n in ("regression", *MNIST_MODELS)]
    assert all(p.is_file() and "assets" in str(p) for p in paths)
    assert sum(len(p.read_bytes()) for p in paths) < 5 * 2**20


@pytest.mark.parametrize("name", MNIST_MODELS)
def test_shipped_weights_reach_the_chapters_clean_error(name):
    """Full test set; the issue's tolerance is ±0.006 around the chapter's figure."""
    _, test_loader = mnist_loaders()
    err, _ = epoch(test_loader, load_model(name, device="cpu"))
    assert abs(err - PUBLISHED_CLEAN_ERRORS[name]) <= 0.006
    recorded = records.read("clean_errors")[name]["test_error"]
    assert abs(err - recorded) < 1e-4  # the JSON describes the committed weights


def test_epoch_trains_and_evaluates():
    torch.manual_seed(0)
    X, y = torch.rand(200, 1, 28, 28), torch.randint(0, 10, (200,))
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, y), batch_size=50)
    model = build_model("small")
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    _, loss0 = epoch(loader, model)
    for _ in range(20):
        epoch(loader, model, opt)
    err1, loss1 = epoch(loader, model)
    assert loss1 < loss0 and 0 <= err1 <= 1
    assert model.training  # every call put the model back in the mode it had (build_model: train)
    epoch(loader, model.eval(), opt)
    assert not model.training
