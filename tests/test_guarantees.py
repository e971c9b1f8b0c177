"""A fuzz of the verification's guarantees (issue 15 §5) on random small fully connected
and convolutional ReLU networks and random boxes, every step on one problem:

    interval <= CROWN <= LP on CROWN's bounds <= LP on the tightened bounds <= LP+cuts
             <= exact MILP <= the objective at any point of the box (sampled, PGD's),
    the chapter's LP (interval bounds) between interval and the exact MILP,

for every target; the verdicts of "milp" and of ``decide`` (default steps, and every
step) equal the signs of the exact minima; every "robust" verdict of any step holds at
every sampled point; every "attacked" witness of any step lies in its box (inside [0, 1])
and, run through the model, really flips its margin (the label is the model's own
prediction at the centre, so the margin there is > 0).

The architectures (depth, widths, classes, kernel, stride, padding, dilation, groups,
dtype) and the boxes (centre, radius, pixels at 0 or 1) are drawn by Hypothesis under
the derandomised "course" profile (tests/conftest.py): the same cases on every run.
``test_guarantees_hold_on_many_random_networks`` (marked ``slow``, left out of
``make test``) draws many more: ``pytest -m slow tests/test_guarantees.py``.

The same networks dressed (issue 19; tests/model_dressings.py) in low precision
(bfloat16, float16), with forward hooks, pre-hooks or a global hook, as subclasses
overriding ``forward``, with ``forward`` set on the instance: each is refused by every
entry point tried, and its remedy (the hook removed, a plain ``nn.Sequential``, a float32
copy) is verified with every guarantee above. Dressed in ways that leave the model's
values alone (a subclass without a ``forward``, backward hooks), it is accepted and
verified as called.
"""

import math

import numpy as np
import pytest
import torch
import torch.nn as nn
from hypothesis import event, given, settings, strategies as st

from course_utils.bounds import bound_propagation, interval_based_bound, linear_bounds
from course_utils.certified import certified_accuracy
from course_utils.network import lower
from course_utils.programs import HighsProgram, build_program
from course_utils.threat import float64_box
from course_utils.verify import (certify, crown, decide, exact_milp, interval, lp, lp_cuts, milp, pgd_targets,
                                 targeted_pgd, verification_problem)
from model_dressings import ACCEPTED_DRESSINGS, DRESSINGS

TOL = 1e-5          # solver tolerances (HiGHS: 1e-7 primal/dual feasibility) and float32 logits
TIE = 1e-5          # a minimum this close to 0 may be decided either way
MAX_NEURONS = 80    # hidden ReLUs at most: every exact MILP then ends in well under a second


def _check_close_order(lower, upper, what, scale=1.0):
    assert lower <= upper + TOL * (1 + scale), f"{what}: {lower!r} > {upper!r}"


# --- random networks -------------------------------------------------------------------------


@st.composite
def fc_spec(draw):
    return dict(kind="fc", side=draw(st.integers(2, 4)),
                widths=draw(st.lists(st.integers(2, 9), min_size=1, max_size=3)),
                classes=draw(st.integers(2, 5)), bias=draw(st.booleans()),
                dtype=draw(st.sampled_from(["float32", "float64"])), seed=draw(st.integers(0, 2 ** 20)))


@st.composite
def conv_spec(draw):
    channels = draw(st.integers(1, 2))
    convs = []
    for _ in range(draw(st.integers(1, 2))):
        groups = draw(st.sampled_from([1, 2])) if channels == 2 else 1
        out = draw(st.sampled_from([2, 4] if groups == 2 else [1, 2, 3]))
        convs.append(dict(in_channels=channels, out_channels=out, kernel_size=draw(st.integers(1, 3)),
                          stride=draw(st.integers(1, 2)), padding=draw(st.integers(0, 1)),
                          dilation=draw(st.integers(1, 2)), groups=groups, bias=draw(st.booleans())))
        channels = out
    return dict(kind="conv", side=draw(st.integers(4, 6)), in_channels=convs[0]["in_channels"], convs=convs,
                widths=draw(st.lists(st.integers(2, 6), max_size=1)), classes=draw(st.integers(2, 4)),
                dtype=draw(st.sampled_from(["float32", "float64"])), seed=draw(st.integers(0, 2 ** 20)))


def build(spec) -> tuple:
    """``(model, input_shape)`` of a spec: a random ReLU network in eval mode."""
    torch.manual_seed(spec["seed"])
    if spec["kind"] == "fc":
        shape = (1, spec["side"], spec["side"])
        layers, n = [nn.Flatten()], spec["side"] ** 2
    else:
        shape = (spec["in_channels"], spec["side"], spec["side"])
        layers = []
        for options in spec["convs"]:
            layers += [nn.Conv2d(**options), nn.ReLU()]
        layers.append(nn.Flatten())
        try:
            with torch.no_grad():
                n = nn.Sequential(*layers)(torch.zeros(1, *shape)).shape[1]
        except RuntimeError:               # the kernel is larger than its (padded) input
            return None, shape
    for w in spec["widths"]:
        layers += [nn.Linear(n, w, bias=spec.get("bias", True)), nn.ReLU()]
        n = w
    layers.append(nn.Linear(n, spec["classes"]))
    model = nn.Sequential(*layers).to(getattr(torch, spec["dtype"])).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    if sum(lower(model, shape).widths) > MAX_NEURONS:
        return None, shape
    return model, shape


def random_image(model, shape, seed: int):
    """A centre (some pixels exactly 0 or 1, as in MNIST), a radius, and the model's own label."""
    g = torch.Generator().manual_seed(seed)
    dtype = next(model.parameters()).dtype
    x = torch.rand(1, *shape, generator=g, dtype=dtype)
    edge = torch.rand(1, *shape, generator=g) < 0.3
    x[edge] = (x[edge] > 0.5).to(dtype)
    eps = float(torch.tensor([0.002, 0.02, 0.05, 0.1, 0.2, 0.4])[int(torch.randint(6, (1,), generator=g))])
    with torch.no_grad():
        logits = model(x)[0]
    top = logits.topk(2).values
    return x, int(logits.argmax()), eps, float(top[0] - top[1])


# --- the checks --------------------------------------------------------------------------------


def sampled_objectives(p, n: int = 256, seed: int = 1) -> torch.Tensor:
    """``min over n points of the box (and its corners) of logit_y - logit_t``, per target."""
    l, u = p.box
    g = torch.Generator().manual_seed(seed)
    U = torch.rand(n, *l.shape[1:], generator=g, dtype=torch.float64)
    U[0], U[1] = 0, 1
    U[2:n // 2] = U[2:n // 2].round()                         # corners: the box's vertices
    X = (l + U * (u - l)).to(p.x.dtype)
    with torch.no_grad():
        logits = p.model(X).double()
    return (logits[:, [p.y]] - logits[:, p.targets]).min(0).values


def lp_on(p, pre_bounds, target: int) -> float:
    """The LP relaxation's minimum of ``logit_y - logit_target`` on the given hidden bounds."""
    program = HighsProgram(build_program(p.net.matrices(), p.flat_box, pre_bounds, relax=True))
    program.set_logit_objective(p.column(target))
    s = program.solve()
    assert s.status == "optimal", s.status
    return s.value


def check_witness(p, r, where: str) -> None:
    """An "attacked" answer: its witness is in the box (so in [0, 1]) and flips the model."""
    assert r.witness is not None, where
    w = r.witness.to(p.x.dtype)
    lo, hi = (t.to(p.x.dtype) for t in p.box)
    assert w.shape == p.x.shape, where
    assert (w >= lo).all() and (w <= hi).all(), f"{where}: witness outside the box"
    assert (w >= 0).all() and (w <= 1).all(), f"{where}: witness outside [0, 1]"
    with torch.no_grad():
        logits = p.model(w)[0].double()
    margin = float(logits[p.y] - logits[r.target])
    assert margin <= TOL, f"{where}: the witness leaves logit_y - logit_t = {margin:.3g} > 0"
    assert abs(margin - r.witness_objective) <= 1e-6 * (1 + abs(margin)), where


def check_guarantees(model, x, y, eps, margin) -> None:
    p = verification_problem(model, x, y, eps)
    sampled = sampled_objectives(p)
    crown_pre = [tuple(t[0].double().numpy() for t in pair) for pair in p.crown[0][:-1]]
    answers = {"interval": interval(p), "crown": crown(p), "lp": lp(p), "lp+cuts": lp_cuts(p, rounds=4),
               "milp": milp(p), "exact milp": exact_milp(p), "targeted pgd": targeted_pgd(p),
               "decide": decide(p), "decide, every step": decide(p, ("targeted pgd", "interval", "crown", "lp",
                                                                      "lp+cuts", "milp"))}
    chapter = interval_based_bound(model, p.C, bound_propagation(model, p.box))[0]
    for i, t in enumerate(p.targets):
        get = {name: cert[t] for name, cert in answers.items()}
        exact = get["exact milp"]
        assert exact.status == "optimal" and exact.value is not None, exact
        # "optimal" is within HiGHS's gap (1e-4 relative, 1e-6 absolute): the true minimum
        # lies in [lo, hi], lo proven (the dual bound), hi the objective at the witness
        lo, hi = exact.bound, exact.value
        gap = hi - lo
        assert 0 <= gap <= 1e-4 * abs(hi) + 1e-6 + 1e-9, (lo, hi)
        scale = abs(hi)
        what = f"target {t}"
        iv, cr = get["interval"].bound, get["crown"].bound
        assert iv == pytest.approx(chapter[i].item(), abs=1e-9)
        lp_crown, lp_tight = lp_on(p, crown_pre, t), lp_on(p, p.tightened, t)
        chain = [("interval", iv), ("crown", cr), ("lp on crown's bounds", lp_crown),
                 ("lp on tightened bounds", lp_tight), ("lp+cuts", get["lp+cuts"].bound),
                 ("exact milp (its point)", hi)]
        chain = [(name, value) for name, value in chain if value is not None]
        for (a, va), (b, vb) in zip(chain, chain[1:]):
            _check_close_order(va, vb, f"{what}: {a} <= {b}", scale)
        # the minimum is below the objective at every point of the box that anything found
        _check_close_order(exact.value, exact.witness_objective, f"{what}: the exact value is its witness's")
        for name, point_value in (("sampled", sampled[i].item()),
                                  ("targeted pgd", get["targeted pgd"].witness_objective)):
            _check_close_order(lo, point_value, f"{what}: exact milp (proven) <= {name}", scale)
        assert get["lp"].status == "optimal"
        _check_close_order(iv, get["lp"].value, f"{what}: interval <= lp", scale)
        _check_close_order(get["lp"].value, hi, f"{what}: lp <= exact milp", scale)
        if exact.verdict == "attacked":
            check_witness(p, exact, f"{what}, exact milp")
        for name, r in get.items():
            assert r.verdict in ("robust", "attacked", "unknown"), (name, r.verdict)
            if r.verdict == "robust":
                assert sampled[i] > 0 and hi > -TOL, f"{what}: {name} says robust, the minimum is in [{lo:.3g}, {hi:.3g}]"
            if r.verdict == "attacked":
                assert lo <= TOL, f"{what}: {name} says attacked, the minimum is in [{lo:.3g}, {hi:.3g}]"
                check_witness(p, r, f"{what}, {name}")
            if r.bound is not None:
                _check_close_order(r.bound, hi, f"{what}: {name}'s bound <= the minimum", scale)
        if lo > TIE or hi < -TIE:
            sign = "robust" if lo > 0 else "attacked"
            for name in ("milp", "decide", "decide, every step"):
                assert get[name].verdict == sign, f"{what}: {name} says {get[name].verdict}, the minimum is {lo:.3g}"
    assert margin > 0 or answers["decide"].verdict != "robust"


def run_case(spec, image_seed) -> None:
    model, shape = build(spec)
    if model is None:                      # no such network, or one too large
        event("skipped: the kernel is larger than the image, or too many neurons")
        return
    x, y, eps, margin = random_image(model, shape, image_seed)
    if margin <= 1e-6:                     # a tie at the centre: the label is ambiguous
        event("skipped: a tie at the centre")
        return
    check_guarantees(model, x, y, eps, margin)


# --- the tests --------------------------------------------------------------------------------


@settings(max_examples=110, deadline=None)
@given(spec=fc_spec(), image_seed=st.integers(0, 2 ** 20))
def test_guarantees_on_random_fully_connected_networks(spec, image_seed):
    run_case(spec, image_seed)


@settings(max_examples=110, deadline=None)
@given(spec=conv_spec(), image_seed=st.integers(0, 2 ** 20))
def test_guarantees_on_random_convolutional_networks(spec, image_seed):
    run_case(spec, image_seed)


@pytest.mark.slow
@settings(max_examples=1000, deadline=None)
@given(spec=st.one_of(fc_spec(), conv_spec()), image_seed=st.integers(0, 2 ** 20))
def test_guarantees_hold_on_many_random_networks(spec, image_seed):
    run_case(spec, image_seed)


# --- dressed networks: refused, or verified as called ------------------------------------------------

REFUSED_DRESSINGS = ("bfloat16", "float16", "forward hook", "layer forward pre-hook", "global forward hook",
                     "subclass forward", "layer subclass forward", "forward on the instance")


def refused_everywhere(model, x, y, eps, reason) -> None:
    """Every entry point tried refuses ``model`` with ``reason``, and runs nothing."""
    box = float64_box(x, eps)
    calls = (lambda: certify(model, x, y, eps), lambda: verification_problem(model, x, y, eps),
             lambda: certified_accuracy(model, (x, torch.tensor([y])), eps, progress=False),
             lambda: bound_propagation(model, box), lambda: linear_bounds(model, box),
             lambda: pgd_targets(model, x, y, [(y + 1) % 2], eps))
    for call in calls:
        with pytest.raises(ValueError, match=reason):
            call()


def own_label(model, x):
    """The model's prediction at ``x`` and its margin over the runner-up."""
    with torch.no_grad():
        logits = model(x.to(next(model.parameters()).dtype))[0].double()
    top = logits.topk(2).values
    return int(logits.argmax()), float(top[0] - top[1])


def run_dressed_case(spec, dressing, image_seed) -> None:
    model, shape = build(spec)
    if model is None or (dressing == "layer subclass forward" and not isinstance(model[-1], nn.Linear)):
        event("skipped: the kernel is larger than the image, or too many neurons")
        return
    x, y, eps, margin = random_image(model, shape, image_seed)
    if dressing in ACCEPTED_DRESSINGS:
        event(f"accepted and verified as called: {dressing}")
        with ACCEPTED_DRESSINGS[dressing](model) as dressed:
            if margin > 1e-6:
                check_guarantees(dressed, x, y, eps, margin)
        return
    event(f"refused, its remedy verified: {dressing}")
    dress, reason = DRESSINGS[dressing]
    with dress(model) as (dressed, remedy):
        refused_everywhere(dressed, x, y, eps, reason)
    fixed = remedy()
    y, margin = own_label(fixed, x)            # a float32 copy of a bfloat16 model may predict another class
    if margin > 1e-6:
        check_guarantees(fixed, x.to(next(fixed.parameters()).dtype), y, eps, margin)


@st.composite
def dressed_spec(draw):
    return (draw(st.one_of(fc_spec(), conv_spec())),
            draw(st.sampled_from(REFUSED_DRESSINGS + tuple(ACCEPTED_DRESSINGS))))


@settings(max_examples=40, deadline=None)
@given(case=dressed_spec(), image_seed=st.integers(0, 2 ** 20))
def test_guarantees_on_dressed_networks(case, image_seed):
    run_dressed_case(*case, image_seed)


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(case=dressed_spec(), image_seed=st.integers(0, 2 ** 20))
def test_guarantees_on_many_dressed_networks(case, image_seed):
    run_dressed_case(*case, image_seed)


@settings(max_examples=8, deadline=None)
@given(spec=st.one_of(fc_spec(), conv_spec()), image_seed=st.integers(0, 2 ** 20))
def test_certified_accuracy_verdicts_are_the_exact_minima_signs(spec, image_seed):
    # many images at once: certified_accuracy's verdicts (interval, CROWN, LP+cuts, MILP
    # per image) against the exact MILP of each image and target
    model, shape = build(spec)
    if model is None:
        return
    g = torch.Generator().manual_seed(image_seed)
    X = torch.rand(6, *shape, generator=g).to(next(model.parameters()).dtype)
    X[X < 0.15] = 0.0
    with torch.no_grad():
        logits = model(X)
    y = logits.argmax(1)
    y[0] = (y[0] + 1) % spec["classes"]                       # one misclassified image
    eps = 0.05
    (r,) = certified_accuracy(model, (X.float() if X.dtype == torch.float32 else X, y), eps, progress=False)
    for i in range(len(y)):
        if logits[i].argmax() != y[i]:
            assert r.verdict[i] == "attacked" and r.decided_by[i] == "misclassified"
            continue
        if float(logits[i].topk(2).values.diff().abs()) <= 1e-6:
            continue
        exact = exact_milp(verification_problem(model, X[i:i + 1], int(y[i]), eps))
        values = [t.value for t in exact.results]
        assert all(v is not None for v in values)
        if min(abs(v) for v in values) <= TIE:
            continue
        assert r.verdict[i] == ("robust" if min(values) > 0 else "attacked"), (i, values, r.verdict[i])
