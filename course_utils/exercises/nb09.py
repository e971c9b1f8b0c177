"""Exercises of notebook 09 (CROWN's linear bounds, alpha-CROWN, the bracket, certified accuracy).

Every grader computes its reference first, on its own objects, and hands the learner's
function fresh copies (``call``), so nothing the learner's code does to its inputs can change
what it is compared with.
"""

from __future__ import annotations

import numbers

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..alpha import alpha_crown_bounds
from ..bounds import bound_propagation, linear_bounds, objective_matrix
from ..data import eval_subset
from ..models import load_model
from ..network import lower
from ..relu import relu_relaxation
from ..threat import linf_box
from .core import Exercise, NotYet, call, close, multiple_choice, tensor


def _image_0():
    """The small net (CPU), test image 0 ``(1, 1, 28, 28)`` and its label (a 7)."""
    X, y = eval_subset(1)
    return load_model("small", device="cpu"), X, int(y[0])


def _kind(answer) -> str:
    """What a learner gave, in words (a function is named as one, whatever wraps it)."""
    return "a function" if callable(answer) else type(answer).__name__


def _number(answer, what: str) -> float:
    """``answer`` as a float (a number or a one-element tensor), else ``NotYet``."""
    if isinstance(answer, torch.Tensor) and answer.numel() == 1:
        answer = answer.item()
    if isinstance(answer, bool) or not isinstance(answer, numbers.Real):
        raise NotYet(f"{what} should be a number, got {_kind(answer)}", "write it as a float, e.g. 1.5")
    return float(answer)


# --- 9.1: where the bracket starts ------------------------------------------------------------


def _predict_start(answer) -> str:
    model, X, label = _image_0()
    with torch.no_grad():
        logits = model(X)[0].double()
    margin = float(logits[label] - logits[3])
    c = objective_matrix(label)[:, [3]]
    at_zero = float(linear_bounds(model, linf_box(X.double(), 0.0), c)[1][0, 0])
    at_005 = float(linear_bounds(model, linf_box(X.double(), 0.05), c)[1][0, 0])
    if abs(at_zero - margin) > 1e-6:    # the lesson's premise no longer holds: say so, grade nothing
        raise NotYet("on this run CROWN's bound at ε = 0 is not the margin at x", "run the figure and compare")
    got = _number(answer, "answer")
    if abs(got - margin) <= 0.01:
        return (f"CROWN's bound at ε = 0 is {at_zero:.3f}, the margin z_7 − z_3 at the image itself; every "
                "series of the bracket starts there.")
    if abs(got - float(logits[label])) <= 0.01:
        raise NotYet("that is z_7 alone", "the margin for target 3 is z_7 − z_3, taken at x")
    if abs(got - at_005) <= 0.01:
        raise NotYet("that is CROWN's bound at ε = 0.05, from the table of the back-substitution",
                     "at ε = 0 the box is smaller: it holds x alone")
    if got <= 0:
        raise NotYet("a bound at or below 0 would leave target 3 unproven at ε = 0",
                     "at ε = 0 the ball holds x alone, and the network classifies x as a 7")
    raise NotYet(f"not {got:g}", "at ε = 0 the box is the single point x, so every neuron is stable and its "
                 "lines are the ReLU itself: compute the margin z_7 − z_3 at x")


_START_MODEL_ANSWER = (
    "The margin at the image itself, $z_7 - z_3$ at $x$. At ε = 0 the box is one point, so every "
    "pre-activation interval has $l = u$ and no neuron is unstable: each line is the ReLU itself, and "
    "interval bounds, CROWN, alpha-CROWN and both LPs are exact; the MILP has no binary to branch on; "
    "PGD cannot move. All seven series start at the same value. The bracket opens only as ε grows and "
    "neurons become unstable, and each method loses at its own rate what it relaxes.")


# --- 9.2: CROWN's upper bound -------------------------------------------------------------------


def _upper_case():
    """``(Ws, bs, bounds, box, A, model, box4)`` for the small net at test image 0, ε = 0.05:
    CROWN's hidden bounds, the flattened box, and rows ``A`` (the ten logits, then five seeded
    random combinations), all float64."""
    model, X, _ = _image_0()
    box4 = linf_box(X.double(), 0.05)
    pre, _ = linear_bounds(model, box4)
    Ws = [m.weight.detach().double() for m in model if isinstance(m, nn.Linear)]
    bs = [m.bias.detach().double() for m in model if isinstance(m, nn.Linear)]
    A = torch.cat([torch.eye(10, dtype=torch.float64),
                   torch.randn(5, 10, generator=torch.Generator().manual_seed(9), dtype=torch.float64)])
    bounds = [(l[0], u[0]) for l, u in pre[:-1]]
    return Ws, bs, bounds, (box4[0].flatten(), box4[1].flatten()), A, model, box4


def _back_variant(Ws, bs, bounds, box, A, swap: bool, chord_on_positive: bool, maximise: bool):
    """Back-substitution with each choice a learner makes: which line a positive coefficient takes
    (``swap``: the chord), which part of ``A`` meets the chord's offset, and the box's max or min.
    The upper bound is ``swap=chord_on_positive=maximise=True``; all three False is CROWN's lower."""
    const, A = A @ bs[-1], A @ Ws[-1]
    for j in reversed(range(len(bounds))):
        lower_slope, upper_slope, upper_offset = relu_relaxation(*bounds[j])
        pos, neg = A.clamp(min=0), A.clamp(max=0)
        const = const + (pos if chord_on_positive else neg) @ upper_offset
        A = pos * (upper_slope if swap else lower_slope) + neg * (lower_slope if swap else upper_slope)
        const, A = const + A @ bs[j], A @ Ws[j]
    mid, rad = (box[1] + box[0]) / 2, (box[1] - box[0]) / 2
    return A @ mid + (1 if maximise else -1) * (A.abs() @ rad) + const


_UPPER_SLIPS = (
    ((False, False, False), "that is CROWN's lower bound", "an upper bound takes, for each coefficient, the "
     "line on the other side: the chord where it is positive, the lower line where it is negative, and the "
     "box's maximum"),
    ((False, False, True), "the lines are the lower bound's", "for an upper bound a positive coefficient takes "
     "the upper line (the chord) and a negative one the lower line"),
    ((True, True, False), "the lines are right, but the box gives its minimum",
     "over the box the largest value of a^T x is a^T mid + |a|^T rad"),
    ((True, False, True), "the chord's offset is added with the wrong coefficients",
     "the offset counts where the chord is used: with the positive part, A.clamp(min=0) @ upper_offset"),
)


def _upper_bound(fn) -> str:
    Ws, bs, bounds, box, A, model, box4 = _upper_case()
    want = _back_variant(Ws, bs, bounds, box, A, True, True, True)
    got = tensor(call(fn, Ws, bs, bounds, box, A, returns=torch.Tensor), (len(A),), "upper_bound(...)")
    if (got - want).abs().max() > 1e-9:
        for flags, reason, hint in _UPPER_SLIPS:
            if torch.allclose(got, _back_variant(Ws, bs, bounds, box, A, *flags), atol=1e-9):
                raise NotYet(reason, hint)
        close(got, want, 1e-9, "your bound", "mirror back_substitute: for the maximum, a positive coefficient "
              "takes the chord (and its offset), a negative one the lower line, and the box gives a^T mid + |a|^T rad")
    points = box[0] + (box[1] - box[0]) * torch.rand(2000, len(box[0]), generator=torch.Generator().manual_seed(0),
                                                     dtype=torch.float64)
    with torch.no_grad():
        reached = (model.double()(points.reshape(-1, 1, 28, 28)) @ A.t()).max(0).values
    assert bool((reached <= got + 1e-9).all())        # soundness, implied by the match; checked anyway
    lower_logits = _back_variant(Ws, bs, bounds, box, A[:10], False, False, False)
    l, u = bound_propagation(model.double(), box4)[-1]
    return (f"the same bounds as the package's back-substitution on 15 rows, above A z at 2000 random points of "
            f"the box. The ten logits' CROWN intervals are {float((got[:10] - lower_logits).mean()):.1f} wide on "
            f"average, the interval bounds' {float((u - l).mean()):.1f}.")


# --- 9.3: back through a convolution --------------------------------------------------------------


def _conv_case():
    """``(A, conv, in_shape)``: the CNN's second convolution (32 -> 32 channels, 3x3, stride 2,
    padding 1: 28x28 -> 14x14) in float64 and three seeded random rows over its output."""
    conv = load_model("cnn", device="cpu")[2].double()
    A = torch.randn(3, 32, 14, 14, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    return A, conv, (32, 28, 28)


_CONV_SHAPES = {
    (27, 27): "stride 2 leaves the transposed convolution one row and column short: pass output_padding=1 "
              "(or differentiate through conv itself)",
    (30, 30): "pass conv's padding=1 too: the transposed convolution must crop what the padding added",
    (29, 29): "pass conv's padding=1 too: the transposed convolution must crop what the padding added",
    (14, 14): "the convolution has stride 2: pass stride=conv.stride to the transposed convolution",
}


def _through_conv(fn) -> str:
    A, conv, in_shape = _conv_case()
    want_A = F.conv_transpose2d(A, conv.weight, stride=conv.stride, padding=conv.padding, output_padding=1)
    want_c = A.sum((2, 3)) @ conv.bias
    result = call(fn, A, conv, in_shape, returns=(tuple, list))
    if len(result) != 2:
        raise NotYet("through_conv should return a pair (A_in, const)", "return A_in, const")
    if isinstance(result[0], torch.Tensor) and result[0].dim() == 4 and tuple(result[0].shape[-2:]) in _CONV_SHAPES:
        raise NotYet(f"A_in has shape {tuple(result[0].shape)}, expected {(len(A), *in_shape)}",
                     _CONV_SHAPES[tuple(result[0].shape[-2:])])
    A_in = tensor(result[0], (len(A), *in_shape), "A_in")
    const = tensor(result[1], (len(A),), "const")
    close(A_in, want_A, 1e-9, "A_in", "A_in is A pushed back through the weights: the transposed convolution "
          "of A with conv.weight (same stride and padding), or the gradient of sum(A * conv(x)) with respect to x")
    if want_c.abs().max() > 1e-3 and const.abs().max() < 1e-12:
        raise NotYet("const is zero, but conv has a bias", "every output position adds its channel's bias: "
                     "const = sum over c of bias_c times the sum of A's channel c")
    close(const, want_c, 1e-9, "const", "const is A's sum over each channel times that channel's bias (it is "
          "sum(A * conv(0)))")
    x = torch.rand(len(A), *in_shape, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    with torch.no_grad():
        gap = float(((A * conv(x)).flatten(1).sum(1) - (A_in * x).flatten(1).sum(1) - const).abs().max())
    return (f"the transposed convolution of the package, and sum(A * conv(x)) = sum(A_in * x) + const at "
            f"random inputs (to {max(gap, 1e-15):.0e}).")


_CONV_MODEL_ANSWER = (
    "A convolution is linear in its input, so $A \\cdot \\mathrm{conv}(x) = A_{in} \\cdot x + A \\cdot "
    "\\mathrm{conv}(0)$, and $A_{in}$ is the gradient of the left side with respect to $x$: one "
    "backward pass. Written out, it is the transposed convolution of $A$ with the same weights, stride "
    "and padding; with stride 2 the input size is not fixed by the output size (27 and 28 both give 14), "
    "hence `output_padding=1`. The constant is each channel's bias times the sum of $A$ over that "
    "channel. Back-substitution through a CNN applies this layer after layer, with the ReLU lines "
    "between, and never builds the convolution's matrix.")


# --- 9.4 and 9.6: explain ---------------------------------------------------------------------------


_crown_beats_lp = multiple_choice(
    "d", "the chapter's LP relaxes each ReLU on interval bounds; CROWN computes its own, much narrower ones.", {
        "a": ("the triangle lies between CROWN's two lines: on the same l and u the LP is at least as tight",
              "compare the two relaxations of one ReLU on the same interval [l, u]"),
        "b": ("HiGHS solves the LP to about 1e-7, and the gaps in the bracket are whole units of margin",
              "a solver tolerance cannot explain a gap of several units"),
        "c": ("both bounds in the bracket start from the same box, the ε-ball clamped to [0, 1]",
              "look at what each relaxation uses for the l and u of every hidden neuron"),
    })

_CROWN_BEATS_LP_MODEL_ANSWER = (
    "**d.** On the same $l, u$ the triangle sits inside the region between CROWN's two lines, so the LP "
    "is at least as tight. But a relaxation is only as good as the bounds it stands on. The chapter's LP "
    "takes $l, u$ from interval propagation, which loses at every layer which input produced which "
    "value; CROWN bounds each hidden neuron by back-substitution, and its bounds lie inside the "
    "intervals at every neuron. The LP built on CROWN's bounds (the alpha-CROWN section) is above "
    "CROWN again, as it must be; the step \"lp+cuts\" uses bounds tighter still.")

_slopes_stop_at_lp = multiple_choice(
    "c", "every choice of lines relaxes the network at least as much as the LP does.", {
        "a": ("even the best slopes cannot pass it: a local optimum is not the reason",
              "compare, for one neuron, the points the two lines allow with the points the LP allows"),
        "b": ("rounding moves a bound by about 1e-15; the ceiling here is structural",
              "ask which set of points each bound minimises over"),
        "d": ("the LP is a relaxation: on target 3 its minimum is far below the MILP's",
              "the LP's minimum is a lower bound on the true worst margin, not the margin itself"),
    })

_SLOPES_MODEL_ANSWER = (
    "**c.** For a slope $\\underline a \\in [0, 1]$, every point of the triangle lies between the two "
    "lines, since $\\underline a \\hat z \\le \\max(0, \\hat z) \\le z$ for each of its points, and its top side "
    "is the chord itself. So the "
    "network relaxed by the lines allows every point the LP allows, and more; CROWN's bound is at most the "
    "minimum over that larger set, so at most the LP's minimum. The converse holds too: by LP duality the "
    "best slopes reach the LP on the same bounds (Salman et al., 2019), which is where our optimisation "
    "stopped. To go further, the bounds themselves must tighten (the package's alpha-CROWN, the LP per "
    "neuron of \"lp+cuts\"), or the relaxation must change (cuts, branching).")


# --- 9.5: what do more iterations buy? -------------------------------------------------------------

_ITERATIONS = (5, 20, 100)


def _alpha_target(iterations, columns):
    """alpha-CROWN's bounds on image 0 at ε = 0.05 for ``columns`` of ``objective_matrix``."""
    model, X, label = _image_0()
    net = lower(model, X.shape[1:], dtype=torch.float64)
    return alpha_crown_bounds(net, linf_box(X.double(), 0.05), objective_matrix(label)[:, columns],
                              iterations=iterations)[1][0]


def _measured(answer) -> dict:
    if not isinstance(answer, dict) or sorted(answer) != list(_ITERATIONS):
        got = sorted(answer, key=str) if isinstance(answer, dict) else _kind(answer)
        raise NotYet(f"measured should be a dict with the keys 5, 20 and 100, got {got}",
                     "measured = {n: ... for n in (5, 20, 100)}, each value target 3's bound")
    return {n: _number(answer[n], f"measured[{n}]") for n in _ITERATIONS}


def _investigate_iterations(answer) -> str:
    want = {n: float(_alpha_target(n, [3])[0]) for n in _ITERATIONS}
    got = _measured(answer)
    if all(abs(got[n] - want[n]) <= 1e-3 for n in _ITERATIONS):
        return ("target 3's bound after 5, 20 and 100 iterations: " +
                ", ".join(f"{want[n]:.3f}" for n in _ITERATIONS) + ". It stops rising, below 0.")
    crown = float(_alpha_target(1, [3])[0])
    if all(abs(got[n] - crown) <= 1e-3 for n in _ITERATIONS):
        raise NotYet("every value is CROWN's own bound", "pass iterations=n to alpha_crown_bounds")
    if any(all(abs(got[n] - want[m]) <= 1e-3 for n in _ITERATIONS) for m in _ITERATIONS):
        raise NotYet("the three values are one run's", "run alpha_crown_bounds once per n, with iterations=n")
    nine = {n: float(_alpha_target(n, [9])[0]) for n in _ITERATIONS}
    if all(abs(got[n] - nine[n]) <= 1e-3 for n in _ITERATIONS):
        raise NotYet("these are target 9's bounds", "take target 3's column, objective_matrix(label)[:, [3]]")
    n = next(n for n in _ITERATIONS if abs(got[n] - want[n]) > 1e-3)
    raise NotYet(f"measured[{n}] = {got[n]:.3f} is not target 3's bound after {n} iterations on this run",
                 "image 0 (x), ε = 0.05, net = lower(small, x.shape[1:], dtype=torch.float64); take [1][0, 0] "
                 "of the result")


_ITERATIONS_MODEL_ANSWER = (
    "Almost nothing: the bound rises in the first few iterations, then stops, about 1.6 below 0 (from 5 "
    "to 100 iterations it gains about 0.002), so more iterations will not prove target 3. The ceiling is "
    "the relaxation's, not the optimiser's: for fixed hidden bounds the best "
    "slopes give the LP on those bounds (exercise 9.6). The package's alpha-CROWN ends a little above the "
    "LP on CROWN's bounds (the table of the alpha-CROWN section) because it also optimises the slopes behind "
    "the second layer's bounds, which narrows them. Proving target 3 at ε = 0.05 takes more: bounds "
    "tightened by an LP per neuron and cuts (\"lp+cuts\" crosses 0 in the bracket), or branching (the MILP).")


NOTEBOOK = "09_certified_accuracy"
"""The notebook these exercises belong to."""

EXERCISES = {
    "9.1": Exercise("9.1", "where the bracket starts", "predict", _predict_start, model_answer=_START_MODEL_ANSWER),
    "9.2": Exercise("9.2", "CROWN's upper bound", "implement", _upper_bound),
    "9.3": Exercise("9.3", "back through a convolution", "implement", _through_conv, model_answer=_CONV_MODEL_ANSWER),
    "9.4": Exercise("9.4", "why CROWN beats the chapter's LP", "explain", _crown_beats_lp,
                    model_answer=_CROWN_BEATS_LP_MODEL_ANSWER),
    "9.5": Exercise("9.5", "what do more iterations buy?", "investigate", _investigate_iterations,
                    model_answer=_ITERATIONS_MODEL_ANSWER),
    "9.6": Exercise("9.6", "why the slopes stop at the LP", "explain", _slopes_stop_at_lp,
                    model_answer=_SLOPES_MODEL_ANSWER),
}
