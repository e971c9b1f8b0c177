"""Verdicts only about the model that was asked (issue 19): the verifiers refuse, by
name, every model whose call is not its list of layers or whose dtype they do not
compute in (``course_utils.guard``), every public entry point of the verification half
reaches that refusal, the box verified always contains the box asked for, and an
"attacked" verdict is always an attack on the model as called.

The dressings of tests/model_dressings.py turn a plain network into one the verifiers
must refuse; each comes with its remedy (the hook removed, a plain ``nn.Sequential``, a
float32 copy), which must be accepted again. tests/test_guarantees.py fuzzes the same
dressings on random networks.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import torch
import torch.nn as nn

from course_utils import bounds as B
from course_utils import certified as CE
from course_utils import guard as G
from course_utils import network as N
from course_utils import polytope as PT
from course_utils import programs as P
from course_utils import verify as V
from course_utils.alpha import alpha_crown_bounds
from course_utils.threat import float64_box, points_inside
from model_dressings import DRESSINGS, Gated, Named

SHAPE = (1, 4, 4)


def plain(seed: int = 0, dtype=torch.float32) -> nn.Sequential:
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Flatten(), nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 5)).to(dtype).eval()
    for p in net.parameters():
        p.requires_grad_(False)
    return net


X = torch.rand(3, *SHAPE, generator=torch.Generator().manual_seed(0))
x = X[:1]
BOX = float64_box(X, 0.1)
ONE = float64_box(x, 0.1)
C = B.objective_matrix(0, 5)


# --- the dressings (tests/model_dressings.py): each refused by name, its remedy accepted ----------


@pytest.mark.parametrize("dressing", list(DRESSINGS))
def test_each_dressing_is_refused_by_name_and_its_remedy_accepted(dressing):
    dress, reason = DRESSINGS[dressing]
    with dress(plain()) as (model, remedy):
        with pytest.raises(ValueError, match=reason):
            G.check_network(model)
        with pytest.raises(ValueError, match=reason):
            V.certify(model, x, 0, 0.1, "interval")
    fixed = remedy()
    assert G.check_network(fixed) is fixed
    assert V.certify(fixed, x, 0, 0.1, "crown").verdict in ("robust", "unknown")


def test_the_issues_defects_are_refused():
    # a gated subclass once declared robust at eps 0.01 while a point of the box was another class,
    # a hooked model robust at eps 0 while it misclassified the image itself
    torch.manual_seed(3)
    gated = Gated(nn.Flatten(), nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 3))
    with pytest.raises(ValueError, match="overrides forward"):
        V.certify(gated, x, 0, 0.01)
    hooked = plain()
    hooked.register_forward_hook(lambda m, a, out: -out)
    with pytest.raises(ValueError, match="forward hook"):
        V.certify(hooked, x, 0, 0.0)
    with pytest.raises(ValueError, match="torch.bfloat16"):
        V.certify(plain().bfloat16(), x, 0, 0.01)


# --- every entry point reaches the check --------------------------------------------------------


def _widget(name):
    def call(model):
        pytest.importorskip("ipywidgets")
        from course_utils import widgets
        return getattr(widgets, name)({"m": model}, X, torch.tensor([0, 1, 2]))
    return call


BOUNDS = B.bound_propagation(plain(), ONE)
ENTRY_POINTS = {
    "network.lower": lambda m: N.lower(m, SHAPE),
    "bound_propagation": lambda m: B.bound_propagation(m, BOX),
    "interval_based_bound": lambda m: B.interval_based_bound(m, C, BOUNDS),
    "linear_bounds": lambda m: B.linear_bounds(m, BOX, C),
    "crown_bounds": lambda m: B.crown_bounds(N.lower(m, SHAPE), BOX, C),
    "alpha_crown_bounds": lambda m: alpha_crown_bounds(N.lower(m, SHAPE), BOX, C),
    "verification_problem": lambda m: V.verification_problem(m, x, 0, 0.1),
    "verification_problem(net=)": lambda m: V.verification_problem(m, x, 0, 0.1, net=N.lower(plain(), SHAPE)),
    "certify": lambda m: V.certify(m, x, 0, 0.1),
    "certify exact milp": lambda m: V.certify(m, x, 0, 0.1, "exact milp"),
    "pgd_targets": lambda m: V.pgd_targets(m, x, 0, [1, 2], 0.1),
    "tighten_bounds": lambda m: V.tighten_bounds(m, ONE),
    "tighten_bounds(net=)": lambda m: V.tighten_bounds(m, ONE, net=N.lower(plain(), SHAPE)),
    "lp_cut_rounds": lambda m: V.lp_cut_rounds(m, x, 0, 1, 0.1),
    "certified_accuracy": lambda m: CE.certified_accuracy(m, (X, torch.tensor([0, 1, 2])), 0.1, progress=False),
    "bound_sandwich": lambda m: CE.bound_sandwich(m, x, 0, 1, [0.05]),
    "interval_certified": lambda m: CE.interval_certified(m, X, torch.tensor([0, 1, 2]), 0.1),
    "crown_certified": lambda m: CE.crown_certified(N.lower(m, SHAPE), X, torch.tensor([0, 1, 2]), 0.1),
    "alpha_crown_certified": lambda m: CE.alpha_crown_certified(N.lower(m, SHAPE), X, torch.tensor([0, 1, 2]), 0.1),
    "form_milp": lambda m: P.form_milp(m, np.ones(5), ONE, BOUNDS),
    "form_lp": lambda m: P.form_lp(m, np.ones(5), ONE, BOUNDS),
    "logit_bounds_widget": _widget("logit_bounds_widget"),
    "bound_comparison_widget": _widget("bound_comparison_widget"),
    "certified_widget": _widget("certified_widget"),
}
POLYTOPE = {
    "polytope.ball_image": lambda m: PT.ball_image(m, PT.TOY_X0, 0.6, 5),
    "polytope.output_box": lambda m: PT.output_box(m, PT.TOY_X0, 0.6),
    "polytope.lp_support": lambda m: PT.lp_support(m, PT.TOY_X0, 0.6, PT.unit_directions(4)),
    "polytope.adversarial_polytope": lambda m: PT.adversarial_polytope(m, resolution=5, num_directions=4),
}
REFUSED = {"forward hook": r"^(model|models\[.m.\]) has 1 forward hook",
           "subclass forward": r"subclass of nn.Sequential that overrides forward",
           "bfloat16": r"is torch.bfloat16: the verifiers compute in float64"}


@pytest.mark.parametrize("dressing", list(REFUSED))
@pytest.mark.parametrize("entry", list(ENTRY_POINTS) + list(POLYTOPE))
def test_every_entry_point_refuses(entry, dressing):
    dress, _ = DRESSINGS[dressing]
    call = ENTRY_POINTS.get(entry) or POLYTOPE[entry]
    with dress(plain() if entry in ENTRY_POINTS else PT.toy_network()) as (model, _):
        with pytest.raises(ValueError, match=REFUSED[dressing]) as refusal:
            call(model)
    if "widget" in entry:                         # refused when it is made, naming the model by its key
        assert "models['m']" in str(refusal.value)


def test_the_entry_points_accept_the_plain_models():
    # the refusals above are about the dressing: the same calls on the plain models run
    for name, call in ENTRY_POINTS.items():
        if "widget" not in name:
            call(plain())
    for call in POLYTOPE.values():
        call(PT.toy_network())


@pytest.mark.parametrize("step", list(V.STEP_FUNCTIONS) + ["decide"])
def test_a_hook_added_after_the_problem_was_made_is_refused_by_every_step(step):
    model = plain()
    p = V.verification_problem(model, x, 0, 0.1)
    handle = model.register_forward_hook(lambda m, a, out: -out)
    with pytest.raises(ValueError, match="forward hook"):
        (V.decide if step == "decide" else V.STEP_FUNCTIONS[step])(p)
    handle.remove()
    assert (V.decide if step == "decide" else V.STEP_FUNCTIONS[step])(p).results


# --- what is accepted, and verified correctly ----------------------------------------------------


def backward_hooked():
    model = plain()
    model.register_full_backward_hook(lambda m, grad_in, grad_out: None)
    model[1].register_full_backward_pre_hook(lambda m, grad_out: None)
    return model


def parametrized():
    from torch.nn.utils import parametrize

    class Doubled(nn.Module):
        def forward(self, w):
            return 2 * w
    model = plain()
    parametrize.register_parametrization(model[1], "weight", Doubled())
    return model


def chapter_flatten(body):
    namespace = {}
    exec(f"import torch.nn as nn\nclass Flatten(nn.Module):\n    def forward(self, inputs):\n        {body}\n",
         namespace)
    model = plain()
    model[0] = namespace["Flatten"]()
    return model


ACCEPTED = {
    "float32": plain, "float64": lambda: plain(dtype=torch.float64), "harmless subclass": lambda: Named(*plain()),
    "backward hooks": backward_hooked, "parametrized weight": parametrized,
    "chapter's Flatten": lambda: chapter_flatten("return inputs.view(inputs.shape[0], -1)"),
    "Flatten by reshape": lambda: chapter_flatten("return inputs.reshape(inputs.size(0), -1)"),
    "Flatten by flatten(1)": lambda: chapter_flatten("return inputs.flatten(1)"),
}


def sampled_margins(model, box, y: int, n: int = 400, seed: int = 0) -> torch.Tensor:
    """``logit_y - logit_t`` of the model as called at ``n`` points of the requested box
    (corners and random ones, put into it in the model's dtype): ``(n, classes)``."""
    lo, hi = box
    g = torch.Generator().manual_seed(seed)
    U = torch.rand(n, *lo.shape[1:], generator=g, dtype=torch.float64)
    U[: n // 2] = U[: n // 2].round()
    dtype = next(model.parameters()).dtype
    points, ok = points_inside(lo + U * (hi - lo), box, dtype)
    assert ok.all()
    with torch.no_grad():
        logits = model(points).double()
    return logits[:, [y]] - logits


@pytest.mark.parametrize("name", list(ACCEPTED))
def test_accepted_models_are_verified_as_called(name):
    model = ACCEPTED[name]()
    assert G.check_network(model) is model
    with torch.no_grad():
        y = int(model(x.to(next(model.parameters()).dtype)).argmax())
    for eps in (0.0, 0.02, 0.3):
        cert = V.certify(model, x, y, eps, "decide")
        margins = sampled_margins(model, float64_box(x, eps, outward=False), y)
        for r in cert.results:
            if r.verdict == "robust":
                assert (margins[:, r.target] > 0).all(), (name, eps, r)
            if r.verdict == "attacked":
                assert r.witness_objective <= 0 and r.witness.dtype == next(model.parameters()).dtype
                with torch.no_grad():
                    logits = model(r.witness)[0].double()
                assert float(logits[y] - logits[r.target]) == r.witness_objective <= 0


def test_a_hand_written_flatten_that_does_something_else_is_refused():
    for body in ("return -inputs.view(inputs.shape[0], -1)", "return inputs.view(-1, 16)",
                 "return inputs.flatten(2)", "return inputs[:, :1].reshape(inputs.shape[0], -1)"):
        with pytest.raises(ValueError, match=r"layer 0 \(Flatten\) of model is a Flatten, a subclass of nn.Module "
                                             r"that overrides forward"):
            G.check_network(chapter_flatten(body))
    # a forward of the chapter's shape on a layer that is not lowered as a Flatten
    model = plain()
    model[1] = type("Linear2", (nn.Linear,), {"forward": lambda self, x: x.flatten(1)})(16, 8)
    with pytest.raises(ValueError, match=r"layer 1 \(Linear2\) .* overrides forward"):
        G.check_network(model)


def test_one_logit_is_refused_by_name():
    one = nn.Sequential(nn.Flatten(), nn.Linear(16, 1))
    for call in (lambda: V.certify(one, x, 0, 0.1), lambda: V.pgd_targets(one, x, 0, [1], 0.1),
                 lambda: CE.certified_accuracy(one, (X, torch.zeros(3, dtype=torch.long)), 0.1, progress=False)):
        with pytest.raises(ValueError, match=r"^model must output at least 2 logits .* it outputs 1"):
            call()
    # the bounds themselves stay available for such a network (notebook 01's regression net)
    assert B.bound_propagation(one, ONE)[-1][0].shape == (1, 1)


# --- the box verified contains the box asked for; witnesses lie in it -----------------------------


def exact(t: torch.Tensor) -> list:
    return [Fraction(v) for v in t.double().reshape(-1).tolist()]


def assert_box_around(x: torch.Tensor, eps: float, box, inner) -> None:
    """``box`` contains, and ``inner`` lies in, {z : |z - x|∞ <= eps} ∩ [0, 1], exactly
    (rational arithmetic on the float values)."""
    e = Fraction(eps)
    for xi, lo, hi, li, ui in zip(exact(x), exact(box[0]), exact(box[1]), exact(inner[0]), exact(inner[1])):
        want_lo, want_hi = max(Fraction(0), xi - e), min(Fraction(1), xi + e)
        assert lo <= want_lo and hi >= want_hi, (xi, eps)
        assert want_lo <= li <= ui <= want_hi, (xi, eps)


EPSILONS = [0.0, 1e-9, 0.01, 0.05, 0.1, 1 / 3, 0.7, 1e308]


@pytest.mark.parametrize("x_dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
@pytest.mark.parametrize("model_dtype", [torch.float32, torch.float64])
def test_the_verified_box_contains_the_requested_box(x_dtype, model_dtype):
    g = torch.Generator().manual_seed(5)
    image = torch.rand(1, *SHAPE, generator=g, dtype=torch.float64)
    image[0, 0, 0, :2] = torch.tensor([0.0, 1.0])
    image = image.to(x_dtype)
    for eps in EPSILONS:
        p = V.verification_problem(plain(dtype=model_dtype), image, 0, eps)
        assert_box_around(image, eps, p.box, p.inner)
        assert p.x.dtype == model_dtype


def test_the_batched_steps_verify_boxes_that_contain_the_requested_ones(monkeypatch):
    seen = []
    for name in ("bound_propagation", "crown_bounds", "alpha_crown_bounds"):
        real = getattr(CE, name)
        monkeypatch.setattr(CE, name, lambda model, box, *a, real=real, **k:
                            seen.append(box) or real(model, box, *a, **k))
    images = torch.rand(4, *SHAPE, generator=torch.Generator().manual_seed(6), dtype=torch.float64)
    labels, net = torch.tensor([0, 1, 2, 3]), N.lower(plain(), SHAPE)
    for eps in (0.0, 0.03, 1 / 7):
        seen.clear()
        CE.interval_certified(plain(), images, labels, eps)
        CE.crown_certified(net, images, labels, eps)
        CE.alpha_crown_certified(net, images, labels, eps)
        assert len(seen) == 3
        for box in seen:
            assert_box_around(images, eps, box, float64_box(images, eps, outward=False))


def test_the_float16_box_no_longer_misses_the_requested_one():
    # issue 19: a float16 model was verified around its rounded input, missing the requested
    # box by up to 2e-4 per pixel; it is refused, and its float32 copy gets the exact box
    image = torch.rand(1, *SHAPE, generator=torch.Generator().manual_seed(7))
    with pytest.raises(ValueError, match="torch.float16"):
        V.verification_problem(plain().half(), image, 0, 0.01)
    p = V.verification_problem(plain().half().float(), image, 0, 0.01)
    assert_box_around(image, 0.01, p.box, p.inner)


def attacked_witnesses(model, image, eps, steps=("targeted pgd", "milp", "exact milp", "lp")):
    """Every "attacked" answer of ``steps`` at ``eps`` for the model's own label."""
    with torch.no_grad():
        y = int(model(image.to(next(model.parameters()).dtype)).argmax())
    out = []
    for step in steps:
        out += [(step, y, r) for r in V.certify(model, image, y, eps, step).results if r.verdict == "attacked"]
    return out


@pytest.mark.parametrize("model_dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("x_dtype", [torch.float32, torch.float64])
def test_every_witness_lies_in_the_requested_box_in_the_models_dtype(model_dtype, x_dtype):
    model = plain(1, model_dtype)
    image = torch.rand(1, *SHAPE, generator=torch.Generator().manual_seed(8), dtype=x_dtype)
    found = attacked_witnesses(model, image, 0.4)
    assert {step for step, _, _ in found} >= {"targeted pgd", "milp", "exact milp"}
    for step, y, r in found:
        assert r.witness.dtype == model_dtype, step
        e = Fraction(0.4)
        for xi, wi in zip(exact(image), exact(r.witness)):
            assert max(Fraction(0), xi - e) <= wi <= min(Fraction(1), xi + e), step
        with torch.no_grad():
            logits = model(r.witness)[0].double()
        assert float(logits[y] - logits[r.target]) == r.witness_objective <= 0, step


def test_no_attack_is_claimed_where_the_models_dtype_has_no_point_of_the_box():
    # eps 0 around a float64 image float32 cannot hold: the box is that one point
    image = torch.full((1, *SHAPE), 0.1, dtype=torch.float64)
    model = plain()
    with torch.no_grad():
        wrong = (int(model(image.float()).argmax()) + 1) % 5
    for step in ("targeted pgd", "lp", "milp", "exact milp"):
        cert = V.certify(model, image, wrong, 0.0, step)
        assert all(r.verdict != "attacked" for r in cert.results), (step, cert.table())
    # the same image given in float32 (so the box holds the point the model sees): attacked
    assert V.certify(model, image.float(), wrong, 0.0, "targeted pgd").verdict == "attacked"


# --- an "attacked" verdict is an attack on the model as called -------------------------------------


def changed_after_lowering():
    """A problem whose model changed after it was lowered (the guard cannot see new
    weights): the solvers' attacks are real for the lowered network, not for the model."""
    model = plain(2)
    image = torch.rand(1, *SHAPE, generator=torch.Generator().manual_seed(9))
    with torch.no_grad():
        y = int(model(image).argmax())
    p = V.verification_problem(model, image, y, 0.5)
    with torch.no_grad():
        model[3].bias[y] += 100.0
    return p


@pytest.mark.parametrize("step", ["milp", "exact milp", "lp"])
def test_a_solver_attack_the_model_does_not_confirm_is_unknown(step):
    p = changed_after_lowering()
    before = V.STEP_FUNCTIONS[step](V.verification_problem(plain(2), p.x, p.y, 0.5))
    assert any(r.verdict == "attacked" for r in before.results), before.table()    # real for the lowered net
    cert = V.STEP_FUNCTIONS[step](p)
    assert all(r.verdict != "attacked" for r in cert.results), cert.table()
    claimed = [r for r in cert.results if r.status == "unconfirmed"]
    if step != "lp":                      # the LP never claimed its point: it is "optimal", "unknown"
        assert claimed and all(r.verdict == "unknown" and r.witness_objective > 0 for r in claimed)
        assert "unconfirmed" in cert.table()
    if step == "exact milp":              # the minimum of the lowered network is still reported
        assert all(r.value is not None and r.value <= 0 for r in claimed)


# --- the float32 guarantee ------------------------------------------------------------------------


def float32_error(net, box) -> torch.Tensor:
    """A bound on |logits of the network computed in float32 - its exact logits| over
    ``box`` (float32 inputs), per logit, for dense layers: Higham's gamma_n for each dot
    product (any summation order, with or without FMA), ``|W| e + gamma_(n+1) (|W| (|a| +
    e) + |b|)`` layer by layer, ``|a|`` from interval bounds, ReLU 1-Lipschitz."""
    unit = 2.0 ** -24
    lo, hi = (t.flatten(1) for t in box)
    err = torch.zeros_like(lo)
    for k, layer in enumerate(net.layers):
        W, n = layer.weight.abs(), layer.n_in + 1
        gamma = n * unit / (1 - n * unit)
        size = torch.maximum(lo.abs(), hi.abs()) + err
        err = err @ W.t() + gamma * (size @ W.t() + layer.bias.abs())
        mid, rad = layer.forward((hi + lo) / 2), layer.forward((hi - lo) / 2, absolute=True)
        lo, hi = mid - rad, mid + rad
        if k < net.num_hidden:
            lo, hi = lo.clamp(min=0), hi.clamp(min=0)
    return err[0]


@pytest.mark.parametrize("seed", range(4))
def test_a_float32_model_computes_its_lowering_up_to_float32_rounding(seed):
    # the guarantee (course_utils.guard): the lowering is the model's weights exactly, in
    # float64; the float32 model's margins differ from it by float32 rounding only, so a
    # proven bound larger than that rounding holds for the float32 model itself
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 40), nn.ReLU(), nn.Linear(40, 40), nn.ReLU(),
                          nn.Linear(40, 5)).eval()
    image = torch.rand(1, *SHAPE, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        y = int(model(image).argmax())
    p = V.verification_problem(model, image, y, 0.05)
    for layer, module in zip(p.net.layers, (model[1], model[3], model[5])):
        assert torch.equal(layer.weight, module.weight.double()) and torch.equal(layer.bias, module.bias.double())
    error = float32_error(p.net, p.box)
    inner = float64_box(image, 0.05, outward=False)
    lo, hi = inner
    U = torch.rand(2000, *SHAPE, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    U[:1000] = U[:1000].round()
    points, ok = points_inside(lo + U * (hi - lo), inner, torch.float32)
    assert ok.all()
    with torch.no_grad():
        got = model(points).double()
    want = torch.stack([torch.as_tensor(p.net.pre_activations(q.reshape(-1).double().numpy())[-1]) for q in points])
    assert ((got - want).abs() <= error + 1e-12).all()
    bounds = p.crown[1]
    for i, t in enumerate(p.targets):
        if bounds[i] > error[y] + error[t]:         # proven beyond the rounding: true of the float32 model
            assert (got[:, y] - got[:, t] > 0).all()
    assert error.max() < 1e-4                      # and the rounding is small next to the bounds


# --- what used to be raw errors is now accepted ------------------------------------------------------


def summary_of(results):
    return [{k: v for k, v in r.as_dict().items() if k not in ("seconds", "epsilon")} for r in results]


def test_certified_accuracy_takes_images_of_any_floating_dtype():
    images = torch.rand(6, *SHAPE, generator=torch.Generator().manual_seed(10))
    labels = plain()(images).argmax(1)
    labels[0] = (labels[0] + 1) % 5
    run = lambda X: summary_of(CE.certified_accuracy(plain(), (X, labels), [0.0, 0.05], ["interval", "crown"],
                                                     progress=False))
    assert run(images.double()) == run(images)              # the same numbers, in float64
    assert run(images.half()) == run(images.half().float())  # float16 pixels are float32 numbers too
    off = torch.rand(6, *SHAPE, generator=torch.Generator().manual_seed(10), dtype=torch.float64)
    off[0] = 0.1                                           # a pixel float32 cannot hold, at eps 0
    with torch.no_grad():
        labels[0] = (int(plain()(off[:1].float()).argmax()) + 1) % 5
    at_zero, wider = CE.certified_accuracy(plain(), (off, labels), [0.0, 0.05], progress=False)
    assert at_zero.verdict[0] == "unknown"                 # the model cannot be run on that very point
    assert wider.verdict[0] == "attacked" and wider.decided_by[0] == "misclassified"


def test_numpy_and_tensor_radii_are_numbers():
    data = (X, torch.tensor([0, 1, 2]))
    want = summary_of(CE.certified_accuracy(plain(), data, float(np.float32(0.05)), ["interval"], progress=False))
    for eps in (np.float32(0.05), [np.float32(0.05)], np.array(np.float32(0.05)), torch.tensor(0.05)):
        assert summary_of(CE.certified_accuracy(plain(), data, eps, ["interval"], progress=False)) == want
    for eps in (np.float64(0.05), np.float32(0.05), np.int64(0)):
        assert V.certify(plain(), x, 0, eps, "crown").epsilon == float(eps)


def test_a_huge_radius_is_the_whole_image_domain():
    data = (X, plain()(X).argmax(1))
    assert summary_of(CE.certified_accuracy(plain(), data, 1e308, progress=False)) == \
        summary_of(CE.certified_accuracy(plain(), data, 1.0, progress=False))
    huge, one = V.certify(plain(), x, 0, 1e308), V.certify(plain(), x, 0, 1.0)
    assert [r.verdict for r in huge.results] == [r.verdict for r in one.results]
