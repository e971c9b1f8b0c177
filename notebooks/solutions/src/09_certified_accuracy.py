# %% [markdown]
# # 9. Beyond the chapter: linear bounds and certified accuracy
#
# *Course: "Adversarial examples, solving the inner maximization" — after chapter 3 of
# Kolter & Madry, "Adversarial Robustness: Theory and Practice".*
#
# The chapter ends on an open question: is there a verifier that is both *tight* (close to
# the MILP) and *cheap* (close to interval bounds) on large networks? Notebooks 6–8 showed
# the two ends of that trade-off. This notebook shows the main idea behind today's best
# answers — **linear bound propagation**, known as CROWN or DeepPoly — and then leaves the
# single test image behind: we measure, over many images and many radii ε, how much of a
# test set each verifier can *prove* robust, against how much survives an attack.
# (Notation: notebook 0; as there, the margin for target $t$ is $m_t = z_y - z_t$ and
# $m_t^*$ its minimum over the ε-ball.)
#
# ## Two lines per ReLU
#
# Interval propagation forgets, at every layer, *which* input produced which activation: it
# keeps one number per neuron and side. The LP keeps the exact convex hull of every bounded
# ReLU, but needs a solver. Linear bound propagation sits in between. For an unstable neuron
# ($l < 0 < u$) it keeps two **lines** that sandwich the ReLU on $[l, u]$:
#
# $$\underline{a}\,\hat z \;\le\; \max(0, \hat z) \;\le\; \frac{u}{u-l}\,(\hat z - l),$$
#
# the chord above, and below a line through the origin with slope $\underline a \in \{0, 1\}$
# — whichever of the triangle's two lower sides is closer (slope 1 when $u \ge -l$, else 0).
# Stable neurons are exact: slope 1 when $l \ge 0$, the zero function when $u \le 0$.

# %%
import matplotlib.pyplot as plt
import torch
import torch.nn as nn

from course_utils import config
from course_utils.bounds import bound_propagation, interval_based_bound, linear_bounds, objective_matrix
from course_utils.certified import accuracy_curves, bound_sandwich, certified_accuracy
from course_utils.checks import approx, check_claim, check_close, check_same
from course_utils.data import eval_subset
from course_utils.exercises import check
from course_utils.models import load_model
from course_utils.plotting import plot_bound_sandwich, plot_certified_curves, plot_crown_relaxation
from course_utils.records import load_certified
from course_utils.relu import relu_relaxation
from course_utils.threat import linf_box
from course_utils.verify import certify
from course_utils.widgets import certified_widget

torch.manual_seed(0)
models = {name: load_model(name) for name in ("small", "dnn2")}
X, y = eval_subset(config.N_EVAL)    # first N_EVAL test images (1000 by default)
x, label = X[:1], int(y[0])
small = models["small"]

_ = plot_crown_relaxation(l=-1.0, u=1.5)
plt.show()

# %% [markdown]
# ## Back-substitution
#
# To bound the margin $c^T z_{d+1}$ ($c = e_y - e_t$) from below, write it in terms of the
# layer before, $c^T (W_d z_d + b_d)$. Each coordinate of $z_d$ is a ReLU of a pre-activation
# $\hat z_d$; where the coefficient $(W_d^T c)_j$ is positive, replacing $z_{d,j}$ by its
# *lower* line can only decrease the expression, and where it is negative, the *upper* line
# does the same. The result is again a linear function — now of
# $\hat z_d = W_{d-1} z_{d-1} + b_{d-1}$ — so the step repeats, layer by layer, down to the
# input. There, a linear function $a^T x' + \text{const}$ over the box $l_0 \le x' \le u_0$ is
# minimised in closed form, exactly like the analytic last layer of notebook 8: its minimum
# is $a^T \frac{l_0 + u_0}{2} - |a|^T \frac{u_0 - l_0}{2} + \text{const}$.
#
# The lines need $l$ and $u$ of every hidden neuron, and those come from the same procedure
# run one layer at a time, with $c = e_j$ (a lower bound on neuron $j$) and $c = -e_j$ (minus
# an upper bound).
#
# ### The chapter in code
#
# For a fully connected network given as its weights `Ws` and biases `bs` (one per `Linear`
# layer), with every row of `A` one linear function to bound:

# %%
def relu_lines(l, u):
    """CROWN's lines for ReLU on [l, u]: lower_slope * z <= relu(z) <= upper_slope * z + upper_offset."""
    unstable = (l < 0) & (u > 0)
    on = (l >= 0).to(l.dtype)                                    # 1 for active neurons, 0 otherwise
    upper_slope = torch.where(unstable, u / (u - l), on)
    upper_offset = torch.where(unstable, -l * upper_slope, torch.zeros_like(l))
    lower_slope = torch.where(unstable, (u >= -l).to(l.dtype), on)
    return lower_slope, upper_slope, upper_offset


def crown(Ws, bs, box, C):
    """Lower bounds on C^T z_{d+1} over the input box (l0, u0), and the (l, u) of every hidden layer."""
    mid, rad = (box[1] + box[0]) / 2, (box[1] - box[0]) / 2
    bounds = []                                                  # (l, u) of each hidden pre-activation

    def lower_bound(A, k):                                       # min of A (W_k z_k + b_k), one per row of A
        const, A = A @ bs[k], A @ Ws[k]
        for j in reversed(range(k)):                             # back through ReLU j and Linear j
            lower_slope, upper_slope, upper_offset = relu_lines(*bounds[j])
            pos, neg = A.clamp(min=0), A.clamp(max=0)
            const = const + neg @ upper_offset
            A = pos * lower_slope + neg * upper_slope
            const, A = const + A @ bs[j], A @ Ws[j]
        return A @ mid - A.abs() @ rad + const                   # the box: closed form

    for k in range(len(Ws) - 1):
        I = torch.eye(len(bs[k]), dtype=mid.dtype)
        bounds.append((lower_bound(I, k), -lower_bound(-I, k)))
    return lower_bound(C.t(), len(Ws) - 1), bounds


# %% [markdown]
# On the chapter's image at ε = 0.05, against the package's `linear_bounds`: the same lines
# at every hidden neuron and the same bound on every margin, first with the $[0, 1]$ clamp of
# the box off (as in the chapter), then with it on (the course's default, used from here on).
# Beside it, the interval bound of notebook 8 on the same box.

# %%
Ws = [m.weight.detach().double() for m in small if isinstance(m, nn.Linear)]
bs = [m.bias.detach().double() for m in small if isinstance(m, nn.Linear)]
C = objective_matrix(label)
for clamp in (False, True):
    box = linf_box(x.double(), 0.05, clamp=clamp)
    ours, hidden = crown(Ws, bs, (box[0].flatten(), box[1].flatten()), C)
    pre_bounds, theirs = linear_bounds(small, box, C)
    check_same(ours, theirs[0], f"crown = bounds.linear_bounds, every margin, clamp {'on' if clamp else 'off'}")
    check_same(torch.cat([torch.stack(relu_lines(l, u)) for l, u in hidden], 1),
               torch.cat([torch.stack(relu_relaxation(l[0], u[0])) for l, u in pre_bounds[:-1]], 1),
               f"the same two lines at all 70 hidden neurons, clamp {'on' if clamp else 'off'}")
interval = interval_based_bound(small, C, bound_propagation(small, box))[0]
print(f"{'target':>6} {'interval':>9} {'CROWN':>9}")
for t in range(10):
    if t != label:
        print(f"{t:>6} {interval[t].item():9.3f} {ours[t].item():9.3f}")

# %% tags=["hide-input"]
crown_open = [t for t in range(10) if t != label and ours[t] <= 0]
check_claim(crown_open == [3, 9], "CROWN proves 7 of the 9 targets; targets 3 and 9 stay open")
check_claim(bool((interval[[t for t in range(10) if t != label]] < 0).all()), "the interval bound proves none")

# %% [markdown]
# CROWN proves seven of the nine targets with no solver at all; the interval bound, none; 3
# and 9 stay open. The package's `linear_bounds` adds batching over images and one matrix
# $C$ per image, convolutions (pushed back by their transposed convolution, never unrolled
# into a matrix), the $[0, 1]$ clamp of the box, chunks that bound memory, and two
# safeguards: each hidden bound is intersected with the interval bound, and the margin's
# bound is never below the analytic last layer of notebook 8. On this image neither changes
# a digit, as the checks show.
#
# ## The sandwich
#
# Every method gives a number on the same scale, the margin for target 3. The interval
# bound, CROWN and the LP give **lower** bounds on the worst-case margin $m_3^*$; the exact
# MILP gives $m_3^*$ itself; a targeted PGD attack gives an **upper** bound — the margin at
# a point it found. Here is the whole sandwich as ε grows (the MILP is solved exactly at
# every ε):

# %% [markdown] tags=["question"]
# **Ask the room.** Suppose PGD's best point for target 3 still has a positive margin at
# some ε. Is the image then robust against target 3 at that ε?

# %%
eps_grid = [0.0, 0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.08, 0.1]
sandwich = bound_sandwich(small, x, label, 3, eps_grid)
print(f"{'ε':>5} " + " ".join(f"{k:>9}" for k in ("interval", "CROWN", "LP", "MILP", "PGD")))
for i, e in enumerate(eps_grid):
    print(f"{e:5.2f} " + " ".join(f"{sandwich[k][i]:9.3f}" for k in ("interval", "crown", "lp", "exact milp"))
          + f" {approx(sandwich['targeted pgd'][i]):>9}")
_ = plot_bound_sandwich(sandwich, title="small net, test image 0, target 3")
plt.show()

# %% tags=["hide-input"]
# Across CPU kernels and thread counts (tools/portability.py) none of these moved (spread 0);
# the tolerances allow the MILP's optimality gap and a slightly different PGD path.
at = {e: i for i, e in enumerate(eps_grid)}
check_close(sandwich["exact milp"][at[0.06]], -0.401, 0.001, "ε = 0.06: the MILP's minimum margin m_3*")
check_close(sandwich["targeted pgd"][at[0.06]], 0.441, 0.01, "ε = 0.06: the margin at PGD's best point")
check_close(sandwich["exact milp"][at[0.05]], 1.140, 0.001, "ε = 0.05: the MILP's minimum margin m_3*")
check_claim(all(m <= p + 1e-6 for m, p in zip(sandwich["exact milp"], sandwich["targeted pgd"])),
            "at every ε the MILP's minimum lies at or below PGD's margin")
check_claim(all(p - m < 0.25 for e, m, p in zip(eps_grid, sandwich["exact milp"], sandwich["targeted pgd"])
                if e <= 0.04), "up to ε = 0.04, PGD's margin is within 0.25 of the MILP's minimum")
last_positive = {k: max(e for e, v in zip(eps_grid, sandwich[k]) if v > 0) for k in ("interval", "lp", "crown",
                                                                                   "exact milp")}
check_claim(last_positive == {"interval": 0.0, "lp": 0.02, "crown": 0.04, "exact milp": 0.05},
            "the last ε of the grid with a positive bound: interval 0, LP 0.02, CROWN 0.04, MILP 0.05")
check_claim(all(c >= l for c, l in zip(sandwich["crown"][1:], sandwich["lp"][1:])),
            "CROWN is above the chapter's LP at every ε > 0")

# %% [markdown]
# Read the chart from the top. Up to ε = 0.04 PGD's margin is within 0.25 of the MILP's
# minimum, but at ε = 0.06 the two have **opposite signs**: the best point PGD found still has a margin of about +0.44 — the
# attack failed — while the MILP proves that the minimum is −0.401: an adversarial point
# exists, and PGD walked past it. Had we read the failed attack as "robust", we would have
# been wrong. **An attack that fails proves nothing**: its margin is only an upper bound on
# $m_3^*$. The MILP's minimiser is a real point; replayed on the network, it changes the
# class:

# %%
result = certify(small, x, label, 0.06, "exact milp", targets=[3])[3]
witness = result.witness
with torch.no_grad():
    z = small(witness)[0]
print(f"MILP at ε = 0.06, target 3: {result.verdict}; at its point the network says {z.argmax().item()}, "
      f"margin z_7 − z_3 = {approx(z[label] - z[3])}, largest change of a pixel {(witness - x).abs().max():.3f}")

# %% tags=["hide-input"]
check_claim(result.verdict == "attacked" and z.argmax().item() != label and bool(z[label] < z[3]),
            "the MILP's point at ε = 0.06 is misclassified, with z_7 < z_3")
check_claim(bool((witness - x).abs().max() <= 0.06 + 1e-6), "it lies in the ε-ball")

# %% [markdown]
# The lower bounds cross zero one after the other — the largest ε at which each can still
# prove target 3: on our grid the interval bound proves nothing beyond ε = 0, the chapter's
# LP holds up to 0.02, CROWN up to 0.04 and the MILP — the truth — up to 0.05.
#
# CROWN beats the chapter's LP at every ε > 0, although the LP's relaxation of each ReLU is
# the *tighter* one (the whole triangle, not two of its sides). The reason is the
# intermediate bounds: the chapter's LP is built on interval bounds for $l$ and $u$, CROWN
# computes its own, much tighter ones — and every relaxation is only as good as the $l$ and
# $u$ it is given. (The LP on CROWN's bounds is at least as tight as CROWN; the "lp+cuts"
# step of `verify.certify` uses it that way.)

# %% [markdown] tags=["question"]
# **Ask the room.** A paper reports "certified accuracy 0.70 at ε = 0.05" for a network and
# "accuracy under PGD 0.80". What do we know about its robust accuracy? What would you ask
# the authors about the remaining 10%?

# %% [markdown]
# ## What each method proves
#
# | method | gives, for each target | proves when | says nothing when |
# | --- | --- | --- | --- |
# | PGD (any attack) | an upper bound on $m_t^*$: the margin at a real point | it is $< 0$: "attacked" (a witness) | it is $> 0$ |
# | interval, CROWN, LP, LP + cuts | a lower bound on $m_t^*$ | it is $> 0$: "robust" (a certificate) | it is $\le 0$: "unknown" |
# | MILP | $m_t^*$ itself (or only its sign, "milp") | always, if the solver finishes | the time limit stops it: "unknown" |
#
# An image is robust when every target is; it is attacked as soon as one is. Over a test set
# this gives two accuracies that bracket the truth:
#
# $$\text{certified accuracy} \;\le\; \text{robust accuracy} \;\le\; \text{accuracy under PGD}.$$
#
# The images in between are **unknown**: neither proven nor broken. "Unknown" is not
# "robust": some of them have adversarial examples that the attack missed, as image 0 at
# ε = 0.06 just showed.
#
# ## Certified accuracy over a test set
#
# `certified_accuracy(model, data, epsilons, methods)` runs, for every ε, a cascade over many
# images, cheapest step first and each later step only on what is still open:
#
# 1. a misclassified image is not robust at any ε;
# 2. l∞ PGD (40 steps, valid images): what it flips is "attacked"; the fraction that survives
#    is an **upper bound** on the robust accuracy;
# 3. "interval", then "crown", batched over the images: what they prove is "robust";
# 4. one image at a time, "lp+cuts" (the LP on tightened bounds, strengthened by a few rounds
#    of cuts from the ReLU's hull over its input box, notebook 7), then "milp", the MILP that
#    decides only the sign (notebook 6) and settles every remaining image unless a time limit
#    stops it.
#
# A method's *certified accuracy* counts the images proven by it or by a cheaper step before
# it. Every image ends "robust", "attacked" or "unknown", and `.split` says which step settled
# it. Interval bounds and CROWN are fast enough for the first 1000 test images, on two
# networks, at four radii:

# %%
fast = {name: certified_accuracy(net, (X, y), [0.01, 0.02, 0.05, 0.1], ["interval", "crown"], progress=False)
        for name, net in models.items()}
for name, results in fast.items():
    print(name)
    for r in results:
        print(f"  ε {r.epsilon:4.2f}: clean {r.clean_accuracy:.3f}  PGD {approx(r.pgd_accuracy)}  "
              f"interval {r.certified('interval'):.3f}  CROWN {r.certified('crown'):.3f}")

# %% tags=["hide-input"]
# Rates over 1000 images: tolerance 0.005 (2/1000 = 0.002; across CPU kernels and thread counts
# the PGD accuracies moved by at most 0.001: 0.097-0.098 at ε = 0.1, tools/portability.py).
if len(y) == 1000:
    for name, eps, value in (("small", 0.05, 0.654), ("small", 0.1, 0.097), ("dnn2", 0.05, 0.751)):
        r = next(r for r in fast[name] if r.epsilon == eps)
        check_close(r.pgd_accuracy, value, 0.005, f"{name}, ε = {eps}: accuracy under PGD, first 1000 images")
rows = [r for results in fast.values() for r in results]
check_claim(all(r.certified("interval") <= r.certified("crown") <= r.pgd_accuracy for r in rows),
            "at every ε, on both networks: interval ≤ CROWN ≤ accuracy under PGD")
check_claim(all(r.certified("crown") >= r.certified("interval") + 0.15 for r in rows if r.epsilon in (0.02, 0.05)),
            "at ε = 0.02 and 0.05 CROWN proves at least 15 points more than intervals, on both networks")
check_claim(all(r.pgd_accuracy - r.certified("crown") > 0.3 for r in rows if r.epsilon == 0.05),
            "at ε = 0.05 more than 30% of the images lie between CROWN and PGD, on both networks")

# %% [markdown]
# CROWN is far above intervals (by 15 points or more at ε = 0.02 and 0.05), yet at ε = 0.05
# more than 30% of the images lie between CROWN's curve and PGD's: undecided — robust or not,
# the cheap methods cannot tell. What this cost on this machine (it varies from run to run):

# %% tags=["nbval-ignore-output"]
for name, results in fast.items():
    print(name, " ".join(f"ε {r.epsilon:g}: " + ", ".join(f"{k} {v:.2f} s" for k, v in r.seconds.items())
                         for r in results[-2:]))

# %% [markdown]
# Only an exact method closes that gap, and it is much dearer. So the full curves were
# computed once, on the first 200 test images for the small net and the first 100 for dnn2,
# by the commands printed with them (`records.load_certified` reads them):

# %%
recorded = {name: load_certified(name) for name in ("small", "dnn2")}
fig, axes = plt.subplots(1, 2, figsize=(12, 4))
for ax, (name, rec) in zip(axes, recorded.items()):
    plot_certified_curves(accuracy_curves(rec["results"]), ax=ax,
                          title=f"{name}: first {rec['n']} test images")
    print(rec["origin"])
    for r in rec["results"]:
        print(f"  ε {r.epsilon:4.2f}: PGD {r.pgd_accuracy:.3f}  MILP {r.certified('milp'):.3f}  "
              f"LP+cuts {r.certified('lp+cuts'):.3f}  CROWN {r.certified('crown'):.3f}  "
              f"interval {r.certified('interval'):.3f}  unknown {r.counts['unknown']}")
plt.show()

# %% tags=["hide-input"]
res = {name: {r.epsilon: r for r in rec["results"]} for name, rec in recorded.items()}
order = ("interval", "crown", "lp+cuts", "milp")
check_claim(all(r.certified(a) <= r.certified(b) for rs in res.values() for r in rs.values()
                for a, b in zip(order, order[1:])) and
            all(r.certified("milp") <= r.pgd_accuracy for rs in res.values() for r in rs.values()),
            "on both networks at every ε: interval ≤ CROWN ≤ LP+cuts ≤ MILP ≤ PGD")
check_claim(all(r.counts["unknown"] == 0 for r in res["small"].values()),
            "small net: the MILP decided every image at every ε")
gaps = [r.pgd_accuracy - r.certified("milp") for r in res["small"].values()]
check_claim(max(gaps) == gaps[6] and abs(max(gaps) - 0.045) < 1e-9 and min(gaps) == 0,
            "small net: PGD's accuracy exceeds the truth by 0 to 0.045 (9 of 200 images, at ε = 0.08)")
check_claim([r.counts["unknown"] for e, r in res["dnn2"].items() if e >= 0.05] == [5, 11, 11, 9]
            and all(r.counts["unknown"] == 0 for e, r in res["dnn2"].items() if e < 0.05),
            "dnn2: 5 to 11 of 100 images stay unknown from ε = 0.05 on, none before")
check_claim(abs(res["small"][0.05].certified("lp+cuts") - 0.455) < 1e-9 and
            abs(res["small"][0.05].certified("crown") - 0.235) < 1e-9 and
            abs(res["dnn2"][0.05].certified("lp+cuts") - 0.71) < 1e-9 and
            abs(res["dnn2"][0.05].certified("crown") - 0.35) < 1e-9,
            "ε = 0.05: LP+cuts 0.455 against CROWN 0.235 (small), 0.710 against 0.350 (dnn2)")

# %% [markdown]
# Three things stand out.
#
# * **Where the MILP decided everything, its curve is the robust accuracy**, and the gap to
#   PGD's curve is exactly what PGD missed. For the small net (70 hidden neurons) the MILP
#   decided every one of the 200 images at every ε, and PGD's accuracy is above the truth by
#   0 to 0.045 — 9 of the 200 images at ε = 0.08 are attackable but survive PGD. Close, but
#   only the MILP can tell us that. For dnn2 (200 hidden neurons) the limit of 10 s per MILP
#   left 5 to 11 of 100 images unknown from ε = 0.05 on; there, the MILP's curve is again
#   only a lower bound, and the truth lies somewhere between it and PGD's. Exactness gets
#   dear fast as networks widen.
# * **CROWN is far above intervals, and far below the truth.** The cheap bounds give up at
#   radii where most images are still robust.
# * **The LP with cuts is the big step after CROWN**, just where CROWN starts to give up: at
#   ε = 0.05 it proves 0.455 of the small net's images against CROWN's 0.235 (dnn2: 0.710
#   against 0.350); the hull over each neuron's input box makes the difference. It too falls
#   away as ε grows, and closing the rest of the gap takes branching — the MILP's, or the
#   branch-and-bound of today's verifiers.
#
# The split shows which step settled how many images, and the seconds each step took for
# all 200 (the LP and MILP ran in two worker processes):

# %%
r = recorded["small"]["results"][4]
print(f"small net, ε = {r.epsilon}: settled by", r.split)
print("seconds:", r.seconds)

# %% tags=["hide-input"]
check_claim(r.epsilon == 0.05 and r.split["milp"] == 45 and sum(r.split.values()) == 200,
            "ε = 0.05: the MILP settled 45 of the 200 images")
cheap = sum(r.split.get(s, 0) for s in ("misclassified", "pgd", "interval", "crown"))
check_claim(cheap == 109, "the misclassified images, PGD and CROWN settled 109 of the 200 images")
check_claim(max(r.seconds["pgd"], r.seconds["interval"], r.seconds["crown"]) < 0.1 < 30 < r.seconds["lp/milp"],
            "the batched steps took under 0.1 s each, the LP/MILP step more than 30 s")

# %% [markdown]
# The cheap steps — the clean prediction, PGD and CROWN — settle more than half of the images
# (109 of 200) in under a tenth of a second each, for all 200 together; the LP and the MILP
# need solver runs for every remaining image and took more than half a minute.
#
# ## Convolutions
#
# Nothing above needs fully connected layers. `linear_bounds` pushes bounds back through a
# convolution with its transposed convolution, and `affine_layers(..., sparse=True)` lowers a
# convolution to a sparse matrix (each output reads only a 3×3 patch), so `certify` and the
# MILP accept the CNN too. The cost is size:

# %%
cnn = load_model("cnn")
feature_map, hidden_neurons = torch.zeros(1, 1, 28, 28), 0
for layer in cnn:
    feature_map = layer(feature_map)
    hidden_neurons += feature_map.numel() if isinstance(layer, nn.ReLU) else 0
print(f"hidden neurons: CNN {hidden_neurons}, small net {sum(len(b) for b in bs[:-1])}")

# %% tags=["hide-input"]
check_claim(hidden_neurons == 47140, "the CNN has 47,140 hidden neurons, the small net 70")

# %% [markdown]
# CROWN back-substitutes one pair of rows for every unstable hidden neuron, through all the
# layers below it; with 47,140 hidden neurons instead of 70, every step of the cascade is
# far dearer on the CNN than on the small net.
#
# ## Try it
#
# Pick a network, ε and how far the cascade may go. The first 30 test images are framed green
# when proven robust, red when attacked (or misclassified), grey when unknown; the caption
# names the step that settled each. Cascades up to "interval" and "crown" run live; those up
# to "lp+cuts" and "milp" come from a precomputed table (at most 20 s per solver call) unless
# you tick "compute live" — then each LP or MILP call stops after 2 s, and at larger ε some
# images stay grey: exactly the images where the truth is expensive.

# %% tags=["nbval-ignore-output"]
certified_widget(models, X, y, epsilon=0.02, method="crown", model="small")

# %% [markdown]
# ## Exercises
#
# ### Exercise 9.1 — CROWN's two lines
#
# Write `lines(l, u)` for tensors of pre-activation bounds `l <= u` (any shape): return
# `(lower_slope, upper_slope, upper_offset)`, each of the shape of `l`, such that
# `lower_slope * z <= relu(z) <= upper_slope * z + upper_offset` for all `z` in `[l, u]` —
# the chord above and the adaptive lower line for unstable neurons, the exact lines for
# stable ones.

# %% tags=["exercise"]
def lines(l, u):
    # BEGIN SOLUTION
    unstable = (l < 0) & (u > 0)
    on = (l >= 0).to(l.dtype)
    upper_slope = torch.where(unstable, u / (u - l), on)
    upper_offset = torch.where(unstable, -l * upper_slope, torch.zeros_like(l))
    lower_slope = torch.where(unstable, (u >= -l).to(l.dtype), on)
    return lower_slope, upper_slope, upper_offset
    # END SOLUTION


# %%
check("9.1", lines)

# %% [markdown]
# ### Exercise 9.2 — one back-substitution step through a ReLU layer
#
# The rows of `A` (shape `(m, n)`) are linear functions $A\,z$ of a layer's activations
# $z = \mathrm{relu}(\hat z)$, with $l \le \hat z \le u$ (each of shape `(n,)`). Write
# `through_relu(A, l, u)`: return `(A_hat, const)`, of shapes `(m, n)` and `(m,)`, such that
# $A z \ge \hat A \hat z + \text{const}$ for every $\hat z$ in the box — the step inside
# `crown`'s loop. Use the lines of exercise 9.1 (the package's `relu_relaxation(l, u)` returns
# the same three tensors).

# %% tags=["exercise"]
def through_relu(A, l, u):
    # BEGIN SOLUTION
    lower_slope, upper_slope, upper_offset = relu_relaxation(l, u)
    pos, neg = A.clamp(min=0), A.clamp(max=0)
    return pos * lower_slope + neg * upper_slope, neg @ upper_offset
    # END SOLUTION


# %%
check("9.2", through_relu)

# %% [markdown]
# ### Exercise 9.3 — predict: who proves image 6?
#
# Take test image 6 (a 4) on the small net at ε = 0.01. Which is the cheapest verifier
# that proves it robust against all nine targets? Answer `"interval"`, `"crown"` or
# `"neither"` — then run the check, which computes both.

# %% tags=["exercise"]
answer = None
# BEGIN SOLUTION
answer = "crown"
# END SOLUTION

# %%
check("9.3", answer)

# %% [markdown]
# ### Exercise 9.4 — what a failed attack tells us
#
# At ε = 0.06 on image 0, targeted PGD ends with margin $+0.44$ for target 3. What does
# that number prove?
#
# * **a** — that the image is robust against target 3 at ε = 0.06
# * **b** — only that $m_3^* \le 0.44$: the worst-case margin is at most the margin at any
#   point of the ball, and the attack's point is one of them; it says nothing about the sign
#   of $m_3^*$
# * **c** — that $m_3^* \ge 0.44$, a lower bound like CROWN's
# * **d** — that the MILP must have made a numerical error, since it reports $-0.401$

# %% tags=["exercise"]
answer = None
# BEGIN SOLUTION
answer = "b"
# END SOLUTION

# %%
check("9.4", answer)

# %% [markdown] tags=["solution"]
# <details><summary>Model answer</summary>
#
# **b.** $m_3^* = \min$ over the ball of the margin, so the margin at *any* point of the ball
# — PGD's included — is an upper bound on it. A positive upper bound leaves both signs
# possible. Only a lower bound above zero (a certificate: interval, CROWN, LP) or the exact
# minimum (MILP) can show robustness. Here the MILP finds $m_3^* = -0.401$ and its point,
# replayed on the network, is misclassified: the attack simply did not find it. That is not
# a numerical error: the replay checks the MILP's point on the real model.
#
# </details>

# %% [markdown]
# ## What we learned
#
# * Linear bound propagation (CROWN) replaces each unstable ReLU by two lines and substitutes
#   them backwards, down to the input box: no solver, batched, and far tighter than intervals.
# * Tight intermediate bounds matter as much as the relaxation itself: CROWN beats the
#   chapter's LP, which relaxes better but starts from interval bounds.
# * An attack gives an upper bound on the worst-case margin, a certifier a lower bound, the
#   MILP the value. A failed attack proves nothing: on image 0 at ε = 0.06 PGD found no
#   adversarial example, and the MILP found one.
# * Certified accuracy ≤ robust accuracy ≤ accuracy under PGD; the images in between are
#   unknown, not robust. The exact method closes the gap on small networks, at a price that
#   grows fast with the network and with ε — the open question the chapter ends on.
#
# ## References
#
# * H. Zhang, T.-W. Weng, P.-Y. Chen, C.-J. Hsieh and L. Daniel. "Efficient Neural Network
#   Robustness Certification with General Activation Functions." *Advances in Neural
#   Information Processing Systems (NeurIPS)*, 2018 (CROWN, and its adaptive lower slope).
# * G. Singh, T. Gehr, M. Püschel and M. Vechev. "An Abstract Domain for Certifying Neural
#   Networks." *Proceedings of the ACM on Programming Languages* 3 (POPL), 2019 (DeepPoly).
# * T.-W. Weng, H. Zhang, H. Chen, Z. Song, C.-J. Hsieh, D. Boning, I. S. Dhillon and
#   L. Daniel. "Towards Fast Computation of Certified Robustness for ReLU Networks."
#   *International Conference on Machine Learning (ICML)*, 2018 (Fast-Lin).
# * E. Wong and J. Z. Kolter. "Provable Defenses against Adversarial Examples via the Convex
#   Outer Adversarial Polytope." *International Conference on Machine Learning (ICML)*, 2018
#   (the dual network: the same back-substitution, from the LP's dual).
# * K. Xu, Z. Shi, H. Zhang, Y. Wang, K.-W. Chang, M. Huang, B. Kailkhura, X. Lin and
#   C.-J. Hsieh. "Automatic Perturbation Analysis for Scalable Certified Robustness and
#   Beyond." *Advances in Neural Information Processing Systems (NeurIPS)*, 2020 (auto_LiRPA).
# * S. Gowal, K. Dvijotham, R. Stanforth, R. Bunel, C. Qin, J. Uesato, R. Arandjelović,
#   T. Mann and P. Kohli. "On the Effectiveness of Interval Bound Propagation for Training
#   Verifiably Robust Models." arXiv:1810.12715, 2018 (interval bounds).
# * V. Tjeng, K. Xiao and R. Tedrake. "Evaluating Robustness of Neural Networks with Mixed
#   Integer Programming." *International Conference on Learning Representations (ICLR)*, 2019.
# * R. Anderson, J. Huchette, W. Ma, C. Tjandraatmadja and J. P. Vielma. "Strong
#   Mixed-Integer Programming Formulations for Trained Neural Networks." *Mathematical
#   Programming* 183, 2020 (the cuts of "lp+cuts").
# * S. Wang, H. Zhang, K. Xu, X. Lin, S. Jana, C.-J. Hsieh and J. Z. Kolter. "Beta-CROWN:
#   Efficient Bound Propagation with Per-neuron Split Constraints for Neural Network
#   Robustness Verification." *Advances in Neural Information Processing Systems
#   (NeurIPS)*, 2021 (branch and bound on top of CROWN).
# * J. Z. Kolter and A. Madry. *Adversarial Robustness: Theory and Practice*, tutorial at
#   NeurIPS 2018; chapter 3, "Adversarial examples, solving the inner maximization",
#   <https://adversarial-ml-tutorial.org/adversarial_examples/>.
