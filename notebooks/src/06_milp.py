# %% [markdown]
# # 6. Solving the inner maximization exactly: mixed-integer programming
#
# *Course: "Adversarial examples, solving the inner maximization" — after chapter 3 of
# Kolter & Madry, "Adversarial Robustness: Theory and Practice".*
#
# Every attack so far was a local search: it returns *some* point of the ε-ball, and when it
# fails we learn nothing — perhaps a better point exists that PGD did not reach. For a small
# ReLU network we can do better and answer the question **exactly**: either we produce the
# worst point of the ball, or we prove that no point of the ball changes the class. The tool
# is mixed-integer linear programming (MILP).
#
# ## The targeted attack as a constrained problem
#
# Write a feed-forward ReLU network layer by layer, with $z_1 = x$ the input:
#
# $$z_{i+1} = \max(0,\; W_i z_i + b_i),\quad i = 1,\dots,d-1, \qquad z_{d+1} = W_d z_d + b_d,$$
#
# so that $z_{d+1} = h_\theta(x)$ are the logits. A targeted attack wants the logit of class
# $y_{\text{targ}}$ to beat the true class $y$; as an optimisation over all the activations
# at once, under the $\ell_\infty$ threat model,
#
# $$\begin{aligned}
# \min_{z_1,\dots,z_{d+1}}\quad & (e_y - e_{y_{\text{targ}}})^T z_{d+1}\\
# \text{s.t.}\quad & \|z_1 - x\|_\infty \le \epsilon,\quad 0 \le z_1 \le 1,\\
# & z_{i+1} = \max(0, W_i z_i + b_i),\ i = 1,\dots,d-1,\qquad z_{d+1} = W_d z_d + b_d .
# \end{aligned}$$
#
# The objective $c^T z_{d+1}$ with $c = e_y - e_{y_\text{targ}}$ is "true logit minus target
# logit". If its minimum is **negative**, an adversarial example for that target exists (and
# the minimiser is one); if it is **positive**, none exists anywhere in the ball. Everything
# in this problem is linear except the ReLU equalities.

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch

from course_utils import records as chapter
from course_utils.bounds import bound_propagation
from course_utils.data import eval_subset
from course_utils.models import load_model
from course_utils.plotting import plot_witness
from course_utils.threat import linf_box
from course_utils.programs import form_milp
from course_utils.verify import certify, tighten_bounds
from course_utils.widgets import logit_bounds_widget

torch.manual_seed(0)
models = {name: load_model(name) for name in ("small", "dnn2", "dnn4", "cnn")}
X, y = eval_subset(100)       # the first 100 test images; the chapter's example is image 0
x, label = X[:1], int(y[0])
print("first test image, label", label)

# %% [markdown]
# ## The big-M encoding of a ReLU
#
# Suppose we know numbers $l \le u$ with $l \le \hat z \le u$ for a pre-activation
# $\hat z = W_i z_i + b_i$ (elementwise). Add a binary variable $v \in \{0, 1\}$ per neuron.
# Then $z = \max(0, \hat z)$ is *exactly* the set of solutions of four linear inequalities:
#
# $$z \ge \hat z,\qquad z \ge 0,\qquad z \le u\, v,\qquad z \le \hat z - (1 - v)\, l .$$
#
# Check the two cases. With $v = 0$: $z \le 0$ and $z \ge 0$ force $z = 0$, and the last
# inequality reads $\hat z \ge l$ — always true, so nothing else is constrained; this is the
# "off" branch and it is only consistent when $\hat z \le 0$ (because $z \ge \hat z$).
# With $v = 1$: $z \le \hat z$ together with $z \ge \hat z$ forces $z = \hat z$, and
# $z \le u$ is again automatic; this is the "on" branch, consistent when $\hat z \ge 0$.
#
# A neuron whose bounds already decide its sign needs no binary at all: if $u \le 0$ it is
# always off ($z = 0$), if $l \ge 0$ always on ($z = \hat z$). Only the **unstable** neurons,
# with $l < 0 < u$, cost a binary — and a MILP solver's work grows, in the worst case
# exponentially, with their number.
#
# ## Why the bounds matter
#
# The encoding is correct for *any* valid $l, u$ — even $\pm 10^{100}$. But the solver
# relaxes $v$ to $[0,1]$ while it searches, and the looser $l$ and $u$, the looser that
# relaxation and the more branching it needs. So we want bounds that are cheap **and** tight.
#
# The cheapest are interval bounds. If $\hat l \le z \le \hat u$, each entry of $Wz + b$ is
# smallest when $z_j$ sits at $\hat l_j$ where $W_{ij} > 0$ and at $\hat u_j$ where
# $W_{ij} < 0$:
#
# $$\max(W,0)\,\hat l + \min(W,0)\,\hat u + b \;\le\; Wz + b \;\le\; \max(W,0)\,\hat u + \min(W,0)\,\hat l + b .$$
#
# Equivalently, with centre $m = (\hat u + \hat l)/2$ and radius $r = (\hat u - \hat l)/2$:
# $Wz + b \in [\,Wm + b - |W| r,\; Wm + b + |W| r\,]$. A ReLU maps an interval to
# $[\max(l,0), \max(u,0)]$. `course_utils.bounds.bound_propagation` applies these rules
# layer by layer (linear, convolutional, flatten, ReLU) and returns one $(l, u)$ per layer,
# as in the chapter. Here are the bounds on the **logits** of the first test image at
# $\epsilon = 0.1$, ours beside the chapter's:

# %%
for name in ("cnn", "dnn2", "dnn4"):
    lower, upper = bound_propagation(models[name], linf_box(x, 0.1))[-1]
    ref_lo, ref_hi = chapter.LOGIT_BOUNDS_EPS_01[name]
    print(f"{name}: logit 0 in [{lower[0, 0]:.2f}, {upper[0, 0]:.2f}]   (chapter [{ref_lo[0]:.2f}, {ref_hi[0]:.2f}])")
    print("   lower:", " ".join(f"{v:8.1f}" for v in lower[0].tolist()))
    print("   upper:", " ".join(f"{v:8.1f}" for v in upper[0].tolist()))

# %% [markdown]
# The CNN's logits are "somewhere in ±3000", the 4-layer net's in ±200: every layer widens the
# boxes, and deep or wide networks make interval bounds nearly useless. Only for the
# 2-layer net (one hidden layer) are they of the size of real logits. Still, any finite
# bound beats $\pm 10^{100}$.
#
# Move ε, the image and the network; the bars are the interval bounds on the ten logits,
# the dots the clean logits.

# %% tags=["nbval-ignore-output"]
logit_bounds_widget({k: models[k] for k in ("dnn2", "dnn4", "cnn", "small")}, X, y, epsilon=0.1)

# %% [markdown]
# ## The small network, exactly
#
# MILP does not scale to networks with thousands of unstable ReLUs, so the chapter trains a
# small 784-50-20-10 network for this section (our copy: clean test error 0.0336, the
# chapter's 0.0321). The program `form_milp(model, c, initial_bound, bounds)` writes exactly
# the problem above in cvxpy; it takes the interval bounds as its $l, u$. How many binaries
# does it need at $\epsilon = 0.1$, and how many once the bounds are tightened? (`tighten_bounds`
# first pushes linear bounds backwards through the network, CROWN-style, then solves one small
# LP per still-unstable neuron of the second layer.)

# %%
small = models["small"]
box = tuple(t.double() for t in linf_box(x, 0.1))
interval = bound_propagation(small, box)
c = np.eye(10)[label] - np.eye(10)[2]                    # target class 2
problem, (z, v) = form_milp(small, c, box, interval)
tight = tighten_bounds(small, box)
print("binaries with interval bounds:   ", sum(vi.size for vi in v),
      f"(the chapter's version gives all {50 + 20} neurons one)")
print("unstable after tightening:       ", sum(int(((l < 0) & (u > 0)).sum()) for l, u in tight))
print("second layer, widest interval bound: ", f"{(interval[3][1] - interval[3][0]).max():.2f}",
      " tightened:", f"{(tight[1][1] - tight[1][0]).max():.2f}")

# %% [markdown]
# At this large ε tightening makes only a couple of neurons stable, but it more than halves
# the widest bounds of the second layer — and the width of $[l, u]$ is exactly what makes
# the relaxation inside the solver loose.
#
# Solving that program for all nine targets with the chapter's exact formulation (every
# neuron a binary, interval bounds) took 77 s at $\epsilon = 0.05$ and 322 s at
# $\epsilon = 0.1$ on a 2-core machine with the open-source HiGHS solver (the chapter used the
# commercial Gurobi). `certify` solves the same problems on the tightened bounds, with HiGHS
# called directly and a PGD point as its starting solution (see `benchmarks/milp_speed.md`).
#
# ### The targeted MILP for class 2
#
# The chapter's worked example: image 0 (a 7), target 2, $\epsilon = 0.1$. With
# `exact=True`, `certify` minimises the objective and returns the minimiser — the input
# $z_1$ of the optimal solution — as a witness, which it replays through the real network:

# %%
r = certify(small, x, label, 0.1, "exact milp", targets=[2])[2]
print(f"minimum of logit_7 - logit_2: {r.value:.4f}   (chapter {chapter.MILP_EPS_01[2]:.4f})  -> {r.verdict}")
print("last layer from the MILP:", np.round(r.program_logits, 3))
print("last layer from the model:", np.round(r.model_logits, 3))
print("chapter (MILP = model):  ", np.array(chapter.MILP_TARGET2_LOGITS))
print(f"largest gap program/model: {r.replay_error:.1e} (must be < 1e-4)")
print(f"witness inside the box: {bool(((r.witness - x).abs() <= 0.1 + 1e-6).all())}, "
      f"predicted class {int(np.argmax(r.model_logits))}")

# %% [markdown]
# The minimum is negative: the network can be made to prefer 2 over 7. Unlike the LP of the
# next notebook, the MILP's last layer is **exactly** the network's output at the returned
# input — the program is a faithful model of the network, not an approximation. (Logit 3
# ends up even higher than logit 2: the objective only compares 7 with 2.)
#
# Here is the witness. Compared with PGD's perturbations it is unremarkable — the point of
# the MILP is not the picture but the *guarantee* that no perturbation in the ball pushes
# logit 2 further above logit 7 than this one.

# %%
plot_witness(x, r.witness, f"ε = 0.1, target 2: objective {r.value:.3f}")
plt.show()

# %% [markdown]
# ## Certifying robustness
#
# To prove that **no** adversarial example exists in the ball we solve the problem once per
# target class: if every minimum is positive, no point of the ball is misclassified. At
# $\epsilon = 0.05$ we compute the nine minima exactly (`exact=True`) and put them beside the
# chapter's:

# %%
cert = certify(small, x, label, 0.05, "exact milp")
print(chapter.side_by_side({r.target: r.value for r in cert.results}, chapter.MILP_EPS_005))
print("verdict at ε = 0.05:", cert.verdict)

# %% [markdown]
# All nine minima are positive: **no** $\ell_\infty$ perturbation of size 0.05 changes this
# digit's class — a proof, not a failed search. Our values differ from the chapter's (another
# training run); the smallest margin is again target 3, but ours is larger (the chapter's
# 0.019 is a near miss).
#
# At $\epsilon = 0.1$ we only need the **signs**, and that is far cheaper than the values.
# The default *decide* mode of `certify` first runs a targeted PGD attack (a success is a
# verdict, with its witness), then checks cheap bounds, and only then asks the MILP the
# yes/no question "is there a point with objective $\le 0$?" — the solver may stop as soon as
# it finds one, or prune every branch whose relaxation stays above 0.

# %%
cert = certify(small, x, label, 0.1, "decide")
print(cert.table())
print()
print(chapter.side_by_side({}, chapter.MILP_EPS_01, name="ours",
                           verdicts={r.target: r.verdict for r in cert.results}))

# %% [markdown]
# PGD settles the five targets it can reach; the MILP proves the rest unreachable. The
# chapter finds adversarial examples for six targets (0, 2, 3, 5, 8, 9) and proves 1, 4, 6
# safe. Ours agrees on eight of the nine: for **target 0 our network is robust** — its exact
# minimum is small but positive (about 0.14), where the chapter's network has −2.55. That is
# a genuine difference between two training runs, not a solver error: the decide mode and
# the exact minimum agree (see `benchmarks/milp_speed.md`), and the test suite checks both
# against sampled points and PGD on random networks.
#
# ## What we learned
#
# * A ReLU network with known pre-activation bounds is exactly a MILP: four linear
#   inequalities and one binary per unstable neuron.
# * The MILP's minimum answers the inner maximization exactly: a negative value comes with
#   a real adversarial example, a positive one is a certificate of robustness.
# * Bounds decide the cost. Interval bounds are cheap and loose; tighter bounds remove
#   binaries and branching, and asking only for the sign is cheaper still.
#
# Notebook 7 drops the binaries altogether: a linear program that is always fast, at the
# price of sometimes answering "don't know".
