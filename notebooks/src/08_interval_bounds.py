# %% [markdown]
# # 8. Interval-propagation bounds: loose, but fast
#
# *Course: "Adversarial examples, solving the inner maximization" — after chapter 3 of
# Kolter & Madry, "Adversarial Robustness: Theory and Practice".*
#
# Notebook 7 bounded the inner maximization with one LP per target. Here is an even cheaper
# bound that needs no solver at all — only the interval arithmetic of notebook 6 and one
# small observation about the last layer. It is looser than the LP, and it does not even
# produce a "fake" adversarial point, but it costs a handful of matrix products and is
# differentiable, which is what robust *training* needs.
#
# ## An analytic last layer
#
# Interval propagation gives, layer by layer, bounds $\hat l \le z_i \le \hat u$. We could
# push them through the last layer too, bound every logit, and subtract — but that throws
# information away: the lower bound of $z_y$ and the upper bound of $z_{\text{targ}}$ are
# reached at *different* points. Since all we want is the minimum of one linear function
# $c^T z_{d+1}$, we stop one layer early and solve the last step exactly. With
# $z_{d+1} = W_d z_d + b_d$ and only the box $\hat l \le z_d \le \hat u$ known,
#
# $$\min_{\hat l \le z_d \le \hat u} c^T (W_d z_d + b_d)
#   = \min_{\hat l \le z_d \le \hat u} (W_d^T c)^T z_d + c^T b_d .$$
#
# A linear function over a box is minimised coordinate by coordinate: take
# $(z_d)_j = \hat l_j$ where $(W_d^T c)_j > 0$ and $\hat u_j$ otherwise. The optimal value is
#
# $$\max(W_d^T c, 0)^T \hat l + \min(W_d^T c, 0)^T \hat u + c^T b_d .$$
#
# `interval_based_bound(model, C, bounds)` computes it for a whole matrix of objectives at
# once: the columns of $C$ are $e_y - e_t$ for every class $t$, so the column for $t = y$ is
# zero and its bound is 0.

# %%
import matplotlib.pyplot as plt
import torch

from course_utils import records as chapter
from course_utils.bounds import bound_propagation, interval_based_bound, objective_matrix
from course_utils.data import eval_subset
from course_utils.models import load_model
from course_utils.plotting import plot_bound_comparison
from course_utils.threat import linf_box
from course_utils.verify import certify
from course_utils.widgets import bound_comparison_widget

torch.manual_seed(0)
models = {name: load_model(name) for name in ("small", "dnn2", "dnn4")}
X, y = eval_subset(100)       # the first 100 test images; the chapter's example is image 0
x, label = X[:1], int(y[0])
small = models["small"]

# %%
bounds = bound_propagation(small, linf_box(x, 0.02))
C = objective_matrix(label)                     # column t: e_7 - e_t
lower = interval_based_bound(small, C, bounds)[0]
print("interval-based bounds at ε = 0.02:", " ".join(f"{v:.3f}" for v in lower.tolist()))
print(chapter.side_by_side({t: v for t, v in enumerate(lower.tolist()) if t != label},
                           chapter.INTERVAL_EPS_002, name="interval"))

# %% [markdown]
# Only targets 4 and 6 get a positive bound, in the chapter and for us: at the same $\epsilon$
# where the LP certified all nine targets (notebook 7), interval bounds certify two.
#
# ## Three bounds side by side
#
# For each target we now have three numbers, each a lower bound on
# $\min_{\|\delta\|_\infty \le 0.02}\, (\text{logit}_7 - \text{logit}_t)$, and they are ordered:
#
# $$\text{interval} \;\le\; \text{LP} \;\le\; \text{MILP} = \text{the true minimum}.$$
#
# (The test suite checks this order, and that the MILP's value is attained at its witness, on
# random small networks.)

# %%
certs = {m: certify(small, x, label, 0.02, m) for m in ("interval", "lp", "exact milp")}
targets = [r.target for r in certs["exact milp"].results]
columns = {m: [r.value if r.value is not None else r.bound for r in c.results] for m, c in certs.items()}
print(f"{'target':>6} {'interval':>9} {'LP':>9} {'MILP':>9}")
for i, t in enumerate(targets):
    print(f"{t:>6} " + " ".join(f"{columns[m][i]:9.4f}" for m in columns))
print("certified targets:", {m: sum(r.verdict == "robust" for r in c.results) for m, c in certs.items()})
plot_bound_comparison(targets, columns, title="small net, image 0, ε = 0.02: lower bounds on logit_7 − logit_t")
plt.show()

# %% [markdown]
# And what each cost, on this machine (the numbers vary from run to run):

# %% tags=["nbval-ignore-output"]
for m, c in certs.items():
    print(f"{m:>8}: {c.seconds:8.3f} s for nine targets")

# %% [markdown]
# That is the trade-off of the whole chapter in one table. The interval bound costs
# microseconds per image and can be computed for a whole batch on a GPU — and certifies 2 of 9
# targets. The LP certifies all 9 here, at a cost that grows with the network. The MILP gives
# the exact minima, at a cost that can explode. Between the interval bound and the LP sit many
# other methods (linear bound propagation, as `bounds.linear_bounds` does, optimised
# slopes, ...) that trade some tightness for a lot of speed; finding the best trade-off for
# large networks is still an open research question.
#
# ## Try it
#
# Move ε, the image and the network. The MILP runs only on the small net (at most 20 s per
# target, else "unknown"); on the others it is out of reach and left out. Larger ε makes every
# bound drop, the interval bound fastest.

# %% tags=["nbval-ignore-output"]
bound_comparison_widget(models, X, y, epsilon=0.02, model="small", methods=("interval", "lp", "exact milp"))

# %% [markdown]
# ## What we learned
#
# * Interval propagation plus an exact last layer gives a bound with a closed form: no
#   solver, batched, differentiable.
# * interval ≤ LP ≤ MILP: each step up is tighter and dearer.
# * A bound proves robustness only when it is positive, so a loose bound mostly says
#   "don't know" — which is why training a network to make such bounds tight (robust
#   training, the next chapter of the tutorial) pays off.
