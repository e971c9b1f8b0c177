"""Exercises of notebook 01 (loss surfaces, the three sides, the model zoo).

Every grader computes its reference first, on its own objects, and hands the learner's
function fresh copies (a model, an image, a direction), so nothing the learner's code does
to its inputs can change what it is compared with.
"""

from __future__ import annotations

import copy
import numbers
from functools import lru_cache

import torch

from ..data import eval_subset
from ..models import load_model
from ..surface import activation_patterns, count_linear_pieces, inner_max_1d
from ..train import train_regression
from .core import Exercise, NotYet, call, multiple_choice

# --- 1.1: pieces along a segment through an image's ball -----------------------------------


def _segment_cases():
    """``(what, model, x, d, num)``: two networks, a corner-to-corner direction (every entry
    ±ε, seeded) and one of mixed sizes, fine and coarse grids; chosen so that each usual slip
    gives another count than the right one."""
    X, _ = eval_subset(3)
    gen = torch.Generator().manual_seed(0)
    corner = (torch.randint(0, 2, X[:1].shape, generator=gen) * 2 - 1).float()
    mixed = torch.rand(X[:1].shape, generator=gen) - 0.5
    small, dnn4 = load_model("small", device="cpu"), load_model("dnn4", device="cpu")
    return [("the small net, test image 2, ε = 0.3", small, X[2:3], 0.3 * corner, 201),
            ("the small net, test image 2, a direction of mixed sizes", small, X[2:3], 0.4 * mixed, 61),
            ("dnn4, test image 2, ε = 0.1", dnn4, X[2:3], 0.1 * corner, 101)]


def _changes(patterns: torch.Tensor) -> int:
    return int((patterns[1:] != patterns[:-1]).any(dim=1).sum())


def _segment_counts(model, x, d, num) -> dict:
    """The right count and the counts of the usual slips, for the hints."""
    s = torch.linspace(-1, 1, num).reshape(-1, 1, 1, 1)
    patterns = activation_patterns(model, x + s * d)
    half = activation_patterns(model, x + torch.linspace(0, 1, num).reshape(-1, 1, 1, 1) * d)
    first = patterns[:, :model[1].out_features]
    return {"right": _changes(patterns) + 1, "changes": _changes(patterns), "half": _changes(half) + 1,
            "first": _changes(first) + 1, "per unit": int((patterns[1:] != patterns[:-1]).sum()) + 1}


_SLIPS = {"changes": "n changes of the pattern cut the segment into n + 1 pieces",
          "half": "the segment runs from x − d to x + d: let the factor of d go from −1 to 1",
          "first": "record the pattern after EVERY nn.ReLU layer, not only the first",
          "per unit": "count the grid steps where the pattern changes (any unit), once each, plus one"}
"""A slip that explains every count a learner returned -> its hint."""


def _whole_number(got, name: str) -> int:
    if isinstance(got, torch.Tensor) and got.numel() == 1:
        got = got.item()
    if isinstance(got, bool) or not isinstance(got, numbers.Real) or got != int(got):
        raise NotYet(f"{name} should be a whole number of pieces, got {got!r}",
                     "return int(...) of the number of pattern changes, plus one")
    return int(got)


def _pieces_on_segment(fn) -> str:
    cases = _segment_cases()
    wants = [_segment_counts(model, x, d, num) for _, model, x, d, num in cases]
    gots = [_whole_number(call(fn, copy.deepcopy(model), x.clone(), d.clone(), num), "what pieces_on_segment returns")
            for _, model, x, d, num in cases]
    wrong = [(case[0], got, want) for case, got, want in zip(cases, gots, wants) if got != want["right"]]
    if not wrong:
        return (f"the same counts as course_utils.surface.activation_patterns on {len(cases)} segments "
                "of two networks.")
    what, got, want = wrong[0]
    where = f"on {what} you count {got} pieces, but there are {want['right']}"
    for slip, hint in _SLIPS.items():
        if all(g == w[slip] for g, w in zip(gots, wants)):
            raise NotYet(where, hint)
    raise NotYet(where, _SLIPS["per unit"] if got > want["right"] else
                 "evaluate the network at every point x + s·d, s evenly spaced in [−1, 1] (both ends "
                 "included), and compare the on/off patterns of neighbouring points")


# --- 1.2: predict how often one step finds the maximum ------------------------------------

STARTS, RADIUS, TOLERANCE = 101, 0.5, 12


@lru_cache(maxsize=1)
def _one_step_found() -> int:
    """On how many of the 101 starts in [-2.5, 2.5] one gradient-sign step of size 0.5
    reaches the maximum of the regression net over its interval (notebook 01)."""
    net = load_model("regression", device="cpu")
    starts = torch.linspace(-2.5, 2.5, STARTS).tolist()
    return sum(r.f_best - r.f_grad < 1e-6 for r in (inner_max_1d(net, x0, RADIUS) for x0 in starts))


def _predict_one_step(answer) -> str:
    found = _one_step_found()
    if isinstance(answer, bool) or not isinstance(answer, numbers.Real):
        raise NotYet(f"answer with a number of starting points (0 to {STARTS}), got {answer!r}")
    if 0 < answer < 1:
        raise NotYet(f"{answer} looks like a share", f"answer with a count of starting points out of {STARTS}")
    if answer > found + TOLERANCE:
        raise NotYet(f"{answer} is too many",
                     "an interval of width 1 often holds a peak inside it, or a higher point behind "
                     "you: the slope at x0 only describes the piece you stand on")
    if answer < found - TOLERANCE:
        raise NotYet(f"{answer} is too few",
                     "over many stretches of width 1 the network is monotone, and there the step "
                     "still reaches the highest end")
    return f"the step finds the maximum on {found} of {STARTS} starting points for ε = {RADIUS}."


_PREDICT_MODEL_ANSWER = (
    "Over an interval of width 0.02 the network is almost always on one piece, or on a few "
    "pieces sloping the same way, so the end the gradient points to is the highest point: the "
    "step almost always succeeds. Over an interval of width 1 the function turns: where it "
    "happens to be monotone the step still succeeds, but on about a third of the starting "
    "points a peak inside the interval, or a higher point on the other side, beats it. For an "
    "attack on an image this is the reason to take many small steps (notebook 3) rather than "
    "one large one (notebook 2).")

# --- 1.3: what two bounds say about the radius ----------------------------------------------

_explain_radius = multiple_choice(
    "c", "the balls are nested, so the worst-case margin can only fall as ε grows: "
         "0.03 < ε* ≤ 0.08.",
    {"a": ("an attack that fails at a radius proves nothing there",
           "a weaker attack may miss examples that exist at smaller radii: the attack's radius is "
           "only an upper end for ε*"),
     "b": ("a relaxation's bound is below the true worst-case margin, usually strictly",
           "the proof at 0.03 says m_t* > 0 there; the true margin may stay positive for larger ε"),
     "d": ("the balls are nested: the 0.03-ball lies inside every larger ball",
           "a point of a small ball is a point of every larger ball, so m_t* can only fall as ε grows")})

_RADIUS_MODEL_ANSWER = (
    r"The ball of radius $\epsilon$ contains the ball of every smaller radius, so the worst-case "
    r"margin $m_t^*(\epsilon)$ can only fall as $\epsilon$ grows. The proof at $0.03$ says "
    r"$m_t^*(0.03) > 0$, hence $m_t^*(\epsilon) > 0$ for every $\epsilon \le 0.03$: "
    r"$\epsilon^* > 0.03$. The attack's point is a valid image of the $0.08$-ball, so "
    r"$m_t^*(0.08) \le m_t < 0$: $\epsilon^* \le 0.08$. Neither fact says where in between "
    r"$\epsilon^*$ lies: a tighter relaxation can raise the lower end, a stronger attack lower "
    r"the upper end, and the MILP of notebook 6 finds the sign of $m_t^*$ at any radius.")

# --- 1.4: where the pieces come from ----------------------------------------------------------


@lru_cache(maxsize=1)
def _pieces_at_init_and_trained() -> tuple:
    """Linear pieces on [-3, 3] of the regression net (seed 0) before training, and of the
    shipped (trained) one."""
    return (count_linear_pieces(train_regression(seed=0, steps=0), -3.0, 3.0),
            count_linear_pieces(load_model("regression", device="cpu"), -3.0, 3.0))


def _investigate_pieces(answer) -> str:
    at_init, trained = _pieces_at_init_and_trained()
    got = _whole_number(answer, "your answer") if not isinstance(answer, (tuple, list)) else None
    if got is None:
        raise NotYet(f"answer with one count, the pieces of the untrained network, got {answer!r}")
    if got == at_init:
        return f"the untrained network has {at_init} linear pieces on [-3, 3]; the trained one {trained}."
    if got == trained:
        raise NotYet("that is the count of the trained network",
                     "build the untrained one: train.train_regression(steps=0), then count its pieces")
    if got == at_init - 1:
        raise NotYet("your count is one short", "n changes of the pattern cut [-3, 3] into n + 1 pieces")
    raise NotYet(f"{got} differs from a recomputation",
                 "count with count_linear_pieces(net, -3.0, 3.0) the network of train.train_regression(steps=0), "
                 "seed 0 (the chapter's)")


_PIECES_MODEL_ANSWER = (
    "About as many pieces before training as after. The irregular shape is not learned from the "
    "noise; it is what a deep ReLU network with random weights looks like. Each unit of the "
    "first layer switches at one point of the line, and every deeper unit switches wherever its "
    "input, itself piecewise linear, crosses zero, so every layer adds switch points of its "
    "own. Depth *can* multiply them (Montúfar et al., 2014, build networks that do), but with "
    "random weights the pieces along a line grow about as the number of units does (Hanin and "
    "Rolnick, 2019): 300 units, hundreds of pieces. A hundred small SGD steps on pure noise "
    "move the weights too little to change that.")


NOTEBOOK = "01_loss_surfaces"
"""The notebook these exercises belong to."""

EXERCISES = {
    "1.1": Exercise("1.1", "pieces along a line through an image's ball", "implement", _pieces_on_segment),
    "1.2": Exercise("1.2", "when is one gradient step enough?", "predict", _predict_one_step,
                    model_answer=_PREDICT_MODEL_ANSWER),
    "1.3": Exercise("1.3", "what two bounds say about the radius", "explain", _explain_radius,
                    model_answer=_RADIUS_MODEL_ANSWER),
    "1.4": Exercise("1.4", "where do the pieces come from?", "investigate", _investigate_pieces,
                    model_answer=_PIECES_MODEL_ANSWER),
}
