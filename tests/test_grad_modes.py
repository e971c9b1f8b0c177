"""The verification half inside ``torch.no_grad()`` and ``torch.inference_mode()`` (issue 19 §4).

The default cascade's alpha-CROWN step needs gradients (with respect to its slopes), as
the attacks do (with respect to the input): called inside either mode it crashed ("element
0 of tensors does not require grad"; under inference mode, "Inference tensors cannot be
saved for backward"). Every entry point of the verification half, the attacks it runs and
the widgets' compute functions must give inside each mode exactly what they give outside,
and leave the caller's mode as it was.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn as nn

from course_utils import widget_tables as wt
from course_utils.alpha import alpha_crown_bounds
from course_utils.bounds import objective_matrix
from course_utils.certified import METHODS, bound_sandwich, certified_accuracy
from course_utils.network import lower
from course_utils.threat import linf_box
from course_utils.verdicts import SOLVER_STEPS
from course_utils.verify import (DECIDE_STEPS, STEP_FUNCTIONS, certify, lp_cut_rounds, pgd_targets, tighten_bounds,
                                 verification_problem)

MODES = {"no_grad": torch.no_grad, "inference_mode": torch.inference_mode}
EPS = 0.05


def dense_net() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 12), nn.ReLU(), nn.Linear(12, 8), nn.ReLU(),
                         nn.Linear(8, 10)).eval()


def conv_net() -> nn.Sequential:
    torch.manual_seed(1)
    net = nn.Sequential(nn.Conv2d(1, 2, 7, stride=7), nn.ReLU(), nn.Flatten(), nn.Linear(32, 8), nn.ReLU(),
                        nn.Linear(8, 10)).eval()
    with torch.no_grad():
        for p in net.parameters():
            p.mul_(2.0)                 # (less smooth: CROWN leaves targets open at EPS)
    return net


NETS = {"dense": dense_net, "conv": conv_net}
FIRST = {"dense": 1, "conv": 0}
"""The test image put first: one whose default cascade reaches alpha-CROWN at ``EPS``."""


@pytest.fixture(scope="module", params=list(NETS))
def case(request, test_images):
    """A random net, three test images labelled as the net classifies them (the first one
    ``FIRST``), and targets of the first that the cascade leaves to alpha-CROWN: targeted PGD
    does not reach them and CROWN does not prove them."""
    net = NETS[request.param]()
    X = test_images[0][[FIRST[request.param], 2, 3]]
    with torch.no_grad():
        y = net(X).argmax(1)
    p = verification_problem(net, X[:1], int(y[0]), EPS)
    targets = [t for t, c, a in zip(p.targets, p.crown[1].tolist(), p.pgd_points[1].tolist()) if c <= 0 < a]
    assert targets, "no target left to alpha-CROWN: the test would not run it"
    return net, X, y, targets[:2]


def inside(mode: str, compute):
    """``compute()`` inside ``mode``; the caller's mode must be back afterwards."""
    with MODES[mode]():
        out = compute()
        assert not torch.is_grad_enabled()
        assert torch.is_inference_mode_enabled() is (mode == "inference_mode")
    return out


def answers(cert) -> list:
    return [(r.target, r.verdict, r.status, r.decided_by, r.value, r.bound, r.witness_objective) for r in cert.results]


@pytest.mark.parametrize("step", list(STEP_FUNCTIONS) + ["decide"])
def test_certify_inside_no_grad_and_inference_mode(case, step):
    net, X, y, targets = case
    options = {"time_limit": None} if step in SOLVER_STEPS + ("decide",) else {}
    run = lambda: certify(net, X[:1], int(y[0]), EPS, step, targets=targets, **options)
    expected = answers(run())
    for mode in MODES:
        assert answers(inside(mode, run)) == expected, mode


def test_certified_accuracy_and_bound_sandwich_inside_no_grad_and_inference_mode(case):
    net, X, y, targets = case
    drop = lambda d: {k: v for k, v in d.items() if k != "seconds"}
    methods = ("crown", "alpha-crown", "lp+cuts")         # (the MILP adds time, not another path)
    run = lambda: [drop(r.as_dict()) for r in certified_accuracy(net, (X[:2], y[:2]), EPS, methods, progress=False)]
    sandwich = lambda: bound_sandwich(net, X[:1], int(y[0]), targets[0], [EPS])
    expected = run(), sandwich()
    assert set(expected[0][0]["split"]) & {"alpha-crown", "lp+cuts", "unknown"}, \
        "no image left to alpha-CROWN: the test would not run it"
    for mode in MODES:
        assert inside(mode, run) == expected[0], mode
        assert inside(mode, sandwich) == expected[1], mode


@pytest.mark.parametrize("mode", list(MODES))
def test_the_lower_level_functions_inside_no_grad_and_inference_mode(case, mode):
    net, X, y, targets = case
    x, label, target = X[:1], int(y[0]), targets[0]
    box = lambda: tuple(t.double() for t in linf_box(x, EPS))      # made inside the mode, as a user would
    calls = {
        "pgd_targets": lambda: pgd_targets(net, x, label, targets, EPS),
        "alpha_crown_bounds": lambda: alpha_crown_bounds(lower(net, x.shape[1:], torch.float64), box(),
                                                         objective_matrix(label, 10), iterations=5),
        "tighten_bounds": lambda: tighten_bounds(net, box()),
        "lp_cut_rounds": lambda: lp_cut_rounds(net, x, label, target, EPS, rounds=2),
    }
    for name, call in calls.items():
        expected, got = call(), inside(mode, call)
        flat = lambda out: [np.asarray(t.detach() if isinstance(t, torch.Tensor) else t, dtype=float)
                            for t in _leaves(out)]
        for a, b in zip(flat(got), flat(expected), strict=True):
            assert np.array_equal(a, b), name


def _leaves(out):
    """The tensors and numbers of nested tuples and lists."""
    if isinstance(out, (tuple, list)):
        return [leaf for item in out for leaf in _leaves(item)]
    return [out]


def test_the_widgets_compute_functions_inside_no_grad_and_inference_mode(case):
    # (the widgets run no alpha-CROWN; their cascades at a smaller radius, to keep it short)
    net, X, y, targets = case
    drop = lambda d: {k: v for k, v in d.items() if k != "seconds"}
    rows = [lambda method=method: drop(wt.bound_row(net, X[:1], int(y[0]), 0.02, method, time_limit=None))
            for method in ("interval", "lp", "exact milp")]
    rows += [lambda: drop(wt.certified_row(net, X, y, 0.02, wt.WIDGET_CASCADE[-1], time_limit=None))]
    for row in rows:
        expected = row()
        for mode in MODES:
            assert inside(mode, row) == expected, mode


@pytest.mark.parametrize("mode", list(MODES))
def test_the_widgets_draw_inside_no_grad_and_inference_mode(case, mode):
    # a widget made inside a mode draws its first state there (an error there is raised)
    from course_utils.widgets import attack_widget, bound_comparison_widget, certified_widget, logit_bounds_widget
    net, X, y, targets = case
    models = {"net": net}
    made = inside(mode, lambda: [
        logit_bounds_widget(models, X, y, epsilon=EPS),
        bound_comparison_widget(models, X, y, epsilon=0.02, methods=("interval", "crown", "lp"), live=True,
                                n_images=1, time_limit=None),
        certified_widget(models, X, y, epsilon=0.02, method="lp+cuts", M=1, N=3, live=True, time_limit=None),
        attack_widget(models, X, y, attack="pgd_linf", epsilon=0.1, num_iter=5, M=1, N=3)])
    assert all(w.renders == 1 and w.last_error is None for w in made)


def test_the_default_cascade_has_the_step_that_needed_gradients():
    assert "alpha-crown" in DECIDE_STEPS and "alpha-crown" in METHODS
