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
# — whichever of the triangle's two lower sides is closer (slope 1 when $u \ge -l$). Stable
# neurons are exact: slope 1 when $l \ge 0$, the zero function when $u \le 0$.

# %%
import matplotlib.pyplot as plt
import torch

from course_utils.bounds import bound_propagation, interval_based_bound, linear_bounds, objective_matrix
from course_utils.checks import approx, check_close
from course_utils.certified import accuracy_curves, bound_sandwich, certified_accuracy
from course_utils.data import eval_subset
from course_utils.models import load_model
from course_utils.records import load_certified
from course_utils.plotting import plot_bound_sandwich, plot_certified_curves, plot_crown_relaxation
from course_utils.threat import linf_box
from course_utils.widgets import certified_widget

torch.manual_seed(0)
models = {name: load_model(name) for name in ("small", "dnn2")}
X, y = eval_subset(1000)
x, label = X[:1], int(y[0])
small = models["small"]

_ = plot_crown_relaxation(l=-1.0, u=1.5)
plt.show()

# %% [markdown]
# ## Back-substitution
#
# To bound $c^T z_{d+1}$ from below, write it in terms of the layer before,
# $c^T (W_d z_d + b_d)$. Each coordinate of $z_d$ is a ReLU of a pre-activation $\hat z_d$;
# where the coefficient $(W_d^T c)_j$ is positive, replacing $z_{d,j}$ by its *lower* line can
# only decrease the expression, and where it is negative, the *upper* line does the same. The
# result is again a linear function — now of $\hat z_d = W_{d-1} z_{d-1} + b_{d-1}$ — so the
# step repeats, layer by layer, down to the input. There, a linear function over the box
# $x - \epsilon \le x' \le x + \epsilon$ is minimised in closed form, exactly like the
# analytic last layer of notebook 8.
#
# The lines need $l$ and $u$ of every hidden neuron, and those come from the same procedure
# run one layer at a time, with $c = \pm e_j$ for each neuron $j$. Everything is matrix
# products: `linear_bounds(model, box, C)` does it for a whole batch of images (a
# convolution is pushed back by its transposed convolution). Here are the three bounds on the
# chapter's image at ε = 0.05, where the chapter's interval bound proves nothing:

# %%
box = linf_box(x.double(), 0.05)
C = objective_matrix(label)
interval = interval_based_bound(small, C, bound_propagation(small, box))[0]
_, crown = linear_bounds(small, box, C)
print(f"{'target':>6} {'interval':>9} {'CROWN':>9}")
for t in range(10):
    if t != label:
        print(f"{t:>6} {interval[t].item():9.3f} {crown[0, t].item():9.3f}")

# %% [markdown]
# CROWN proves seven of the nine targets with no solver at all; the interval bound, none. The
# two it leaves open (3 and 9) are the ones the exact MILP had to settle in notebook 6.
#
# ## The sandwich
#
# Every method gives a number on the same scale: a lower bound on
# $\min_{\|\delta\|_\infty \le \epsilon}(\text{logit}_7 - \text{logit}_3)$, the MILP gives the
# minimum itself, and a targeted PGD attack gives an *upper* bound (the value at a point it
# found). The truth is squeezed between the tightest lower bound and the attack. Here is the
# whole sandwich for target 3 as ε grows (the MILP is solved exactly at every ε; about 10 s):

# %%
eps_grid = [0.0, 0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.08, 0.1]
sandwich = bound_sandwich(small, x, label, 3, eps_grid)
print(f"{'ε':>5} " + " ".join(f"{k:>9}" for k in ("interval", "CROWN", "LP", "MILP", "PGD")))
for i, e in enumerate(eps_grid):
    print(f"{e:5.2f} " + " ".join(f"{sandwich[k][i]:9.3f}" for k in ("interval", "crown", "lp", "exact milp",
                                                                  "targeted pgd")))
_ = plot_bound_sandwich(sandwich, title="small net, test image 0, target 3")
plt.show()

# %% [markdown]
# Read the chart from the top. PGD and the MILP almost coincide: on this image the attack is
# nearly optimal. Each lower bound crosses zero at its own radius — the largest ε at which it
# can still prove anything: the interval bound before 0.01, the chapter's LP just below 0.03,
# CROWN near 0.045 and the MILP (the truth) near 0.06.
#
# CROWN beats the chapter's LP, although the LP's relaxation of each ReLU is the *tighter*
# one (the whole triangle, not two of its sides). The reason is the intermediate bounds: the
# chapter's LP is built on interval bounds for $l$ and $u$, CROWN computes its own, much
# tighter ones — and every relaxation is only as good as the $l$ and $u$ it is given. (The
# LP on CROWN's bounds is at least as tight as CROWN; `verify.certify` uses it that way.)
#
# ## Certified accuracy over a test set
#
# One image tells us little. `certified_accuracy(model, data, epsilons, methods)` runs, for
# every ε, a cascade over many images, cheapest step first and each later step only on what is
# still open:
#
# 1. a misclassified image is not robust at any ε;
# 2. l∞ PGD (40 steps, valid images): what it flips is *attacked*; the fraction that
#    survives is an **upper bound** on the robust accuracy;
# 3. interval bounds, then CROWN, batched over the images: what they prove is *robust*;
# 4. one image at a time, the LP on tightened bounds strengthened by a few rounds of cuts
#    (the ReLU's hull over its input box, notebook 7), then the MILP in decide mode
#    (notebook 6), which settles every remaining image unless a time limit stops it.
#
# A method's *certified accuracy* counts the images proven by it or by a cheaper step before
# it. Every image ends robust, attacked or unknown, and `.split` says which step settled it.
# Interval bounds and CROWN are fast enough for the first 1000 test images here, on two
# networks, at six radii:

# %%
fast = {name: certified_accuracy(net, (X, y), [0.0, 0.01, 0.02, 0.03, 0.05, 0.1], ["interval", "crown"],
                                 progress=False)
        for name, net in models.items()}
for name, results in fast.items():
    print(name)
    for r in results:
        print(f"  ε {r.epsilon:4.2f}: clean {r.clean_accuracy:.3f}  PGD {approx(r.pgd_accuracy)}  "
              f"interval {r.certified('interval'):.3f}  CROWN {r.certified('crown'):.3f}")

# %% tags=["hide-input"]
for name, eps, value in (("small", 0.05, 0.654), ("small", 0.1, 0.097), ("dnn2", 0.05, 0.751)):
    r = next(r for r in fast[name] if r.epsilon == eps)
    check_close(r.pgd_accuracy, value, 0.005, f"{name}, ε = {eps}: accuracy under PGD, first 1000 images")

# %% [markdown]
# What this cost on this machine (it varies from run to run):

# %% tags=["nbval-ignore-output"]
for name, results in fast.items():
    print(name, " ".join(f"ε {r.epsilon:g}: " + ", ".join(f"{k} {v:.2f} s" for k, v in r.seconds.items())
                         for r in results[-2:]))

# %% [markdown]
# Between CROWN's line and PGD's lies everything nobody has decided yet — robust or not, the
# cheap methods cannot tell. Only an exact method closes that gap, and it is much dearer: for
# the small net at ε = 0.05 the whole cascade on the first 1000 test images takes about three
# minutes on two cores (`benchmarks/certified_accuracy.md`). So the full curves were computed
# once, on the first 200 test images for the small net and the first 100 for dnn2, by the
# commands stored with them (`records.load_certified`):

# %%
recorded = {name: load_certified(name) for name in ("small", "dnn2")}
fig, axes = plt.subplots(1, 2, figsize=(12, 4))
for ax, (name, rec) in zip(axes, recorded.items()):
    plot_certified_curves(accuracy_curves(rec["results"]), ax=ax,
                          title=f"{name}: first {rec['n']} test images")
    print(f"{name}: `{rec['command']}`")
    for r in rec["results"]:
        print(f"  ε {r.epsilon:4.2f}: PGD {r.pgd_accuracy:.3f}  MILP {r.certified('milp'):.3f}  "
              f"LP+cuts {r.certified('lp+cuts'):.3f}  CROWN {r.certified('crown'):.3f}  "
              f"interval {r.certified('interval'):.3f}  unknown {r.counts['unknown']}")
plt.show()

# %% [markdown]
# Three things stand out.
#
# * **The MILP curve is the truth** where it decided everything, and it hugs the PGD curve: on
#   these networks a 40-step attack finds nearly every adversarial example that exists — an
#   empirical fact about these models, not a guarantee. For the small net (70 hidden neurons)
#   the MILP decided every one of the 200 images at every ε. For dnn2 (200 hidden neurons)
#   the limit of 10 s per MILP left 5 to 11 of 100 images undecided from ε = 0.05 on: the
#   gap between its MILP and PGD curves is those images. Exactness gets dear fast as networks
#   widen.
# * **CROWN is far above intervals, and far below the truth.** The cheap bounds give up at
#   radii where most images are still robust.
# * **The LP with cuts is the big step after CROWN**, just where CROWN starts to give up: at
#   ε = 0.05 it proves 0.455 of the small net's images against CROWN's 0.235 (dnn2: 0.710
#   against 0.350). The plain LP on the same bounds added only a point or two over CROWN (our
#   runs before the cuts of notebook 7 were added); the hull over each neuron's input box makes
#   the difference. It too falls away as ε grows, and closing the rest of the gap takes
#   branching — the MILP's, or the branch-and-bound of today's verifiers.
#
# The split of the big run shows where the time goes: most images are settled by PGD, CROWN
# or the LP in a fraction of a second each, and the MILP spends minutes on the rest:

# %%
r = recorded["small"]["results"][4]
print(f"small net, ε = {r.epsilon}: settled by", r.split)

# %% [markdown]
# ## Convolutions
#
# Nothing above needs fully connected layers. `linear_bounds` pushes bounds back through a
# convolution with its transposed convolution, and `affine_layers(..., sparse=True)` lowers a
# convolution to a sparse matrix (each output reads only a 3×3 patch), so `certify` and the
# MILP accept the CNN too. The cost is size: our CNN has about 47 000 hidden neurons, and one
# CROWN pass over one image at ε = 0.01 takes about half a minute on this CPU — tractable for a
# few images, not for the curves above (see `benchmarks/certified_accuracy.md`).
#
# ## Try it
#
# Pick a network, ε and how far the cascade may go. The first 30 test images are framed green
# when proven robust, red when attacked (or misclassified), grey when undecided; the caption
# names the step that settled each. The LP and MILP stop after 2 s per call, so at larger ε
# some images stay grey — exactly the images where the truth is expensive.

# %% tags=["nbval-ignore-output"]
certified_widget(models, X, y, epsilon=0.02, method="crown", model="small")

# %% [markdown]
# ## What we learned
#
# * Linear bound propagation (CROWN) replaces each unstable ReLU by two lines and substitutes
#   them backwards: no solver, batched, and far tighter than intervals.
# * Tight intermediate bounds matter as much as the relaxation itself: CROWN beats the
#   chapter's LP, which relaxes better but starts from interval bounds.
# * Certified accuracy is a curve in ε between the proven (lower) and the attacked (upper)
#   accuracy; the exact method closes the gap on small networks, at a price that grows fast
#   with the network and with ε — the open question the chapter ends on.
