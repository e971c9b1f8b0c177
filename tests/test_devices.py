"""Nothing in the verification half moves or changes the caller's model: no
``.to()``/``.cpu()``/``.cuda()``, its training mode as it was (also after an error
or an interrupt), its parameters and buffers untouched. Checked with a model that
records every such call, on the CPU and, where there is one, on a GPU."""

import copy

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from course_utils import bounds, certified, programs, verify
from course_utils.threat import linf_box

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


class Recorder(nn.Sequential):
    """An ``nn.Sequential`` that writes down every move and every mode change asked of it.
    Its call is PyTorch's own (``forward`` is not overridden: the verifiers refuse such a
    model, tests/test_model_guard.py); ``interrupt_inside`` makes it fail mid-run."""

    def __init__(self, *layers):
        super().__init__(*layers)
        self.calls = []

    def to(self, *args, **kwargs):
        self.calls.append(("to", args, kwargs))
        return super().to(*args, **kwargs)

    def cpu(self):
        self.calls.append(("cpu",))
        return super().cpu()

    def cuda(self, device=None):
        self.calls.append(("cuda", device))
        return super().cuda(device)

    def double(self):
        self.calls.append(("double",))
        return super().double()

    def float(self):
        self.calls.append(("float",))
        return super().float()

    def train(self, mode: bool = True):
        self.calls.append(("train", mode))
        return super().train(mode)



def interrupt_inside(model: Recorder, fail_at: int, monkeypatch) -> None:
    """Make the ``fail_at``-th call of the model's first Linear layer raise
    ``KeyboardInterrupt``, through ``torch.nn.functional.linear`` (which ``nn.Linear.forward``
    calls with the layer's own weight; the verifiers' own products use copies of it)."""
    real, weight, count = F.linear, model[1].weight, [0]

    def linear(input, w, bias=None):
        if w is weight:
            count[0] += 1
            if count[0] >= fail_at:
                raise KeyboardInterrupt("interrupted inside the model")
        return real(input, w, bias)
    monkeypatch.setattr(F, "linear", linear)


def recorder(device: str, training: bool) -> Recorder:
    torch.manual_seed(0)
    model = Recorder(nn.Flatten(), nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 6), nn.ReLU(), nn.Linear(6, 3))
    nn.Sequential.to(model, device)            # set up without recording
    nn.Sequential.train(model, training)
    model.calls.clear()
    return model


def state(model: nn.Module):
    return ({k: (v.detach().clone(), v.device, v.dtype, getattr(v, "requires_grad", None))
             for k, v in model.state_dict(keep_vars=True).items()}, [m.training for m in model.modules()])


def unchanged(model: Recorder, before) -> None:
    params, training = before
    now, now_training = state(model)
    assert now_training == training, f"layer modes left changed: {now_training} (were {training})"
    for k, (value, device, dtype, grad) in params.items():
        v, d, t, g = now[k]
        assert torch.equal(v, value) and d == device and t == dtype and g == grad, k
    assert all(p.grad is None for p in model.parameters())
    moves = [c for c in model.calls if c[0] != "train"]
    assert not moves, f"the model was moved: {moves}"
    # modes may be switched inside (eval for attacks and bounds) but every layer ends in its own
    # mode (checked above through ``state``: the package restores each layer's flag directly)


def image(device: str):
    g = torch.Generator().manual_seed(3)
    return torch.rand(1, 1, 4, 4, generator=g).to(device)


CALLS = {
    "interval": lambda m, x: verify.certify(m, x, 0, 0.1, "interval"),
    "crown": lambda m, x: verify.certify(m, x, 0, 0.1, "crown"),
    "lp": lambda m, x: verify.certify(m, x, 0, 0.1, "lp"),
    "lp+cuts": lambda m, x: verify.certify(m, x, 0, 0.1, "lp+cuts"),
    "milp": lambda m, x: verify.certify(m, x, 0, 0.1, "milp"),
    "exact milp": lambda m, x: verify.certify(m, x, 0, 0.1, "exact milp"),
    "targeted pgd": lambda m, x: verify.certify(m, x, 0, 0.1, "targeted pgd"),
    "decide": lambda m, x: verify.certify(m, x, 0, 0.1),
    "pgd_targets": lambda m, x: verify.pgd_targets(m, x, 0, [1, 2], 0.1),
    "tighten_bounds": lambda m, x: verify.tighten_bounds(m, tuple(t.double().cpu() for t in linf_box(x, 0.1))),
    "lp_cut_rounds": lambda m, x: verify.lp_cut_rounds(m, x, 0, 1, 0.1),
    "bound_propagation": lambda m, x: bounds.bound_propagation(m, linf_box(x, 0.1)),
    "linear_bounds": lambda m, x: bounds.linear_bounds(m, linf_box(x, 0.1)),
    "form_milp": lambda m, x: programs.form_milp(m, [1, -1, 0], linf_box(x.cpu().double(), 0.1),
                                                 bounds.bound_propagation(m, linf_box(x.cpu().double(), 0.1))),
    "bound_sandwich": lambda m, x: certified.bound_sandwich(m, x, 0, 1, [0.05]),
    "certified_accuracy": lambda m, x: certified.certified_accuracy(m, (x.expand(3, -1, -1, -1), torch.tensor(
        [0, 1, 2], device=x.device)), 0.1, progress=False),
}


@pytest.mark.parametrize("training", [False, True], ids=["eval", "train"])
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("call", list(CALLS))
def test_verification_neither_moves_nor_changes_the_model(call, device, training):
    model, x = recorder(device, training), image(device)
    before = state(model)
    CALLS[call](model, x)
    unchanged(model, before)


@pytest.mark.parametrize("call", ["targeted pgd", "decide", "exact milp", "certified_accuracy"])
def test_an_interrupt_inside_the_model_leaves_its_mode_as_it_was(call, monkeypatch):
    model, x = recorder("cpu", True), image("cpu")
    before = state(model)
    interrupt_inside(model, 5, monkeypatch)    # a few calls in: inside the attack's loop
    with pytest.raises(KeyboardInterrupt):
        CALLS[call](model, x)
    unchanged(model, before)


def test_a_model_it_cannot_verify_is_refused_before_it_is_run():
    # a BatchNorm in training mode would update its running statistics if it were run
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3)).train()
    before = copy.deepcopy(model.state_dict())
    with pytest.raises(NotImplementedError, match="layer 2 .BatchNorm1d"):
        verify.certify(model, image("cpu"), 0, 0.1, "interval")
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
