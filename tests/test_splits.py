"""The MILP step's first try, branch and bound over ReLU phases on the LP relaxation
(``course_utils.splits``): its answers agree with the exact minima and with HiGHS's MILP,
its attacks are real, and a search out of budget says "unknown"."""

import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from course_utils.data import eval_subset
from course_utils.models import load_model
from course_utils.programs import HighsProgram, build_program
from course_utils.splits import phase_tree, split_search
from course_utils.verify import _network_margin, certify, lp_cuts, milp, verification_problem

from test_verify import example


@settings(max_examples=12, deadline=None)
@given(kind=st.sampled_from(["fc", "conv"]), seed=st.integers(0, 10_000))
def test_split_search_agrees_with_the_exact_minima(kind, seed):
    model, x, y, eps = example(kind, seed)
    exact = certify(model, x, y, eps, "exact milp")
    p = verification_problem(model, x, y, eps)
    for r in exact.results:
        if abs(r.value) < 1e-6:
            continue                                   # a tie: either answer is right
        p.relaxation.set_logit_objective(p.column(r.target))
        answer, point, nodes = split_search(p.relaxation, _network_margin(p, r.target), max_nodes=10_000)
        assert answer == ("robust" if r.value > 0 else "attacked"), (r.target, r.value, answer, nodes)
        if answer == "attacked":
            assert _network_margin(p, r.target)(point) <= 0
            lo, hi = p.flat_box
            assert np.all(point >= lo - 1e-9) and np.all(point <= hi + 1e-9)


@pytest.fixture(scope="module")
def small_image():
    X, y = eval_subset(25)
    return load_model("small"), X[24:25], int(y[24])


def test_the_milp_step_gives_the_same_verdicts_with_and_without_the_search(small_image):
    model, x, y = small_image
    p = verification_problem(model, x, y, 0.05)
    # as in decide: the targets the LP with cuts leaves open, the cuts kept in the relaxation
    open_ = [r.target for r in lp_cuts(p).results if r.verdict == "unknown"]
    searched = milp(p, open_)
    plain = milp(verification_problem(model, x, y, 0.05), open_, split_nodes=0)
    assert len(open_) >= 4
    assert [r.verdict for r in searched.results] == [r.verdict for r in plain.results]
    assert all(r.verdict != "unknown" for r in searched.results)


def test_a_search_out_of_budget_says_unknown_and_leaves_the_program_alone(small_image):
    model, x, y = small_image
    p = verification_problem(model, x, y, 0.1, targets=[0])
    program = p.relaxation
    program.set_logit_objective(p.column(0))
    before = program.solve().value
    answer, point, nodes = split_search(program, _network_margin(p, 0), max_nodes=2)
    assert before < 0 and answer == "unknown" and point is None and nodes == 2
    assert program.solve().value == pytest.approx(before, abs=1e-9)


def test_bad_input():
    model, x, y, eps = example("fc", 0)
    p = verification_problem(model, x, y, eps)
    mip = HighsProgram(build_program(p.net.matrices(), p.flat_box, p.tightened))
    with pytest.raises(ValueError, match="LP relaxation"):
        split_search(mip, _network_margin(p, p.targets[0]))
    with pytest.raises(ValueError, match="split_nodes"):
        milp(p, split_nodes=-1)


# --- the textbook search of notebook 06: the exact minimum and its tree --------------------------


def _tree(model, x, y, eps, target, **kw):
    p = verification_problem(model, x, y, eps, targets=[target])
    return phase_tree(p.net.matrices(), p.flat_box, p.tightened, p.column(target), **kw)


@settings(max_examples=10, deadline=None)
@given(kind=st.sampled_from(["fc", "conv"]), seed=st.integers(0, 10_000))
def test_phase_tree_finds_the_exact_minimum_and_its_tree_is_consistent(kind, seed):
    model, x, y, eps = example(kind, seed)
    exact = certify(model, x, y, eps, "exact milp")
    for r in exact.results:
        tree = _tree(model, x, y, eps, r.target)
        assert tree.status == "optimal"
        assert tree.minimum == pytest.approx(r.value, abs=1e-4 * max(1.0, abs(r.value)))
        bounds = [b for _, _, b in tree.nodes]
        parents = set(tree.split())
        for k, (parent, _, bound) in enumerate(tree.nodes):
            if parent is not None:                 # fixing one more phase adds constraints: the bound rises
                assert bound >= bounds[parent] - 1e-6
            if k in parents:                       # split only while below the minimum (ties aside)
                assert bound <= tree.minimum + 1e-6
            elif k != tree.optimum and math.isfinite(bound):
                assert bound >= tree.minimum - 1e-6
        assert tree.depth(tree.optimum) == sum(v.size for v in
                                               HighsProgram(build_program(*_program_args(model, x, y, eps),
                                                                          relax=True)).program.v_cols)


def _program_args(model, x, y, eps):
    p = verification_problem(model, x, y, eps)
    return p.net.matrices(), p.flat_box, p.tightened


def test_phase_tree_on_the_chapters_example_and_its_limits(small_image):
    model, _, _ = small_image
    X, Y = eval_subset(1)
    x, y = X[:1], int(Y[0])
    tree = _tree(model, x, y, 0.02, 3)
    # notebook 06's picture: 15 binaries, 57 LPs, the minimum certify finds
    assert (tree.status, tree.lps, tree.depth(tree.optimum)) == ("optimal", 57, 15)
    assert tree.minimum == pytest.approx(certify(model, x, y, 0.02, "exact milp", targets=[3])[3].value, abs=1e-3)
    short = _tree(model, x, y, 0.02, 3, max_lps=10)
    assert short.status == "lp limit" and short.minimum is None and short.optimum is None and short.lps <= 10
    with pytest.raises(ValueError, match="max_lps must be an integer >= 1"):
        _tree(model, x, y, 0.02, 3, max_lps=0)
    p = verification_problem(model, x, y, 0.02, targets=[3])
    wrong = [(l, u) for l, u in p.tightened]
    wrong[1] = (wrong[1][0] + 1e3, wrong[1][1] + 2e3)              # bounds no input meets
    with pytest.raises(RuntimeError, match="not valid bounds"):
        phase_tree(p.net.matrices(), p.flat_box, wrong, p.column(3))
