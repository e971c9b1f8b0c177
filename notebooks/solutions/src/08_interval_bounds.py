# %% [markdown]
# # 8. Interval-propagation bounds: loose, but fast
#
# *Course: "Adversarial examples, solving the inner maximization" — after chapter 3 of
# Kolter & Madry, "Adversarial Robustness: Theory and Practice".*
#
# Notebook 7 bounded the worst-case margin $m_t^*$ from below with one LP per target. Here is
# a cheaper lower bound that needs no solver: notebook 6's interval arithmetic and one
# observation about the last layer. Never tighter than the LP, it costs a few matrix
# products per layer, runs on a whole batch of images at once, and is differentiable, so a
# network can be trained through it. (Notation: notebook 0.)
#
# ## Intervals, layer by layer
#
# Notebook 6's rule for a linear layer, in centre-radius form, shows the widths: with centre
# $m = (u + l)/2$ and radius $r = (u - l)/2$, each term $W_{ij} z_j$ ranges over
# $W_{ij} m_j \pm |W_{ij}|\, r_j$, so
#
# $$Wm + b - |W|\,r \;\le\; Wz + b \;\le\; Wm + b + |W|\,r .$$
#
# A ReLU maps $[l, u]$ to $[\max(l, 0), \max(u, 0)]$. Each rule gives the exact range of one
# neuron over the box it receives; the next box forgets that a layer's neurons move together
# (they all come from one $x$). No `torch.no_grad()` here: we will differentiate through
# these bounds.

# %%
import copy

import matplotlib.pyplot as plt
import torch
import torch.nn as nn

from course_utils import bounds as package
from course_utils import records as chapter
from course_utils.bounds import bound_propagation, objective_matrix
from course_utils.checks import approx, check_claim, check_close, check_same
from course_utils.data import eval_subset
from course_utils.exercises import check
from course_utils.models import load_model
from course_utils.plotting import plot_bound_comparison, plot_bound_widths
from course_utils.threat import linf_box
from course_utils.verify import certify
from course_utils.widget_tables import bound_entry_key, load_table, recorded_bounds
from course_utils.widgets import bound_comparison_widget

torch.manual_seed(0)
models = {name: load_model(name) for name in ("small", "dnn2", "dnn4")}
X, y = eval_subset(100)       # the first 100 test images; the chapter's example is image 0
x, label = X[:1], int(y[0])
small, dnn4 = models["small"], models["dnn4"]


# %%
def interval_bounds(model, l, u):
    """Interval bounds (l, u) on the output of every layer of model over the box [l, u]:
    centre through W, radius through |W|."""
    bounds = []
    for layer in model:
        if isinstance(layer, nn.Linear):
            mid, rad = (u + l) / 2, (u - l) / 2
            mid, rad = layer(mid), rad @ layer.weight.abs().t()
            l, u = mid - rad, mid + rad
        elif isinstance(layer, nn.ReLU):
            l, u = l.clamp(min=0), u.clamp(min=0)
        else:                                   # Flatten
            l, u = layer(l), layer(u)
        bounds.append((l, u))
    return bounds


box = linf_box(x.double(), 0.01)
ours, theirs = interval_bounds(copy.deepcopy(dnn4).double(), *box), bound_propagation(dnn4, box)
check_same(torch.cat([torch.cat([l, u], 1) for l, u in ours], 1), torch.cat([torch.cat([l, u], 1) for l, u in theirs], 1),
           "dnn4, every layer: interval_bounds = course_utils.bounds.bound_propagation", atol=1e-9)

# %% [markdown] tags=["question"]
# **Ask the room.** The 4-layer network `dnn4` has three hidden layers (200, 100, 100
# neurons). Push the ε-box of one image through it. Does the width of the intervals grow by
# about the same *amount* per layer, or by about the same *factor*?

# %% tags=["reveal"]
def widths(model, x, epsilon):
    """The width u - l of every layer's output interval (one image), flattened."""
    return [(u - l)[0].flatten() for l, u in bound_propagation(model, linf_box(x.double(), epsilon))]


w = {e: widths(dnn4, x, e) for e in (0.01, 0.02, 0.05)}
linear = [i for i, layer in enumerate(dnn4) if isinstance(layer, nn.Linear)]
relus = [i for i, layer in enumerate(dnn4) if isinstance(layer, nn.ReLU)]
means = {f"ε = {e}": [w[e][i].mean().item() for i in linear] for e in w}
for name, m in means.items():
    print(f"{name}: mean width per layer " + "  ".join(f"{v:7.3g}" for v in m))
plot_bound_widths(means, layer_names=["layer 1", "layer 2", "layer 3", "logits"],
                  title="dnn4, test image 0: interval widths of the pre-activations")
plt.show()
more = {i: int((w[0.02][i] > 2 * w[0.01][i]).sum()) for i in linear + relus}
print(f"ε 0.01 → 0.02: largest ratio of the first layer's 200 widths {approx((w[0.02][1] / w[0.01][1]).max(), 3)}; "
      f"ReLU outputs more than doubled: {sum(more[i] for i in relus)} of 400, "
      f"{sum(int(((w[0.01][i] == 0) & (w[0.02][i] > 0)).sum()) for i in relus)} of them from width 0")

# %% tags=["hide-input"]
growth = [m[i + 1] / m[i] for m in means.values() for i in range(len(m) - 1)]
check_claim(min(growth) > 4, "at every ε, each layer multiplies the mean width by more than 4", show=False)
check_claim(all(m[-1] > 60 for m in means.values()), "the logits' intervals are more than 60 wide on average", show=False)
with torch.no_grad():
    z = dnn4(x)[0]
check_claim(bool((z[label] - z).max() < 30), "dnn4's margins on the clean image 0 are all below 30", show=False)
check_claim(bool((w[0.02][0] <= 2 * w[0.01][0] + 1e-12).all() and (w[0.02][1] <= 2 * w[0.01][1] + 1e-12).all()),
            "doubling ε at most doubles every width of the input box and of the first layer", show=False)
check_claim(sum(more[i] for i in relus) == 96 and more[3] == 3 and more[1] == more[5] == more[7] == 0
            and sum(int(((w[0.01][i] == 0) & (w[0.02][i] > 0)).sum()) for i in relus) == 23,
            "96 ReLU outputs (23 from width 0) and 3 second-layer pre-activations more than double", show=False)

# %% [markdown]
# Each layer multiplies the mean width by more than 4: interval bounds loosen geometrically
# with depth, since an output's width $\sum_j |W_{ij}|\,(u_j - l_j)$ puts every input neuron
# at its worst end at once. On the logits the intervals are more than 60 wide on average,
# far more than the margins we want to prove positive (on the clean image 0 they are all
# below 30).
#
# In ε it is different. Doubling ε at most doubles the input box's widths (the $[0, 1]$
# clamp cuts some), so it at most doubles every width of the first layer, $|W|$ times them.
# Past a ReLU that no longer holds: 96 of the 400 ReLU outputs more than double, 23 of them
# from a width of 0, and behind them 3 of the second layer's pre-activations do too
# (exercise 8.2 asks why).
#
# ## An analytic last layer
#
# Pushing the intervals through the last layer too and subtracting, $m_t \ge l_y - u_t$,
# throws information away: the lowest $z_y$ and the highest $z_t$ need not come from the same
# input. We want the minimum of one linear function, $m_t = c^T z_{d+1}$ with
# $c = e_y - e_t$, so we stop one layer early and solve the last step exactly. With
# $z_{d+1} = W_d z_d + b_d$ and only the box $\hat l \le z_d \le \hat u$ known,
#
# $$\min_{\hat l \le z_d \le \hat u} c^T (W_d z_d + b_d)
#   = \min_{\hat l \le z_d \le \hat u} (W_d^T c)^T z_d + c^T b_d .$$
#
# A linear function over a box is minimised coordinate by coordinate: $(z_d)_j = \hat l_j$
# where $(W_d^T c)_j > 0$, else $\hat u_j$. The optimal value is
#
# $$\max(W_d^T c, 0)^T \hat l + \min(W_d^T c, 0)^T \hat u + c^T b_d .$$
#
# ### The chapter in code
#
# The chapter stacks the objectives $c$ as the columns of a matrix $C$: $e_y - e_t$ for every
# class $t$ (`objective_matrix(y)`; column $y$ is zero, and so is its bound). `bounds[-2]` is
# the box of $z_d$, the last ReLU's output:

# %%
def interval_based_bound(model, C, bounds):
    """Lower bound on C^T z_{d+1} for every box of the batch: shape (batch, columns of C)."""
    W, b = model[-1].weight.double(), model[-1].bias.double()
    l, u = bounds[-2]                            # box of z_d, shape (batch, hidden)
    cW = C.t() @ W                               # row j: the coefficients of z_d in c_j^T z_{d+1}
    lower = cW.clamp(min=0) @ l.t() + cW.clamp(max=0) @ u.t() + (C.t() @ b)[:, None]
    return lower.t()


# %% [markdown]
# The chapter's example: the small network, test image 0, ε = 0.02, the box clamped to
# $[0, 1]$; the package's function beside ours on these 100 images:

# %%
C = objective_matrix(label)                     # column t: e_7 - e_t
bounds = bound_propagation(small, linf_box(X.double(), 0.02))
lower = interval_based_bound(small, C, bounds)
check_same(lower, package.interval_based_bound(small, C, bounds), "interval_based_bound = bounds.interval_based_bound")
lower = lower[0]
naive = bounds[-1][0][0, label] - bounds[-1][1][0]          # l_y - u_t, image 0
print(chapter.side_by_side({t: v for t, v in enumerate(lower.tolist()) if t != label},
                           chapter.INTERVAL_EPS_002, name="interval"))
print("subtracting the logit bounds instead:", " ".join(f"{t}: {naive[t]:.1f}" for t in range(10) if t != label))

# %% tags=["hide-input"]
positive = [t for t in range(10) if t != label and lower[t] > 0]
check_claim(positive == [4, 6] and [t for t, v in chapter.INTERVAL_EPS_002.items() if v > 0] == [4, 6],
            "only targets 4 and 6 get a positive bound, for us and in the chapter", show=False)
check_claim(bool((naive < lower)[torch.arange(10) != label].all()) and [t for t in range(10) if t != label and naive[t] > 0] == [6],
            "the subtraction is below the analytic bound on every target, and positive for target 6 only", show=False)

# %% [markdown]
# Only targets 4 and 6 get a positive bound, in the chapter and for us. Subtracting the logit
# bounds is lower on every target and proves 6 only.
#
# ## Training through the bound
#
# Every step above is a tensor operation, so autograd can differentiate the bound, in ε and
# in every weight. A finite difference confirms the derivative in ε:

# %%
net = copy.deepcopy(small).double().requires_grad_(True)


def bound_at(epsilon):
    """The interval bound on the nine margins of image 0 for net, at radius epsilon."""
    l0, u0 = (x.double() - epsilon).clamp(min=0), (x.double() + epsilon).clamp(max=1)
    return interval_based_bound(net, C, interval_bounds(net, l0, u0))[0]


epsilon = torch.tensor(0.02, dtype=torch.float64, requires_grad=True)
bound_at(epsilon)[3].backward()
with torch.no_grad():
    slope = (bound_at(0.02 + 1e-7)[3] - bound_at(0.02)[3]) / 1e-7
print(f"target 3: d bound / d ε = {approx(epsilon.grad, 1)}; gradient with respect to the first layer's "
      f"weights: shape {tuple(net[1].weight.grad.shape)}")
check_close(epsilon.grad, slope, 1e-4 * abs(slope), "autograd's derivative = the finite difference", show=False)

# %% [markdown]
# The chapter's closing remark: a network can be trained to make its own bounds positive.
# Take the nine bounds $J_t$ on $z_y - z_t$ and use $-J$ as logits: for every input of the
# ball, $z_t - z_y \le -J_t$, so the cross-entropy of $-J$ bounds the loss of the worst input
# from above (Wong & Kolter, 2018). Ten gradient steps on it, on these 100 images:

# %%
def robust_loss(model, X, y, epsilon):
    """Cross-entropy of the worst-case logits -J (J: every image's interval bounds on its margins)."""
    bounds = interval_bounds(model, (X - epsilon).clamp(min=0), (X + epsilon).clamp(max=1))
    J = torch.zeros(len(y), 10, dtype=torch.float64)
    for label_ in y.unique().tolist():               # the images of one label share their C
        rows = (y == label_).nonzero()[:, 0]
        J = J.index_copy(0, rows, interval_based_bound(model, objective_matrix(label_), [(l[rows], u[rows]) for l, u in bounds]))
    return nn.functional.cross_entropy(-J, y), J


optimizer = torch.optim.SGD(net.parameters(), lr=0.1)
record = {}
for step in range(11):
    loss, J = robust_loss(net, X.double(), y, 0.02)
    with torch.no_grad():
        proven = ((J > 0) | nn.functional.one_hot(y, 10).bool()).all(1)
        record[step] = proven.float().mean().item(), (net(X.double()).argmax(1) == y).float().mean().item()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
for step in (0, 10):
    print(f"after {step:2d} steps: proven robust at ε = 0.02 {approx(record[step][0], 2)}, clean accuracy "
          f"{approx(record[step][1], 2)}")

# %% tags=["hide-input"]
check_close(record[0][0], 0.0, 0.0, "robust share before training", show=False)
check_close(record[10][0], 0.69, 0.05, "robust share after 10 steps", show=False)
check_claim(0.93 <= record[10][1] < record[0][1] == 1.0, "clean accuracy drops from 1.00 by a few points", show=False)

# %% [markdown]
# Ten steps take the images proven robust from none of the 100 to about seven in ten, for a
# few points of clean accuracy. But these are the images it trained on: this shows the
# mechanism, not a robust network (training for robustness is the tutorial's next chapter).
#
# ## Three bounds side by side
#
# For each target, three numbers on one scale: the interval bound and the LP (notebook 7)
# are lower bounds on $m_t^*$; the MILP (notebook 6, read from the table the widgets use) is
# $m_t^*$ itself.

# %% [markdown] tags=["question"]
# **Ask the room.** The LP certified all nine targets at this ε in notebook 7. Could the
# interval bound be *higher* than the LP's bound for some target?

# %% tags=["reveal"]
targets = [t for t in range(10) if t != label]
lp = certify(small, x, label, 0.02, "lp")
milp = recorded_bounds(models, X, y, "small", "exact milp", 0, 0.02)
columns = {"interval": [lower[t].item() for t in targets], "lp": [r.value for r in lp.results],
           "exact milp": [milp[t] for t in targets]}
print(f"{'target':>6} {'interval':>9} {'LP':>9} {'MILP':>9}")
for i, t in enumerate(targets):
    print(f"{t:>6} {approx(columns['interval'][i], 2):>9} {approx(columns['lp'][i], 2):>9} {columns['exact milp'][i]:9.2f}")
print("targets proven:", {m: sum(v > 0 for v in values) for m, values in columns.items()})
plot_bound_comparison(targets, columns, title="small net, image 0, ε = 0.02: lower bounds on the margin z_7 − z_t")
plt.show()

# %% tags=["hide-input"]
# certify builds its box in the model's float32, ours in float64: they differ by about 1e-6
check_same(torch.tensor(columns["interval"]), torch.tensor([r.bound for r in certify(small, x, label, 0.02, "interval").results]),
           "our interval bound = certify(..., 'interval')", atol=1e-5, show=False)
check_claim(all(columns["interval"][i] <= columns["lp"][i] <= columns["exact milp"][i] + 1e-6
                for i in range(len(targets))), "for every target: interval ≤ LP ≤ MILP", show=False)
check_claim([sum(v > 0 for v in values) for values in columns.values()] == [2, 9, 9],
            "the interval bound proves 2 of the 9 targets, the LP and the MILP all 9", show=False)

# %% [markdown]
# Target by target,
#
# $$\text{interval} \;\le\; \text{LP} \;\le\; \text{MILP} = m_t^*,$$
#
# and that order always holds (exercise 8.3 asks why). The interval bound proves 2 of the 9
# targets; the LP and the MILP all 9. What each cost here (the MILP's seconds are those of
# the run that made the table):

# %% tags=["nbval-ignore-output"]
interval_cert = certify(small, x, label, 0.02, "interval")
milp_seconds = load_table("bounds")["entries"][bound_entry_key("small", "exact milp", 0, 0.02)]["seconds"]
print(f"interval: {interval_cert.seconds:8.3f} s\n      lp: {lp.seconds:8.3f} s\n    milp: {milp_seconds:8.3f} s")

# %% [markdown]
# That is the chapter's trade-off. The interval bound, a few batched matrix products on any
# device, proves little. The LP proves more, for a solver call per target that grows with
# the network. The MILP gives the exact minima, at a cost that can explode. Between them in
# cost sit other methods, linear bound propagation (notebook 9) among them; the best
# trade-off for large networks is an open research question.
#
# ## Try it
#
# Move ε, the image and the network. LP and MILP values are precomputed for the first 5 test
# images (the MILP on the small net only); tick "compute live" to run the verifiers. A
# larger ε never raises a bound.

# %% tags=["nbval-ignore-output"]
bound_comparison_widget(models, X, y, epsilon=0.02, model="small", methods=("interval", "lp", "exact milp"))

# %% [markdown]
# ## Exercises
#
# ### Exercise 8.1 — the first layer over an $\ell_2$ ball
#
# Interval propagation starts from a box. For the $\ell_2$ ball $\|x' - x\|_2 \le \epsilon$ only
# the first layer changes: we need the smallest and largest value of $w^T x' + b$ over the
# ball, for every row $w$ of $W$; from there on the rules above apply. Write
# `l2_first_layer(W, b, X, epsilon)`: `W` of shape `(out, in)`, `b` of shape `(out,)`, `X` a
# batch of flattened images `(batch, in)`; return `(l, u)`, each `(batch, out)`, the exact
# range of every output over its image's ball (ignore the $[0, 1]$ clamp). Cauchy–Schwarz helps.

# %% tags=["exercise"]
def l2_first_layer(W, b, X, epsilon):
    # BEGIN SOLUTION
    centre = X @ W.t() + b
    radius = epsilon * W.norm(dim=1)
    return centre - radius, centre + radius
    # END SOLUTION


# %%
check("8.1", l2_first_layer)

# %% [markdown]
# ### Exercise 8.2 — why a ReLU can more than double a width
#
# Doubling ε at most doubles every width of `dnn4`'s first layer, yet 96 of its 400 ReLU
# outputs more than double. Why?
#
# - `"a"`: rounding errors grow with ε and widen the intervals of later layers
# - `"b"`: a ReLU doubles the width of every unstable neuron it receives
# - `"c"`: the $[0, 1]$ clamp cuts the input box less at larger ε, so its widths grow faster
# - `"d"`: only the part of $[l, u]$ above 0 passes, and it can grow faster than the whole

# %% tags=["exercise"]
answer = None
# BEGIN SOLUTION
answer = "d"
# END SOLUTION

# %%
check("8.2", answer)

# %% [markdown]
# ### Exercise 8.3 — why the interval bound never beats the LP
#
# On every target the interval bound lay below the LP of notebook 7, both built from the same
# interval bounds $l, u$. Why must it?
#
# - `"a"`: HiGHS solves the LP more accurately than interval arithmetic adds up its terms
# - `"b"`: it minimises the same margin over a larger set: boxes instead of triangles
# - `"c"`: the interval bound drops the $[0, 1]$ clamp, so it minimises over a larger ball
# - `"d"`: the LP starts from tighter pre-activation bounds than the interval bound uses

# %% tags=["exercise"]
answer = None
# BEGIN SOLUTION
answer = "b"
# END SOLUTION

# %%
check("8.3", answer)

# %% [markdown]
# ### Exercise 8.4 — investigate: how far does the interval bound reach?
#
# Up to which ε does the interval bound prove image 0 robust (all nine bounds positive)? Find
# it to 4 decimals for the small net and for `dnn4` (bisection works: a larger ε never raises a
# bound), and report `answer = {"small": ..., "dnn4": ...}`.

# %% tags=["exercise"]
answer = None
# BEGIN SOLUTION
answer, objectives = {}, objective_matrix(label)[:, [t for t in range(10) if t != label]]
for name in ("small", "dnn4"):
    low, high = 0.0, 0.05
    for _ in range(16):
        middle = (low + high) / 2
        box = linf_box(x.double(), middle)
        proven = (package.interval_based_bound(models[name], objectives, bound_propagation(models[name], box)) > 0).all()
        low, high = (middle, high) if proven else (low, middle)
    answer[name] = low
# END SOLUTION

# %%
check("8.4", answer)

# %% [markdown]
# ## What we learned
#
# * Interval propagation pushes a box through the network: centre through $W$, radius
#   through $|W|$, the ReLU's clip. The box forgets how neurons move together, so the widths
#   grow by a large factor per layer: geometrically in depth.
# * The analytic last layer minimises the margin over the last hidden layer's box exactly,
#   in closed form: no solver, batched, never below subtracting the logit bounds.
# * The bound is differentiable in ε and in the weights: a network can be trained through it.
# * interval ≤ LP ≤ MILP, target by target: each step up is tighter and dearer.
#
# ## References
#
# * S. Gowal et al. "On the Effectiveness of Interval Bound Propagation for Training
#   Verifiably Robust Models." arXiv:1810.12715, 2018 (interval bound propagation, and
#   training with it).
# * M. Mirman, T. Gehr, M. Vechev. "Differentiable Abstract Interpretation for Provably
#   Robust Neural Networks." ICML 2018 (the box domain, trained through).
# * E. Wong, J. Z. Kolter. "Provable Defenses against Adversarial Examples via the Convex
#   Outer Adversarial Polytope." ICML 2018 (the robust cross-entropy of the worst-case
#   logits).
# * V. Tjeng, K. Xiao, R. Tedrake. "Evaluating Robustness of Neural Networks with Mixed
#   Integer Programming." ICLR 2019.
# * R. Ehlers. "Formal Verification of Piece-Wise Linear Feed-Forward Neural Networks."
#   ATVA 2017 (the LP relaxation).
# * J. Z. Kolter, A. Madry. *Adversarial Robustness: Theory and Practice*, tutorial at
#   NeurIPS 2018; chapter 3,
#   [adversarial-ml-tutorial.org](https://adversarial-ml-tutorial.org/adversarial_examples/).
