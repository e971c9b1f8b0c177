# %% [markdown]
# # 7. Lower bounds on the worst-case margin: convex relaxations
#
# *Course: "Adversarial examples, solving the inner maximization" — after chapter 3 of
# Kolter & Madry, "Adversarial Robustness: Theory and Practice".*
#
# The MILP of notebook 6 computes each worst-case margin $m_t^* = \min_{\text{ball}} (z_y - z_t)$
# exactly, but its cost can grow exponentially with the number of unstable ReLUs. To prove
# robustness we do not need $m_t^*$ itself: any **lower bound** on it that is positive will
# do. (The chapter calls this "upper bounding the inner maximization": a lower bound on the
# worst-case margin bounds how far the adversary can push the target's logit above the true
# class's.) This notebook gets such bounds from a linear program.
#
# ## Relaxing the binaries
#
# The only non-convex constraint of the MILP is $v \in \{0,1\}$. Replace it by
#
# $$0 \le v \le 1$$
#
# and what remains is a linear program (LP), solvable in polynomial time. The feasible set
# only grows, so the LP's minimum is **at most** the MILP's:
#
# $$\text{LP}_t \;\le\; m_t^* \;=\; \min_{\|\delta\|_\infty \le \epsilon,\ x + \delta \in [0,1]} m_t(x+\delta).$$
#
# If the LP's minimum is positive, so is $m_t^*$: target $t$ is "robust". If it is negative we
# learn nothing: the LP may have found a point of the *relaxed* set that no real input
# produces, and the verdict stays "unknown".
#
# What does the relaxation do to one ReLU? For an unstable neuron ($l < 0 < u$), eliminate $v$
# from the four big-M inequalities with $0 \le v \le 1$: what is left is
#
# $$z \ge 0,\qquad z \ge \hat z,\qquad z \le \frac{u\,(\hat z - l)}{u - l},$$
#
# the **triangle** spanned by the graph of the bounded ReLU — its convex hull, the smallest
# convex set that contains it (exercise 7.1 writes these rows):

# %%
import cvxpy as cp
import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn as nn

from course_utils import records as chapter
from course_utils.bounds import bound_propagation
from course_utils.checks import approx, check_claim, check_close, check_same
from course_utils.data import eval_subset
from course_utils.exercises import check
from course_utils.models import load_model
from course_utils.plotting import plot_adversarial_polytope, plot_lp_fake_point, plot_relu_relaxation
from course_utils.polytope import adversarial_polytope
from course_utils.relu import relu_phases
from course_utils.threat import linf_box
from course_utils.verify import certify, lp_cut_rounds, pgd_targets
from course_utils.widgets import bound_comparison_widget

torch.manual_seed(0)
models = {name: load_model(name) for name in ("small", "dnn2", "dnn4")}
small = models["small"]
X, y = eval_subset(100)       # the first 100 test images; the chapter's example is image 0
x, label = X[:1], int(y[0])
plot_relu_relaxation(l=-1.0, u=1.5)
plt.show()

# %% [markdown]
# The black line is the set the MILP allows (exactly $z = \max(0, \hat z)$ on $[l, u]$), the
# shaded triangle the set the LP allows. The gap is largest at $\hat z = 0$, where the chord
# sits at $-ul/(u-l)$ above the ReLU, and it grows with the width $u - l$: tight
# pre-activation bounds matter for the LP even more than for the MILP.
#
# ## The adversarial polytope
#
# Stacked over the layers, these triangles enclose the image of the ε-ball in a convex set.
# On MNIST neither can be drawn; on a toy network with two inputs and two outputs (2-6-6-2,
# random weights) both can. Left, the ball $\|x - x_0\|_\infty \le 0.6$; right, its image
# through the network — the exact set of outputs the adversary can reach, the *adversarial
# polytope* — with the LP relaxation's outer bound (each side a support line, one LP per
# direction) and the interval box around it.

# %% [markdown] tags=["question"]
# **Ask the room.** A square goes through a ReLU network with two outputs. What shape comes
# out? If it stays on one side of the line $z_1 = z_2$, must a convex set around it do the same?

# %%
poly = adversarial_polytope()
plot_adversarial_polytope(poly)
plt.show()

# %% tags=["hide-input"]
outputs = poly.outputs.reshape(-1, 2)
gap_image = outputs[:, 1] - outputs[:, 0]                # z₂ - z₁ over the image: the margin of class 1
check_claim(bool(np.all(poly.directions @ outputs.T <= poly.support[:, None] + 1e-9)),
            "every sampled output lies inside the LP's outer bound")
check_claim(bool((poly.polygon >= poly.box[0] - 1e-6).all() and (poly.polygon <= poly.box[1] + 1e-6).all()),
            "the LP's outer bound lies inside the interval box")
check_claim(poly.center[1] > poly.center[0] and gap_image.min() > 0,
            "the whole image stays in class 1 (z₂ > z₁): the ball is robust")
check_claim(float((poly.polygon[:, 0] - poly.polygon[:, 1]).max()) > 0 and poly.box[1][0] > poly.box[0][1],
            "both the LP's outer bound and the box reach into class 0")

# %% [markdown]
# The image of the square is folded — each fold is a ReLU switching — and it is not convex.
# It stays entirely on the class-1 side of the line $z_1 = z_2$: no point of the ball changes
# the class, and the MILP would say so. The LP minimises the margin $z_2 - z_1$ over the
# shaded convex set instead, and that set reaches across the line: the LP's minimum is
# negative and it cannot prove what is true. The interval box is looser still. Every convex
# relaxation trades this gap for speed.
#
# ## The chapter in code
#
# The chapter's LP is `form_milp` of notebook 6 with one change: `v` is a plain variable with
# $0 \le v \le 1$ instead of a binary.

# %%
def form_lp(model, c, initial_bound, bounds):
    """The chapter's LP: form_milp with every binary v relaxed to 0 <= v <= 1."""
    linear = [(layer, bound) for layer, bound in zip(model, bounds) if isinstance(layer, nn.Linear)]
    d = len(linear) - 1
    W = [layer.weight.detach().double().numpy() for layer, _ in linear]
    b = [layer.bias.detach().double().numpy() for layer, _ in linear]
    l = [lo[0].numpy() for _, (lo, _) in linear]
    u = [up[0].numpy() for _, (_, up) in linear]
    l0, u0 = (t[0].reshape(-1).numpy() for t in initial_bound)
    z = [cp.Variable(layer.in_features) for layer, _ in linear] + [cp.Variable(linear[-1][0].out_features)]
    v = [cp.Variable(layer.out_features) for layer, _ in linear[:-1]]
    constraints = [z[0] >= l0, z[0] <= u0, z[d + 1] == W[d] @ z[d] + b[d]]
    for i in range(d):
        constraints += [z[i + 1] >= W[i] @ z[i] + b[i], z[i + 1] >= 0,
                        cp.multiply(u[i], v[i]) >= z[i + 1],
                        W[i] @ z[i] + b[i] >= z[i + 1] + cp.multiply(1 - v[i], l[i]),
                        v[i] >= 0, v[i] <= 1]
    return cp.Problem(cp.Minimize(c @ z[d + 1]), constraints), (z, v)


# %% [markdown]
# The chapter's example: the small net, image 0 (a 7), target 2, $\epsilon = 0.1$, interval
# bounds. Beside it, `certify(..., "lp")`, which writes the same program straight into HiGHS
# (stable neurons without a $v$, the rows as sparse arrays) and replays the LP's input through
# the real network:

# %%
def solve_lp(epsilon, target):
    """form_lp on interval bounds for image 0, solved with HiGHS: (value, z)."""
    box = tuple(t.double() for t in linf_box(x, epsilon))
    c = np.eye(10)[label] - np.eye(10)[target]
    problem, (z, v) = form_lp(small, c, box, bound_propagation(small, box))
    return problem.solve(solver=cp.HIGHS), z


r = certify(small, x, label, 0.1, "lp", targets=[2])[2]
value, z = solve_lp(0.1, 2)
print(f"form_lp with HiGHS: {approx(value, 4)}   certify, lp: {approx(r.value, 4)}   "
      f"(chapter {chapter.LP_TARGET2_EPS_01:.4f}; the MILP's m_2* was -1.6817)")
print("last layer from the relaxation:", " ".join(approx(v, 2) for v in z[-1].value))
print("the model at the LP's input:   ", " ".join(approx(v, 2) for v in r.model_logits))
print(f"m_2 at the LP's input: relaxation {approx(value, 3)}, model {approx(r.witness_objective, 3)} -> {r.verdict}")

# %% tags=["hide-input"]
# Tolerances: no spread at all across CPU kernels and thread counts (tools/portability.py).
check_close(value, r.value, 1e-4, "ε = 0.1, target 2: form_lp's optimum = certify's lp value")
check_close(r.value, -26.445, 0.01, "the LP's minimum for target 2 at ε = 0.1:")
check_claim(r.value < -1.6817 - 20 and r.witness_objective < 0 and r.witness_objective > r.value + 20,
            "the LP is more than 20 below the MILP's m_2*; the model at the LP's input has a negative "
            "margin, more than 20 above the LP's")

# %% [markdown]
# The same optimum, up to the solver's tolerance. It claims that class 2 can beat class 7 by
# 26 — far more than the exact worst case $m_2^* = -1.68$ of notebook 6. Its last layer is
# not what the network computes at the LP's own input: inside the triangles the LP may set
# an activation to *any* value between the ReLU and the chord. Here the model, run on that
# input, does prefer 2 over 7 (the ball at $\epsilon = 0.1$ holds real attacks), so `certify`
# reports "attacked" — because the real logits say so, not because of the LP's value.

# %% [markdown] tags=["question"]
# **Ask the room.** At $\epsilon = 0.05$ the MILP proved every target robust (notebook 6). The LP
# for target 3 there returns a negative value. What will the model say at the LP's input?

# %% [markdown]
# ## The LP's "fake" adversarial point
#
# At $\epsilon = 0.05$, target 3:

# %%
value, z = solve_lp(0.05, 3)
r = certify(small, x, label, 0.05, "lp", targets=[3])[3]
print(f"LP: m_3 >= {approx(value, 3)}   the model at the LP's input: m_3 = {approx(r.witness_objective, 3)}"
      f"   -> {r.verdict}")

# %% tags=["hide-input"]
check_close(value, r.value, 1e-4, "ε = 0.05, target 3: form_lp's optimum = certify's lp value")
check_close(value, -7.570, 0.01, "the LP's minimum for target 3 at ε = 0.05:")
check_claim(r.witness_objective > 1.14 - 1e-3 and r.verdict == "unknown",
            "the model's margin at the LP's input is positive, above the MILP's m_3* = 1.14: verdict unknown")

# %% [markdown]
# The LP's optimum says $-7.57$; the network at the same input says $+1.50$, and the MILP
# proved that no input of the ball goes below $+1.14$. The LP's point is *fake*: no input
# produces its activations. Where does it leave the network? Below, for the two neurons of
# each hidden layer whose LP activation lies farthest off the ReLU's graph: the triangle, the
# LP's point $(\hat z, z)$, and the real network's point at the same input. In the first
# layer both have the same $\hat z$ (the LP's input is a real input) and the LP's $z$ floats
# above the graph; in the second the errors of the first layer have moved $\hat z$ as well.
# The last panel: the logits the LP reports and the real ones.

# %%
bounds = bound_propagation(small, tuple(t.double() for t in linf_box(x, 0.05)))
W, b = zip(*[(small[i].weight.detach().double().numpy(), small[i].bias.detach().double().numpy()) for i in (1, 3)])
real_pre1 = W[0] @ z[0].value + b[0]                       # the real network at the LP's input
real_pre = [real_pre1, W[1] @ np.maximum(real_pre1, 0) + b[1]]
panels = []
for k, pos in enumerate((1, 3)):
    z_hat = W[k] @ z[k].value + b[k]                       # the LP's own pre-activations
    off_graph = z[k + 1].value - np.maximum(z_hat, 0)
    for j in np.argsort(-off_graph)[:2]:
        panels.append((bounds[pos][0][0, j].item(), bounds[pos][1][0, j].item(), z_hat[j], z[k + 1].value[j],
                       real_pre[k][j], f"layer {k + 1}, neuron {j}", off_graph[j]))
l_, u_, zh_, z_, zr_, names, gaps = zip(*panels)
plot_lp_fake_point(l_, u_, zh_, z_, zr_, names, logits_lp=z[-1].value, logits_real=r.model_logits,
                   label=label, target=3, title="the LP's optimum, ε = 0.05, target 3")
plt.show()

# %% tags=["hide-input"]
check_claim(min(gaps) > 0.1, "in each panel the LP's activation lies more than 0.1 above the ReLU's graph")
check_claim(np.allclose(zh_[:2], zr_[:2], atol=1e-6), "in the first layer the LP's ẑ is the real ẑ")

# %% [markdown]
# ## Certifying with the LP
#
# The LP is useful where it is positive. At $\epsilon = 0.02$ it is positive for every
# target, both in the chapter and for our network: the LP alone **proves** that no
# perturbation of size 0.02 changes the class.

# %%
cert = certify(small, x, label, 0.02, "lp")
print(f"{'target':>6} {'LP':>8} {'chapter':>8}")
for r in cert.results:
    print(f"{r.target:>6} {approx(r.value, 3):>8} {chapter.LP_EPS_002[r.target]:8.4f}")
print("verdict:", cert.verdict)

# %% tags=["hide-input"]
check_claim(cert.verdict == "robust" and all(r.value > 0 for r in cert.results),
            "at ε = 0.02 the LP is positive for all nine targets: robust")
lp_005 = certify(small, x, label, 0.05, "lp")
check_claim([r.target for r in lp_005.results if r.value > 0] == [6],
            "at ε = 0.05 the LP is positive for one target only (6); the others stay unknown")

# %% [markdown]
# ## Where the MILP is out of reach: the 4-layer network
#
# The 4-layer network has 400 ReLUs; with interval bounds many are unstable even at
# $\epsilon = 0.01$, and every unstable neuron would be a binary of the MILP. The LP does not
# care:

# %%
dnn4 = models["dnn4"]
dnn4_bounds = bound_propagation(dnn4, tuple(t.double() for t in linf_box(x, 0.01)))
n_unstable = sum(int(relu_phases(*dnn4_bounds[i - 1])[2].sum()) for i, layer in enumerate(dnn4)
                 if isinstance(layer, nn.ReLU))
cert4 = certify(dnn4, x, label, 0.01, "lp")
print("unstable ReLUs at ε = 0.01 (interval bounds):", n_unstable)
print(f"{'target':>6} {'LP':>8} {'chapter':>8}")
for r in cert4.results:
    print(f"{r.target:>6} {approx(r.value, 3):>8} {chapter.DNN4_LP_EPS_001[r.target]:8.4f}")
negative = [r.target for r in cert4.results if r.value <= 0]
_, pgd_margin = pgd_targets(dnn4, x, label, negative, 0.01)
print("targets the LP leaves unknown:", negative)
print("targeted PGD's best margin on them:", " ".join(f"{t}: {approx(m, 2)}" for t, m in zip(negative, pgd_margin.tolist())))

# %% tags=["hide-input"]
chapter_open = [t for t, v in chapter.DNN4_LP_EPS_001.items() if v <= 0]
check_claim(n_unstable > 50, "more than 50 of the 400 ReLUs are unstable")
check_claim(chapter_open == [3, 8, 9] and set(chapter_open) <= set(negative),
            "the chapter's LP leaves 3, 8 and 9 open, and so does ours")
check_claim(negative == [0, 2, 3, 5, 8, 9], "our LP also leaves 0, 2 and 5 open")
check_claim(bool((pgd_margin > 5).all()), "targeted PGD's best margin stays above 5 on every open target")

# %% [markdown]
# The chapter's LP certifies six of the nine targets and leaves 3, 8 and 9 open. Ours leaves
# those three open too, and also 0, 2 and 5: different weights, different interval bounds,
# and on a 4-layer net how loose they end up depends on the trained weights. On every open
# target the best margin a targeted attack finds stays above 5, far from 0: most likely the
# network *is* robust there,
# and the LP is too loose to prove it. This is the basic trade-off of relaxations: always
# fast, sometimes "unknown".
#
# ## Tighter than the triangle: the hull over the input box
#
# The triangle is the convex hull of one ReLU's graph as a function of its own
# pre-activation $\hat z \in [l, u]$. But $\hat z = w^T s + b$ is itself a function of the
# neuron's inputs $s$ (the pixels, for the first layer), and they live in a box. The triangle
# forgets that. The convex hull of $\{(s, \max(0, w^T s + b)) : s \text{ in the box}\}$ is
# smaller, and Anderson et al. (2020) wrote it down. Let $s_i^-$ and $s_i^+$ be the ends of
# input $i$'s interval that make $w_i s_i$ smallest and largest. For **every subset** $I$ of
# the inputs,
#
# $$z \;\le\; \sum_{i \in I} w_i \big(s_i - s_i^- (1 - v)\big) \;+\; \Big(b + \sum_{i \notin I} w_i s_i^+\Big)\, v$$
#
# holds for the neuron's output $z$ and indicator $v$ (try $v = 0$ and $v = 1$). $I$ = all
# inputs and $I = \emptyset$ give back two of the big-M inequalities; the other $2^n - 2$
# are new. Far too many to write down, but we never need them all: at the LP's optimum the
# most violated one is found in one pass over the inputs (put $i$ in $I$ exactly when its term
# is the smaller one). So: solve the LP, add each neuron's most violated inequality (a
# **cut**), solve again, a few rounds. Image 0 at $\epsilon = 0.05$, targets 3 and 9, the two
# smallest minima of notebook 6 (the LP starts from tightened bounds, as `certify` does):

# %%
exact_005 = {3: 1.140, 9: 1.907}           # the MILP's m_t* at ε = 0.05, notebook 6
fig, ax = plt.subplots(figsize=(6, 3))
rounds = {}
for target in (3, 9):
    rounds[target], _ = lp_cut_rounds(small, x, label, target, 0.05)
    print(f"target {target}: LP {approx(rounds[target][0], 3)}, after each round of cuts",
          " ".join(approx(v, 3) for v in rounds[target][1:]), f"| MILP {exact_005[target]:.3f}")
    ax.plot(rounds[target], "o-", label=f"target {target}: LP + cuts")
    ax.axhline(exact_005[target], ls="--", color=ax.lines[-1].get_color(), lw=1, label=f"target {target}: MILP")
ax.axhline(0, color="k", lw=0.8)
ax.set(xlabel="rounds of cuts", ylabel="lower bound on the margin", title="small net, image 0, ε = 0.05")
ax.legend(fontsize=8)
plt.show()

# %% tags=["hide-input"]
m = certify(small, x, label, 0.05, "exact milp", targets=[3, 9])
check_claim(all(abs(m[t].value - exact_005[t]) < 0.01 for t in (3, 9)), "the MILP values quoted are this run's")
check_claim(all(rounds[t][0] < 0 for t in (3, 9)), "both LPs start below 0")
check_claim(rounds[9][1] > 0 and rounds[3][1] < 0 < rounds[3][2], "target 9 crosses 0 after one round, target 3 after two")
check_claim(all(rounds[t][-1] < exact_005[t] - 0.5 for t in (3, 9)), "after the last round both stay more than 0.5 below the MILP")

# %% [markdown]
# Both LPs start below 0 (no certificate) and cross 0 after one or two rounds: a proof of
# robustness without a single branch of the MILP. They then creep up and stop well below
# the MILP's minimum, because each cut is about one neuron at a time; what remains is the
# cost of the interplay of several neurons, and only branching closes it. `certify`'s
# default mode uses the idea (step "lp+cuts"): a few rounds of cuts on every target the
# cheaper bounds left open, and the MILP only for what is still open after them.
#
# ## Try it
#
# Move ε and the image: for every target, the interval bound of notebook 8, the LP, and
# the MILP's exact minimum (a bar above 0 is a certificate). The LP and MILP values come
# from a table computed in advance for the first 10 test images; tick "compute live" to
# solve them here.

# %% tags=["nbval-ignore-output"]
bound_comparison_widget(models, X, y, epsilon=0.05, model="small")

# %% [markdown]
# ## Exercises
#
# ### Exercise 7.1 — the triangle
#
# Write `triangle(z, z_hat, l, u)`: the list of cvxpy constraints of the LP's triangle for
# unstable neurons — their outputs `z` (a cvxpy variable, shape `(n,)`) given their
# pre-activations `z_hat` (a cvxpy expression, shape `(n,)`) and numpy bounds `l < 0 < u`.
# No `v`: the triangle is what remains once $v$ is eliminated. The check fixes `z_hat` and
# asks a solver how low and how high your rows let `z` go.

# %% tags=["exercise"]
def triangle(z, z_hat, l, u):
    # BEGIN SOLUTION
    return [z >= 0, z >= z_hat, z <= cp.multiply(u / (u - l), z_hat - l)]
    # END SOLUTION


# %%
check("7.1", triangle)

# %% [markdown]
# ### Exercise 7.2 — predict: what does the LP prove?
#
# At $\epsilon = 0.05$ the MILP proved all nine targets of image 0 robust (notebook 6). For
# how many of the nine is the LP on interval bounds, `certify(small, x, label, 0.05, "lp")`,
# positive? Write your prediction as a number before you run anything.

# %% tags=["exercise"]
answer = None
# BEGIN SOLUTION
answer = 1
# END SOLUTION

# %%
check("7.2", answer)

# %% [markdown]
# ### Exercise 7.3 — why the LP stops proving
#
# The LP proves every target at $\epsilon = 0.02$ but only one at $\epsilon = 0.05$, while the MILP
# proves all nine at both. Why?
#
# * **a** — the LP solver stops early when the program gets larger
# * **b** — at the larger ε the interval bounds are wider and more neurons are unstable; each
#   triangle is larger, and the relaxed set holds points, with far lower margins, that no input reaches
# * **c** — at $\epsilon = 0.05$ adversarial examples exist, so no method can certify
# * **d** — the LP has fewer binaries than the MILP, so it sees fewer neurons

# %% tags=["exercise"]
answer = None
# BEGIN SOLUTION
answer = "b"
# END SOLUTION

# %%
check("7.3", answer)

# %% [markdown] tags=["solution"]
# <details><summary>Model answer</summary>
#
# The LP is solved to optimality at every ε; it answers a different question, the minimum
# over the relaxed set. That set is built from one triangle per unstable neuron, and the
# triangle over $[l, u]$ sits up to $-ul/(u-l)$ above the ReLU. Interval bounds widen with
# ε (and with every layer), more neurons become unstable, and the triangles grow: the relaxed
# set gains points such as the fake point above, whose margin is far below any real input's.
# The MILP proved robustness at 0.05, so (c) is false; and the LP keeps every neuron, with
# $v$ allowed between 0 and 1 — that is the whole difference.
#
# </details>

# %% [markdown]
# ## What we learned
#
# * Relaxing $v \in \{0,1\}$ to $0 \le v \le 1$ turns the MILP into an LP whose minimum is a
#   lower bound on the worst-case margin $m_t^*$: positive means "robust", negative means
#   "unknown" unless the LP's input happens to be a real attack.
# * Per neuron, the relaxation replaces the ReLU's graph by its convex hull, a triangle
#   whose size is set by the pre-activation bounds. Over the whole network it replaces the
#   non-convex adversarial polytope by a convex outer bound.
# * The LP's optimum is usually not a real input's behaviour: its activations lie off the
#   ReLU's graph ("fake" adversarial points), so a negative LP value proves nothing.
# * Over the box of its inputs the hull of a ReLU is tighter than the triangle; its most
#   violated inequality can be added as a cut, round after round — often enough to turn
#   "unknown" into a certificate.
#
# Notebook 8 goes one step looser and much faster: interval bounds with an analytic last
# layer, no solver at all.
#
# ## References
#
# * R. Ehlers. "Formal Verification of Piece-Wise Linear Feed-Forward Neural Networks."
#   *Automated Technology for Verification and Analysis (ATVA)*, 2017 (the triangle relaxation).
# * E. Wong and J. Z. Kolter. "Provable Defenses against Adversarial Examples via the Convex
#   Outer Adversarial Polytope." *International Conference on Machine Learning (ICML)*, 2018.
# * V. Tjeng, K. Xiao and R. Tedrake. "Evaluating Robustness of Neural Networks with Mixed
#   Integer Programming." *International Conference on Learning Representations (ICLR)*, 2019.
# * R. Anderson, J. Huchette, W. Ma, C. Tjandraatmadja and J. P. Vielma. "Strong
#   mixed-integer programming formulations for trained neural networks." *Mathematical
#   Programming* 183, 2020 (the cuts).
# * H. Salman, G. Yang, H. Zhang, C.-J. Hsieh and P. Zhang. "A Convex Relaxation Barrier to
#   Tight Robustness Verification of Neural Networks." *Advances in Neural Information
#   Processing Systems (NeurIPS)*, 2019.
# * Z. Kolter and A. Madry. *Adversarial Robustness: Theory and Practice*, chapter 3,
#   "Adversarial examples, solving the inner maximization".
#   [adversarial-ml-tutorial.org](https://adversarial-ml-tutorial.org/adversarial_examples/)
