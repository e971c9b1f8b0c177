"""Exercises of notebook 01 (loss surfaces, the three ways, the model zoo)."""

from __future__ import annotations

import numbers

import torch
import torch.nn as nn

from ..models import load_model
from ..surface import count_linear_pieces, inner_max_1d
from .core import Exercise, NotYet, call, choice

_INTERVALS = ((-3.0, 3.0, 60_001), (0.0, 0.5, 5_001), (-3.0, -2.0, 2_001))


def _toy_net() -> nn.Sequential:
    """A seeded 1-6-6-1 ReLU net: few pieces, so an off-by-one shows."""
    gen = torch.Generator().manual_seed(1)
    net = nn.Sequential(nn.Linear(1, 6), nn.ReLU(), nn.Linear(6, 6), nn.ReLU(), nn.Linear(6, 1))
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=gen))
    return net


def _count_pieces(fn) -> str:
    cases = [("the regression net", load_model("regression", device="cpu"), *iv) for iv in _INTERVALS]
    cases.append(("a small random 1-6-6-1 net", _toy_net(), -3.0, 3.0, 6_001))
    for what, net, lo, hi, num in cases:
        got = call(fn, net, lo, hi, num, returns=(numbers.Real, torch.Tensor))
        if isinstance(got, torch.Tensor) and got.numel() == 1:
            got = got.item()
        if isinstance(got, bool) or not isinstance(got, (int, float)) or got != int(got):
            raise NotYet(f"count_pieces should return a whole number, got {got!r}",
                         "return int(...) of the number of pattern changes, plus one")
        want = count_linear_pieces(net, lo, hi, num)
        if got == want - 1:
            raise NotYet(f"on {what} over [{lo:g}, {hi:g}] you count {int(got)}, one fewer than the "
                         f"{want} pieces", "n changes of pattern cut the interval into n + 1 pieces")
        if got < want:
            raise NotYet(f"on {what} over [{lo:g}, {hi:g}] you count {int(got)} pieces, but there are {want}",
                         "record the on/off pattern after EVERY nn.ReLU layer, not only the first, "
                         "and compare the whole pattern of neighbouring points")
        if got > want:
            raise NotYet(f"on {what} over [{lo:g}, {hi:g}] you count {int(got)} pieces, but there are {want}",
                         "count grid steps where the pattern changes (any unit), once each, plus one")
    return "the same counts as course_utils.surface.count_linear_pieces on four intervals and two nets."


def _one_step_truth() -> str:
    """Which option of exercise 1.2 holds for the shipped regression net."""
    net = load_model("regression", device="cpu")
    starts = torch.linspace(-2.5, 2.5, 101).tolist()
    found = {}
    for eps in (0.01, 0.5):
        found[eps] = sum(r.f_best - r.f_grad < 1e-6 for r in (inner_max_1d(net, x, eps) for x in starts))
    if found[0.01] == found[0.5] == 101:
        return "a", found
    if found[0.01] <= 90:
        return "d", found
    return ("b" if 50 <= found[0.5] <= 90 else "c"), found


def _predict_one_step(answer) -> str:
    picked = choice(answer, ["a", "b", "c", "d"])
    truth, found = _one_step_truth()
    if picked != truth:
        hints = {"a": "a wide interval can contain a peak, or a higher point behind you: the slope at "
                      "x0 only describes the piece you stand on",
                 "c": "the network is monotone over many stretches of width 1, and there the gradient "
                      "still points to the highest end",
                 "d": "an interval of width 0.02 rarely holds more than one bend of the function"}
        raise NotYet("that is not what happens on this network", hints.get(picked, "run the cell below"))
    return (f"the step finds the maximum on {found[0.01]} of 101 points for ε = 0.01 and on "
            f"{found[0.5]} for ε = 0.5.")


def _explain_bounds(answer) -> str:
    picked = choice(answer, ["a", "b", "c"])
    if picked == "a":
        raise NotYet("a relaxation's −0.5 is a bound, not the margin of a point of the ball",
                     "an adversarial example needs a real point with a negative margin")
    if picked == "b":
        raise NotYet("an attack that fails proves nothing: a better attack might still succeed",
                     "the attack's 0.3 is an upper bound on the worst-case margin, not a lower one")
    return "the worst-case margin is bracketed, −0.5 ≤ m_t* ≤ 0.3, and its sign is still open."


NOTEBOOK = "01_loss_surfaces"
"""The notebook these exercises belong to."""

EXERCISES = {
    # the reference count_pieces runs the nets on 4 grids of up to 60,001 points: 0.2 s of CPU time,
    # but up to 3.0 s of wall time measured on 2 cores shared by ~15 busy processes: 30 s, not 10
    "1.1": Exercise("1.1", "count the linear pieces", "implement", _count_pieces, time_limit=30.0),
    "1.2": Exercise("1.2", "when is one gradient step enough?", "predict", _predict_one_step),
    "1.3": Exercise("1.3", "what do two bounds tell us?", "explain", _explain_bounds),
}
