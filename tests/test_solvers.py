"""Certificates only from proofs (course_utils.solvers): solvers that stop within a
tolerance of the optimum are refused, and every solver path honours its time limit or
refuses one."""

import math
import time

import pytest

from course_utils import solvers
from course_utils.data import eval_subset
from course_utils.models import load_model
from course_utils.solvers import check_solver, check_time_limit, installed_solvers, time_limit_options
from course_utils.verify import certify

APPROXIMATE = [s for s in ("OSQP", "SCS", "CLARABEL", "ECOS") if s in installed_solvers()]


@pytest.fixture(scope="module")
def small_and_image():
    X, y = eval_subset(1)
    return load_model("small"), X, int(y[0])


def test_a_first_order_solver_cannot_certify_a_near_tie(small_and_image):
    # OSQP stops within its tolerance of this LP's optimum, on the wrong side: it reported
    # +3.5e-6, "robust", where the exact optimum is -6.6e-6
    model, x, y = small_and_image
    exact = certify(model, x, y, 0.026171038418, "lp", targets=[9])[9]
    assert exact.status == "optimal" and -1e-5 < exact.value < 0 and exact.verdict == "unknown"
    with pytest.raises(ValueError, match="within a tolerance.*HIGHS"):
        certify(model, x, y, 0.026171038418, "lp", targets=[9], solver="OSQP")


@pytest.mark.parametrize("solver", APPROXIMATE)
@pytest.mark.parametrize("step", ["lp", "exact milp", "decide"])
def test_approximate_solvers_are_refused_by_every_solver_step(small_and_image, solver, step):
    model, x, y = small_and_image
    with pytest.raises(ValueError, match="proves nothing.*HIGHS"):
        certify(model, x, y, 0.02, step, solver=solver)


def test_the_installed_exact_solvers_are_accepted_and_named():
    assert check_solver("highs") == "HIGHS" and check_solver("SCIPY") == "SCIPY"
    missing = next(s for s in ("GUROBI", "SCIP", "CPLEX", "GLPK_MI", "CBC") if s not in installed_solvers())
    with pytest.raises(ValueError, match="not installed.*may certify: .*HIGHS"):
        check_solver(missing)
    with pytest.raises(ValueError, match="not installed"):
        check_solver("NO_SUCH_SOLVER")
    with pytest.raises(ValueError, match="solver name"):
        check_solver(3)


def test_an_exact_solver_without_integers_is_refused_for_a_milp(monkeypatch):
    # no installed solver is exact but LP-only; pretend Clarabel were one
    monkeypatch.setitem(solvers.EXACT_SOLVERS, "CLARABEL", None)
    assert check_solver("CLARABEL", integer=False) == "CLARABEL"
    with pytest.raises(ValueError, match="cannot solve mixed-integer"):
        check_solver("CLARABEL", integer=True)


@pytest.mark.parametrize("value", [0, -1.0, math.inf, math.nan, "10", True, [1]])
def test_bad_time_limits_are_named(value):
    with pytest.raises(ValueError, match="time_limit must be a number of seconds > 0, or None"):
        check_time_limit(value)


def test_no_time_limit_is_none_everywhere():
    assert check_time_limit(None) is None and check_time_limit(2) == 2.0
    assert time_limit_options("SCIPY", None) == {} and time_limit_options("GLPK_MI", None) == {}
    assert time_limit_options("SCIPY", 3.0) == {"scipy_options": {"time_limit": 3.0}}
    with pytest.raises(ValueError, match="cannot be given a time limit"):
        time_limit_options("GLPK_MI", 5.0)


@pytest.mark.parametrize("solver", ["HIGHS", "SCIPY"])
def test_every_solver_path_honours_its_time_limit(small_and_image, solver):
    # the exact MILP of target 0 at eps 0.1 takes HiGHS about 2 s and SciPy's HiGHS
    # (through cvxpy) about 30 s; at 0.2 s neither may run long or answer with a number
    model, x, y = small_and_image
    start = time.perf_counter()
    r = certify(model, x, y, 0.1, "exact milp", targets=[0], time_limit=0.2, solver=solver)[0]
    seconds = time.perf_counter() - start
    assert r.status in ("time_limit", "optimal_inaccurate") and r.value is None and r.verdict == "unknown"
    assert r.seconds < 2.0 and seconds < 15.0, (r.seconds, seconds)
