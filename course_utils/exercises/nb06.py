"""Exercises of notebook 06 (exact verification by mixed-integer programming).

Each grader computes its reference first, on its own data, and hands the learner's code
fresh copies only (an answer that changes its inputs cannot change a later check)."""

from __future__ import annotations

import math
import numbers

import numpy as np

from .core import Exercise, NotYet, call, multiple_choice

# four unstable neurons (l < 0 < u) and fixed pre-activations, two on and two off
_L = np.array([-1.0, -2.0, -0.5, -1.5])
_U = np.array([2.0, 0.5, 1.0, 1.5])
_P = np.array([0.8, -1.2, 0.6, -0.3])
_ALPHAS = (0.1, 0.3)


def _constraints(fn, z, z_hat, v, alpha) -> list:
    """The learner's rows (on fresh copies of the bounds), checked to be cvxpy constraints."""
    import cvxpy as cp
    rows = call(fn, z, z_hat, v, _L.copy(), _U.copy(), alpha,
                returns=(list, tuple, cp.constraints.constraint.Constraint))
    if isinstance(rows, cp.constraints.constraint.Constraint):
        rows = [rows]
    if not isinstance(rows, (list, tuple)) or not all(isinstance(r, cp.constraints.constraint.Constraint)
                                                      for r in rows):
        raise NotYet("return a list of cvxpy constraints, such as [z >= z_hat, ...]",
                     "a comparison between cvxpy expressions (>=, <=, ==) is a constraint; "
                     "comparing numpy arrays gives booleans instead")
    return list(rows)


def _z_range(fn, v_fixed: np.ndarray, alpha: float):
    """Min and max of each z (the problem is separable) under the learner's rows with
    z_hat = _P and v = v_fixed: ``(status, z_min, z_max)``."""
    import cvxpy as cp
    n = len(_P)
    z, z_hat, v = cp.Variable(n), cp.Variable(n), cp.Variable(n)
    rows = _constraints(fn, z, z_hat, v, alpha)
    out = []
    for sense in (cp.Minimize, cp.Maximize):
        problem = cp.Problem(sense(cp.sum(z)), rows + [z_hat == _P, v == v_fixed, z >= -10, z <= 10])
        try:
            problem.solve(solver=cp.HIGHS)
        except (cp.error.SolverError, cp.error.DCPError) as e:
            raise NotYet(f"the solver could not handle your rows ({e})",
                         "use only linear constraints in z, z_hat and v (cp.multiply for an entrywise product)") from None
        if problem.status != "optimal":
            return problem.status, None, None
        out.append(np.asarray(z.value, float))
    return "optimal", out[0], out[1]


def _leaky_relu_bigm(fn) -> str:
    on = (_P > 0).astype(float)
    for alpha in _ALPHAS:
        want = np.maximum(alpha * _P, _P)                      # the reference, before the learner's code runs
        status, lo, hi = _z_range(fn, on, alpha)
        if status != "optimal":
            raise NotYet(f"with α = {alpha}, v = 1 where ẑ > 0 and v = 0 where ẑ < 0, your rows allow no z at all",
                         "check each row with v = 0 and with v = 1 by hand: v = 0 must allow z = αẑ whenever "
                         "ẑ ≤ 0, v = 1 must allow z = ẑ whenever ẑ ≥ 0; (1 - v) multiplies l, v multiplies u")
        tol, off = 1e-6, on == 0
        if np.any(np.abs(lo[off] - want[off]) > tol) and np.allclose(lo[off], 0, atol=tol):
            raise NotYet(f"with α = {alpha} your rows give z = 0 on a neuron that is off",
                         "the off piece of a leaky ReLU is z = α·ẑ, not 0: replace z >= 0 by z >= alpha * z_hat, "
                         "and let v = 0 bound z above by alpha * z_hat")
        if np.any(lo < want - tol):
            raise NotYet(f"with α = {alpha} your rows allow z below max(αẑ, ẑ)",
                         "a leaky ReLU is never below either piece: z >= z_hat and z >= alpha * z_hat")
        if np.any(hi[off] > want[off] + tol):
            raise NotYet(f"with α = {alpha} and v = 0 your rows allow z above αẑ",
                         "v = 0 must force the leaky piece: z <= alpha * z_hat + (1 - alpha) * u * v")
        if np.any(hi > want + tol):
            raise NotYet(f"with α = {alpha} and v = 1 your rows allow z above ẑ",
                         "v = 1 must force the identity: z <= z_hat - (1 - alpha) * l * (1 - v)")
        if _z_range(fn, 1 - on, alpha)[0] == "optimal":
            raise NotYet(f"with α = {alpha} and v opposite to the sign of ẑ your rows still allow some z",
                         "the binary must pick the branch: v = 0 only when ẑ ≤ 0, v = 1 only when ẑ ≥ 0")
    return (f"for α = {' and '.join(map(str, _ALPHAS))}, fixed ẑ and v, your rows allow only "
            "z = max(αẑ, ẑ), and a v of the wrong sign allows no z: an exact encoding.")


_LEAKY_ANSWER = r"""Off ($v = 0$): the rows read $z \ge \hat z$, $z \ge \alpha \hat z$,
$z \le \alpha \hat z$ and $z \le \hat z - (1 - \alpha) l$, so $z = \alpha \hat z$, which the
first row allows only when $\alpha \hat z \ge \hat z$, that is $\hat z \le 0$; the last row
holds because $\hat z \ge l$. On ($v = 1$): $z \ge \hat z$ and $z \le \hat z$ give
$z = \hat z$, which the second row allows only when $\hat z \ge 0$; the third row holds
because $\hat z \le u$. The constants $(1 - \alpha) u$ and $-(1 - \alpha) l$ are the gaps
between the two pieces at the ends of $[l, u]$: any larger ones are still exact but make
the relaxation looser. The ReLU is the case $\alpha = 0$."""


def _small_problem():
    """The small net, image 0 (its label), and the box at ε = 0.02 (float64)."""
    from ..data import eval_subset
    from ..models import load_model
    from ..threat import linf_box
    model = load_model("small", device="cpu")
    X, y = eval_subset(1)
    return model, X[:1], int(y[0]), tuple(t.double() for t in linf_box(X[:1], 0.02))


def _number(answer, what: str) -> float:
    if isinstance(answer, bool) or not isinstance(answer, numbers.Real) or not math.isfinite(float(answer)):
        raise NotYet(f"{what} must be a number, got {answer!r}", "write the number itself, e.g. answer = 1.23")
    return float(answer)


def _predict_loose(answer) -> str:
    from ..verify import certify
    model, x, label, _ = _small_problem()
    exact = certify(model, x, label, 0.02, "exact milp", targets=[3])[3]
    if exact.status != "optimal":
        raise NotYet(f"the reference MILP ended with status {exact.status}", "run the check again")
    guess = _number(answer, "answer")
    if abs(guess - exact.value) <= 0.01:
        return f"m_3* stays {exact.value:.3f}: looser bounds admit no new point of the program."
    if guess < exact.value:
        raise NotYet("the minimum does not drop", "with v binary the four rows are exactly z = max(0, ẑ) for ANY "
                     "valid l ≤ ẑ ≤ u: looser bounds weaken the relaxation, not the program")
    raise NotYet("the minimum does not rise either", "the program with looser bounds has exactly the same points "
                 "(z = max(0, ẑ) on each neuron): the same minimum as the one printed above")


_LOOSE_ANSWER = r"""$m_3^* \approx 5.40$, the value printed for the tight bounds. With $v$
binary the four rows are exactly $z = \max(0, \hat z)$ whatever valid bounds
$l \le \hat z \le u$ they use, so looser bounds admit no new point. What changes is the
relaxation: each unstable neuron's triangle grows, the relaxed minimum can only drop, and
the solver has to split more (exercise 6.4). That is why $l = -10^{100}$, $u = 10^{100}$
would be correct and useless."""


_two_networks = multiple_choice(
    "c", "m_0* > 0 is a proof about our network: logit 7 stays above logit 0 on the whole ball.", {
        "a": ("both can be right: the program is the same, the networks are not",
              "our weights come from another training run of the same recipe: a fact about one network "
              "says nothing about the other"),
        "b": ("robustness needs every target's minimum positive",
              "look at the table: which minima are negative at ε = 0.1?"),
        "d": ("no attack can find what does not exist",
              "m_0* > 0 is the exact minimum of z_7 - z_0 over the ball: no point has z_0 ≥ z_7"),
    })

_TWO_NETWORKS_ANSWER = r"""**c.** $m_0^* > 0$ says that $z_7 - z_0 > 0$ at every point of
our ball: no perturbation of size 0.1 lifts logit 0 to logit 7, whatever attack looks for
one (so not d). The chapter's network has other weights — the same recipe, another
training run — and for it such a point exists: both answers can be right (so not a).
Robustness of the image needs all nine minima positive, and five of ours are negative
(so not b)."""


def _investigate_loose(answer) -> str:
    from ..network import lower
    from ..splits import phase_tree
    from ..verify import tighten_bounds
    model, x, label, box = _small_problem()
    c = np.eye(10)[label] - np.eye(10)[3]
    tight = tighten_bounds(model, box)
    loose = [(np.where((l < 0) & (u > 0), 4 * l, l), np.where((l < 0) & (u > 0), 4 * u, u)) for l, u in tight]
    flat_box = tuple(t[0].reshape(-1).numpy() for t in box)
    layers = lower(model, x.shape[1:]).matrices()
    want, before = phase_tree(layers, flat_box, loose, c), phase_tree(layers, flat_box, tight, c)
    if want.status != "optimal" or before.status != "optimal":
        raise NotYet("the reference search did not finish", "run the check again")
    if not isinstance(answer, (tuple, list)) or len(answer) != 2:
        raise NotYet(f"answer must be a pair (number of LPs, minimum), got {answer!r}",
                     "answer = (len(tree), tree[best][2])")
    lps, minimum = _number(answer[0], "the number of LPs"), _number(answer[1], "the minimum")
    if abs(lps - want.minimum) < 0.01 and abs(minimum - want.lps) < 2:
        raise NotYet("the two numbers are swapped", "answer = (number of LPs, minimum), in that order")
    if abs(lps - before.lps) <= 1:
        raise NotYet(f"{int(lps)} LPs is the search on the tight bounds",
                     "build the relaxed program on loosen(tight02, 4), not on tight02, and search again")
    if abs(lps - want.lps) > max(2, 0.02 * want.lps):
        if abs(lps - len(want.split())) <= 1:
            raise NotYet("that is the number of nodes split", "count every LP: every node of the tree, len(tree)")
        raise NotYet(f"{lps:g} LPs is not what this search takes",
                     "run branch_and_bound(relaxed, v) on the relaxed program of loosen(tight02, 4) and count "
                     "len(tree)")
    if abs(minimum - want.minimum) > 1e-3:
        raise NotYet(f"{minimum:g} is not the minimum the search returns",
                     "the minimum is the bound of the node branch_and_bound returns: tree[best][2]")
    return (f"{want.lps} LPs instead of {before.lps}, for the same minimum {want.minimum:.3f} and the same "
            f"{before.depth(before.optimum)} binaries.")


_INVESTIGATE_ANSWER = r"""Four times looser bounds keep the same 15 binaries and the same
minimum — the rows are exact for any valid bounds (exercise 6.2) — but every node's bound
is weaker: each unstable neuron's triangle is scaled up by 4, the relaxation of every node
has more room, fewer nodes reach a bound at least the minimum, and more must be split:
several times as many LPs, for nothing. HiGHS pays the same way. That is one reason, not
the only one, why the chapter's program at $\epsilon = 0.1$ stopped without a proof: it had
interval bounds (its relaxed $m_2$ starts at $-26.4$, on tightened bounds at $-13.1$), but
also a binary on every neuron, no cutoff and five seconds. The three changes together make
the nine targets affordable."""


_layer_one = multiple_choice(
    "b", "a linear function over a box is minimised coordinate by coordinate, which is the interval rule.", {
        "a": ("exact bounds and stable neurons are different things",
              "layer 1 has unstable neurons at every radius above (their binaries were counted): the question "
              "is whether l and u are the true minimum and maximum"),
        "c": ("the size of the box does not matter",
              "the interval rule is exact for one linear layer on a box of any size: why?"),
        "d": ("layer 2's interval bounds are not exact",
              "compare layer 2's interval and tightened bounds above: the tightened ones are narrower, so the "
              "interval ones were not the true minimum and maximum"),
    })

_LAYER_ONE_ANSWER = r"""**b.** Layer 1's pre-activation $w^T x + b$ is a sum of terms
$w_j x_j$, and in the box each pixel $x_j$ moves in its own interval, independently of the
others. So the sum is least when every term is: $x_j$ at its lower end where $w_j > 0$, at
its upper end where $w_j < 0$ — the interval rule, at a corner of the box. After a ReLU this
fails: all of layer 1's activations depend on the same pixels, and the box of their
intervals holds combinations no input produces, so layer 2's interval bounds are loose (not
d). Exactness says nothing about stability (layer 1 has unstable neurons: not a) or about
the size of the box (not c)."""


NOTEBOOK = "06_milp"
"""The notebook these exercises belong to."""

EXERCISES = {
    "6.1": Exercise("6.1", "the big-M rows of a leaky ReLU", "implement", _leaky_relu_bigm,
                    model_answer=_LEAKY_ANSWER),
    "6.2": Exercise("6.2", "four times looser bounds", "predict", _predict_loose, model_answer=_LOOSE_ANSWER),
    "6.3": Exercise("6.3", "two networks, two answers", "explain", _two_networks, model_answer=_TWO_NETWORKS_ANSWER),
    "6.4": Exercise("6.4", "what loose bounds cost", "investigate", _investigate_loose,
                    model_answer=_INVESTIGATE_ANSWER),
    "6.5": Exercise("6.5", "why layer 1 needs no tightening", "explain", _layer_one, model_answer=_LAYER_ONE_ANSWER),
}
