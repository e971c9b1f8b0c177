# %% [markdown]
# # 8. Interval-propagation bounds: loose, but fast
#
# *Course: "Adversarial examples, solving the inner maximization" — after chapter 3 of
# Kolter & Madry, "Adversarial Robustness: Theory and Practice".*
#
# Notebook 7 computed a lower bound on the worst-case margin $m_t^* = \min_{\|\delta\|_\infty
# \le \epsilon} m_t(x + \delta)$ with one LP per target. Here is an even cheaper lower bound
# that needs no solver at all — only the interval arithmetic of notebook 6 and one small
# observation about the last layer. It is looser than the LP, and it does not produce a
# "fake" adversarial point either, but it costs a handful of matrix products per layer, it
# runs on a whole batch of images at once, and it is differentiable — which is what robust
# *training* needs. (Notation: notebook 0.)
#
# ## How interval bounds loosen with depth
#
# Recall the rules of notebook 6 for a box $l \le z \le u$. A linear layer $\hat z = Wz + b$
# splits $W$ into its positive and negative parts $W^+ = \max(W, 0)$, $W^- = \min(W, 0)$:
#
# $$W^+ l + W^- u + b \;\le\; \hat z \;\le\; W^+ u + W^- l + b,$$
#
# and a ReLU maps $[l, u]$ to $[\max(l, 0), \max(u, 0)]$. Each neuron's interval is the true
# range of that neuron *on its own*; what the box forgets is that the neurons of one layer
# move together (they all come from the same $x$). The next layer then adds up the worst
# case of every neuron independently.

# %%
import matplotlib.pyplot as plt
import torch
import torch.nn as nn

from course_utils import bounds as package
from course_utils import records as chapter
from course_utils.bounds import bound_propagation, objective_matrix
from course_utils.checks import check_claim, check_same
from course_utils.data import eval_subset
from course_utils.exercises import check
from course_utils.models import load_model
from course_utils.plotting import plot_bound_comparison, plot_bound_widths
from course_utils.threat import linf_box
from course_utils.verify import certify
from course_utils.widgets import bound_comparison_widget

torch.manual_seed(0)
models = {name: load_model(name) for name in ("small", "dnn2", "dnn4")}
X, y = eval_subset(100)       # the first 100 test images; the chapter's example is image 0
x, label = X[:1], int(y[0])
small = models["small"]

# %% [markdown] tags=["question"]
# **Ask the room.** The 4-layer network `dnn4` has three hidden layers (200, 100, 100
# neurons). Push the ε-box of one image through it. Does the width of the intervals grow by
# about the same *amount* per layer, or by about the same *factor*?

# %%
def pre_activation_widths(model, x, epsilon):
    """Mean width u - l of the interval of every Linear layer's output (one image)."""
    bounds = bound_propagation(model, linf_box(x.double(), epsilon))
    return [(u - l).mean().item() for (l, u), layer in zip(bounds, model) if isinstance(layer, nn.Linear)]


dnn4 = models["dnn4"]
widths = {f"ε = {e}": pre_activation_widths(dnn4, x, e) for e in (0.01, 0.02, 0.05)}
for name, w in widths.items():
    print(f"{name}: " + "  ".join(f"{v:7.3g}" for v in w))
plot_bound_widths(widths, layer_names=["layer 1", "layer 2", "layer 3", "logits"],
                  title="dnn4, test image 0: interval widths of the pre-activations")
plt.show()

# %% tags=["hide-input"]
growth = [w[i + 1] / w[i] for w in widths.values() for i in range(len(w) - 1)]
check_claim(min(growth) > 4, "at every ε, each layer multiplies the mean width by more than 4")
check_claim(all(w[-1] > 60 for w in widths.values()), "the logits' intervals are more than 60 wide on average")
check_claim(all(1.7 < b / a <= 2.0 + 1e-9 for a, b in zip(widths["ε = 0.01"], widths["ε = 0.02"])),
            "doubling ε from 0.01 to 0.02 multiplies every layer's width by 1.7 to 2")
with torch.no_grad():
    z = dnn4(x)[0]
check_claim(bool((z[label] - z).max() < 30), "dnn4's margins on the clean image 0 are all below 30")

# %% [markdown]
# A straight line on a log scale: the width grows by a roughly constant **factor** per layer
# (more than 4 here at every step), so interval bounds loosen *geometrically* with depth. On
# the logits, the intervals are more than 60 units wide on average — an uncertainty far
# larger than the margins we want to prove positive (those of the clean image 0 are all below
# 30). In ε, by contrast, the growth is at most
# linear: doubling ε at most doubles every width (a little less, because the $[0, 1]$ clamp
# cuts the box at dark pixels and a ReLU whose interval stays below 0 passes a width of 0
# on). Exercise 8.3 asks why the factor per layer is so large.
#
# ## An analytic last layer
#
# We could push the intervals through the last layer too, bound every logit, and subtract —
# but that throws information away: the lower bound of $z_y$ and the upper bound of $z_t$ are
# reached at *different* points. Since all we want is the minimum of one linear function, the
# margin $m_t = c^T z_{d+1}$ with $c = e_y - e_t$, we stop one layer early and solve the last
# step exactly. With $z_{d+1} = W_d z_d + b_d$ and only the box $\hat l \le z_d \le \hat u$
# known,
#
# $$\min_{\hat l \le z_d \le \hat u} c^T (W_d z_d + b_d)
#   = \min_{\hat l \le z_d \le \hat u} (W_d^T c)^T z_d + c^T b_d .$$
#
# A linear function over a box is minimised coordinate by coordinate: take
# $(z_d)_j = \hat l_j$ where $(W_d^T c)_j > 0$ and $\hat u_j$ otherwise. The optimal value is
#
# $$\max(W_d^T c, 0)^T \hat l + \min(W_d^T c, 0)^T \hat u + c^T b_d .$$
#
# ### The chapter in code
#
# The columns of a matrix $C$ are the objectives $c$; the chapter's $C$ has the column
# $e_y - e_t$ for every class $t$ (`objective_matrix(y)`; the column $t = y$ is zero, and so
# is its bound). `bounds[-2]` is the box of $z_d$, the output of the last ReLU:

# %%
def interval_based_bound(model, C, bounds):
    """Lower bound on C^T z_{d+1} for every box of the batch: shape (batch, columns of C)."""
    W, b = model[-1].weight.double(), model[-1].bias.double()
    l, u = bounds[-2]                            # box of z_d, shape (batch, hidden)
    cW = C.t() @ W                               # row j: the coefficients of z_d in c_j^T z_{d+1}
    lower = cW.clamp(min=0) @ l.t() + cW.clamp(max=0) @ u.t() + (C.t() @ b)[:, None]
    return lower.t()


# %% [markdown]
# The chapter's example: the small network (784-50-20-10), test image 0 (a 7), ε = 0.02, and
# beside it the same function of the package, first on a batch of 100 images with the
# $[0, 1]$ clamp off (as in the chapter), then on image 0 with it on (the course's default):

# %%
C = objective_matrix(label)                     # column t: e_7 - e_t
batch_bounds = bound_propagation(small, linf_box(X.double(), 0.02, clamp=False))
check_same(interval_based_bound(small, C, batch_bounds), package.interval_based_bound(small, C, batch_bounds),
           "interval_based_bound = bounds.interval_based_bound, 100 images, clamp off")
bounds = bound_propagation(small, linf_box(x.double(), 0.02))
lower = interval_based_bound(small, C, bounds)[0]
check_same(lower, package.interval_based_bound(small, C, bounds)[0], "the same on image 0, clamp on")
print(chapter.side_by_side({t: v for t, v in enumerate(lower.tolist()) if t != label},
                           chapter.INTERVAL_EPS_002, name="interval"))

# %% tags=["hide-input"]
positive = [t for t in range(10) if t != label and lower[t] > 0]
check_claim(positive == [4, 6] and [t for t, v in chapter.INTERVAL_EPS_002.items() if v > 0] == [4, 6],
            "only targets 4 and 6 get a positive bound, for us and in the chapter")

# %% [markdown]
# Only targets 4 and 6 get a positive bound, in the chapter and for us (our network's
# weights differ from the chapter's, so the values do too; the signs agree). The package's
# version also takes one matrix $C$ per image (each image its own label), any device and
# dtype, and checks its arguments.
#
# ## Three bounds side by side
#
# For each target we now have three numbers on the same scale: the interval bound and the
# LP (notebook 7) are lower bounds on the worst-case margin
# $m_t^* = \min_{\|\delta\|_\infty \le 0.02} (z_7 - z_t)$, and the MILP (notebook 6) is
# $m_t^*$ itself.

# %% [markdown] tags=["question"]
# **Ask the room.** The LP certified all nine targets at this ε in notebook 7. Could the
# interval bound be *higher* than the LP's bound for some target?

# %%
certs = {m: certify(small, x, label, 0.02, m) for m in ("interval", "lp", "exact milp")}
targets = [r.target for r in certs["exact milp"].results]
columns = {m: [r.value if r.value is not None else r.bound for r in c.results] for m, c in certs.items()}
print(f"{'target':>6} {'interval':>9} {'LP':>9} {'MILP':>9}")
for i, t in enumerate(targets):
    print(f"{t:>6} " + " ".join(f"{columns[m][i]:9.4f}" for m in columns))
proven = {m: sum(r.verdict == "robust" for r in c.results) for m, c in certs.items()}
print("targets proven robust:", proven)
plot_bound_comparison(targets, columns, title="small net, image 0, ε = 0.02: lower bounds on the margin z_7 − z_t")
plt.show()

# %% tags=["hide-input"]
check_claim(all(columns["interval"][i] <= columns["lp"][i] <= columns["exact milp"][i] + 1e-6
                for i in range(len(targets))), "for every target: interval ≤ LP ≤ MILP")
check_claim(proven == {"interval": 2, "lp": 9, "exact milp": 9},
            "the interval bound proves 2 of the 9 targets, the LP and the MILP all 9")

# %% [markdown]
# The order holds target by target,
#
# $$\text{interval} \;\le\; \text{LP} \;\le\; \text{MILP} = m_t^*,$$
#
# and it always will: the LP relaxes each ReLU to its triangle, which contains the ReLU's
# graph, and the interval bound relaxes further, to a box that contains the triangle. (The
# test suite also checks this order on random small networks.) Here the interval bound proves
# 2 of the 9 targets; the LP and the MILP prove all 9. And what each cost, on this machine
# (the seconds vary from run to run):

# %% tags=["nbval-ignore-output"]
for m, c in certs.items():
    print(f"{m:>10}: {c.seconds:8.3f} s for nine targets")

# %% [markdown]
# That is the trade-off of the whole chapter in one table. The interval bound is a few
# matrix products, with no solver, and can be computed for a whole batch on a GPU; it proves
# little. The LP proves more, at the cost of one solver call per target, growing with the
# network. The MILP gives the exact minima, at a cost that can explode. Between the interval
# bound and the LP sit many other methods — linear bound propagation (notebook 9), optimised
# slopes, ... — that trade some tightness for a lot of speed; finding the best trade-off for
# large networks is still an open research question.
#
# ## Try it
#
# Move ε, the image and the network. The figures come from a precomputed table where one
# exists; tick "compute live" to run the verifiers. The MILP runs only on the small net (at
# most 20 s per target, else its verdict is "unknown"); on the others it is out of reach and
# left out. Larger ε makes every bound drop, the interval bound fastest.

# %% tags=["nbval-ignore-output"]
bound_comparison_widget(models, X, y, epsilon=0.02, model="small", methods=("interval", "lp", "exact milp"))

# %% [markdown]
# ## Exercises
#
# ### Exercise 8.1 — one linear layer
#
# Write `interval_linear(W, b, l, u)`: the interval bounds on $\hat z = W z + b$ for every
# $z$ in the box $l \le z \le u$. `W` has shape `(out, in)`, `b` shape `(out,)`, `l` and `u`
# shape `(batch, in)`; return `(l_hat, u_hat)`, each of shape `(batch, out)`. Split $W$ into
# its positive and negative parts.

# %% tags=["exercise"]
def interval_linear(W, b, l, u):
    # BEGIN SOLUTION
    W_pos, W_neg = W.clamp(min=0), W.clamp(max=0)
    return l @ W_pos.t() + u @ W_neg.t() + b, u @ W_pos.t() + l @ W_neg.t() + b
    # END SOLUTION


# %%
check("8.1", interval_linear)

# %% [markdown]
# ### Exercise 8.2 — what the analytic last layer gains
#
# The naive bound pushes the box through the last layer as well and subtracts: from the
# logit bounds `bounds[-1] = (l, u)`, the margin $z_y - z_t$ is at least $l_y - u_t$. Write
# `naive_bound(bounds, y)`: `y` a tensor of labels of shape `(batch,)`, the result of shape
# `(batch, 10)`, column $t$ the naive bound on $z_y - z_t$ (0 in column $y$). The check
# compares it with the analytic last layer on real images.

# %% tags=["exercise"]
def naive_bound(bounds, y):
    # BEGIN SOLUTION
    l, u = bounds[-1]
    bound = l.gather(1, y[:, None]) - u
    return bound.scatter(1, y[:, None], 0.0)
    # END SOLUTION


# %%
check("8.2", naive_bound)

# %% [markdown]
# ### Exercise 8.3 — why the width grows by a factor per layer
#
# On `dnn4` each layer multiplies the mean width of the intervals by more than 4. Which
# explanation is right?
#
# * **a** — floating-point rounding errors accumulate layer after layer
# * **b** — a neuron of the next layer takes the worst case of every input neuron *at once*:
#   its width is $\sum_j |W_{ij}|\,(u_j - l_j)$ over the active inputs, a sum of about a hundred
#   widths weighted by $|W_{ij}|$, although no single input $x$ makes all of them worst together
# * **c** — the ReLU doubles the width of every unstable neuron
# * **d** — the bound is loose only because ε is too large; at any ε the factor would vanish

# %% tags=["exercise"]
answer = None
# BEGIN SOLUTION
answer = "b"
# END SOLUTION

# %%
check("8.3", answer)

# %% [markdown] tags=["solution"]
# <details><summary>Model answer</summary>
#
# **b.** Through $\hat z = Wz + b$ the width of neuron $i$'s interval is exactly
# $\sum_j |W_{ij}|\,(u_j - l_j)$: the interval rule lets every input neuron sit at whichever
# end of its interval is worst for neuron $i$, independently of the others. The real
# activations all come from the same $x$ and cannot do that, so the box over-approximates the
# layer's true set, and the next layer starts from the bigger box. With rows of $W$ whose
# absolute values sum to more than 4 (on the active inputs), the width is multiplied by more
# than 4 at every layer — geometric growth. The ReLU never widens an interval (it cuts the
# negative part), rounding errors are of order $10^{-16}$, and the factor does not depend on
# ε: doubling ε roughly doubles every width, as the table shows.
#
# </details>

# %% [markdown]
# ## What we learned
#
# * Interval propagation pushes a box through the network with the $W^+ / W^-$ rule and the
#   ReLU's clip; the box forgets how neurons move together, so its width grows by a roughly
#   constant factor per layer — geometrically in depth, linearly in ε.
# * The analytic last layer minimises the margin over the last hidden layer's box exactly,
#   in closed form: no solver, batched, differentiable — and tighter than subtracting the
#   logit bounds.
# * interval ≤ LP ≤ MILP, target by target: each step up is tighter and dearer.
# * A lower bound proves robustness only when it is positive, so a loose bound mostly says
#   "unknown" — which is why training a network to make such bounds tight (robust training,
#   the next chapter of the tutorial) pays off.
#
# ## References
#
# * S. Gowal, K. Dvijotham, R. Stanforth, R. Bunel, C. Qin, J. Uesato, R. Arandjelović,
#   T. Mann and P. Kohli. "On the Effectiveness of Interval Bound Propagation for Training
#   Verifiably Robust Models." arXiv:1810.12715, 2018 (interval bound propagation, and
#   training with it).
# * M. Mirman, T. Gehr and M. Vechev. "Differentiable Abstract Interpretation for Provably
#   Robust Neural Networks." *International Conference on Machine Learning (ICML)*, 2018
#   (the box domain, trained through).
# * E. Wong and J. Z. Kolter. "Provable Defenses against Adversarial Examples via the Convex
#   Outer Adversarial Polytope." *International Conference on Machine Learning (ICML)*, 2018.
# * V. Tjeng, K. Xiao and R. Tedrake. "Evaluating Robustness of Neural Networks with Mixed
#   Integer Programming." *International Conference on Learning Representations (ICLR)*, 2019.
# * R. Ehlers. "Formal Verification of Piece-Wise Linear Feed-Forward Neural Networks."
#   *Automated Technology for Verification and Analysis (ATVA)*, 2017 (the LP relaxation).
# * J. Z. Kolter and A. Madry. *Adversarial Robustness: Theory and Practice*, tutorial at
#   NeurIPS 2018; chapter 3, "Adversarial examples, solving the inner maximization",
#   <https://adversarial-ml-tutorial.org/adversarial_examples/>.
