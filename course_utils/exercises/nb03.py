"""Exercises of notebook 03 (PGD: plain and normalised steps, random restarts)."""

from __future__ import annotations

import torch

from ..attacks import best_per_example, pgd, pgd_linf_rand, per_example_loss
from ..data import eval_subset
from ..models import load_model
from .core import Exercise, NotYet, call, choice, multiple_choice, tensor

_RESTARTS = 4


def _random_pgd(generator: torch.Generator):
    """A randomised attack for the grader: PGD from one uniform random start (5 short steps)."""
    def attack(model, X, y):
        return pgd_linf_rand(model, X, y, 0.1, 0.02, 5, 1, clamp=False, generator=generator)
    return attack


def _restarts(fn) -> str:
    model = load_model("dnn2", device="cpu")
    X, y = eval_subset(64)
    calls = []
    attack = _random_pgd(torch.Generator().manual_seed(1))

    def counted(*args):
        calls.append(1)
        return attack(*args)

    got = tensor(call(fn, counted, _RESTARTS, model, X, y), X.shape, "δ")
    if len(calls) != _RESTARTS:
        raise NotYet(f"with restarts={_RESTARTS} your function called the attack {len(calls)} times",
                     "call attack(model, X, y) exactly `restarts` times, once per restart")
    reference = _random_pgd(torch.Generator().manual_seed(1))
    candidates = torch.stack([reference(model, X, y) for _ in range(_RESTARTS)])   # (R, n, ...)
    losses = torch.stack([per_example_loss(model, X, y, d) for d in candidates])     # (R, n)
    matches = (candidates == got.unsqueeze(0)).flatten(2).all(dim=2)                # (R, n)
    if not matches.any(dim=0).all():
        raise NotYet("for some images your δ is none of the attack's results",
                     "for each image, return the δ of one of the runs (the best one), unchanged")
    got_loss = per_example_loss(model, X, y, got)
    best = losses.max(dim=0).values
    if torch.allclose(got_loss, best):
        return (f"per image the best of {_RESTARTS} runs on {len(y)} test images, as "
                "course_utils.attacks.best_per_example keeps it.")
    whole = [bool(matches[r].all()) for r in range(_RESTARTS)]
    if whole[int(losses.mean(dim=1).argmax())]:
        raise NotYet("you keep the run with the best mean loss for the whole batch",
                     "choose per image: compare the losses image by image, with reduction='none'")
    if whole[-1]:
        raise NotYet("you return the last run's δ for every image",
                     "compare each run's per-image loss with the best so far and keep the better δ")
    if any(whole):
        raise NotYet("you keep one run for the whole batch",
                     "choose per image: compare the losses image by image, with reduction='none'")
    raise NotYet("for some images you keep a run whose loss is not the highest",
                 "keep, per image, the δ with the HIGHEST cross-entropy loss "
                 "(the loss, not whether the image is misclassified)")


def _plain_small_step_truth():
    """What plain PGD with α = 0.01, 40 steps does to dnn2 on the first 100 test images."""
    model = load_model("dnn2", device="cpu")
    X, y = eval_subset(100)
    delta = pgd(model, X, y, 0.1, 1e-2, 40, clamp=False)
    at_edge = delta.abs() > 0.0999
    images = int(at_edge.flatten(1).any(dim=1).sum())
    share = float(at_edge.float().mean())
    if delta.abs().max() < 0.01:
        return "a", images, share
    return ("c" if share >= 0.5 else "b"), images, share


def _predict_plain(answer) -> str:
    picked = choice(answer, ["a", "b", "c"])
    truth, images, share = _plain_small_step_truth()
    if picked != truth:
        hints = {"a": "look at the largest per-image gradient scale of dnn2 in the table: "
                      "40 steps of 0.01 × g move such an image far",
                 "b": "run the cell below and compare with the table of gradient scales",
                 "c": "the median image's gradient is small: 40 steps of 0.01 × g barely move it"}
        raise NotYet("that is not what happens", hints[picked])
    return (f"{images} of 100 images reach ±ε somewhere, but only {share:.1%} of all pixels: one raw "
            "step size, very different distances.")


_explain_distance = multiple_choice(
    "a", "‖α·sign(g)‖∞ = α: one step moves a pixel by α, in the units of ε, whatever the gradient's scale.",
    {"b": ("that is not the reason", "the sign has entries ±1 whatever the gradient's size: it is not "
           "'larger', it is scale-free"),
     "c": ("that is not the reason", "the question is about units: how far does one step move a pixel?"),
     "d": ("that is not the reason", "after many steps δ would leave the box without the clip: the "
           "projection stays")})


NOTEBOOK = "03_pgd"
"""The notebook these exercises belong to."""

EXERCISES = {
    # the reference restarts run the grader's attack 4 times (5 PGD steps on 64 images): 0.05 s of
    # CPU time, but over 10 s of wall time measured on 2 cores shared by ~15 busy processes (torch's
    # two threads wait for each other): 60 s, not the 10 s default
    "3.1": Exercise("3.1", "random restarts around any attack", "implement", _restarts, time_limit=60.0),
    "3.2": Exercise("3.2", "plain PGD with α = 0.01 on dnn2", "predict", _predict_plain),
    "3.3": Exercise("3.3", "why normalised steps make α a distance", "explain", _explain_distance),
}
