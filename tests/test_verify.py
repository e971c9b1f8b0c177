"""Verification (course_utils.verify, course_utils.programs): interval <= LP <= MILP and
interval <= CROWN <= MILP <= any attack's objective on random small ReLU networks,
witnesses that replay, the chapter's cvxpy programs agreeing with the direct HiGHS
model, the decide cascade agreeing with the exact minima, and clear errors."""

import math

import numpy as np
import pytest
import torch
import torch.nn as nn
from hypothesis import given, settings, strategies as st

from course_utils.bounds import bound_propagation, linear_bounds, objective_matrix
from course_utils.programs import (HighsProgram, build_program, form_lp, form_milp, hull_cuts, solve_with_cuts)
from course_utils.solvers import solve_cvxpy
from course_utils.threat import linf_box
from course_utils.verify import (certify, decide, lp_cut_rounds, pgd_targets, tighten_bounds,
                                 verification_problem)
from course_utils.workers import worker_pool
from dense_unrolling import dense_layers

SHAPE = (1, 4, 4)
TOL = 1e-5


def fc_net(seed: int) -> nn.Sequential:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 6), nn.ReLU(),
                         nn.Linear(6, 3)).eval()


def conv_net(seed: int) -> nn.Sequential:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(1, 2, 3, stride=2, padding=1), nn.ReLU(), nn.Flatten(),
                         nn.Linear(8, 5), nn.ReLU(), nn.Linear(5, 3)).eval()


def example(kind: str, seed: int):
    model = fc_net(seed) if kind == "fc" else conv_net(seed)
    for p in model.parameters():
        p.requires_grad_(False)
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(1, *SHAPE, generator=g)
    eps = float(0.05 + 0.3 * torch.rand(1, generator=g))
    y = int(model(x).argmax())
    return model, x, y, eps


def objectives_at_samples(model, x, y, eps, n=256, seed=0):
    l, u = linf_box(x, eps)
    g = torch.Generator().manual_seed(seed)
    X = l + torch.rand(n, *SHAPE, generator=g) * (u - l)
    logits = model(X)
    return logits[:, [y]] - logits                      # (n, classes)


@settings(max_examples=8, deadline=None)
@given(kind=st.sampled_from(["fc", "conv"]), seed=st.integers(0, 10_000))
def test_interval_le_lp_le_milp_le_any_point(kind, seed):
    model, x, y, eps = example(kind, seed)
    interval = certify(model, x, y, eps, "interval")
    lp = certify(model, x, y, eps, "lp")
    milp = certify(model, x, y, eps, "exact milp")
    sampled = objectives_at_samples(model, x, y, eps).min(dim=0).values
    targets = [t for t in range(3) if t != y]
    _, pgd_obj = pgd_targets(model, x, y, targets, eps)
    _, crown = linear_bounds(model, tuple(t.double() for t in linf_box(x, eps)), objective_matrix(y, 3))
    assert certify(model, x, y, eps, "crown")[targets[0]].bound == pytest.approx(crown[0, targets[0]].item())
    for i, t in enumerate(targets):
        a, b, c = interval[t], lp[t], milp[t]
        assert b.status == "optimal" and c.status == "optimal"
        assert a.bound <= b.value + TOL
        assert b.value <= c.value + TOL
        # interval <= CROWN <= MILP (CROWN and the chapter's LP are not ordered: the LP
        # here uses interval bounds, CROWN its own tighter ones)
        assert a.bound <= crown[0, t].item() + TOL
        assert crown[0, t].item() <= c.value + TOL
        assert c.value <= sampled[t].item() + TOL
        assert c.value <= pgd_obj[i].item() + TOL
        # the MILP's optimum is attained at its witness, inside the box, on the real model
        lo, hi = linf_box(x, eps)
        assert (c.witness >= lo - 1e-7).all() and (c.witness <= hi + 1e-7).all()
        assert c.replay_error <= 1e-4
        assert abs(c.witness_objective - c.value) <= 1e-4
        # soundness of each verdict
        if c.verdict == "robust":
            assert sampled[t] > 0
        if a.verdict == "robust" or b.verdict == "robust":
            assert c.verdict == "robust"


@settings(max_examples=6, deadline=None)
@given(kind=st.sampled_from(["fc", "conv"]), seed=st.integers(0, 10_000))
def test_decide_agrees_with_the_exact_minima(kind, seed):
    model, x, y, eps = example(kind, seed)
    exact = certify(model, x, y, eps, "exact milp")
    decided = certify(model, x, y, eps, "decide")
    for r in exact.results:
        d = decided[r.target]
        if abs(r.value) < 1e-6:
            continue                                  # a tie: either answer is right
        assert d.verdict == ("robust" if r.value > 0 else "attacked")
        if d.verdict == "attacked":
            assert d.witness_objective <= 1e-6 and not d.flagged
        if d.bound is not None:
            assert d.bound <= r.value + TOL


def test_each_step_answers_for_every_target_with_its_own_name():
    model, x, y, eps = example("fc", 4)
    p = verification_problem(model, x, y, eps)
    for step in ("targeted pgd", "interval", "crown", "alpha-crown", "lp", "lp+cuts", "milp", "exact milp"):
        cert = certify(model, x, y, eps, step)
        assert [r.target for r in cert.results] == p.targets and cert.steps == (step,)
        assert {r.decided_by for r in cert.results} == {step}
        assert {r.verdict for r in cert.results} <= {"robust", "attacked", "unknown"}
    # a problem's bounds are computed once, whatever asks for them
    assert decide(p).verdict == certify(model, x, y, eps).verdict
    assert p.tightened is p.tightened and p.crown is p.crown


def test_pgd_targets_keeps_its_best_point_and_reports_the_models_objective():
    model, x, y, eps = example("fc", 9)
    targets = [t for t in range(3) if t != y]
    points, objective = pgd_targets(model, x, y, targets, eps, num_iter=20)
    lo, hi = linf_box(x, eps)
    assert (points >= lo - 1e-7).all() and (points <= hi + 1e-7).all()
    with torch.no_grad():
        logits = model(points)
        start = model(x)[0]
    rows = torch.arange(len(targets))
    assert torch.allclose(objective, logits[rows, y] - logits[rows, targets], atol=1e-6)
    # the best iterate is kept: never worse than the start (delta = 0)
    assert (objective <= start[y] - start[targets] + 1e-6).all()


def network_points(program, X) -> np.ndarray:
    """Every column of ``program`` at the real network's values for inputs ``X`` (n, ...)."""
    values = np.zeros((len(X), program.num_col))
    a = X.reshape(len(X), -1).double().numpy()
    values[:, program.x_cols] = a
    for k in range(program.num_hidden):
        W, b = program.layers[k]
        pre = a @ (W.toarray() if hasattr(W, "toarray") else W).T + b
        a = np.maximum(pre, 0)
        values[:, program.a_cols[k]] = a
        values[:, program.p_cols[k]] = pre[:, program.unstable[k]]
        values[:, program.v_cols[k]] = pre[:, program.unstable[k]] > 0
    return values


@settings(max_examples=8, deadline=None)
@given(kind=st.sampled_from(["fc", "conv"]), seed=st.integers(0, 10_000))
def test_hull_cuts_are_valid_and_tighten_the_lp_without_passing_the_milp(kind, seed):
    model, x, y, eps = example(kind, seed)
    p = verification_problem(model, x, y, eps)
    exact = certify(model, x, y, eps, "exact milp")
    lo, hi = linf_box(x, eps)
    X = lo + torch.rand(300, *SHAPE, generator=torch.Generator().manual_seed(seed)) * (hi - lo)
    for r in exact.results:
        program = HighsProgram(build_program(p.net.matrices(), p.flat_box, p.tightened, relax=True))
        program.set_logit_objective(p.column(r.target))
        plain = program.solve().value
        s, _, _ = solve_with_cuts(program, rounds=6, stop_above=math.inf, give_up=False)
        assert s.status == "optimal"
        assert plain - TOL <= s.value <= r.value + TOL       # LP <= LP + cuts <= MILP
        # every cut holds at every real point of the network (the columns it names)
        points = network_points(program.program, X)
        for cols, coefs, upper in program.cuts:
            assert (points[:, cols] @ coefs <= upper + 1e-6).all()


def test_hull_cuts_settle_targets_that_the_plain_lp_sends_to_the_milp():
    # first test images at eps 0.05: same verdicts with and without cuts, fewer MILPs with
    from course_utils.data import eval_subset
    from course_utils.models import load_model
    small_model = load_model("small")
    X, y = eval_subset(4)
    milps = {True: 0, False: 0}
    for i in range(4):
        with_cuts = certify(small_model, X[i:i + 1], int(y[i]), 0.05)
        without = certify(small_model, X[i:i + 1], int(y[i]), 0.05, cut_rounds=0)
        assert [r.verdict for r in with_cuts.results] == [r.verdict for r in without.results]
        milps[True] += sum(r.decided_by == "milp" for r in with_cuts.results)
        milps[False] += sum(r.decided_by == "milp" for r in without.results)
    assert milps[True] < milps[False], milps


@pytest.mark.parametrize("kind", ["fc", "conv"])
def test_cvxpy_programs_match_the_direct_highs_model(kind):
    model, x, y, eps = example(kind, 3)
    box = tuple(t.double() for t in linf_box(x, eps))
    bounds = bound_propagation(model, box)
    lp = certify(model, x, y, eps, "lp")
    exact = certify(model, x, y, eps, "exact milp")
    C = objective_matrix(y, 3).numpy()
    for t in (t for t in range(3) if t != y):
        for stable in (False, True):
            prob, (z, v) = form_milp(model, C[:, t], box, bounds, stable_binaries=stable)
            s = solve_cvxpy(prob, "HIGHS")
            assert s.status == "optimal" and s.value == pytest.approx(exact[t].value, abs=1e-4)
            prob, _ = form_lp(model, C[:, t], box, bounds, stable_binaries=stable)
            s = solve_cvxpy(prob, "HIGHS", integer=False)
            assert s.status == "optimal" and s.value == pytest.approx(lp[t].value, abs=1e-4)
        # the chapter's check: the MILP's last layer is the model's output at z[0]
        prob, (z, v) = form_milp(model, C[:, t], box, bounds)
        solve_cvxpy(prob, "HIGHS")
        with torch.no_grad():
            out = model(torch.tensor(z[0].value, dtype=torch.float32).reshape(1, *SHAPE))[0].numpy()
        assert np.abs(out - z[-1].value).max() < 1e-4


def test_tightened_bounds_are_sound_and_inside_the_interval_ones():
    model, x, y, eps = example("fc", 7)
    box = tuple(t.double() for t in linf_box(x, eps))
    pre = tighten_bounds(model, box)
    interval = bound_propagation(model, box)
    l, u = linf_box(x, eps)
    X = l + torch.rand(512, *SHAPE, generator=torch.Generator().manual_seed(0)) * (u - l)
    z = X
    k = 0
    for i, layer in enumerate(model):
        z = layer(z)
        if isinstance(layer, nn.Linear) and k < len(pre):
            lo, hi = pre[k]
            assert (torch.as_tensor(lo) <= z.double() + TOL).all() and (z.double() <= torch.as_tensor(hi) + TOL).all()
            assert (lo >= interval[i][0][0].numpy() - 1e-9).all() and (hi <= interval[i][1][0].numpy() + 1e-9).all()
            k += 1


def test_time_limit_gives_unknown_never_a_number():
    model, x, y, eps = example("fc", 11)
    cert = certify(model, x, y, 0.5, "exact milp", time_limit=1e-6)
    for r in cert.results:
        assert r.status in ("optimal", "time_limit")
        if r.status != "optimal":
            assert r.value is None and r.verdict == "unknown"


@pytest.mark.parametrize("epsilon", [-0.1, math.nan, math.inf, "a"])
def test_bad_epsilon(epsilon):
    model, x, y, _ = example("fc", 0)
    with pytest.raises(ValueError, match="epsilon"):
        certify(model, x, y, epsilon, "interval")


def test_bad_arguments_raise_clear_errors():
    model, x, y, eps = example("fc", 0)
    with pytest.raises(ValueError, match="step must be one of"):
        certify(model, x, y, eps, "exact")
    with pytest.raises(ValueError, match="x must"):
        certify(model, x * 3, y, eps, "interval")
    with pytest.raises(ValueError, match="batch dimension"):
        certify(model, torch.cat([x, x]), y, eps, "interval")
    for label in (7, 1.0, torch.tensor(1.5), True):
        with pytest.raises(ValueError, match="y must be an integer class label in 0..2"):
            certify(model, x, label, eps, "interval")
    for targets in ([y], [(y + 1) % 3, (y + 1) % 3], [], [5]):
        with pytest.raises(ValueError, match="targets must be|class label"):
            certify(model, x, y, eps, "interval", targets=targets)
    with pytest.raises(ValueError, match="cut_rounds"):
        certify(model, x, y, eps, cut_rounds=-1)
    with pytest.raises(TypeError, match="cut_rounds"):
        certify(model, x, y, eps, "interval", cut_rounds=2)            # an option the step does not have
    with pytest.raises(ValueError, match="steps"):
        certify(model, x, y, eps, steps=("targeted pgd", "bogus"))
    with pytest.raises(ValueError, match="'lp\\+cuts' needs solver='HIGHS'"):
        certify(model, x, y, eps, "lp+cuts", solver="SCIPY")
    with pytest.raises(ValueError, match="workers other than 1 need solver='HIGHS'"):
        certify(model, x, y, eps, "milp", solver="SCIPY", workers=2)
    with pytest.raises(NotImplementedError, match="layer 2 .Tanh"):
        certify(nn.Sequential(nn.Flatten(), nn.Linear(16, 4), nn.Tanh(), nn.Linear(4, 3)), x, 0, eps, "lp")


def test_direct_highs_still_solves_after_a_cvxpy_solve():
    # HiGHS has one scheduler per process; the direct model must not ask for another
    # thread count than the one cvxpy's HiGHS started it with.
    model, x, y, eps = example("fc", 5)
    box = tuple(t.double() for t in linf_box(x, eps))
    t = (y + 1) % 3
    prob, _ = form_milp(model, objective_matrix(y, 3).numpy()[:, t], box, bound_propagation(model, box))
    first = solve_cvxpy(prob, "HIGHS")
    r = certify(model, x, y, eps, "exact milp", targets=[t])[t]
    assert r.status == "optimal" and r.value == pytest.approx(first.value, abs=1e-4)


def test_another_exact_solver_gives_the_same_answers():
    # any other solver that may certify goes through the chapter's cvxpy programs
    model, x, y, eps = example("fc", 2)
    ours = certify(model, x, y, eps, "exact milp")
    other = certify(model, x, y, eps, "exact milp", solver="SCIPY")
    lp = certify(model, x, y, eps, "lp")
    lp_other = certify(model, x, y, eps, "lp", solver="SCIPY")
    decided = certify(model, x, y, eps, "decide", steps=("targeted pgd", "crown", "milp"), solver="SCIPY")
    for r in ours.results:
        assert other[r.target].value == pytest.approx(r.value, abs=1e-4)
        assert other[r.target].verdict == r.verdict == decided[r.target].verdict
        assert lp_other[r.target].value == pytest.approx(lp[r.target].value, abs=1e-4)


def test_a_lowered_convolution_gives_the_same_program_as_the_dense_one():
    model, x, y, eps = example("conv", 11)
    p = verification_problem(model, x, y, eps)
    pre = tighten_bounds(model, p.box, lp=False)
    values = []
    for layers in (p.net.matrices(), [(W.numpy(), b.numpy()) for _, W, b in dense_layers(model, SHAPE)]):
        program = HighsProgram(build_program(layers, p.flat_box, pre))
        row = []
        for t in p.targets:
            program.set_logit_objective(p.column(t))
            s = program.solve()
            assert s.status == "optimal"
            row.append(s.value)
        values.append(row)
    assert hasattr(p.net.matrices()[0][0], "toarray")                  # the convolution is sparse
    assert np.allclose(values[0], values[1], atol=1e-6)


def test_stop_at_attack_leaves_the_rest_skipped():
    from course_utils.data import eval_subset
    from course_utils.models import load_model
    X, y = eval_subset(1)
    cert = certify(load_model("small"), X, y, 0.1, stop_at_attack=True)
    assert cert.verdict == "attacked"
    assert sum(r.verdict == "attacked" for r in cert.results) >= 1
    skipped = [r for r in cert.results if r.verdict == "unknown"]
    assert skipped and all(r.status == "skipped" for r in skipped)
    assert not any(r.decided_by == "milp" for r in cert.results)     # PGD settled it: no MILP ran


def test_milps_in_worker_processes_agree_with_one_after_the_other():
    from course_utils.data import eval_subset
    from course_utils.models import load_model
    X, y = eval_subset(1)
    small = load_model("small")
    # without cuts image 0 needs two MILPs at eps 0.05 (targets 3 and 9)
    one = certify(small, X, y, 0.05, cut_rounds=0)
    two = certify(small, X, y, 0.05, workers=2, cut_rounds=0)
    assert sum(r.decided_by == "milp" for r in two.results) >= 2      # the parallel path ran
    assert [r.verdict for r in one.results] == [r.verdict for r in two.results]
    assert [r.decided_by for r in one.results] == [r.decided_by for r in two.results]
    with worker_pool(2) as pool:                                      # a pool the caller runs
        again = certify(small, X, y, 0.05, workers=pool, cut_rounds=0)
        assert [r.verdict for r in again.results] == [r.verdict for r in one.results]
    with pytest.raises(ValueError, match="workers"):
        certify(small, X, y, 0.05, workers=0)


def test_lp_cut_rounds_rise_and_stay_below_the_milp():
    model, x, y, eps = example("fc", 3)
    exact = certify(model, x, y, eps, "exact milp")
    for r in exact.results:
        values, cuts = lp_cut_rounds(model, x, y, r.target, eps, rounds=5)
        assert len(values) == len(cuts) + 1 and all(c > 0 for c in cuts)
        assert all(b >= a - TOL for a, b in zip(values, values[1:]))       # cuts only remove points
        assert values[-1] <= r.value + TOL
    with pytest.raises(ValueError, match="target"):
        lp_cut_rounds(model, x, y, y, eps)
    with pytest.raises(ValueError, match="rounds"):
        lp_cut_rounds(model, x, y, (y + 1) % 3, eps, rounds=-2)


def test_hull_cuts_do_not_depend_on_the_chunk_size():
    model, x, y, eps = example("conv", 5)
    p = verification_problem(model, x, y, eps)
    program = HighsProgram(build_program(p.net.matrices(), p.flat_box, p.tightened, relax=True))
    program.set_logit_objective(p.column(p.targets[0]))
    program.solve()
    point = program.column_values()
    whole = hull_cuts(program.program, point)
    chunked = hull_cuts(program.program, point, chunk_weights=1)        # one neuron at a time
    assert len(whole) == len(chunked) and len(whole) > 0
    for (c1, v1, u1), (c2, v2, u2) in zip(whole, chunked):
        assert (c1 == c2).all() and np.allclose(v1, v2) and u1 == pytest.approx(u2)
