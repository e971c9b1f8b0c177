# %% [markdown]
# # 6. Solving the targeted margin problems exactly: mixed-integer programming
#
# *Course: "Adversarial examples, solving the inner maximization" — after chapter 3 of
# Kolter & Madry, "Adversarial Robustness: Theory and Practice".*
#
# Every attack so far was a local search: it returns *some* point of the ε-ball, and when it
# fails we learn nothing — perhaps a better point exists that PGD did not reach. For a small
# ReLU network we can do better. For each target class $t$ we compute the **worst-case
# margin** $m_t^* = \min_{x' \in \text{ball}} m_t(x')$, with $m_t = z_y - z_t$ (notebook 5),
# *exactly*. If some $m_t^*$ is negative, an adversarial example exists and we get one; if
# all are positive, we have a proof that no point of the ball changes the class. The tool
# is mixed-integer linear programming (MILP).
#
# Two points of precision. The MILP solves the targeted margin problems, not the
# maximisation of notebook 1's cross-entropy loss; deciding the sign of every $m_t^*$ is what
# decides whether an adversarial example exists. And a negative $m_t^*$ means that some point
# of the ball is not classified $y$ — the class changes, though not necessarily to $t$.
#
# ## The targeted attack as a constrained problem
#
# Write a feed-forward ReLU network layer by layer, with $z_1 = x$ the input:
#
# $$z_{i+1} = \max(0,\; W_i z_i + b_i),\quad i = 1,\dots,d-1, \qquad z_{d+1} = W_d z_d + b_d,$$
#
# so that $z_{d+1} = h_\theta(x)$ are the logits. The worst-case margin for target $t$ is an
# optimisation over all the activations at once; under the $\ell_\infty$ threat model,
#
# $$\begin{aligned}
# m_t^* \;=\; \min_{z_1,\dots,z_{d+1}}\quad & (e_y - e_t)^T z_{d+1}\\
# \text{s.t.}\quad & \|z_1 - x\|_\infty \le \epsilon,\quad 0 \le z_1 \le 1,\\
# & z_{i+1} = \max(0, W_i z_i + b_i),\ i = 1,\dots,d-1,\qquad z_{d+1} = W_d z_d + b_d .
# \end{aligned}$$
#
# The objective $c^T z_{d+1}$ with $c = e_y - e_t$ is the margin $m_t$. Everything in this
# problem is linear except the ReLU equalities. (The chapter's display keeps $z_1$ in the
# ball; its code, like every verifier of this course, also keeps it a valid image,
# $0 \le z_1 \le 1$.)

# %%
import copy

import cvxpy as cp
import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from course_utils import bounds as package_bounds
from course_utils import records as chapter
from course_utils.checks import approx, check_claim, check_close, check_same
from course_utils.data import eval_subset
from course_utils.exercises import check
from course_utils.models import load_model
from course_utils.plotting import plot_witness
from course_utils.relu import relu_phases
from course_utils.threat import linf_box
from course_utils.verify import certify
from course_utils.widgets import logit_bounds_widget

torch.manual_seed(0)
models = {name: load_model(name) for name in ("small", "dnn2", "dnn4", "cnn")}
small = models["small"]
X, y = eval_subset(100)       # the first 100 test images; the chapter's example is image 0
x, label = X[:1], int(y[0])
print("first test image, label", label)

# %% [markdown]
# ## Mixed-integer linear programs
#
# A binary mixed-integer linear program has a linear objective, linear equalities and
# inequalities, and some variables that must be 0 or 1:
#
# $$\min_{z}\; c^T z \quad \text{s.t.}\quad A z = b,\quad G z \le h,\quad z_i \in \{0, 1\}\ \ \forall i \in \mathcal{I}.$$
#
# Without the last constraint this is a linear program (LP), solvable in polynomial time.
# The binaries make it **NP-hard** in general: fix every binary to 0 or 1 and an LP remains,
# so a brute-force search solves $2^{|\mathcal{I}|}$ LPs. Solvers (HiGHS here, Gurobi in the
# chapter) do far better than brute force — branch and bound: solve the LP with the
# binaries relaxed to $[0, 1]$, split on a fractional binary, and discard every branch whose
# LP bound is already worse than the best solution found — but in the worst case their work
# still grows exponentially with the number of binaries. Nobody expects a MILP to scale to
# the networks of practice; for a small network it gives the exact answer.
#
# ## The big-M encoding of a ReLU
#
# Suppose we know numbers $l \le u$ with $l \le \hat z \le u$ for a pre-activation
# $\hat z = W_i z_i + b_i$ (elementwise). Add a binary variable $v \in \{0, 1\}$ per neuron.
# Then $z = \max(0, \hat z)$ is *exactly* the set of solutions of four linear inequalities:
#
# $$z \ge \hat z,\qquad z \ge 0,\qquad z \le u\, v,\qquad z \le \hat z - (1 - v)\, l .$$
#
# Check the two cases. With $v = 0$: $z \le 0$ and $z \ge 0$ force $z = 0$, and the last
# inequality reads $\hat z \ge l$ — always true; this "off" branch is only consistent when
# $\hat z \le 0$ (because $z \ge \hat z$). With $v = 1$: $z \le \hat z$ together with
# $z \ge \hat z$ forces $z = \hat z$, and $z \le u$ is automatic; this "on" branch is
# consistent when $\hat z \ge 0$. (Exercise 6.1 writes these rows.)
#
# A neuron whose bounds already decide its sign needs no binary: if $u \le 0$ it is always
# off ($z = 0$), if $l \ge 0$ always on ($z = \hat z$). Only the **unstable** neurons, with
# $l < 0 < u$, need a binary; the solver's worst case is exponential in their number.
# (Exercise 6.2 sorts neurons into the three kinds.)

# %% [markdown] tags=["question"]
# **Ask the room.** The encoding is correct for *any* valid $l, u$. Why not simply take
# $l = -10^{100}$ and $u = 10^{100}$?

# %% [markdown]
# ## Which bounds?
#
# Any valid bounds keep the encoding exact — even $\pm 10^{100}$. But the solver prunes its
# branches with the relaxation $0 \le v \le 1$, and with loose $l, u$ that relaxation is so
# loose that almost nothing gets pruned. Tight bounds matter.
#
# The tightest bounds are themselves optimisation problems. The lower bound of neuron $j$
# of layer $k$ is
#
# $$(l_k)_j \;=\; \min_{z_1,\dots,z_{k+1}}\; e_j^T z_{k+1}\quad \text{s.t.}\quad \|z_1 - x\|_\infty \le \epsilon,\quad z_{i+1} = \max(0, W_i z_i + b_i),\ i < k,\quad z_{k+1} = W_k z_k + b_k,$$
#
# a MILP of the same kind as the one we want to solve (and $(u_k)_j$ the same with
# $\max$). Two MILPs for **every** hidden neuron before the one we care about: exact, and
# impractical. So we settle for bounds that are looser but cheap.
#
# ### Interval bounds: the chapter in code
#
# If $\hat l \le z \le \hat u$, each entry of $Wz + b$ is smallest when $z_j$ sits at
# $\hat l_j$ where $W_{ij} > 0$ and at $\hat u_j$ where $W_{ij} < 0$:
#
# $$\max(W,0)\,\hat l + \min(W,0)\,\hat u + b \;\le\; Wz + b \;\le\; \max(W,0)\,\hat u + \min(W,0)\,\hat l + b .$$
#
# A convolution is a linear map too (the same rule with the kernel's positive and negative
# parts), a ReLU maps $[l, u]$ to $[\max(l,0), \max(u,0)]$, and a flatten only reshapes.
# Layer by layer, as in the chapter:

# %%
def bound_propagation(model, initial_bound):
    """Interval bounds (l, u) on the output of every layer of model over the box initial_bound."""
    l, u = initial_bound
    bounds = []
    for layer in model:
        if isinstance(layer, nn.Linear):
            W, b = layer.weight, layer.bias
            l_, u_ = (W.clamp(min=0) @ l.t() + W.clamp(max=0) @ u.t() + b[:, None]).t(), \
                     (W.clamp(min=0) @ u.t() + W.clamp(max=0) @ l.t() + b[:, None]).t()
        elif isinstance(layer, nn.Conv2d):
            conv = lambda z, W: F.conv2d(z, W, None, layer.stride, layer.padding, layer.dilation, layer.groups)
            bias = layer.bias[None, :, None, None]
            l_ = conv(l, layer.weight.clamp(min=0)) + conv(u, layer.weight.clamp(max=0)) + bias
            u_ = conv(u, layer.weight.clamp(min=0)) + conv(l, layer.weight.clamp(max=0)) + bias
        elif isinstance(layer, nn.ReLU):
            l_, u_ = l.clamp(min=0), u.clamp(min=0)
        else:                                   # Flatten
            l_, u_ = layer(l), layer(u)
        bounds.append((l_, u_))
        l, u = l_, u_
    return bounds


# %% [markdown]
# The package's `course_utils.bounds.bound_propagation` computes the same bounds in
# centre-radius form (centre through $W$, radius through $|W|$), checks its input box,
# refuses layers it has no rule for by name, and keeps the model's parameters out of
# autograd. On the first test image at $\epsilon = 0.1$ (in float64, so that the two forms
# agree to rounding), every layer of all four networks:

# %%
epsilon = 0.1
with torch.no_grad():
    for name, model in models.items():
        model64 = copy.deepcopy(model).double()
        box = tuple(t.double() for t in linf_box(x, epsilon))
        ours, theirs = bound_propagation(model64, box), package_bounds.bound_propagation(model, box)
        check_same(torch.cat([torch.cat([l.flatten(), u.flatten()]) for l, u in ours]),
                   torch.cat([torch.cat([l.flatten(), u.flatten()]) for l, u in theirs]),
                   f"{name}: bound_propagation = course_utils.bounds.bound_propagation, every layer")

# %% [markdown]
# The bounds on the **logits**, ours beside the chapter's (logit 0, then all ten):

# %%
logit_bounds = {}
for name in ("cnn", "dnn4", "dnn2"):
    box = tuple(t.double() for t in linf_box(x, epsilon))
    lower, upper = package_bounds.bound_propagation(models[name], box)[-1]
    logit_bounds[name] = (lower[0], upper[0])
    ref_lo, ref_hi = chapter.LOGIT_BOUNDS_EPS_01[name]
    print(f"{name}: logit 0 in [{lower[0, 0]:.2f}, {upper[0, 0]:.2f}]   (chapter [{ref_lo[0]:.2f}, {ref_hi[0]:.2f}])")
    print("   lower:", " ".join(f"{v:8.1f}" for v in lower[0].tolist()))
    print("   upper:", " ".join(f"{v:8.1f}" for v in upper[0].tolist()))

# %% tags=["hide-input"]
width = {name: float((hi - lo).max()) for name, (lo, hi) in logit_bounds.items()}
check_claim(1000 < width["cnn"] / 2 < 10000, "the CNN's widest logit interval has a half-width in the thousands")
check_claim(100 < width["dnn4"] / 2 < 1000, "the 4-layer net's widest logit interval has a half-width in the hundreds")
check_claim(10 < width["dnn2"] / 2 < 100, "the 2-layer net's widest logit interval has a half-width of tens")

# %% [markdown]
# The CNN's logits are "somewhere within a few thousand of zero", the 4-layer net's within
# a few hundred, the 2-layer net's within a few tens. Every layer widens the boxes, and deep or wide networks make interval bounds loose. Still,
# any finite bound beats $\pm 10^{100}$. Move ε, the image and the network: the bars are the
# interval bounds on the ten logits, the dots the clean logits.

# %% tags=["nbval-ignore-output"]
logit_bounds_widget({k: models[k] for k in ("dnn2", "dnn4", "cnn", "small")}, X, y, epsilon=0.1)

# %% [markdown]
# ## The whole program
#
# With interval bounds $l_i \le W_i z_i + b_i \le u_i$ on every hidden layer, the worst-case
# margin for target $t$ is the MILP
#
# $$\begin{aligned}
# m_t^* \;=\; \min_{z_1,\dots,z_{d+1},\,v_1,\dots,v_{d-1}}\quad & (e_y - e_t)^T z_{d+1}\\
# \text{s.t.}\quad & z_{i+1} \ge W_i z_i + b_i, && i = 1,\dots,d-1\\
# & z_{i+1} \ge 0, && i = 1,\dots,d-1\\
# & u_i \cdot v_i \ge z_{i+1}, && i = 1,\dots,d-1\\
# & W_i z_i + b_i \ge z_{i+1} + (1 - v_i) \cdot l_i, && i = 1,\dots,d-1\\
# & v_i \in \{0, 1\}^{|v_i|}, && i = 1,\dots,d-1\\
# & \max(x - \epsilon, 0) \le z_1 \le \min(x + \epsilon, 1),\\
# & z_{d+1} = W_d z_d + b_d ,
# \end{aligned}$$
#
# with $\cdot$ the entrywise product. MILPs do not scale to networks with thousands of
# unstable ReLUs, so the chapter trains a small 784-50-20-10 network for this section. The
# recorded clean test errors (full test set) of ours and of the chapter's:

# %%
clean = chapter.read("clean_errors")["small"]
print(f"small net: clean test error {clean['test_error']:.4f} (chapter {clean['published']:.4f})")

# %% [markdown]
# ### The chapter in code
#
# The program in cvxpy, one line per row of the display (the network's layers must be
# `Linear` and `ReLU`, after a `Flatten`):

# %%
def form_milp(model, c, initial_bound, bounds):
    """The chapter's MILP for min c^T z_{d+1} over the box: a binary and four big-M rows per ReLU."""
    linear = [(layer, bound) for layer, bound in zip(model, bounds) if isinstance(layer, nn.Linear)]
    d = len(linear) - 1
    W = [layer.weight.detach().double().numpy() for layer, _ in linear]
    b = [layer.bias.detach().double().numpy() for layer, _ in linear]
    l = [lo[0].numpy() for _, (lo, _) in linear]
    u = [up[0].numpy() for _, (_, up) in linear]
    l0, u0 = (t[0].reshape(-1).numpy() for t in initial_bound)
    z = [cp.Variable(layer.in_features) for layer, _ in linear] + [cp.Variable(linear[-1][0].out_features)]
    v = [cp.Variable(layer.out_features, boolean=True) for layer, _ in linear[:-1]]
    constraints = [z[0] >= l0, z[0] <= u0, z[d + 1] == W[d] @ z[d] + b[d]]
    for i in range(d):
        constraints += [z[i + 1] >= W[i] @ z[i] + b[i], z[i + 1] >= 0,
                        cp.multiply(u[i], v[i]) >= z[i + 1],
                        W[i] @ z[i] + b[i] >= z[i + 1] + cp.multiply(1 - v[i], l[i])]
    return cp.Problem(cp.Minimize(c @ z[d + 1]), constraints), (z, v)


# %% [markdown]
# Every neuron gets a binary here, stable or not, as in the chapter. We solve it with the
# open-source HiGHS solver for image 0 (a 7), target 3, at a small radius, $\epsilon = 0.02$,
# where this plain version is quick, and put its optimum beside what
# `certify(..., "exact milp")` reports for the same question:

# %%
epsilon, target = 0.02, 3
box = tuple(t.double() for t in linf_box(x, epsilon))
bounds = package_bounds.bound_propagation(small, box)
c = np.eye(10)[label] - np.eye(10)[target]
exact = certify(small, x, label, epsilon, "exact milp", targets=[target])[target]
problem, (z, v) = form_milp(small, c, box, bounds)
value = problem.solve(solver=cp.HIGHS)
unstable = [int(relu_phases(l, u)[2].sum()) for l, u in bounds[1:5:2]]
print(f"form_milp with HiGHS: {problem.status}, m_{target}* = {approx(value, 4)}")
print(f"certify, exact milp:  {exact.status}, m_{target}* = {approx(exact.value, 4)} -> {exact.verdict}")
print("binaries:", sum(vi.size for vi in v), "  unstable neurons (interval bounds) per hidden layer:", unstable)

# %% tags=["hide-input"]
# Both are HiGHS optima of the same minimum, proven to HiGHS's relative gap of 1e-4. The MILP
# values showed no spread across CPU kernels and thread counts (tools/portability.py).
check_claim(problem.status == "optimal" and exact.status == "optimal", "both programs are solved to optimality")
check_close(value, exact.value, 1e-3 * max(1.0, abs(exact.value)), "form_milp's optimum = certify's exact milp value")
check_close(value, 5.399, 0.01, "the worst-case margin m_3* at ε = 0.02:")
check_claim(exact.verdict == "robust", "target 3 at ε = 0.02: robust")
check_claim(sum(vi.size for vi in v) == 70, "form_milp has one binary per hidden neuron, 50 + 20 = 70")

# %% [markdown]
# The same minimum. `certify` asks a different program for it: stable neurons without a
# binary, tighter bounds than intervals (linear bounds pushed back through the network,
# then one small LP per still-unstable neuron of the second layer), HiGHS called directly
# and started from a targeted PGD point, and the minimiser replayed through the real network.
# Those changes are what make the larger radii below affordable; the program and its optimum
# are the chapter's.

# %% [markdown] tags=["question"]
# **Ask the room.** At $\epsilon = 0.1$, the chapter's example asks for target 2. Suppose the
# minimum $m_2^*$ is negative. Will the network classify the minimiser as a 2?

# %% [markdown]
# ### The chapter's example: $\epsilon = 0.1$, target 2
#
# `certify` returns the minimiser — the input $z_1$ of the optimal solution — as a witness,
# and replays it through the real network:

# %%
r = certify(small, x, label, 0.1, "exact milp", targets=[2])[2]
print(f"m_2* = {approx(r.value, 4)}   (chapter {chapter.MILP_EPS_01[2]:.4f})  -> {r.verdict}")
print("last layer from the MILP: ", " ".join(approx(v, 3) for v in r.program_logits))
print("last layer from the model:", " ".join(approx(v, 3) for v in r.model_logits))
print(f"largest gap program/model below 1e-4: {r.replay_error < 1e-4}; predicted class at the witness: "
      f"{int(np.argmax(r.model_logits))}")
witness_ok = bool(((r.witness - x).abs() <= 0.1 + 1e-6).all() and r.witness.min() >= 0 and r.witness.max() <= 1)
print("witness inside the ball and a valid image:", witness_ok)

# %% tags=["hide-input"]
check_close(r.value, -1.6817, 0.01, "the worst-case margin m_2* at ε = 0.1:")
check_claim(r.verdict == "attacked" and witness_ok and r.replay_error < 1e-4,
            "the minimiser is a real point of the ball, and the program's logits are the model's")
check_claim(int(np.argmax(r.model_logits)) == 3 and r.model_logits[3] > r.model_logits[2] > r.model_logits[label],
            "at the witness the network predicts 3: logit 3 > logit 2 > logit 7")

# %% [markdown]
# The minimum is negative: some point of the ball gives class 2 a larger logit than class 7.
# The MILP's last layer is **exactly** the network's output at the returned input — the
# program is a faithful model of the network, not an approximation. But the network does
# not predict 2 there: logit 3 is larger still. The objective only compares 7 with 2, so a
# negative $m_2^*$ proves that the class changes, not that it changes to 2. Our minimum is
# smaller in size than the chapter's −4.97: another training run, other weights.
#
# Here is the witness. The point of the MILP is not the picture but the *guarantee* that no
# point of the ball pushes logit 2 further above logit 7 than this one.

# %%
plot_witness(x, r.witness, f"ε = 0.1, target 2: m_2 = {r.value:.2f} at the minimiser")
plt.show()

# %% [markdown]
# ## Certifying robustness
#
# To prove that **no** adversarial example exists in the ball we solve the problem once per
# target class: if every $m_t^*$ is positive, no point of the ball is misclassified. At
# $\epsilon = 0.05$ the nine minima, beside the chapter's:

# %%
cert = certify(small, x, label, 0.05, "exact milp")
values = {r.target: r.value for r in cert.results}
print(f"{'target':>6} {'ours':>8} {'chapter':>8}")
for t, ref in chapter.MILP_EPS_005.items():
    print(f"{t:>6} {approx(values[t], 3):>8} {ref:8.4f}")
print("verdict at ε = 0.05:", cert.verdict)

# %% tags=["hide-input"]
check_claim(cert.verdict == "robust" and all(v > 0 for v in values.values()), "all nine minima are positive: robust")
check_claim(min(values, key=values.get) == 3, "the smallest minimum is target 3's, as in the chapter")
check_close(values[3], 1.140, 0.01, "m_3* at ε = 0.05:")

# %% [markdown]
# All nine minima are positive: **no** $\ell_\infty$ perturbation of size 0.05 changes this
# digit's class — a proof, not a failed search. The smallest is again target 3's, but ours
# (about 1.14) is far from the chapter's near miss of 0.019: another training run.
#
# At $\epsilon = 0.1$ we only need the **signs**, and they are far cheaper than the values.
# The default mode of `certify` first runs a targeted PGD attack (a success is a verdict,
# "attacked", with its witness), then cheap bounds (a positive one is "robust"), and only
# then asks the MILP the yes/no question "is there a point with $m_t \le 0$?" — the solver
# may stop at the first such point, or once every branch is cut off above 0.

# %%
cert = certify(small, x, label, 0.1)
print(cert.table())
print()
print(chapter.side_by_side({}, chapter.MILP_EPS_01, name="ours",
                           verdicts={r.target: r.verdict for r in cert.results}))

# %% tags=["hide-input"]
verdicts = {r.target: r.verdict for r in cert.results}
chapter_sign = {t: ("attacked" if v < 0 else "robust") for t, v in chapter.MILP_EPS_01.items()}
check_claim(cert.verdict == "attacked", "at ε = 0.1 the image is attacked")
check_claim([t for t in verdicts if verdicts[t] != chapter_sign[t]] == [0],
            "our verdicts agree with the chapter's signs on every target but 0")
check_claim(verdicts[0] == "robust", "target 0 is robust for our network")

# %% [markdown]
# The chapter finds adversarial examples for six targets (0, 2, 3, 5, 8, 9) and proves 1, 4
# and 6 unreachable. Ours agrees on eight of the nine: for **target 0 our network is
# robust**, where the chapter's has $m_0^* = -2.55$ — again two training runs, not a solver
# error. The whole image is "attacked" all the same: one negative $m_t^*$ is enough.

# %% [markdown]
# ## Exercises
#
# ### Exercise 6.1 — the big-M rows of a ReLU
#
# Write `relu_bigm(z, z_hat, v, l, u)`: the list of cvxpy constraints that make
# `z == max(0, z_hat)` for a layer of neurons, given the binary variables `v` and the numpy
# bounds `l < 0 < u` on `z_hat` (`z`, `v`: cvxpy variables of shape `(n,)`, `z_hat`: a cvxpy
# expression of shape `(n,)`). The check fixes `z_hat` and `v` and asks a solver which `z`
# your rows allow. Remember `cp.multiply` for an entrywise product.

# %% tags=["exercise"]
def relu_bigm(z, z_hat, v, l, u):
    # BEGIN SOLUTION
    return [z >= z_hat, z >= 0, cp.multiply(u, v) >= z, z_hat >= z + cp.multiply(1 - v, l)]
    # END SOLUTION


# %%
check("6.1", relu_bigm)

# %% [markdown]
# ### Exercise 6.2 — stable and unstable neurons
#
# Write `neuron_phases(l, u)`: for pre-activation bounds `l <= u` (tensors of any shape),
# three boolean tensors of the same shape — the neurons that are always off, always on, and
# unstable. Only the unstable ones need a binary. The check uses the small network's
# interval bounds at several radii, and a few neurons whose bounds touch 0.

# %% tags=["exercise"]
def neuron_phases(l, u):
    # BEGIN SOLUTION
    off, on = u <= 0, l >= 0
    return off, on, ~(off | on)
    # END SOLUTION


# %%
check("6.2", neuron_phases)

# %% [markdown]
# ### Exercise 6.3 — what a negative minimum says
#
# The MILP gives $m_2^* < 0$ for image 0 at $\epsilon = 0.1$. Which statement follows?
#
# * **a** — the network classifies the minimiser as a 2
# * **b** — some point of the ball is not classified as a 7; it may be classified as 2 or as another class
# * **c** — the minimiser maximises the cross-entropy loss over the ball
# * **d** — no point of the ball is classified as a 2

# %% tags=["exercise"]
answer = None
# BEGIN SOLUTION
answer = "b"
# END SOLUTION

# %%
check("6.3", answer)

# %% [markdown] tags=["solution"]
# <details><summary>Model answer</summary>
#
# $m_2 = z_7 - z_2 < 0$ at the minimiser: logit 2 beats logit 7, so 7 is not the largest
# logit and the prediction is not 7 — an adversarial example exists. Which class wins is
# another question: above, logit 3 is larger still and the network predicts 3. The MILP
# minimises a difference of two logits, not the cross-entropy, and a negative minimum is
# evidence *for* a reachable 2-over-7 point, not against it.
#
# </details>

# %% [markdown]
# ## What we learned
#
# * A ReLU network with known pre-activation bounds is exactly a MILP: four linear
#   inequalities per ReLU, and a binary per unstable neuron. MILPs are NP-hard; the solver's
#   worst case is exponential in the number of unstable neurons.
# * The MILP computes each worst-case margin $m_t^* = \min_{\text{ball}} (z_y - z_t)$
#   exactly. A negative one comes with a real adversarial example (whose class need not be
#   $t$); all positive is a certificate that no adversarial example exists in the ball. It
#   does not maximise the cross-entropy loss.
# * Bounds decide the cost. Exact bounds need two MILPs per neuron; interval bounds are
#   cheap and loose, and grow with every layer; tighter bounds remove binaries and
#   branching, and asking only for the sign is cheaper still.
#
# Notebook 7 drops the binaries altogether: a linear program that is always fast, at the
# price of sometimes answering "unknown".
#
# ## References
#
# * V. Tjeng, K. Xiao and R. Tedrake. "Evaluating Robustness of Neural Networks with Mixed
#   Integer Programming." *International Conference on Learning Representations (ICLR)*,
#   2019 (the MILP, with tightened bounds).
# * R. Ehlers. "Formal Verification of Piece-Wise Linear Feed-Forward Neural Networks."
#   *Automated Technology for Verification and Analysis (ATVA)*, 2017.
# * E. Wong and J. Z. Kolter. "Provable Defenses against Adversarial Examples via the Convex
#   Outer Adversarial Polytope." *International Conference on Machine Learning (ICML)*, 2018.
# * R. Anderson, J. Huchette, W. Ma, C. Tjandraatmadja and J. P. Vielma. "Strong
#   mixed-integer programming formulations for trained neural networks." *Mathematical
#   Programming* 183, 2020.
# * S. Gowal, K. Dvijotham, R. Stanforth, R. Bunel, C. Qin, J. Uesato, R. Arandjelović,
#   T. Mann and P. Kohli. "On the Effectiveness of Interval Bound Propagation for Training
#   Verifiably Robust Models." arXiv:1810.12715, 2018 (interval bounds).
# * Q. Huangfu and J. A. J. Hall. "Parallelizing the dual revised simplex method."
#   *Mathematical Programming Computation* 10, 2018 (HiGHS).
# * Z. Kolter and A. Madry. *Adversarial Robustness: Theory and Practice*, chapter 3,
#   "Adversarial examples, solving the inner maximization".
#   [adversarial-ml-tutorial.org](https://adversarial-ml-tutorial.org/adversarial_examples/)
