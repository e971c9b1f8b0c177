# %% [markdown]
# # 6. Solving the targeted margin problems exactly: mixed-integer programming
#
# *Course: "Adversarial examples, solving the inner maximization" — after chapter 3 of
# Kolter & Madry, "Adversarial Robustness: Theory and Practice".*
#
# When an attack fails, a better point may still exist. For a small ReLU network,
# mixed-integer linear programming (MILP) computes notebook 5's worst-case margin $m_t^*$
# *exactly*: a negative one comes with a point of the ball not classified $y$; nine positive
# ones prove that none exists.

# %% [markdown]
# ## The targeted attack as a constrained problem
#
# With $d$ linear layers $(W_i, b_i)$, a ReLU after each but the last, and $c = e_y - e_t$:
#
# $$m_t^* = \min_{z_1, \dots, z_{d+1}} c^T z_{d+1} \quad\text{s.t.}\quad \|z_1 - x\|_\infty \le \epsilon,\ \ 0 \le z_1 \le 1,\ \ z_{i+1} = \max(0, W_i z_i + b_i),\ \ z_{d+1} = W_d z_d + b_d .$$
#
# Everything is linear except the ReLUs.

# %%
import copy
import heapq
import warnings

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
from course_utils.plotting import plot_bigm_slices, plot_search_tree, plot_witness
from course_utils.programs import QUIET_MIP_OPTIONS, form_milp as package_form_milp
from course_utils.relu import relu_phases
from course_utils.solvers import new_highs
from course_utils.splits import phase_tree
from course_utils.threat import linf_box
from course_utils.verify import certify, pgd_targets, tighten_bounds, verification_problem
from course_utils.widgets import logit_bounds_widget

torch.manual_seed(0)
new_highs()                   # HiGHS prints a banner the first time it starts: start it once, silently
models = {name: load_model(name) for name in ("small", "dnn2", "dnn4", "cnn")}
small = models["small"]
X, y = eval_subset(100)       # the first 100 test images; the chapter's example is image 0
x, label = X[:1], int(y[0])
print("first test image, label", label)

# %% [markdown]
# ## Mixed-integer programs and the big-M ReLU
#
# A MILP minimises a linear objective under linear constraints, some variables in
# $\{0, 1\}$: NP-hard, a solver's worst case exponential in the binaries. Without those it is
# a linear program (LP), solvable in polynomial time.
#
# Given bounds $l \le \hat z \le u$ on a pre-activation $\hat z = W_i z_i + b_i$ and a binary
# $v$, $z = \max(0, \hat z)$ is exactly the solution set of
#
# $$z \ge \hat z,\qquad z \ge 0,\qquad z \le u\, v,\qquad z \le \hat z - (1 - v)\, l .$$
#
# $v = 0$: $0 \le z \le 0$, and $z \ge \hat z$ allows only $\hat z \le 0$ (the last row,
# $\hat z \ge l$, holds). $v = 1$: $z = \hat z$, and $z \ge 0$ allows only $\hat z \ge 0$.
# Any valid $l, u$ will do. A neuron with $u \le 0$ is always off ($z = 0$), one with
# $l \ge 0$ always on ($z = \hat z$): only **unstable** neurons, $l < 0 < u$, need a binary.

# %% [markdown] tags=["question"]
# **Ask the room.** Let $v = 1/2$. Which points $(\hat z, z)$ do the four rows allow, for
# $l = -1$ and $u = 1.5$?

# %% tags=["reveal"]
plot_bigm_slices(-1.0, 1.5, (0.25, 0.5, 0.75))
plt.show()

# %% [markdown]
# Each $v$ allows a quadrilateral, squeezed to the ReLU's two pieces by $v = 0$ and $v = 1$.
# Over $0 \le v \le 1$ (the **relaxation** a MILP solver bounds its search with) they fill a
# triangle, small for tight $l, u$ (notebook 7).

# %% [markdown]
# ## Bounds for the rows: intervals
#
# If $\hat l \le z \le \hat u$, entry $i$ of $Wz + b$ is least with $z_j$ at $\hat l_j$ where
# $W_{ij} > 0$, at $\hat u_j$ where $W_{ij} < 0$:
#
# $$\max(W,0)\,\hat l + \min(W,0)\,\hat u + b \;\le\; Wz + b \;\le\; \max(W,0)\,\hat u + \min(W,0)\,\hat l + b .$$
#
# A ReLU maps $[l, u]$ to $[\max(l,0), \max(u,0)]$. As in the chapter:

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
# Logit 0's bounds (image 0, $\epsilon = 0.1$) beside the chapter's:

# %%
def flat(bounds):
    return torch.cat([torch.cat([l.flatten(), u.flatten()]) for l, u in bounds])


box = tuple(t.double() for t in linf_box(x, 0.1))
with torch.no_grad():
    ours = torch.cat([flat(bound_propagation(copy.deepcopy(m).double(), box)) for m in models.values()])
    logit_bounds = {name: package_bounds.bound_propagation(m, box)[-1] for name, m in models.items()}
    theirs = torch.cat([flat(package_bounds.bound_propagation(m, box)) for m in models.values()])
check_same(ours, theirs, "bound_propagation = course_utils.bounds.bound_propagation, every layer of four networks")
for name in ("cnn", "dnn4", "dnn2"):
    (lo, hi), (ref_lo, ref_hi) = logit_bounds[name], chapter.LOGIT_BOUNDS_EPS_01[name]
    print(f"{name:5s} logit 0 in [{lo[0, 0]:8.2f}, {hi[0, 0]:7.2f}]   chapter [{ref_lo[0]:8.2f}, {ref_hi[0]:7.2f}]")

# %% tags=["hide-input"]
reach = {name: float(torch.cat([lo, hi]).abs().max()) for name, (lo, hi) in logit_bounds.items()}
check_claim(1000 < reach["cnn"] < 10000, "every bound on the CNN's ten logits lies within a few thousand of 0, "
            "and one reaches a thousand", show=False)
check_claim(100 < reach["dnn4"] < 1000, "the 4-layer net's: within a few hundred", show=False)
check_claim(10 < reach["dnn2"] < 100, "the 2-layer net's: within tens", show=False)

# %% [markdown]
# The interval bounds are valid but loose for deeper networks: on the logits they reach a
# few thousand on the CNN, a few hundred on the 4-layer net, tens on the 2-layer net.

# %% [markdown]
# ## The chapter's program
#
# The chapter's MILP puts each ReLU's four rows on interval bounds, in cvxpy one line per
# row, for a small 784-50-20-10 network it trains:

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
# HiGHS (the chapter uses Gurobi) on image 0, a 7: target 3 at $\epsilon = 0.02$, then
# target 2 at $\epsilon = 0.1$ for five seconds:

# %%
def margin_vector(target):
    return np.eye(10)[label] - np.eye(10)[target]


box02 = tuple(t.double() for t in linf_box(x, 0.02))
interval02 = package_bounds.bound_propagation(small, box02)
problem, (z, v) = form_milp(small, margin_vector(3), box02, interval02)
m3 = problem.solve(solver=cp.HIGHS)
print(f"ε = 0.02, target 3: {problem.status}, m_3* = {approx(m3, 4)}, binaries {sum(vi.size for vi in v)}")

box01 = tuple(t.double() for t in linf_box(x, 0.1))
stuck, _ = form_milp(small, margin_vector(2), box01, package_bounds.bound_propagation(small, box01))
with warnings.catch_warnings():
    warnings.simplefilter("ignore")             # cvxpy warns that a stopped solve may be inaccurate
    stuck.solve(solver=cp.HIGHS, time_limit=5.0)
print(f"ε = 0.1, target 2, five seconds: {stuck.status}")

# %% tags=["hide-input"]
check_claim(problem.status == "optimal" and sum(vi.size for vi in v) == 70,
            "ε = 0.02: solved, one binary per hidden neuron (50 + 20)", show=False)
check_close(m3, 5.399, 0.01, "the worst-case margin m_3* at ε = 0.02:")
check_claim(stuck.status == "user_limit", "ε = 0.1, target 2: stopped by the time limit, no proof", show=False)

# %% [markdown]
# No point of the $\epsilon = 0.02$ ball lifts logit 3 above logit 7. At $\epsilon = 0.1$: no
# proof, no answer.

# %% [markdown]
# ## Three changes that make it fast
#
# 1. **No binary for a stable neuron**: $z = 0$ or $z = \hat z$ instead ($\hat z$ a variable
#    bounded by $l, u$).
# 2. **Tighter bounds from a smaller program.** Relaxing the binaries ($0 \le v \le 1$) of the
#    program over the layers before layer $k$ keeps every true point, so each
#    pre-activation's minimum and maximum over it are valid bounds: two LPs per neuron.
#    Layer 1 needs none: its interval bounds are exact.
# 3. **A cutoff from an attack.** Targeted PGD (notebook 5) finds a margin
#    $m_{\rm PGD} \ge m_t^*$. The row $c^T z_{d+1} \le m_{\rm PGD} + 10^{-3}$ removes no
#    minimiser ($10^{-3}$ covers float32 rounding) and lets the solver drop every branch
#    that cannot beat PGD.

# %%
chapter_form_milp = form_milp                    # the chapter's version, kept for comparison


def form_milp(model, c, initial_bound, bounds, relax=False, cutoff=None):
    """The chapter's MILP, a binary only for unstable neurons. relax: 0 <= v <= 1 instead of
    binaries; cutoff: only points with c^T z_{d+1} <= cutoff. c may be a cp.Parameter."""
    linear = [(layer, bound) for layer, bound in zip(model, bounds) if isinstance(layer, nn.Linear)]
    d = len(linear) - 1
    W = [layer.weight.detach().double().numpy() for layer, _ in linear]
    b = [layer.bias.detach().double().numpy() for layer, _ in linear]
    l = [lo[0].numpy() for _, (lo, _) in linear]
    u = [up[0].numpy() for _, (_, up) in linear]
    l0, u0 = (t[0].reshape(-1).numpy() for t in initial_bound)
    z = [cp.Variable(W[0].shape[1], bounds=[l0, u0])] + [cp.Variable(w.shape[0]) for w in W]
    v, constraints = [], [z[d + 1] == W[d] @ z[d] + b[d]]
    for i in range(d):
        z_hat = cp.Variable(W[i].shape[0], bounds=[l[i], u[i]])     # the pre-activation
        off, on, j = relu_phases(l[i], u[i])                         # always off, always on, unstable
        v.append(cp.Variable(int(j.sum()), boolean=not relax, bounds=[0, 1]))
        constraints += [z_hat == W[i] @ z[i] + b[i], z[i + 1][off] == 0, z[i + 1][on] == z_hat[on],
                        z[i + 1][j] >= z_hat[j], z[i + 1][j] >= 0, cp.multiply(u[i][j], v[i]) >= z[i + 1][j],
                        z_hat[j] >= z[i + 1][j] + cp.multiply(1 - v[i], l[i][j])]
    if cutoff is not None:
        constraints.append(c @ z[d + 1] <= cutoff)
    return cp.Problem(cp.Minimize(c @ z[d + 1]), constraints), (z, v)


def tighten(model, initial_bound, bounds):
    """bounds with every hidden layer after the first replaced by the minimum and maximum of
    its pre-activations over the relaxed program of the layers before it."""
    bounds = [(l.clone(), u.clone()) for l, u in bounds]
    linear = [k for k, layer in enumerate(model) if isinstance(layer, nn.Linear)]
    for k in linear[1:-1]:
        n, c = model[k].out_features, cp.Parameter(model[k].out_features)   # one program, 2n objectives
        smaller, _ = form_milp(model[:k + 1], c, initial_bound, bounds[:k + 1], relax=True)
        l, u = bounds[k]
        for j in range(n):
            c.value = np.eye(n)[j]
            l[0, j] = max(l[0, j], solve(smaller))
            c.value = -np.eye(n)[j]
            u[0, j] = min(u[0, j], -solve(smaller))
    return bounds


def solve(problem):
    """The minimum HiGHS proves, or an error naming its status (never an unproven number)."""
    value = problem.solve(solver=cp.HIGHS, **QUIET_MIP_OPTIONS)
    if problem.status != "optimal":
        raise RuntimeError(f"HiGHS ended with status {problem.status!r}: no minimum is claimed")
    return value


# %% [markdown]
# Against the package, which tightens after CROWN's bounds (notebook 9):

# %%
tight02 = tighten(small, box02, interval02)
problem, (z, v) = form_milp(small, margin_vector(3), box02, tight02)
theirs, _ = package_form_milp(small, margin_vector(3), box02, tight02)
check_same(torch.tensor([solve(problem), m3]), torch.tensor([solve(theirs)] * 2),
           "m_3*: our form_milp = the chapter's = course_utils.programs.form_milp", atol=1e-3)
l2, u2 = (t[0].numpy() for t in tight02[3])
package_l2, package_u2 = tighten_bounds(small, box02)[1]
unstable = relu_phases(l2, u2)[2]
check_same(np.r_[l2[unstable], u2[unstable]], np.r_[package_l2[unstable], package_u2[unstable]],
           "layer 2's tightened bounds = verify.tighten_bounds on every unstable neuron")

# %% tags=["hide-input"]
check_claim(bool(np.array_equal(unstable, relu_phases(package_l2, package_u2)[2])),
            "the same neurons are unstable under both", show=False)
check_claim(sum(vi.size for vi in v) == 15, "15 binaries at ε = 0.02 with tightened bounds", show=False)
for eps in (0.02, 0.05, 0.1):       # layer 1's bounds are attained by points of the box: exact
    lo_box, hi_box = linf_box(x, eps)
    W1, b1 = small[1].weight.double(), small[1].bias.double()
    corner_lo = torch.where(W1 > 0, lo_box.reshape(1, -1).double(), hi_box.reshape(1, -1).double())
    corner_hi = torch.where(W1 > 0, hi_box.reshape(1, -1).double(), lo_box.reshape(1, -1).double())
    l1, u1 = package_bounds.bound_propagation(small, tuple(t.double() for t in (lo_box, hi_box)))[1]
    check_same(torch.cat([(W1 * corner_lo).sum(1) + b1, (W1 * corner_hi).sum(1) + b1]),
               torch.cat([l1[0], u1[0]]), f"ε = {eps}: every layer-1 bound is reached at a corner of the box",
               atol=1e-9, show=False)

# %% [markdown]
# Binaries per layer and the relaxed minimum for target 2, where the search starts:

# %%
roots = {}
for eps in (0.05, 0.1):
    box_eps = tuple(t.double() for t in linf_box(x, eps))
    interval = package_bounds.bound_propagation(small, box_eps)
    for name, bounds in (("interval", interval), ("tightened", tighten(small, box_eps, interval))):
        relaxed, (_, v) = form_milp(small, margin_vector(2), box_eps, bounds, relax=True)
        roots[eps, name] = solve(relaxed), v[0].size, v[1].size
        print(f"ε = {eps:<4} {name:9s}  binaries {v[0].size:2d} + {v[1].size:2d}   "
              f"relaxed m_2: {approx(roots[eps, name][0], 2)}")

# %% tags=["hide-input"]
check_claim([roots[k][1:] for k in sorted(roots)] == [(22, 20), (22, 12), (42, 20), (42, 18)],
            "binaries per layer, interval and tightened, at ε = 0.05 and 0.1", show=False)
check_close(roots[0.1, "interval"][0], -26.44, 0.05, "ε = 0.1: the relaxed m_2 on interval bounds", show=False)
check_close(roots[0.1, "tightened"][0], -13.06, 0.05, "ε = 0.1: the relaxed m_2 on tightened bounds", show=False)

# %% [markdown]
# Tightening proves 8 more neurons stable at $\epsilon = 0.05$ and 2 at $\epsilon = 0.1$,
# where it raises the relaxed minimum from about $-26.4$ to $-13.1$.

# %% [markdown]
# ## How the solver searches: branch and bound
#
# Fix the phases ($v = 0$ or $1$) of some unstable neurons and relax the others: the relaxed
# minimum bounds every input with those phases from below. Branch and bound splits the
# lowest-bound open node on the next neuron (fixed order) and drops infeasible children (no
# input has their phases). When the lowest open node has every phase fixed, it is an exact
# LP, and its value the minimum: every input belongs to some open node, whose bound is no
# lower.

# %%
def branch_and_bound(relaxed, v, max_lps=2000):
    """The MILP's minimum from its relaxation (0 <= v <= 1): best-first search over the
    phases of v, one neuron after the other. Returns (tree, best): tree[k] = (parent,
    phase, bound) of node k, and the node of the minimum, tree[best][2]."""
    v = cp.hstack(v)
    lo, hi = cp.Parameter(v.size), cp.Parameter(v.size)
    node = cp.Problem(relaxed.objective, relaxed.constraints + [v >= lo, v <= hi])

    def bound(fixed):                          # the relaxation with the first phases fixed
        lo.value = np.r_[fixed, np.zeros(v.size - len(fixed))]
        hi.value = np.r_[fixed, np.ones(v.size - len(fixed))]
        node.solve(solver=cp.HIGHS, presolve="off")
        if node.status not in ("optimal", "infeasible"):
            raise RuntimeError(f"an LP ended with status {node.status!r}")
        return node.value                       # +inf when infeasible

    tree = [(None, None, bound([]))]
    open_nodes = [(round(tree[0][2], 6), 0, 0, [])]        # (bound, -depth, node, phases)
    while open_nodes:
        _, _, k, fixed = heapq.heappop(open_nodes)          # lowest bound; ties: deeper first
        if len(fixed) == v.size:
            return tree, k
        for phase in (0, 1):
            tree.append((k, phase, bound(fixed + [phase])))
            if tree[-1][2] < np.inf:
                heapq.heappush(open_nodes, (round(tree[-1][2], 6), -len(fixed) - 1, len(tree) - 1, fixed + [phase]))
        if len(tree) > max_lps:
            raise RuntimeError(f"more than {max_lps} LPs: no minimum is claimed")
    raise RuntimeError("no phases are feasible: the bounds are not valid")


# %% [markdown] tags=["question"]
# **Ask the room.** At $\epsilon = 0.02$, target 3, the tightened bounds leave 15 binaries:
# $2^{15} = 32{,}768$ phase patterns. How many LPs will branch and bound solve?

# %% tags=["reveal"]
c3 = margin_vector(3)
relaxed, (_, v) = form_milp(small, c3, box02, tight02, relax=True)
tree, best = branch_and_bound(relaxed, v)
print(f"m_3* = {approx(tree[best][2], 4)} after {len(tree)} LPs")
plot_search_tree(tree, best)
plt.show()

# %% tags=["hide-input"]
package_tree = phase_tree(verification_problem(small, x, label, 0.02).net.matrices(),
                          tuple(t[0].reshape(-1).numpy() for t in box02),
                          [(l[0].numpy(), u[0].numpy()) for l, u in tight02[1:5:2]], c3)
check_claim([node[:2] for node in tree] == [node[:2] for node in package_tree.nodes] and best == package_tree.optimum,
            "our branch and bound grows the tree of course_utils.splits.phase_tree, node by node", show=False)
finite = [k for k, node in enumerate(tree) if np.isfinite(node[2])]
check_same(np.array([tree[k][2] for k in finite]), np.array([package_tree.nodes[k][2] for k in finite]),
           "every node's bound = phase_tree's", atol=1e-6, show=False)
check_close(tree[best][2], m3, 1e-3, "branch and bound's minimum = HiGHS's MILP minimum:")
check_claim(len(tree) == 57 and sum(node[2] == np.inf for node in tree) == 1,
            "57 LPs, one of them infeasible", show=False)
split = {parent for parent, _, _ in tree[1:]}
check_claim(all(tree[k][2] <= tree[best][2] + 1e-6 for k in split)
            and all(b >= tree[best][2] - 1e-6 for k, (_, _, b) in enumerate(tree) if k not in split),
            "every split node's bound is at most the minimum, every other node's at least", show=False)

# %% [markdown]
# 57 LPs, not 32,768. Grey nodes (bounds up to $m_3^*$) were split; green ones (bounds no
# lower) never were: no input with their phases beats the minimum. HiGHS too searches by
# branch and bound, with cuts, heuristics and a smarter choice of neuron.

# %% [markdown]
# ## The chapter's example: $\epsilon = 0.1$, target 2
#
# The improved `form_milp`, one program for every target at $\epsilon = 0.1$:

# %%
def worst_case_margins(epsilon, targets):
    """{t: (m_t*, its minimiser z_1, the program's logits z_{d+1})} for image 0."""
    box = tuple(t.double() for t in linf_box(x, epsilon))
    bounds = tighten(small, box, package_bounds.bound_propagation(small, box))
    c, cutoff = cp.Parameter(10), cp.Parameter()
    problem, (z, _) = form_milp(small, c, box, bounds, cutoff=cutoff)
    _, pgd_margins = pgd_targets(small, x, label, targets, epsilon)       # targeted PGD, notebook 5
    out = {}
    for t, m_pgd in zip(targets, pgd_margins.tolist()):
        c.value, cutoff.value = margin_vector(t), m_pgd + 1e-3
        out[t] = solve(problem), z[0].value.copy(), z[-1].value.copy()
    return out


targets = [t for t in range(10) if t != label]
runs = {0.1: worst_case_margins(0.1, targets)}

# %% [markdown] tags=["question"]
# **Ask the room.** The chapter's $m_2^*$ at $\epsilon = 0.1$ is negative. Will the network
# classify the minimiser as a 2?

# %% tags=["reveal"]
m2, witness, program_logits = runs[0.1][2]
witness = torch.tensor(witness).reshape(x.shape).clamp(*box01).float()    # HiGHS's point, to 1e-7 in the box
with torch.no_grad():
    model_logits = small(witness)[0].double().numpy()
print(f"m_2* = {approx(m2, 4)}   (chapter {chapter.MILP_EPS_01[2]:.4f})")
print("last layer from the MILP: ", " ".join(approx(v, 2) for v in program_logits))
print("last layer from the model:", " ".join(approx(v, 2) for v in model_logits))
print("the model's class at the minimiser:", int(model_logits.argmax()))

# %% tags=["hide-input"]
check_close(m2, -1.6817, 0.01, "the worst-case margin m_2* at ε = 0.1:")
inside = bool(((witness - x).abs() <= 0.1 + 1e-6).all() and witness.min() >= 0 and witness.max() <= 1)
check_claim(inside and float(np.abs(program_logits - model_logits).max()) < 1e-4,
            "the minimiser is a point of the ball, and the program's logits are the model's", show=False)
check_claim(int(model_logits.argmax()) == 3 and model_logits[3] > model_logits[2] > model_logits[label],
            "at the minimiser the network predicts 3: logit 3 > logit 2 > logit 7", show=False)

# %% [markdown]
# No: logit 2 beats logit 7 there, but logit 3 beats both. The program compares only 7 with
# 2: a negative $m_2^*$ proves that the class changes, not that it becomes 2. The MILP's
# logits are the model's (to $10^{-4}$): it is the network, not an approximation. Our
# $m_2^*$ is $-1.68$, the chapter's $-4.97$: other weights.

# %%
plot_witness(x, witness, f"ε = 0.1, target 2: m_2 = {m2:.2f} at the minimiser")
plt.show()

# %% [markdown]
# ## Certifying robustness: the nine targets
#
# The chapter's two tables:

# %%
runs[0.05] = worst_case_margins(0.05, targets)
print(f"{'target':>6} | {'ε = 0.05':>8} {'chapter':>8} | {'ε = 0.1':>8} {'chapter':>8}")
for t in targets:
    print(f"{t:>6} | {approx(runs[0.05][t][0], 3):>8} {chapter.MILP_EPS_005[t]:8.3f} | "
          f"{approx(runs[0.1][t][0], 3):>8} {chapter.MILP_EPS_01[t]:8.3f}")

# %% tags=["hide-input"]
m = {eps: {t: runs[eps][t][0] for t in targets} for eps in runs}
check_claim(all(v > 0 for v in m[0.05].values()), "ε = 0.05: all nine minima are positive, as in the chapter")
check_claim(min(m[0.05], key=m[0.05].get) == 3, "ε = 0.05: the smallest is target 3's, as in the chapter", show=False)
check_close(m[0.05][3], 1.140, 0.01, "m_3* at ε = 0.05:", show=False)
differ = [t for t in targets if (m[0.1][t] > 0) != (chapter.MILP_EPS_01[t] > 0)]
check_claim(differ == [0] and m[0.1][0] > 0, "ε = 0.1: our signs are the chapter's on every target but 0")
check_close(m[0.1][0], 0.142, 0.01, "m_0* at ε = 0.1:", show=False)
check_claim([t for t in targets if m[0.1][t] < 0] == [2, 3, 5, 8, 9], "ε = 0.1: negative for 2, 3, 5, 8, 9",
            show=False)

# %% [markdown]
# At $\epsilon = 0.05$ **no** perturbation of size 0.05 changes this digit's class: a proof,
# not a failed search. As in the chapter the smallest is target 3's, but ours (1.14) is far
# from its near miss of 0.019. At $\epsilon = 0.1$ five are negative: the image is not
# robust.

# %% [markdown]
# ## A cross-check: the package's exact MILP
#
# `certify(model, x, y, epsilon, "exact milp")` solves the same MILP on bounds from CROWN
# (notebook 9) and our LPs, with PGD's point as a first solution instead of a cutoff:

# %%
package = {0.05: certify(small, x, label, 0.05, "exact milp"),
           0.1: certify(small, x, label, 0.1, "exact milp", targets=[2])}
pairs = [(m[eps][r.target], r.value) for eps, cert in package.items() for r in cert.results]
check_claim(all(r.status == "optimal" for cert in package.values() for r in cert.results)
            and all(abs(a - b) <= 2e-4 * max(1.0, abs(b)) for a, b in pairs),
            "certify(..., 'exact milp') = our form_milp on the nine targets at ε = 0.05 and on target 2 at 0.1")

# %% [markdown]
# The same minima, within HiGHS's relative gap of $10^{-4}$. Notebook 9 ends a cascade of
# cheaper steps with the sign-only step "milp".

# %% [markdown]
# ## Try it
#
# Move $\epsilon$, the image and the network: bars are the interval bounds on the ten logits,
# dots the clean logits.

# %% tags=["nbval-ignore-output"]
logit_bounds_widget({k: models[k] for k in ("dnn2", "dnn4", "cnn", "small")}, X, y, epsilon=0.1)

# %% [markdown]
# ## Exercises
#
# ### Exercise 6.1 — the big-M rows of a leaky ReLU
#
# A leaky ReLU is $z = \max(\alpha \hat z, \hat z)$, $0 < \alpha < 1$. Write
# `leaky_relu_bigm(z, z_hat, v, l, u, alpha)`: a list of cvxpy constraints that make
# `z == max(alpha * z_hat, z_hat)` for a layer with numpy bounds `l < 0 < u` on `z_hat`,
# given binaries `v` (0: the leaky piece, 1: the identity). The check asks a solver which `z`
# your rows allow for fixed `z_hat` and `v`.

# %% tags=["exercise"]
def leaky_relu_bigm(z, z_hat, v, l, u, alpha):
    # BEGIN SOLUTION
    return [z >= z_hat, z >= alpha * z_hat,
            z <= alpha * z_hat + (1 - alpha) * cp.multiply(u, v),
            z <= z_hat - (1 - alpha) * cp.multiply(l, 1 - v)]
    # END SOLUTION


# %%
check("6.1", leaky_relu_bigm)

# %% [markdown]
# ### Exercise 6.2 — predict: four times looser bounds
#
# `loosen` multiplies $l$ and $u$ of every unstable neuron by a factor: still valid bounds.
# The cell after the check solves the MILP for target 3 at $\epsilon = 0.02$ on
# `loosen(tight02, 4)`. Predict $m_3^*$ first (a number).

# %%
def loosen(bounds, factor):
    """bounds with l and u of every unstable neuron multiplied by factor (>= 1)."""
    return [(torch.where((l < 0) & (u > 0), factor * l, l), torch.where((l < 0) & (u > 0), factor * u, u))
            for l, u in bounds]


# %% tags=["exercise"]
answer = None
# BEGIN SOLUTION
answer = 5.40
# END SOLUTION

# %%
check("6.2", answer)

# %% tags=["reveal"]
loose_problem, _ = form_milp(small, c3, box02, loosen(tight02, 4))
print(f"m_3* with bounds four times looser: {approx(solve(loose_problem), 4)}")

# %% [markdown]
# ### Exercise 6.3 — two networks, two answers
#
# At $\epsilon = 0.1$ our $m_0^* \approx +0.14$; the chapter's is $-2.55$. What follows from
# ours?
#
# - `"a"`: one of the two solvers is wrong, since the program is the same
# - `"b"`: our network is robust at $\epsilon = 0.1$ on this image
# - `"c"`: no point of our ball lifts logit 0 above logit 7
# - `"d"`: more PGD restarts would find a point where logit 0 beats logit 7

# %% tags=["exercise"]
answer = None
# BEGIN SOLUTION
answer = "c"
# END SOLUTION

# %%
check("6.3", answer)

# %% [markdown]
# ### Exercise 6.4 — investigate: what loose bounds cost
#
# The cell below runs `branch_and_bound` for target 3 at $\epsilon = 0.02$ on
# `loosen(tight02, factor)`. Set `factor = 4`, run it, and report
# `answer = (number of LPs, minimum)`. Compare with `factor = 1`.

# %%
factor = 1
relaxed, (_, v) = form_milp(small, c3, box02, loosen(tight02, factor), relax=True)
tree, best = branch_and_bound(relaxed, v)
print(f"factor {factor}: {len(tree)} LPs, minimum {approx(tree[best][2], 4)}")

# %% tags=["exercise"]
answer = None
# BEGIN SOLUTION
answer = (313, 5.399)
# END SOLUTION

# %%
check("6.4", answer)

# %% [markdown]
# ### Exercise 6.5 — why layer 1 needs no tightening
#
# Layer 1's interval bounds are the exact minimum and maximum of its pre-activations over
# the box. Why?
#
# - `"a"`: layer 1 sees the pixels directly, so none of its neurons is unstable
# - `"b"`: each pixel varies on its own: each weight's term is least at an end
# - `"c"`: the box is so small that each pre-activation is nearly constant
# - `"d"`: interval bounds are exact on every layer of a network

# %% tags=["exercise"]
answer = None
# BEGIN SOLUTION
answer = "b"
# END SOLUTION

# %%
check("6.5", answer)

# %% [markdown]
# ## What we learned
#
# * A ReLU with bounds is four linear rows and a binary (none if the bounds prove it
#   stable). The MILP gives each $m_t^*$ exactly: a negative one with a point of the ball not
#   classified $y$ (not necessarily $t$); nine positive ones, a proof.
# * Bounds decide the cost, not the answer: tighter ones remove binaries and strengthen the
#   relaxation branch and bound prunes with. An attack's margin is a cutoff.
#
# Notebook 7 keeps only the relaxation: polynomial time, sometimes "unknown".

# %% [markdown]
# ## References
#
# * V. Tjeng, K. Xiao, R. Tedrake. "Evaluating Robustness of Neural Networks with Mixed
#   Integer Programming." ICLR 2019.
# * G. Katz et al. "Reluplex: An Efficient SMT Solver for Verifying Deep Neural Networks."
#   CAV 2017 (NP-completeness).
# * R. Bunel et al. "A Unified View of Piecewise Linear Neural Network Verification."
#   NeurIPS 2018 (branch and bound).
# * J. Z. Kolter, A. Madry. *Adversarial Robustness: Theory and Practice*, chapter 3,
#   [adversarial-ml-tutorial.org](https://adversarial-ml-tutorial.org/adversarial_examples/).
