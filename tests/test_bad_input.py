"""Every bad argument gets a clear error naming it and what is allowed (issue 15 §4).

The public functions of the attack half and the data/model plumbing, with the arguments
whose invalid values are tested below (``-`` marks an argument with nothing to refuse):

threat     check_norm(norm) · check_finite(value, name) · check_nonnegative(value, name)
           check_count(value, name, minimum) · check_flag(value, name) · check_model(model, name)
           check_images(X, name) · check_labels(X, y, name, num_classes)
           check_class(value, name, num_classes) · check_delta(delta, X, name)
           linf_box(x, epsilon, clamp)
config     check_device(device, setting) · default_device() [env COURSE_DEVICE]
           N_EVAL [env COURSE_N_EVAL, read by _read_n_eval]
models     build_model(name) · weights_path(name, models_dir) · load_model(name, device, models_dir)
           describe(model) · evaluating(model, grad) · grad_ready(t) · placement(model, X -)
           count_classes(model, X, name -) · regression_net() dnn2() dnn4() cnn() small() (no arguments)
attacks    steepest_direction(grad, norm) · project_ball(delta, epsilon, norm) · clamp_images(X, delta)
           cross_entropy_loss(logits, y) · target_margin(logits, y, y_targ) · target_vs_all(logits, y_targ)
           projected_steepest_ascent(model, X, y, epsilon, alpha, num_iter, norm, normalize, loss_fn,
                                     delta_init, clamp)
           per_example_loss(model, X, y, delta, loss_fn) · best_per_example(model, X, y, deltas, loss_fn)
           with_restarts(attack, init, restarts, model, X, y, *args -, loss_fn, **kwargs -)
           fgsm(model, X, y, epsilon, clamp) · pgd / pgd_linf / pgd_l2(model, X, y, epsilon, alpha,
           num_iter, clamp) · pgd_linf_rand(... restarts, clamp, generator)
           pgd_linf_targ / pgd_linf_targ2(... y_targ, clamp)
evaluate   tensor_loader(X, y, batch_size) · epoch_adversarial(model, loader, attack, *args -, limit,
           progress, **attack_kwargs -) · zero_attack(model -, X, y -)
           comparison_table(attack -, live, n_live)
records    read(name) [and the file's content] · write(name, record) · attack_key(attack, model, clamp)
           attack_error(attack, model, clamp) · attack_errors_markdown() (no arguments)
cli        python -m course_utils evaluate --models/--attacks/--clamp/--n/--batch-size
data       candidate_dirs(path) · find_mnist(path, download) · download_mnist(folder, mirrors)
           read_idx(path, magic, count) [and the file's content] · load_mnist(split, path, download)
           mnist_loaders(batch_size, path, seed) · eval_subset(n, path)
train      epoch(loader, model, opt, progress) · Recipe(lr, epochs, lr_drop_after, seed)
           train_regression(seed, steps) · train_mnist(name, device, log) · save_weights(model, name)
surface    activation_patterns(model, x) · count_linear_pieces(model, lo, hi, num)
           inner_max_1d(model, x0, epsilon, num)

Errors are ``ValueError`` for arguments, ``MNISTError`` for MNIST files, ``RuntimeError`` /
``FileNotFoundError`` for weight files; each test checks the message names the argument
(or the file) and what is allowed.
"""

from __future__ import annotations

import gzip
import json
import math
import zlib

import numpy as np
import pytest
import torch
import torch.nn as nn

from course_utils import attacks as A
from course_utils import cli, config, data, evaluate, models, records, surface, threat, train
from course_utils.data import MNISTError

# --- shared fixtures: a 5-class dense net, a batch, a 1-D regression net --------------------

torch.manual_seed(0)
NET = nn.Sequential(nn.Flatten(), nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 5)).eval()
REG = nn.Sequential(nn.Linear(1, 8), nn.ReLU(), nn.Linear(8, 1)).eval()
X = torch.rand(3, 1, 4, 4, generator=torch.Generator().manual_seed(0))
Y = torch.tensor([0, 4, 2])
LOGITS = torch.randn(3, 5)
NAN_X = X.clone().index_put_((torch.tensor([0]),), torch.tensor(math.nan))
INF_X = X.clone().index_put_((torch.tensor([1]),), torch.tensor(math.inf))


def _loader(X=X, y=Y, batch_size=2):
    return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, y), batch_size=batch_size)


# Values that are wrong wherever a number, a count, a flag, images or labels are expected.
BAD_NUMBERS = [("string", "0.1"), ("nan", math.nan), ("inf", math.inf), ("negative", -0.1),
               ("bool", True), ("none", None), ("tensor2", torch.tensor([0.1, 0.2]))]
BAD_COUNTS = [("float", 2.5), ("string", "3"), ("negative", -1), ("bool", True), ("none", None)]
BAD_FLAGS = [("string", "no"), ("int", 1), ("none", None)]
BAD_IMAGES = [("list", [[0.5]]), ("uint8", (X * 255).to(torch.uint8)), ("int64", X.long()),
              ("rank1", X.flatten()), ("empty", X[:0]), ("nan", NAN_X), ("inf", INF_X),
              ("above1", X + 1.5), ("below0", X - 0.5)]
BAD_LABELS = [("float", torch.tensor([0.0, 3.7, 1.0])), ("bool", torch.tensor([True, False, True])),
              ("list", [0, 1, 2]), ("short", Y[:2]), ("rank2", Y[:, None]), ("negative", torch.tensor([0, -1, 2])),
              ("too_big", torch.tensor([0, 5, 2])), ("way_too_big", torch.tensor([0, 200, 2]))]


def cases(kind, values):
    return [pytest.param(v, id=f"{kind}-{k}") for k, v in values]


# --- threat ----------------------------------------------------------------------------------


@pytest.mark.parametrize("value", cases("number", BAD_NUMBERS))
def test_check_nonnegative(value):
    with pytest.raises(ValueError, match=r"epsilon must be a finite number >= 0"):
        threat.check_nonnegative(value, "epsilon")


@pytest.mark.parametrize("value", cases("number", [b for b in BAD_NUMBERS if b[0] != "negative"]))
def test_check_finite(value):
    with pytest.raises(ValueError, match=r"x0 must be a finite number"):
        threat.check_finite(value, "x0")


@pytest.mark.parametrize("value", cases("count", BAD_COUNTS))
def test_check_count(value):
    with pytest.raises(ValueError, match=r"steps must be an integer >= 0"):
        threat.check_count(value, "steps", 0)


@pytest.mark.parametrize("value", cases("flag", BAD_FLAGS))
def test_check_flag(value):
    with pytest.raises(ValueError, match=r"clamp must be True or False"):
        threat.check_flag(value, "clamp")


@pytest.mark.parametrize("norm", ["l1", "Linf", None, ["linf"]])
def test_check_norm(norm):
    with pytest.raises(ValueError, match=r"norm must be one of \('linf', 'l2'\)"):
        threat.check_norm(norm)


@pytest.mark.parametrize("model", ["dnn2", None, lambda x: x])
def test_check_model(model):
    with pytest.raises(ValueError, match=r"model must be a torch.nn.Module"):
        threat.check_model(model)


@pytest.mark.parametrize("images", cases("images", BAD_IMAGES))
def test_check_images(images):
    with pytest.raises(ValueError, match=r"^X must"):
        threat.check_images(images)


@pytest.mark.parametrize("labels", cases("labels", BAD_LABELS))
def test_check_labels(labels):
    with pytest.raises(ValueError, match=r"^y must .*(integer|shape|class labels in 0 \.\. 4)"):
        threat.check_labels(X, labels, num_classes=5)


@pytest.mark.parametrize("value", [3.7, 3.0, True, "3", -1, 10, torch.tensor(2.0), torch.tensor([1, 2]), None])
def test_check_class(value):
    with pytest.raises(ValueError, match=r"y must be a class index, an integer in 0 \.\. 9"):
        threat.check_class(value, "y", 10)


@pytest.mark.parametrize("delta", [[0.0], X.long(), X[:2], X * math.nan])
def test_check_delta(delta):
    with pytest.raises(ValueError, match=r"^delta_init must"):
        threat.check_delta(delta, X, "delta_init")


@pytest.mark.parametrize("args,match", [((X.long(), 0.1), "x must"), ((X + 1, 0.1), "x must"),
                                        ((NAN_X, 0.1), "x must"), ((X, -1), "epsilon"),
                                        ((X, "0.1"), "epsilon"), ((X, 0.1, "yes"), "clamp")])
def test_linf_box(args, match):
    with pytest.raises(ValueError, match=match):
        threat.linf_box(*args)


# --- config: devices, the evaluation subset --------------------------------------------------


@pytest.mark.parametrize("device,match", [("gpu", "must name a device"), (3.5, "must name a device"),
                                          ("meta", "does not offer"), ("cuda:7", "cuda:7")])
def test_check_device(device, match):
    if device == "cuda:7" and torch.cuda.device_count() > 7:
        pytest.skip("this machine has 8 GPUs")
    with pytest.raises(ValueError, match=rf"^the setting .*{match}"):
        config.check_device(device, "the setting")


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
@pytest.mark.parametrize("value", ["cuda", "gpu", "cuda:1"])
def test_course_device_names_the_variable(value, monkeypatch):
    monkeypatch.setenv("COURSE_DEVICE", value)
    with pytest.raises(ValueError, match=r"^the environment variable COURSE_DEVICE .*'cpu'"):
        config.default_device()
    with pytest.raises(ValueError, match=r"COURSE_DEVICE"):
        models.load_model("small")  # the default device comes from COURSE_DEVICE


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
@pytest.mark.parametrize("device", ["cuda", "cuda:0", torch.device("cuda"), "gpu"])
def test_load_model_device_names_the_argument(device):
    with pytest.raises(ValueError, match=r"^load_model\(device=.*\) .*'cpu'"):
        models.load_model("small", device=device)


@pytest.mark.parametrize("value", ["abc", "0", "20000", "1.5"])
def test_course_n_eval(value, monkeypatch):
    monkeypatch.setenv("COURSE_N_EVAL", value)
    with pytest.raises(ValueError, match=r"COURSE_N_EVAL must be"):
        config._read_n_eval()


# --- models ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["resnet", 3, None, ["dnn2"], "DNN2"])
def test_model_names(name):
    for call in (models.build_model, models.weights_path, models.load_model):
        with pytest.raises(ValueError, match=r"name must be one of \['cnn', 'dnn2'"):
            call(name)


def test_models_dir_and_describe_and_helpers():
    with pytest.raises(ValueError, match=r"models_dir must be a folder"):
        models.weights_path("dnn2", models_dir=5)
    with pytest.raises(ValueError, match=r"model must be a torch.nn.Module"):
        models.describe("cnn")
    with pytest.raises(ValueError, match=r"model must be a torch.nn.Module"):
        models.placement("cnn")
    with pytest.raises(ValueError, match=r"t must be a torch.Tensor"):
        models.grad_ready([1.0])
    with pytest.raises(ValueError, match=r"grad must be True or False"):
        with models.evaluating(NET, grad="yes"):
            pass
    with pytest.raises(ValueError, match=r"model must be a torch.nn.Module"):
        with models.evaluating("dnn2"):
            pass


@pytest.mark.parametrize("model,match", [
    (models.build_model("dnn2"), r"model cannot take X of shape \(3, 1, 4, 4\): RuntimeError"),
    (nn.Sequential(nn.Flatten(), nn.Linear(16, 1)), r"model must return logits of shape \(n, classes\)"),
    (nn.Sequential(nn.Flatten(0)), r"model must return logits of shape \(n, classes\)"),
])
def test_count_classes(model, match):
    with pytest.raises(ValueError, match=match):
        models.count_classes(model, X)


def _weights(tmp_path, kind):
    path = tmp_path / "dnn2.pt"
    good = models.weights_path("dnn2").read_bytes()
    if kind == "truncated":
        path.write_bytes(good[: len(good) // 2])
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "text":
        path.write_text("not weights")
    elif kind == "tensor":
        torch.save(torch.zeros(3), path)
    elif kind == "other_architecture":
        torch.save(models.build_model("small").state_dict(), path)
    elif kind == "unknown_architecture":
        torch.save(nn.Linear(3, 2).state_dict(), path)
    elif kind == "folder":
        path.mkdir()
    elif kind in ("nan", "inf"):
        state = models.build_model("dnn2").state_dict()
        state["3.bias"][4] = math.nan if kind == "nan" else -math.inf
        torch.save(state, path)
    return path


@pytest.mark.parametrize("kind,match", [
    ("truncated", r"cannot be read: it is truncated, corrupt or not a file written by torch.save"),
    ("empty", r"cannot be read: it is truncated"),
    ("text", r"cannot be read: it is truncated"),
    ("tensor", r"holds a Tensor, not a state dict"),
    ("other_architecture", r"do not fit the 'dnn2' architecture: they are the weights of 'small' "
                           r"\(unexpected 5.weight.*1.weight has shape \(50, 784\), expected \(200, 784\)"),
    ("unknown_architecture", r"do not fit the 'dnn2' architecture: they fit no course architecture"),
    ("folder", r"is a folder, not a file"),
    ("nan", r"holds NaN or infinite values \(in 3.bias\): a training run diverged"),
    ("inf", r"holds NaN or infinite values \(in 3.bias\)"),
])
def test_bad_weight_files_name_the_file_and_the_cause(tmp_path, kind, match):
    path = _weights(tmp_path, kind)
    with pytest.raises(RuntimeError, match=rf"(?s){path}.*{match}.*python -m course_utils train dnn2"):
        models.load_model("dnn2", device="cpu", models_dir=tmp_path)


# --- attacks: the building blocks and objectives ------------------------------------------


@pytest.mark.parametrize("call,match", [
    (lambda: A.steepest_direction([1.0, -2.0]), r"grad must be a floating-point tensor"),
    (lambda: A.steepest_direction(torch.tensor([1, -2])), r"grad must be a floating-point tensor"),
    (lambda: A.steepest_direction(torch.tensor(1.0)), r"grad must be a floating-point tensor of shape \(n, \.\.\.\)"),
    (lambda: A.steepest_direction(X, "l1"), r"norm must be one of"),
    (lambda: A.project_ball(X, "0.1"), r"epsilon must be a finite number >= 0"),
    (lambda: A.project_ball(X, 0.1, "linfinity"), r"norm must be one of"),
    (lambda: A.project_ball(X.long(), 0.1), r"delta must be a floating-point tensor"),
    (lambda: A.clamp_images(X, X[:1]), r"delta must have the shape of X \(3, 1, 4, 4\)"),
    (lambda: A.clamp_images(X.long(), X), r"X must be a floating-point tensor"),
    (lambda: A.cross_entropy_loss(LOGITS[0], Y), r"logits must be a tensor of shape \(n, classes\)"),
    (lambda: A.cross_entropy_loss(LOGITS, Y.float()), r"y must be an int64 tensor of shape \(3,\)"),
    (lambda: A.cross_entropy_loss(LOGITS, Y[:2]), r"y must be an int64 tensor of shape \(3,\)"),
    (lambda: A.target_margin(LOGITS, Y, 2), r"y_targ must be an int64 tensor"),
    (lambda: A.target_margin(LOGITS, Y, Y.int()), r"y_targ must be an int64 tensor"),
    (lambda: A.target_vs_all(LOGITS, Y[:, None]), r"y_targ must be an int64 tensor of shape \(3,\)"),
], ids=lambda v: "" if callable(v) else v[:30])
def test_building_blocks_and_objectives(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# --- attacks: every named attack, every argument ---------------------------------------------

ATTACKS = ["fgsm", "pgd", "pgd_linf", "pgd_linf_rand", "pgd_linf_targ", "pgd_linf_targ2", "pgd_l2",
           "projected_steepest_ascent"]


def call_attack(name, model=NET, X=X, y=Y, epsilon=0.1, alpha=0.02, num_iter=2, **extra):
    """One named attack in the chapter's argument order; ``extra`` holds the rest."""
    if name == "fgsm":
        return A.fgsm(model, X, y, epsilon, **extra)
    if name == "pgd_linf_rand":
        restarts = extra.pop("restarts", 2)
        return A.pgd_linf_rand(model, X, y, epsilon, alpha, num_iter, restarts, **extra)
    if name in ("pgd_linf_targ", "pgd_linf_targ2"):
        y_targ = extra.pop("y_targ", 1)
        return getattr(A, name)(model, X, y, epsilon, alpha, num_iter, y_targ, **extra)
    return getattr(A, name)(model, X, y, epsilon, alpha, num_iter, **extra)


COMMON = ([(f"model-{k}", dict(model=v), r"^model must") for k, v in
           [("string", "dnn2"), ("none", None), ("one_output", nn.Sequential(nn.Flatten(), nn.Linear(16, 1)))]]
          + [("model-wrong_input", dict(model=models.build_model("cnn")), r"^model cannot take X of shape")]
          + [(f"X-{k}", dict(X=v), r"^X must") for k, v in BAD_IMAGES]
          + [(f"y-{k}", dict(y=v), r"^y must") for k, v in BAD_LABELS]
          + [(f"epsilon-{k}", dict(epsilon=v), r"^epsilon must be a finite number >= 0") for k, v in BAD_NUMBERS]
          + [(f"clamp-{k}", dict(clamp=v), r"^clamp must be True or False") for k, v in BAD_FLAGS])
STEPS = ([(f"alpha-{k}", dict(alpha=v), r"^alpha must be a finite number >= 0") for k, v in BAD_NUMBERS]
         + [(f"num_iter-{k}", dict(num_iter=v), r"^num_iter must be an integer >= 0") for k, v in BAD_COUNTS])
SPECIFIC = {
    "pgd_linf_rand": [(f"restarts-{k}", dict(restarts=v), r"^restarts must be an integer >= 1")
                      for k, v in BAD_COUNTS + [("zero", 0)]]
                     + [(f"generator-{k}", dict(generator=v), r"^generator must be None or a CPU torch.Generator")
                        for k, v in [("int", 0), ("string", "seed")]],
    "pgd_linf_targ": [(f"y_targ-{k}", dict(y_targ=v), r"^y_targ must")
                      for k, v in [("float", 2.0), ("float37", 3.7), ("bool", True), ("string", "two"),
                                   ("negative", -1), ("too_big", 5), ("tensor_too_big", torch.tensor([0, 1, 7])),
                                   ("tensor_float", torch.tensor([0.0, 1.0, 2.0])), ("tensor_short", Y[:2])]],
    "projected_steepest_ascent": [
        ("norm", dict(norm="l1"), r"^norm must be one of"),
        ("normalize", dict(normalize="yes"), r"^normalize must be True or False"),
        ("loss_fn", dict(loss_fn="ce"), r"^loss_fn must be a function"),
        ("delta_init-shape", dict(delta_init=X[:1]), r"^delta_init must have the shape of X"),
        ("delta_init-list", dict(delta_init=[0.0]), r"^delta_init must be a floating-point torch.Tensor"),
        ("delta_init-nan", dict(delta_init=NAN_X), r"^delta_init must be finite")],
}
SPECIFIC["pgd_linf_targ2"] = SPECIFIC["pgd_linf_targ"]
ATTACK_CASES = [pytest.param(name, override, match, id=f"{name}-{case}")
                for name in ATTACKS
                for case, override, match in COMMON + ([] if name == "fgsm" else STEPS) + SPECIFIC.get(name, [])]


@pytest.mark.parametrize("name,override,match", ATTACK_CASES)
def test_attack_arguments(name, override, match):
    with pytest.raises(ValueError, match=match):
        call_attack(name, **override)


@pytest.mark.parametrize("call,match", [
    (lambda: A.per_example_loss(NET, X, Y, X[:2]), r"^delta must have the shape of X"),
    (lambda: A.per_example_loss(NET, X, torch.tensor([0, 9, 1]), X * 0), r"^y must hold class labels in 0 \.\. 4"),
    (lambda: A.per_example_loss(NET, X, Y, X * 0, loss_fn=lambda z, y: z.sum()), r"^loss_fn must return one loss"),
    (lambda: A.per_example_loss("net", X, Y, X * 0), r"^model must"),
    (lambda: A.best_per_example(NET, X, Y, X * 0), r"^deltas must be a tensor of shape \(R, \*X.shape\)"),
    (lambda: A.best_per_example(NET, X, Y, (X * 0)[None, :0]), r"^deltas must"),
    (lambda: A.best_per_example(NET, X, Y, [X]), r"^deltas must"),
    (lambda: A.with_restarts("pgd", lambda: X * 0, 2, NET, X, Y, 0.1, 0.02, 2), r"^attack must be a function"),
    (lambda: A.with_restarts(A.pgd_linf, X * 0, 2, NET, X, Y, 0.1, 0.02, 2), r"^init must be a function"),
    (lambda: A.with_restarts(A.pgd_linf, lambda: X[:1], 2, NET, X, Y, 0.1, 0.02, 2),
     r"^init\(\) must have the shape of X"),
    (lambda: A.with_restarts(A.pgd_linf, lambda: X * 0, 0, NET, X, Y, 0.1, 0.02, 2), r"^restarts must"),
    (lambda: A.with_restarts(A.pgd_linf, lambda: X * 0, 2, NET, X, Y[:1], 0.1, 0.02, 2), r"^y must have shape"),
], ids=["loss-delta", "loss-y", "loss-loss_fn", "loss-model", "best-rank", "best-empty", "best-list",
        "restarts-attack", "restarts-init", "restarts-init-shape", "restarts-count", "restarts-y"])
def test_restart_helpers(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# --- evaluate ------------------------------------------------------------------------------


def _empty_loader():
    return _loader(X[:0], Y[:0])


@pytest.mark.parametrize("call,match", [
    (lambda: evaluate.tensor_loader(X, Y, 0), r"^batch_size must be an integer >= 1"),
    (lambda: evaluate.tensor_loader(X, Y, "10"), r"^batch_size must be an integer >= 1"),
    (lambda: evaluate.tensor_loader(X, Y, 2.5), r"^batch_size must be an integer >= 1"),
    (lambda: evaluate.tensor_loader(X * 255, Y), r"^X must hold pixels in \[0, 1\]"),
    (lambda: evaluate.tensor_loader(X, Y.float()), r"^y must be an integer torch.Tensor"),
    (lambda: evaluate.epoch_adversarial("dnn2", _loader(), evaluate.zero_attack), r"^model must"),
    (lambda: evaluate.epoch_adversarial(NET, 5, evaluate.zero_attack), r"^loader must be an iterable of \(X, y\)"),
    (lambda: evaluate.epoch_adversarial(NET, [X], evaluate.zero_attack), r"^loader must yield \(X, y\) pairs"),
    (lambda: evaluate.epoch_adversarial(NET, [{"X": X, "y": Y}], evaluate.zero_attack), r"^loader must yield"),
    (lambda: evaluate.epoch_adversarial(NET, _loader(y=torch.tensor([0, 5, 1])), evaluate.zero_attack),
     r"^y \(labels from the loader\) must hold class labels in 0 \.\. 4"),
    (lambda: evaluate.epoch_adversarial(NET, _loader(y=torch.tensor([0, 5, 1])), A.fgsm, 0.1),
     r"^y must hold class labels in 0 \.\. 4"),
    (lambda: evaluate.epoch_adversarial(NET, [(X, Y.float())], evaluate.zero_attack),
     r"^y \(labels from the loader\) must be an integer"),
    (lambda: evaluate.epoch_adversarial(NET, _loader(X=X * 2), evaluate.zero_attack),
     r"^X \(images from the loader\) must hold pixels in \[0, 1\]"),
    (lambda: evaluate.epoch_adversarial(NET, _empty_loader(), evaluate.zero_attack), r"^loader yielded no examples"),
    (lambda: evaluate.epoch_adversarial(NET, _loader(), "fgsm"), r"^attack must be a function"),
    (lambda: evaluate.epoch_adversarial(NET, _loader(), lambda m, X, y: X[:1]),
     r"^attack must return delta with the shape of X"),
    (lambda: evaluate.epoch_adversarial(NET, _loader(), evaluate.zero_attack, limit=0), r"^limit .* >= 1"),
    (lambda: evaluate.epoch_adversarial(NET, _loader(), evaluate.zero_attack, limit="10"), r"^limit"),
    (lambda: evaluate.epoch_adversarial(NET, _loader(), evaluate.zero_attack, limit=True), r"^limit"),
    (lambda: evaluate.epoch_adversarial(NET, _loader(), evaluate.zero_attack, progress="no"),
     r"^progress must be True or False"),
    (lambda: evaluate.zero_attack(NET, [0.5], Y), r"^X must"),
    (lambda: records.attack_key("", "cnn", True), r"^attack must be a name"),
    (lambda: records.attack_key("fgsm/x", "cnn", True), r"^attack must be a name"),
    (lambda: records.attack_key("fgsm", None, True), r"^model must be a name"),
    (lambda: records.attack_key("fgsm", "cnn", "on"), r"^clamp must be True or False"),
    (lambda: records.attack_error("fgsm", "cnn", "off"), r"^clamp must be True or False"),
    (lambda: records.read(None), r"^name must be a record's name"),
    (lambda: records.write("attack_errors", [1, 2]), r"^record must be a dict"),
    (lambda: evaluate.comparison_table("fgsm", {"dnn2": {False: 1.5}}, {"dnn2": 10}), r"^live\['dnn2'\] must map"),
    (lambda: evaluate.comparison_table("fgsm", {"dnn2": {"off": 0.5}}, {"dnn2": 10}), r"^live\['dnn2'\] must map"),
    (lambda: evaluate.comparison_table("fgsm", {"dnn2": {False: 0.5}}, {}), r"^n_live\['dnn2'\]"),
    (lambda: evaluate.comparison_table("fgsm", [0.5], {}), r"^live must be"),
])
def test_evaluate_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize("content", ["{not json", "[1, 2]", ""])
def test_corrupt_record_file_is_named(tmp_path, monkeypatch, content):
    path = tmp_path / "attack_errors.json"
    path.write_text(content)
    monkeypatch.setattr(config, "asset", lambda *parts: tmp_path.joinpath(*parts[1:]))
    with pytest.raises(ValueError, match=rf"^{path} .*(JSON|object)"):
        records.read("attack_errors")


@pytest.mark.parametrize("argv,option", [(["--models", "resnet"], "--models"), (["--n", "0"], "--n"),
                                         (["--n", "20000"], "--n"), (["--n", "ten"], "--n"),
                                         (["--batch-size", "-1"], "--batch-size"), (["--attacks", "cw"], "--attacks"),
                                         (["--clamp", "maybe"], "--clamp")])
def test_evaluate_cli_rejects_bad_options(argv, option, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["evaluate", *argv])
    assert exc.value.code == 2
    assert f"error: argument {option}" in capsys.readouterr().err


# --- data --------------------------------------------------------------------------------------


def _idx(path, magic, dims, payload, compress=True):
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in dims)
    with (gzip.open if compress else open)(path, "wb") as fh:
        fh.write(header + payload)
    return path


def test_label_byte_out_of_range_is_named(tmp_path):
    payload = bytearray(np.arange(10, dtype=np.uint8).tolist() * 3)
    payload[17] = 200
    path = _idx(tmp_path / "t10k-labels-idx1-ubyte.gz", 2049, [30], bytes(payload))
    with pytest.raises(MNISTError, match=rf"{path} holds label 200 at item 17, but MNIST labels are 0..9"):
        data.read_idx(path, 2049, 30)


def test_label_byte_out_of_range_in_a_full_copy(tmp_path):
    """The whole loader on a copy of the test set whose label file has one bad byte."""
    src = data.find_mnist()
    for stem in ("t10k-images-idx3-ubyte", "train-images-idx3-ubyte", "train-labels-idx1-ubyte"):
        (tmp_path / f"{stem}.gz").symlink_to(src / f"{stem}.gz")
    with gzip.open(src / "t10k-labels-idx1-ubyte.gz") as fh:
        raw = bytearray(fh.read())
    raw[8 + 123] = 200
    with gzip.open(tmp_path / "t10k-labels-idx1-ubyte.gz", "wb") as fh:
        fh.write(bytes(raw))
    with pytest.raises(MNISTError, match=r"t10k-labels-idx1-ubyte.gz holds label 200 at item 123"):
        data.load_mnist("test", path=tmp_path)


def test_unreadable_and_corrupt_files_name_the_real_cause(tmp_path):
    with pytest.raises(MNISTError, match=r"missing-idx cannot be read \(No such file or directory\)"):
        data.read_idx(tmp_path / "missing-idx", 2049, 3)
    with pytest.raises(MNISTError, match=r"cannot be read \(Is a directory\)"):
        data.read_idx(tmp_path, 2049, 3)
    good = gzip.compress((2049).to_bytes(4, "big") + (3000).to_bytes(4, "big") + bytes(range(10)) * 300)
    corrupt = bytearray(good)
    corrupt[len(good) // 2: len(good) // 2 + 8] = b"\xff" * 8  # damage the deflate stream
    path = tmp_path / "labels.gz"
    path.write_bytes(bytes(corrupt))
    with pytest.raises(MNISTError, match=r"labels.gz is truncated or not a valid gzip file"):
        data.read_idx(path, 2049, 3000)
    path.write_bytes(b"plain text, not gzip")
    with pytest.raises(MNISTError, match=r"labels.gz is truncated or not a valid gzip file"):
        data.read_idx(path, 2049, 3000)


@pytest.mark.parametrize("call,match", [
    (lambda p: data.read_idx(5, 2049, 3), r"^path must be a path"),
    (lambda p: data.read_idx(p, 1234, 3), r"^magic must be 2051 \(images\) or 2049 \(labels\)"),
    (lambda p: data.read_idx(p, "2049", 3), r"^magic must be"),
    (lambda p: data.read_idx(p, 2049, 0), r"^count must be an integer >= 1"),
    (lambda p: data.read_idx(p, 2049, "10"), r"^count must be an integer >= 1"),
    (lambda p: data.candidate_dirs(5), r"^path must be a path"),
    (lambda p: data.find_mnist(5), r"^path must be a path"),
    (lambda p: data.find_mnist(download="no"), r"^download must be True or False"),
    (lambda p: data.download_mnist(5), r"^folder must be a path"),
    (lambda p: data.download_mnist(p, mirrors="http://example.org/"), r"^mirrors must be a non-empty list"),
    (lambda p: data.download_mnist(p, mirrors=[]), r"^mirrors must be a non-empty list"),
    (lambda p: data.download_mnist(p, mirrors=[5]), r"^mirrors must be a non-empty list"),
    (lambda p: data.load_mnist("validation"), r"^split must be one of \['test', 'train'\]"),
    (lambda p: data.load_mnist(None), r"^split must be one of"),
    (lambda p: data.load_mnist(["test"]), r"^split must be one of"),
    (lambda p: data.load_mnist("test", path=5), r"^path must be a path"),
    (lambda p: data.load_mnist("test", download="yes"), r"^download must be True or False"),
    (lambda p: data.mnist_loaders(batch_size=0), r"^batch_size must be an integer >= 1"),
    (lambda p: data.mnist_loaders(batch_size="100"), r"^batch_size must be an integer >= 1"),
    (lambda p: data.mnist_loaders(batch_size=2.5), r"^batch_size must be an integer >= 1"),
    (lambda p: data.mnist_loaders(seed=-1), r"^seed must be an integer >= 0"),
    (lambda p: data.mnist_loaders(seed="0"), r"^seed must be an integer >= 0"),
    (lambda p: data.eval_subset(0), r"^n must be between 1 and 10000"),
    (lambda p: data.eval_subset(10_001), r"^n must be between 1 and 10000"),
    (lambda p: data.eval_subset("7"), r"^n must be between 1 and 10000"),
    (lambda p: data.eval_subset(7.5), r"^n must be between 1 and 10000"),
    (lambda p: data.eval_subset(True), r"^n must be between 1 and 10000"),
])
def test_data_arguments(tmp_path, call, match):
    with pytest.raises(ValueError, match=match):
        call(tmp_path)


def test_a_file_given_as_the_folder(tmp_path):
    path = tmp_path / "file.txt"
    path.write_text("x")
    with pytest.raises(MNISTError, match=r"does not hold the four MNIST files"):
        data.load_mnist("test", path=path)


# --- train --------------------------------------------------------------------------------------


@pytest.mark.parametrize("call,match", [
    (lambda: train.epoch(_loader(), "small"), r"^model must be a torch.nn.Module"),
    (lambda: train.epoch(_loader(), nn.Flatten()), r"^model must have parameters"),
    (lambda: train.epoch(5, NET), r"^loader must be an iterable of \(X, y\)"),
    (lambda: train.epoch([X], NET), r"^loader must yield \(X, y\) pairs"),
    (lambda: train.epoch(_loader(y=torch.tensor([0, 12, 1])), NET), r"^y \(labels from the loader\) must hold class"),
    (lambda: train.epoch(_loader(y=torch.tensor([0, -1, 1])), NET), r"^y \(labels from the loader\) must hold class"),
    (lambda: train.epoch([(X, Y.float())], NET), r"^y \(labels from the loader\) must be an integer"),
    (lambda: train.epoch([(X * 3, Y)], NET), r"^X \(images from the loader\) must hold pixels"),
    (lambda: train.epoch(_empty_loader(), NET), r"^loader yielded no examples"),
    (lambda: train.epoch(_loader(), NET, opt="sgd"), r"^opt must be a torch.optim.Optimizer or None"),
    (lambda: train.epoch(_loader(), NET, progress="no"), r"^progress must be True or False"),
    (lambda: train.Recipe(lr=0), r"^lr must be a finite number > 0"),
    (lambda: train.Recipe(lr="0.1"), r"^lr must be a finite number"),
    (lambda: train.Recipe(lr=math.nan), r"^lr must be a finite number"),
    (lambda: train.Recipe(epochs=0), r"^epochs must be an integer >= 1"),
    (lambda: train.Recipe(epochs=2.5), r"^epochs must be an integer >= 1"),
    (lambda: train.Recipe(lr_drop_after=11), r"^lr_drop_after must be None or an epoch in 1..10"),
    (lambda: train.Recipe(lr_drop_after=0), r"^lr_drop_after must be an integer >= 1"),
    (lambda: train.Recipe(seed=-1), r"^seed must be an integer >= 0"),
    (lambda: train.train_regression(seed="0"), r"^seed must be an integer >= 0"),
    (lambda: train.train_regression(steps=-1), r"^steps must be an integer >= 0"),
    (lambda: train.train_regression(steps=2.5), r"^steps must be an integer >= 0"),
    (lambda: train.train_mnist("regression"), r"^name must be one of \['cnn', 'dnn2', 'dnn4', 'small'\]"),
    (lambda: train.train_mnist(None), r"^name must be one of"),
    (lambda: train.train_mnist("small", log="print"), r"^log must be a function"),
    (lambda: train.train_mnist("small", device="gpu"), r"^train_mnist\(device='gpu'\) must name a device"),
    (lambda: train.save_weights("small", "small"), r"^model must be a torch.nn.Module"),
    (lambda: train.save_weights(NET, "resnet"), r"^name must be one of"),
])
def test_train_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# --- surface ------------------------------------------------------------------------------------


@pytest.mark.parametrize("call,match", [
    (lambda: surface.activation_patterns(nn.Linear(1, 3), torch.zeros(2, 1)), r"^model must be an nn.Sequential"),
    (lambda: surface.activation_patterns("regression", torch.zeros(2, 1)), r"^model must be a torch.nn.Module"),
    (lambda: surface.activation_patterns(nn.Sequential(nn.Linear(1, 1)), torch.zeros(2, 1)),
     r"^model must contain at least one nn.ReLU"),
    (lambda: surface.activation_patterns(REG, torch.zeros(2, 1, dtype=torch.long)), r"^x must be a floating tensor"),
    (lambda: surface.activation_patterns(REG, torch.zeros(2)), r"^x must be a floating tensor .* shape \(n, \.\.\.\)"),
    (lambda: surface.activation_patterns(REG, torch.zeros(0, 1)), r"^x must be a floating tensor"),
    (lambda: surface.count_linear_pieces(REG, "a", 1.0), r"^lo must be a finite number"),
    (lambda: surface.count_linear_pieces(REG, -1.0, math.inf), r"^hi must be a finite number"),
    (lambda: surface.count_linear_pieces(REG, 1.0, -1.0), r"^hi must be greater than lo"),
    (lambda: surface.count_linear_pieces(REG, -1.0, 1.0, num=1), r"^num must be an integer >= 2"),
    (lambda: surface.count_linear_pieces(REG, -1.0, 1.0, num=100.0), r"^num must be an integer >= 2"),
    (lambda: surface.inner_max_1d(REG, "0.5", 0.1), r"^x0 must be a finite number"),
    (lambda: surface.inner_max_1d(REG, math.nan, 0.1), r"^x0 must be a finite number"),
    (lambda: surface.inner_max_1d(REG, 0.5, -0.1), r"^epsilon must be a finite number >= 0"),
    (lambda: surface.inner_max_1d(REG, 0.5, 0.1, num=1), r"^num must be an integer >= 2"),
    (lambda: surface.inner_max_1d(NET, 0.5, 0.1), r"^model must map inputs of shape \(n, 1\) to outputs \(n, 1\)"),
    (lambda: surface.inner_max_1d(nn.Linear(1, 2), 0.5, 0.1), r"^model must map inputs .* returned \(1, 2\)"),
    (lambda: surface.inner_max_1d("regression", 0.5, 0.1), r"^model must be a torch.nn.Module"),
])
def test_surface_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()
