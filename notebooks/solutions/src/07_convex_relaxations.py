# %% [markdown]
# # 7. Lower bounds on the worst-case margin: convex relaxations
#
# *Course: "Adversarial examples, solving the inner maximization" — after chapter 3 of
# Kolter & Madry, "Adversarial Robustness: Theory and Practice".*
#
# Notebook 6's MILP computes each worst-case margin $m_t^*$ exactly, at a cost that can grow
# exponentially with its unstable ReLUs. A proof of robustness needs only a
# positive **lower bound** on $m_t^*$ (the chapter's "upper bounding the inner
# maximization").
#
# ## Relaxing the binaries
#
# Replace the MILP's only non-convex constraint, $v \in \{0,1\}$, by $0 \le v \le 1$: what
# remains is a linear program (LP), solvable in polynomial time. The feasible set only grows,
# so the LP's minimum is at most the MILP's:
#
# $$\text{LP}_t \;\le\; m_t^* \;=\; \min_{\|\delta\|_\infty \le \epsilon,\ x + \delta \in [0,1]} m_t(x+\delta).$$
#
# If $\text{LP}_t > 0$, then $m_t^* > 0$: target $t$ is "robust". A negative value proves
# nothing by itself: the relaxed set may hold points that no input produces.
#
# For an unstable neuron ($l < 0 < u$), eliminating $v$ from the relaxed big-M rows leaves
#
# $$z \ge 0,\qquad z \ge \hat z,\qquad z \le \frac{u\,(\hat z - l)}{u - l},$$
#
# the **triangle**: the convex hull of the bounded ReLU's graph, the smallest convex set
# that contains it.

# %%
import cvxpy as cp
import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn as nn
from scipy.spatial import cKDTree

from course_utils import programs
from course_utils import records as chapter
from course_utils.bounds import bound_propagation, linear_bounds
from course_utils.checks import approx, check_claim, check_close, check_same
from course_utils.data import eval_subset
from course_utils.exercises import check
from course_utils.models import load_model
from course_utils.plotting import plot_adversarial_polytope, plot_lp_fake_point, plot_relu_relaxation
from course_utils.polytope import adversarial_polytope, toy_network
from course_utils.relu import relu_phases
from course_utils.solvers import solve_cvxpy
from course_utils.threat import linf_box
from course_utils.verify import certify, lp_cut_rounds, tighten_bounds
from course_utils.widget_tables import recorded_bounds
from course_utils.widgets import bound_comparison_widget

torch.manual_seed(0)
models = {name: load_model(name) for name in ("small", "dnn2", "dnn4")}
small = models["small"]
X, y = eval_subset(100)       # the first 100 test images; the chapter's example is image 0
x, label = X[:1], int(y[0])
targets = [t for t in range(10) if t != label]

# %%
plot_relu_relaxation(l=-1.0, u=1.5)
plt.show()

# %% [markdown]
# The LP's gap is largest at $\hat z = 0$, where the chord lies $-ul/(u-l)$ above the ReLU, and
# grows as either bound moves away from 0: loose bounds cost the MILP time, the LP tightness.
#
# ## The adversarial polytope
#
# Stacked over the layers, the triangles enclose the image of the ε-ball in a convex set. A
# toy 2-6-6-2 network (random weights) shows both: left, the ball
# $\|x - x_0\|_\infty \le 0.6$; right, its image, the outputs the adversary can reach (the
# *adversarial polytope*), with the LP's outer bound (one LP per direction) and the interval
# box.

# %% [markdown] tags=["question"]
# **Ask the room.** A square goes through a ReLU network with two outputs. What shape comes
# out? If it stays on one side of the line $z_1 = z_2$, must a convex set around it do the same?

# %% tags=["reveal"]
poly = adversarial_polytope()
plot_adversarial_polytope(poly)
plt.show()
toy = toy_network()
ball = tuple(torch.tensor(poly.x0 + s * poly.epsilon)[None] for s in (-1, 1))
margin = {}                                        # min of z₂ - z₁ over the ball, by HiGHS
for name, form in (("MILP", programs.form_milp), ("LP", programs.form_lp)):
    problem, _ = form(toy, np.array([-1.0, 1.0]), ball, bound_propagation(toy, ball))
    solution = solve_cvxpy(problem, "HIGHS", integer=name == "MILP")
    assert solution.status == "optimal", solution.status
    margin[name] = solution.value
print(f"min of z₂ − z₁ over the ball: MILP {margin['MILP']:+.3f}, LP {margin['LP']:+.3f}")

# %% tags=["hide-input"]
outputs = poly.outputs.reshape(-1, 2)
check_claim(bool(np.all(poly.directions @ outputs.T <= poly.support[:, None] + 1e-9)),
            "every sampled output lies inside the LP's outer bound", show=False)
check_claim(bool((poly.polygon >= poly.box[0] - 1e-6).all() and (poly.polygon <= poly.box[1] + 1e-6).all()),
            "the LP's outer bound lies inside the interval box", show=False)
# Not convex: a midpoint of two outputs lies farther from every sampled output than any output
# of the ball can be (Lipschitz constant × the grid's half diagonal), so it is not an output.
lipschitz = np.prod([torch.linalg.matrix_norm(m.weight.detach(), 2).item() for m in toy if hasattr(m, "weight")])
reach = lipschitz * poly.epsilon / (poly.inputs.shape[0] - 1) * np.sqrt(2)
pairs = np.random.default_rng(0).integers(0, len(outputs), (2, 20000))
gap, _ = cKDTree(outputs).query((outputs[pairs[0]] + outputs[pairs[1]]) / 2)
check_claim(gap.max() > 2 * reach, "the image of the ball is not convex", show=False)
check_claim(margin["MILP"] > 0 > margin["LP"], "the MILP proves z₂ > z₁ on the whole ball; the LP's minimum is negative")
k = int(np.argmin(np.linalg.norm(poly.directions - np.array([1, -1]) / np.sqrt(2), axis=1)))
check_close(-np.sqrt(2) * poly.support[k], margin["LP"], 1e-6, "the figure's LP outer bound reaches z₂ − z₁ =", show=False)

# %% [markdown]
# The image is folded (each fold a ReLU switching phase) and not convex. It stays on the side
# $z_2 > z_1$ (the MILP's minimum of $z_2 - z_1$ is positive), but the LP's set reaches across
# the line: the LP cannot prove what is true. A linear function has the same minimum over a
# set and over its convex hull, so the image's hull, the tightest convex relaxation there
# is, would prove it; the LP's set, which relaxes each neuron on its own, is larger.
#
# ## The chapter in code
#
# The chapter's LP is notebook 6's `form_milp` with `v` a plain variable, $0 \le v \le 1$.

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
    z_hat = [cp.Variable(layer.out_features) for layer, _ in linear[:-1]]     # W_i z_i + b_i
    v = [cp.Variable(layer.out_features) for layer, _ in linear[:-1]]
    constraints = [z[0] >= l0, z[0] <= u0, z[d + 1] == W[d] @ z[d] + b[d]]
    for i in range(d):
        constraints += [z_hat[i] == W[i] @ z[i] + b[i], z[i + 1] >= z_hat[i], z[i + 1] >= 0,
                        cp.multiply(u[i], v[i]) >= z[i + 1],
                        z_hat[i] >= z[i + 1] + cp.multiply(1 - v[i], l[i]),
                        v[i] >= 0, v[i] <= 1]
    return cp.Problem(cp.Minimize(c @ z[d + 1]), constraints), (z, v)


def lp_margin(model, epsilon, target):
    """form_lp on interval bounds for image 0 and one target, solved by HiGHS: (problem, z)."""
    box = tuple(t.double() for t in linf_box(x, epsilon))
    c = np.eye(10)[label] - np.eye(10)[target]
    problem, (z, v) = form_lp(model, c, box, bound_propagation(model, box))
    problem.solve(solver=cp.HIGHS)
    assert problem.status == "optimal", f"target {target}: the LP ended {problem.status}"
    return problem, z


def network_at(z):
    """The logits the real small net computes at the LP's input z[0]."""
    with torch.no_grad():
        return small(torch.tensor(z[0].value, dtype=torch.float32).reshape(x.shape))[0].double().numpy()


# %% [markdown]
# The chapter's example (small net, image 0, target 2, $\epsilon = 0.1$, interval bounds) and
# the network at the LP's own input:

# %%
milp_01 = recorded_bounds(models, X, y, "small", "exact milp", 0, 0.1)    # notebook 6's m_t*
problem, z = lp_margin(small, 0.1, 2)
real = network_at(z)
print(f"form_lp: m_2 >= {approx(problem.value, 4)}   (chapter {chapter.LP_TARGET2_EPS_01:.4f}; "
      f"the MILP's m_2* = {milp_01[2]:.4f})")
print("logits in the relaxation:     ", " ".join(approx(v, 2) for v in z[-1].value))
print("the network at the LP's input:", " ".join(approx(v, 2) for v in real))
r = certify(small, x, label, 0.1, "lp", targets=[2])[2]
check_same(problem.value, r.value, "form_lp's optimum = certify(..., 'lp')'s", atol=1e-4)
print("certify's verdict for target 2:", r.verdict)

# %% tags=["hide-input"]
check_close(problem.value, -26.445, 0.01, "the LP's minimum for target 2 at ε = 0.1:", show=False)
check_close(milp_01[2], -1.6817, 1e-4, "the MILP's m_2* at ε = 0.1:", show=False)
check_claim(problem.value < milp_01[2] - 20 and real[label] - real[2] < 0 and r.witness_objective < 0,
            "the LP lies more than 20 below m_2*; at the LP's input the network prefers 2 to 7", show=False)
check_claim(r.verdict == "attacked", "certify: target 2 attacked", show=False)

# %% [markdown]
# The LP's $-26.4$ (chapter: $-26.1$) lies far below the exact $m_2^* = -1.68$, and its
# logits are not the network's at its own input: inside a triangle the LP may put an
# activation anywhere between the ReLU and the chord. `certify`, the same LP written straight
# into HiGHS, calls target 2 "attacked" (exercise 7.3: why is that sound?).

# %% [markdown] tags=["question"]
# **Ask the room.** At $\epsilon = 0.05$ the MILP proved every target robust (notebook 6). The LP
# for target 3 there returns a negative value. What will the network say at the LP's input?

# %% [markdown]
# ## The LP's "fake" adversarial point
#
# At $\epsilon = 0.05$, target 3:

# %% tags=["reveal"]
milp_005 = recorded_bounds(models, X, y, "small", "exact milp", 0, 0.05)
problem, z = lp_margin(small, 0.05, 3)
real = network_at(z)
print(f"LP: m_3 >= {approx(problem.value, 3)}   the network at the LP's input: m_3 = "
      f"{approx(real[label] - real[3], 3)}   the MILP: m_3* = {milp_005[3]:.3f}")

# %% tags=["hide-input"]
check_close(problem.value, -7.570, 0.01, "the LP's minimum for target 3 at ε = 0.05:", show=False)
check_close(real[label] - real[3], 1.50, 0.01, "the network's margin at the LP's input:", show=False)
check_claim(real[label] - real[3] > milp_005[3] > 1.13, "at the LP's input the network's margin lies above m_3* = 1.14",
            show=False)

# %% [markdown]
# The network at the LP's input says $+1.50$, not $-7.57$, and no input goes below the
# MILP's $+1.14$: no input produces the LP's activations. Below, per hidden layer, the two
# neurons farthest off the ReLU's graph, then both sets of logits. In layer 1 both
# share $\hat z$ and the LP's $z$ floats above the graph; in layer 2 the first layer's errors
# moved $\hat z$ too, but only by 0.05 and 0.08: the error is mostly in $z$.

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
plot_lp_fake_point(l_, u_, zh_, z_, zr_, names, logits_lp=z[-1].value, logits_real=real,
                   label=label, target=3, title="the LP's optimum, ε = 0.05, target 3")
plt.show()

# %% tags=["hide-input"]
check_claim(min(gaps) > 0.1, "in each panel the LP's activation lies more than 0.1 above the ReLU's graph", show=False)
check_claim(np.allclose(zh_[:2], zr_[:2], atol=1e-6) and not np.allclose(zh_[2:], zr_[2:], atol=1e-3),
            "the LP's ẑ is the real ẑ in the first layer, not in the second", show=False)
check_same(np.abs(np.subtract(zh_[2:], zr_[2:])), np.array([0.05, 0.08]),
           "in the two layer-2 panels the LP's ẑ is off the real ẑ by 0.05 and 0.08", atol=0.005, show=False)
check_claim(min(gaps[2:]) > 2 * max(np.abs(np.subtract(zh_[2:], zr_[2:]))),
            "in both layer-2 panels the LP's z is off the graph by more than twice ẑ's shift", show=False)
check_claim(sum(int(relu_phases(*bounds[i])[2].sum()) for i in (1, 3)) == 42,
            "interval bounds leave 42 of the 70 hidden neurons unstable at ε = 0.05", show=False)

# %% [markdown]
# ## Certifying with the LP
#
# The chapter's table at $\epsilon = 0.02$, solved by our `form_lp`:

# %%
lp_002 = {t: lp_margin(small, 0.02, t)[0].value for t in targets}
print(f"{'target':>6} {'LP':>8} {'chapter':>8}")
for t, value in lp_002.items():
    print(f"{t:>6} {approx(value, 3):>8} {chapter.LP_EPS_002[t]:8.4f}")
cert = certify(small, x, label, 0.02, "lp")
check_same(np.array(list(lp_002.values())), np.array([r.value for r in cert.results]),
           "the same nine optima as certify(..., 'lp')", atol=1e-4)

# %% tags=["hide-input"]
check_claim(min(lp_002.values()) > 0 and min(chapter.LP_EPS_002.values()) > 0 and cert.verdict == "robust",
            "at ε = 0.02 the LP is positive for all nine targets, ours and the chapter's: robust", show=False)

# %% [markdown]
# Positive for every target, ours and the chapter's: the LP alone **proves** that no
# perturbation of size 0.02 changes the class.
#
# ## Beyond the chapter's MILP: the 4-layer network
#
# The chapter could not solve the 4-layer network's MILP: 400 ReLUs, many unstable at
# $\epsilon = 0.01$ under interval bounds, each a binary; the LP has none. The chapter's table,
# by `form_lp`:

# %%
dnn4 = models["dnn4"]
dnn4_bounds = bound_propagation(dnn4, tuple(t.double() for t in linf_box(x, 0.01)))
n_unstable = sum(int(relu_phases(*dnn4_bounds[i - 1])[2].sum()) for i, layer in enumerate(dnn4)
                 if isinstance(layer, nn.ReLU))
print("unstable ReLUs at ε = 0.01 (interval bounds):", n_unstable, "of 400")
lp_dnn4 = {t: lp_margin(dnn4, 0.01, t)[0].value for t in targets}
print(f"{'target':>6} {'LP':>8} {'chapter':>8}")
for t, value in lp_dnn4.items():
    print(f"{t:>6} {approx(value, 3):>8} {chapter.DNN4_LP_EPS_001[t]:8.4f}")
crown4 = certify(dnn4, x, label, 0.01, "crown")
print("notebook 9's linear bounds (crown):", crown4.verdict)

# %% tags=["hide-input"]
lp_table = recorded_bounds(models, X, y, "dnn4", "lp", 0, 0.01)        # certify(..., "lp")'s, in the table
check_same(np.array(list(lp_dnn4.values())), np.array([lp_table[t] for t in targets]),
           "dnn4: form_lp's nine optima = certify(..., 'lp')'s", atol=1e-4, show=False)
open_ours = [t for t, v in lp_dnn4.items() if v <= 0]
open_chapter = [t for t, v in chapter.DNN4_LP_EPS_001.items() if v <= 0]
check_claim(n_unstable == 180, "180 of the 400 ReLUs are unstable", show=False)
check_claim(open_chapter == [3, 8, 9] and open_ours == [0, 2, 3, 5, 8, 9],
            "the chapter's LP leaves 3, 8 and 9 open; ours also 0, 2 and 5", show=False)
check_claim(all(r.verdict == "robust" for r in crown4.results), "crown proves all nine targets", show=False)
crown_pre, _ = linear_bounds(dnn4, tuple(t.double() for t in linf_box(x, 0.01)))
interval_pre = [(l.flatten(1), u.flatten(1)) for (l, u), layer in zip(dnn4_bounds, dnn4) if isinstance(layer, nn.Linear)]
check_claim(all(bool((uc - lc <= ui - li + 1e-9).all()) for (lc, uc), (li, ui) in zip(crown_pre, interval_pre))
            and sum(float((uc - lc).sum()) for lc, uc in crown_pre) < 0.5 * sum(float((ui - li).sum()) for li, ui in interval_pre),
            "crown's pre-activation bounds are nowhere wider than the intervals, and narrower overall", show=False)

# %% [markdown]
# The chapter's LP leaves 3, 8 and 9 open; ours those and 0, 2 and 5 (other weights). Yet
# notebook 9's linear bounds ("crown") prove all nine. On the same pre-activation bounds
# they are never tighter than the LP, but they compute their own, tighter than intervals, on
# which the LP would prove all nine too: interval bounds held the LP back, not its
# triangles.
#
# ## Tighter than the triangle: the hull over the input box
#
# The triangle is the hull over $\hat z \in [l, u]$. But $\hat z = w^T s + b$, with the
# neuron's inputs $s$ in a box, and the hull of $\{(s, \max(0, w^T s + b))\}$ over that box
# can be tighter. With $s_i^-$, $s_i^+$ the ends of input $i$'s interval that make $w_i s_i$
# smallest and largest, for **every subset** $I$ of the inputs
#
# $$z \;\le\; \sum_{i \in I} w_i \big(s_i - s_i^- (1 - v)\big) \;+\; \Big(b + \sum_{i \notin I} w_i s_i^+\Big)\, v$$
#
# holds for the neuron's output $z$ and indicator $v$ (try $v = 0$ and $v = 1$). With $l, u$
# the interval bounds of $\hat z$ over the box, $I$ = all inputs and $I = \emptyset$ give two
# of the big-M rows; the other $2^n - 2$ are new. At the LP's optimum the most violated one
# takes one pass over the inputs: put $i$ in $I$ exactly when its term is the smaller. So:
# solve the LP, add each neuron's most violated inequality (a **cut**), solve again, a few
# rounds. Image 0, $\epsilon = 0.05$, targets 3 and 9 (the two smallest $m_t^*$), on tightened
# bounds (linear bounds, then up to two LPs per unstable neuron):

# %%
fig, ax = plt.subplots(figsize=(6, 3))
rounds = {}
for target in (3, 9):
    rounds[target], _ = lp_cut_rounds(small, x, label, target, 0.05)
    print(f"target {target}: LP {approx(rounds[target][0], 3)}, after each round of cuts",
          " ".join(approx(v, 3) for v in rounds[target][1:]), f"| MILP {milp_005[target]:.3f}")
    ax.plot(rounds[target], "o-", label=f"target {target}: LP + cuts")
    ax.axhline(milp_005[target], ls="--", color=ax.lines[-1].get_color(), lw=1, label=f"target {target}: MILP")
ax.axhline(0, color="k", lw=0.8)
ax.set(xlabel="rounds of cuts", ylabel="lower bound on the margin", title="small net, image 0, ε = 0.05")
ax.legend(fontsize=8)
plt.show()

# %% tags=["hide-input"]
check_claim(sorted(milp_005, key=milp_005.get)[:2] == [3, 9], "3 and 9 have the two smallest m_t* at ε = 0.05",
            show=False)
check_claim(all(rounds[t][0] < 0 for t in (3, 9)), "both LPs start below 0", show=False)
check_claim(rounds[9][1] > 0 and rounds[3][1] < 0 < rounds[3][2], "target 9 crosses 0 after one round, target 3 after two",
            show=False)
check_claim(all(0 < rounds[t][-1] - rounds[t][-2] < 0.02 for t in (3, 9)), "the last round still raises both, by under 0.02",
            show=False)
check_claim(all(rounds[t][-1] < milp_005[t] - 0.5 for t in (3, 9)), "after the last round both stay more than 0.5 below the MILP",
            show=False)

# %% [markdown]
# Both LPs cross 0 after one or two rounds: a proof without a single branch. After eight
# rounds they still rise, slowly, far below the MILP: a cut describes one neuron alone, and
# what a layer's neurons do together stays relaxed. Branching on phases, as the MILP does,
# closes that gap. `certify`'s "lp+cuts" is this loop.
#
# ## Try it
#
# Move ε and the image: per target, the interval bound (notebook 8), the LP and the MILP; a
# bar above 0 is a certificate. LP and MILP are precomputed (first 5 test images);
# "compute live" solves them here.

# %% tags=["nbval-ignore-output"]
bound_comparison_widget(models, X, y, epsilon=0.02, model="small")

# %% [markdown]
# ## Exercises
#
# ### Exercise 7.1 — branch on one neuron
#
# The MILP's way past a negative LP is to **branch**: fix one neuron's phase, $v = 0$ (off:
# $z = 0$, $\hat z \le 0$) or $v = 1$ (on: $z = \hat z \ge 0$), and solve the LP on each side.
# Every input lies on one side, so the smaller minimum is still a lower bound on $m_t^*$,
# never below the LP's. Write `split_bound(problem, v, k, j)`: for a `problem` from `form_lp`
# and its indicators `v`, the bound after branching on `v[k][j]` (neuron `j` of hidden layer
# `k`). A side with no feasible point has minimum $+\infty$ (cvxpy returns `inf`).

# %% tags=["exercise"]
def split_bound(problem, v, k, j):
    # BEGIN SOLUTION
    sides = [cp.Problem(problem.objective, problem.constraints + [v[k][j] == phase]) for phase in (0, 1)]
    return min(side.solve(solver=cp.HIGHS) for side in sides)
    # END SOLUTION


# %%
check("7.1", split_bound)

# %% [markdown]
# ### Exercise 7.2 — predict: what the LP proves at $\epsilon = 0.05$
#
# At $\epsilon = 0.05$ the MILP proved all nine targets of image 0 robust (notebook 6). For how
# many of the nine is the LP on interval bounds positive? Commit to a number, then run the
# check and the cell after it.

# %% tags=["exercise"]
answer = None
# BEGIN SOLUTION
answer = 1
# END SOLUTION

# %%
check("7.2", answer)

# %% tags=["reveal"]
cert = certify(small, x, label, 0.05, "lp")
print("LP at ε = 0.05:", "  ".join(f"{r.target}: {approx(r.value, 2)}" for r in cert.results))

# %% [markdown]
# ### Exercise 7.3 — what makes "attacked" sound
#
# At $\epsilon = 0.1$ the LP's minimum for target 2 is $-26.4$, and `certify` calls the target
# "attacked". What justifies that verdict?
#
# - `"a"`: the network itself, run on the LP's input (a point of the ball), prefers 2 to 7
# - `"b"`: the LP's minimum is negative, and a negative minimum means some input reaches class 2
# - `"c"`: the LP's minimum lies below the MILP's, so the MILP's minimum is negative too
# - `"d"`: at $\epsilon = 0.1$ every triangle is tight, so the LP equals the MILP

# %% tags=["exercise"]
answer = None
# BEGIN SOLUTION
answer = "a"
# END SOLUTION

# %%
check("7.3", answer)

# %% [markdown]
# ### Exercise 7.4 — investigate: better bounds, smaller triangles
#
# A triangle is only as small as its bounds. `tighten_bounds(small, box)` returns the
# tightened $(l, u)$ of the cuts above for each hidden layer (numpy). At $\epsilon = 0.05$ on image 0, how
# many of the 70 hidden neurons do they leave unstable (intervals leave 42), and for how many
# targets is `form_lp` on them positive? Put them into `bounds[1]` and `bounds[3]` of
# `bound_propagation`'s list as tensors of shape `(1, n)`. Report
# `answer = {"unstable": ..., "proven": ...}`.

# %% tags=["exercise"]
answer = None
# BEGIN SOLUTION
box = tuple(t.double() for t in linf_box(x, 0.05))
tight_bounds = bound_propagation(small, box)
tight = tighten_bounds(small, box)
for position, (lo, up) in zip((1, 3), tight):
    tight_bounds[position] = (torch.from_numpy(lo)[None], torch.from_numpy(up)[None])
proven = 0
for t in targets:
    lp, _ = programs.form_lp(small, np.eye(10)[label] - np.eye(10)[t], box, tight_bounds)
    proven += lp.solve(solver=cp.HIGHS) > 0
answer = {"unstable": sum(int(relu_phases(lo, up)[2].sum()) for lo, up in tight), "proven": int(proven)}
# END SOLUTION

# %%
check("7.4", answer)

# %% [markdown]
# ## What we learned
#
# * An LP (binaries relaxed to $0 \le v \le 1$) bounds $m_t^*$ from below: positive proves
#   "robust", negative nothing by itself.
# * Per neuron it keeps a triangle, the ReLU's hull over $[l, u]$; over the network, a convex
#   set around the adversarial polytope, looser than its hull in the toy example. Its
#   optimum can be "fake".
# * Tighter bounds shrink every triangle; cuts from each ReLU's hull over its input box
#   tighten the LP further, here turning targets 3 and 9 from "unknown" into certificates.
#
# Notebook 8 goes looser and much faster: interval bounds, no solver.
#
# ## References
#
# * R. Ehlers. "Formal Verification of Piece-Wise Linear Feed-Forward Neural Networks."
#   ATVA 2017 (the triangle relaxation).
# * E. Wong, J. Z. Kolter. "Provable Defenses against Adversarial Examples via the Convex
#   Outer Adversarial Polytope." ICML 2018.
# * R. Anderson et al. "Strong mixed-integer programming formulations for trained neural
#   networks." *Mathematical Programming* 183, 2020 (the cuts).
# * H. Salman et al. "A Convex Relaxation Barrier to Tight Robustness Verification of
#   Neural Networks." NeurIPS 2019.
# * J. Z. Kolter, A. Madry. *Adversarial Robustness: Theory and Practice*, chapter 3,
#   [adversarial-ml-tutorial.org](https://adversarial-ml-tutorial.org/adversarial_examples/).
