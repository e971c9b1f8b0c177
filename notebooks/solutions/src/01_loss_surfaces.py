# %% [markdown]
# # 1. Loss surfaces of small ReLU networks, and the model zoo
#
# *Course: "Adversarial examples, solving the inner maximization" — after chapter 3 of
# Kolter & Madry, "Adversarial Robustness: Theory and Practice".*

# %% [markdown] tags=["room"]
# The **inner maximization** $\max_{\|\delta\| \le \epsilon} \ell\big(h_\theta(x + \delta), y\big)$:
# why a neural network makes it hard, the course's three ways in, and four MNIST networks.

# %% [markdown] tags=["notebook-only"]
# The **inner maximization**:
#
# $$\max_{\|\delta\| \le \epsilon} \; \ell\big(h_\theta(x + \delta),\, y\big).$$
#
# For a linear binary classifier one signed gradient step solves it (notebook 2); for a
# network, not in general.

# %%
import copy

import matplotlib.pyplot as plt
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

from course_utils import records, train
from course_utils.attacks import fgsm
from course_utils.certified import bound_sandwich
from course_utils.checks import approx, check_claim, check_close, check_same
from course_utils.data import eval_subset, mnist_loaders
from course_utils.exercises import check
from course_utils.models import build_model, load_model
from course_utils.plotting import plot_bound_sandwich, plot_function_1d
from course_utils.surface import activation_patterns, count_linear_pieces, inner_max_1d
from course_utils.widgets import inner_max_1d_widget

_ = torch.manual_seed(0)

# %% [markdown]
# ## A network fitted to noise
#
# The chapter's experiment: a ReLU network with one input, three hidden layers of 100 units
# and one output, trained for 100 SGD steps on pairs of *independent* Gaussian numbers
# (nothing to learn).

# %%
torch.manual_seed(0)
model = nn.Sequential(nn.Linear(1, 100), nn.ReLU(), nn.Linear(100, 100), nn.ReLU(),
                      nn.Linear(100, 100), nn.ReLU(), nn.Linear(100, 1))
opt = torch.optim.SGD(model.parameters(), lr=1e-2)
for _ in range(100):
    loss = nn.MSELoss()(model(torch.randn(100, 1)), torch.randn(100, 1))
    opt.zero_grad()
    loss.backward()
    opt.step()

# %% tags=["hide-input"]
weights = lambda m: torch.cat([p.flatten() for p in m.parameters()])
check_same(weights(model), weights(load_model("regression", device="cpu")),
           "our loop ends at the shipped weights of load_model('regression')", atol=1e-5)
check_same(weights(model), weights(train.train_regression()), "our loop = course_utils.train.train_regression()",
           show=False)
check_claim(weights(model).numel() == 20_501, "the network has 20,501 parameters", show=False)

# %% [markdown]
# From here on: the shipped copy of these weights (the same on every computer), here
# on $[-3, 3]$ next to a linear function.

# %%
net = load_model("regression", device="cpu")
linear = nn.Linear(1, 1)
nn.init.constant_(linear.weight, 0.004), nn.init.zeros_(linear.bias)
fig, (ax_net, ax_lin) = plt.subplots(1, 2, figsize=(10, 3))
plot_function_1d(net, ax=ax_net, color="0.2").axes[0].set_title("ReLU net 1-100-100-100-1")
plot_function_1d(linear, ax=ax_lin, color="tab:blue").axes[1].set_title("a linear function")
plt.show()

# %% [markdown]
# Every unit is a ReLU, so the network is **piecewise linear**: its slope can change only
# where some unit switches on or off. A **piece** is a stretch on which the on/off pattern
# of all 300 units stays the same (the network is linear on each). We count them on a fine
# grid, which can miss a piece narrower than its spacing.

# %% [markdown] tags=["question"]
# **Ask the room.** The network has 300 ReLUs. How many linear pieces do you expect on
# $[-3, 3]$: a handful, a few dozen, hundreds, or millions?

# %% tags=["reveal"]
pieces = count_linear_pieces(net, -3.0, 3.0)
print(f"linear pieces on [-3, 3] (seen on a grid of 60,001 points): {pieces}")

# %% tags=["hide-input"]
check_claim(100 <= pieces < 1000, "hundreds of linear pieces on [-3, 3]", show=False)

# %% [markdown] tags=["notebook-only"]
# Hundreds of pieces on an interval of length 6, from a network of 20,501 parameters.

# %% [markdown]
# ## Why that makes the inner maximization hard
#
# For a linear function the maximum over $[x_0 - \epsilon, x_0 + \epsilon]$ is at the end
# the gradient at $x_0$ points to; for the network, the gradient describes only the piece you
# stand on. In 1-D we compare the one-step guess $x_0 + \epsilon\,\mathrm{sign}\,f'(x_0)$
# with the best of 2001 grid points of the interval.

# %% [markdown] tags=["question"]
# **Ask the room.** Take $x_0 = 0.75$ and $\epsilon = 0.3$ on the picture above. Where is the
# highest point of $[0.45, 1.05]$, and where does the gradient at $x_0$ send us?

# %% tags=["reveal"]
results = {}
for x0, eps in [(0.75, 0.3), (-1.0, 0.5), (1.5, 0.5)]:
    r = results[x0] = inner_max_1d(net, x0, eps)
    verdict = "finds the maximum" if r.f_best - r.f_grad < 1e-6 else "misses it"
    print(f"x0 = {x0:+.2f}, ε = {eps:.2f}: the gradient step goes to x = {r.x_grad:+.2f}, "
          f"the maximum is at x = {r.x_best:+.2f}: the step {verdict}")

# %% tags=["hide-input"]
r1, r2, r3 = results[0.75], results[-1.0], results[1.5]
check_claim(r1.x_grad < r1.x0 < r1.x_best and r1.f_best > r1.f_grad,
            "at x0 = 0.75 the step goes left, the maximum lies at the right end", show=False)
check_claim(r2.x_grad < r2.x_best < r2.x0 and r2.f_best > r2.f_grad,
            "at x0 = -1 the step goes the right way but past the maximum", show=False)
check_claim(r3.f_best - r3.f_grad < 1e-6 and r3.x_best == r3.x_grad == 2.0,
            "at x0 = 1.5 the step lands on the maximum, the end of the interval", show=False)

# %% [markdown]
# At $x_0 = 0.75$ the step goes left, to $0.45$; the highest point is at the other end. At
# $x_0 = -1$ it goes the right way but overshoots a peak inside the interval. At $x_0 = 1.5$
# it happens to find the highest point.

# %% tags=["nbval-ignore-output"]
inner_max_1d_widget(net, x0=0.75, epsilon=0.3)

# %% [markdown] tags=["room"]
# ## Three ways to attack the inner maximization
#
# The **margin** $m_t(x') = z_y(x') - z_t(x')$ and its worst case over the valid images of
# the ball, $m_t^* = \min \{ m_t(x + \delta) : \|\delta\| \le \epsilon,\ x + \delta \in [0, 1]^n \}$:
# if $m_t^* > 0$ for every $t \ne y$, no valid image of the ball changes the class.
#
# * **Attacks** (2–5): a real point; with the clamp, an **upper bound** on $m_t^*$.
# * **Exact** (6): a MILP computes $m_t^*$; in practice for small networks.
# * **Relaxations** (7–9): a **lower bound** on $m_t^*$; above 0, a proof that no valid image
#   of the ball scores $t$ above $y$.

# %% [markdown] tags=["notebook-only"]
# ## Three ways to attack the inner maximization
#
# **The margin**
# $m_t(x') = z_y(x') - z_t(x')$ (true class $y$, another class $t$) is positive while $x'$
# scores $y$ above $t$; its worst case over the valid images of the ball,
# $m_t^* = \min \{ m_t(x + \delta) : \|\delta\| \le \epsilon,\ x + \delta \in [0, 1]^n \}$,
# decides: if $m_t^* > 0$ for every $t \ne y$, no valid image of the ball changes the class.
#
# * **Attacks** (notebooks 2–5) find *some* point of the ball: its loss is a lower bound on
#   the inner maximization; with the clamp (a valid image), its margin is an **upper bound**
#   on $m_t^*$.
# * **Exact** (notebook 6): a mixed-integer linear program (MILP) computes $m_t^*$; in
#   practice only for small networks.
# * **Relaxations** (notebooks 7–9) give a **lower bound** on $m_t^*$: above 0, a proof that
#   no valid image of the ball scores $t$ above $y$.

# %% [markdown] tags=["question"]
# **Ask the room.** An attack finds a $\delta$ in the ball with loss 4.2. Is the value of
# the inner maximization 4.2, at least 4.2, or at most 4.2? And what does the margin at that
# point say about $m_t^*$?

# %% [markdown]
# All three on the zoo's small network, the first test image (a 7), target 3, as $\epsilon$
# grows: targeted PGD, the MILP and an LP. As in all
# the course's verifiers, the ball holds only valid images; the chapter's MILP and LP omit
# that constraint, which can only lower their margins.

# %% tags=["reveal"]
small, (x, y0) = load_model("small", device="cpu"), eval_subset(1)
eps_grid = [0.0, 0.02, 0.04, 0.06, 0.08]
bracket = bound_sandwich(small, x, int(y0[0]), 3, eps_grid)
_ = plot_bound_sandwich(bracket, steps=("targeted pgd", "exact milp", "lp"), shade=True, verdicts=True,
                        title="small network, first test image, target 3")

# %% tags=["hide-input"]
at = dict(zip(eps_grid, range(len(eps_grid))))
check_claim(int(y0[0]) == 7, "the first test image is a 7", show=False)
lp_, exact, attack = bracket["lp"], bracket["exact milp"], bracket["targeted pgd"]
check_claim(all(s == "optimal" for s in bracket["status"]["lp"] + bracket["status"]["exact milp"]),
            "every LP and MILP was solved to optimality", show=False)
check_claim(all(lp_[i] <= exact[i] + 1e-6 and exact[i] <= attack[i] + 1e-6 for i in at.values()),
            "at every ε: LP bound <= exact minimum <= the attack's margin")
check_claim([e for e in eps_grid if lp_[at[e]] > 0] == [0.0, 0.02]
            and [e for e in eps_grid if attack[at[e]] <= 0] == [0.08]
            and exact[at[0.04]] > 0 > exact[at[0.06]],
            "the LP proves that no valid image scores 3 above 7 up to ε = 0.02, the attack wins at 0.08; "
            "the exact margin changes sign between 0.04 and 0.06")

# %% [markdown] tags=["notebook-only"]
# The exact minimum always lies in the grey band. At $\epsilon = 0.02$ the relaxation proves
# that no valid image of the ball is classified as 3; at $0.08$ the attack finds an
# adversarial example; at $0.04$ and $0.06$ only the exact value
# decides: no valid image of the $0.04$-ball scores the 3 above the 7, some of the $0.06$-ball
# does, though the attack found none.

# %% [markdown] tags=["room"]
# The minimum always lies in the grey band. At $\epsilon = 0.02$ the LP proves that no valid
# image of the ball is classified as 3; at $0.08$ the attack finds an adversarial example; at
# $0.04$
# and $0.06$ only the exact value decides: safe from 3 at $0.04$, not at $0.06$, where the
# attack found nothing.

# %% [markdown]
# ## The model zoo
#
# The chapter's four MNIST classifiers, trained by its recipes:
#
# | name | layers | used for |
# | --- | --- | --- |
# | `dnn2` | 784-200-10, fully connected | attacks |
# | `dnn4` | 784-200-100-100-10, fully connected | attacks, LP relaxation |
# | `cnn` | four 3×3 convolutions (32, 32 stride 2, 64, 64 stride 2), FC 100, 10 | attacks |
# | `small` | 784-50-20-10, fully connected | exact verification (MILP) |

# %% [markdown] tags=["notebook-only"]
# Each was trained with SGD (learning rate 0.1, batch 100) for 10 epochs; the CNN's learning
# rate drops to 0.01 after epoch 5.

# %%
models = {name: load_model(name, device="cpu") for name in ("dnn2", "dnn4", "cnn", "small")}

# %% [markdown] tags=["notebook-only"]
# The loaders shuffle the training set with a seeded generator.

# %%
train_loader, test_loader = mnist_loaders()
X, y = next(iter(test_loader))
print("one batch:", tuple(X.shape), X.dtype, f"pixels in [{X.min():.0f}, {X.max():.0f}]",
      "labels", y[:10].tolist())
print(f"{len(train_loader.dataset):,} training and {len(test_loader.dataset):,} test images")

# %% [markdown]
# ## The chapter in code: one epoch
#
# One loop trains and evaluates: each batch through the model, its cross-entropy and, given
# an optimizer, one SGD step.

# %%
def epoch(loader, model, opt=None):
    """One pass over `loader`, training `model` when `opt` is given.
    Returns (error rate, mean cross-entropy) over the loader's dataset."""
    total_loss, total_err = 0., 0.
    for X, y in loader:
        yp = model(X)
        loss = nn.CrossEntropyLoss()(yp, y)
        if opt:
            opt.zero_grad()
            loss.backward()
            opt.step()
        total_err += (yp.max(dim=1)[1] != y).sum().item()
        total_loss += loss.item() * X.shape[0]
    return total_err / len(loader.dataset), total_loss / len(loader.dataset)


# %% [markdown]
# A fresh 2-layer network (seed 0), one pass over the first 5,000 training images, with our
# `epoch` and with `course_utils.train.epoch`:

# %%
part = DataLoader(TensorDataset(*train_loader.dataset[:5_000]), batch_size=100)
torch.manual_seed(0)
start = build_model("dnn2")
ours, theirs = copy.deepcopy(start), copy.deepcopy(start)
row = epoch(part, ours, torch.optim.SGD(ours.parameters(), lr=0.1))
row_pkg = train.epoch(part, theirs, torch.optim.SGD(theirs.parameters(), lr=0.1))

# %% tags=["hide-input"]
check_same(weights(ours), weights(theirs), "our epoch and course_utils.train.epoch train the same weights")
check_same(torch.tensor(row), torch.tensor(row_pkg), "and report the same error and loss", show=False)

# %% [markdown]
# Our training run was recorded once (it ends at exactly the shipped weights); its test
# errors by epoch, with the chapter's:

# %%
record = records.read("training_dnn2")
print("epoch        " + " ".join(f"{t:>6d}" for t in range(1, len(record["rows"]) + 1)))
print("ours         " + " ".join(f"{r[2]:6.4f}" for r in record["rows"]))
print("the chapter  " + " ".join(f"{r[2]:6.4f}" for r in record["chapter"]))

# %% tags=["hide-input"]
ours_rows, chapter_rows = torch.tensor(record["rows"]), torch.tensor(record["chapter"])
check_claim(record["max_weight_difference_from_shipped"] == 0, "the recorded run ends at the shipped weights",
            show=False)
check_claim(bool((ours_rows[1:, 2] < ours_rows[:-1, 2]).all()), "our test error falls every epoch", show=False)
check_claim(bool(((ours_rows - chapter_rows).abs()[:, [0, 2]] <= 0.005).all()),
            "every train and test error of our run is within half a point of the chapter's", show=False)

# %% [markdown]
# Every test error of ours is within half a percentage point of the chapter's; ours falls
# every epoch; both end near 2.9%.
#
# The clean test errors of all four networks on all 10,000 test images (in batches of 1000:
# faster, same error):

# %%
print(f"{'model':<6} {'ours':>7} {'chapter':>8}")
clean, test_1000 = {}, DataLoader(test_loader.dataset, batch_size=1000)
for name, model in models.items():
    clean[name] = epoch(test_1000, model)
    print(f"{name:<6} {clean[name][0]:7.4f} {records.PUBLISHED_CLEAN_ERRORS[name]:8.4f}")

# %% tags=["hide-input"]
check_close(clean["dnn2"][0], record["rows"][-1][2], 2e-4, "dnn2, test error = the recorded run's last row:",
            show=False)
check_claim(all(abs(clean[n][0] - records.PUBLISHED_CLEAN_ERRORS[n]) <= 0.002 for n in models),
            "every clean error is within 0.2 points of the chapter's", show=False)
check_claim(clean["cnn"][0] < clean["dnn4"][0] < clean["dnn2"][0] < clean["small"][0],
            "clean error: cnn < dnn4 < dnn2 < small, as in the chapter", show=False)

# %% [markdown] tags=["notebook-only"]
# Every clean error is within 0.2 percentage points of the chapter's, in the chapter's
# order: the CNN best, then the 4-layer, the 2-layer, the small network.

# %% [markdown]
# ### MNIST is an imperfect testbed
#
# Few MNIST pixels are grey, so **binarising** the input (each pixel to 0 or 1 at the
# threshold 0.5) takes most of the room from small
# $\ell_\infty$ perturbations: at $\epsilon = 0.1$ a binarised pixel can change only if it
# lies in $(0.4, 0.6]$.

# %%
X1k, y1k = eval_subset(1000)
flippable = ((X1k > 0.4) & (X1k <= 0.6)).flatten(1).sum(dim=1).float()
print(f"pixels in (0.4, 0.6]: {flippable.mean():.1f} per image on average (of 784), at most {flippable.max():.0f}")

# %% [markdown] tags=["notebook-only"]
# FGSM (notebook 2; the chapter's setting: $\epsilon = 0.1$, no clamp) on the 2-layer
# network, its images fed to the same network binarised:

# %% tags=["subslide"]
def binarise(Z):
    return (Z > 0.5).float()


dnn2 = models["dnn2"]
delta = fgsm(dnn2, X1k, y1k, 0.1, clamp=False)                # the chapter's FGSM
with torch.no_grad():
    errs = {"clean": dnn2(X1k), "clean, binarised": dnn2(binarise(X1k)),
            "FGSM": dnn2(X1k + delta), "FGSM, binarised": dnn2(binarise(X1k + delta))}
for what, logits in errs.items():
    errs[what] = (logits.argmax(1) != y1k).float().mean().item()
    print(f"dnn2, first 1000 test images, {what:16s} error {approx(errs[what])}")

# %% tags=["hide-input"]
check_claim(flippable.mean() < 20, "fewer than 20 pixels per image can flip on average", show=False)
# tolerance: 2/n for a rate over n = 1000 images
check_close(errs["FGSM"], 0.959, 0.004, "dnn2, FGSM error (no clamp):")
check_close(errs["FGSM, binarised"], 0.098, 0.004, "dnn2, FGSM error after binarising:")
check_close(errs["clean"], 0.025, 0.004, "dnn2, clean error:", show=False)
check_claim(errs["clean, binarised"] == errs["clean"], "binarising leaves the clean error as it is", show=False)

# %% [markdown] tags=["room"]
# Binarising: FGSM's error falls from 96% to about one in ten, the clean
# error stays 2.5%. No proof of robustness (an attacker would aim at the pixels near the
# threshold), but a reason to read MNIST results with care.

# %% [markdown] tags=["notebook-only"]
# The attack fools the network on 96% of these images, and on about one in ten once the
# input is binarised; the clean error is 2.5% either way. No proof of robustness (an attacker
# aware of it would aim at the pixels near the threshold), but a reason
# to read MNIST results with care.

# %% [markdown]
# ## Exercises

# %% [markdown]
# ### Exercise 1.1 — pieces along a line through an image's ball
#
# An MNIST network is piecewise linear too. Write `pieces_on_segment(model, x, d, num)`: the
# number of linear pieces of `model` along the segment from $x - d$ to $x + d$ (`x` one image
# `(1, 1, 28, 28)`, `d` a direction of that shape), seen on `num` evenly spaced points, both
# ends included. A piece ends where the on/off pattern of the units changes;
# `activation_patterns(model, points)` gives the pattern of every ReLU at each point of a
# batch. If every entry of $d$ is $\pm\epsilon$, the segment joins opposite corners of the
# $\epsilon$-ball.

# %% tags=["exercise"]
def pieces_on_segment(model, x, d, num=2001):
    # BEGIN SOLUTION
    s = torch.linspace(-1, 1, num).reshape(-1, 1, 1, 1)
    patterns = activation_patterns(model, x + s * d)
    return int((patterns[1:] != patterns[:-1]).any(dim=1).sum()) + 1
    # END SOLUTION


# %%
check("1.1", pieces_on_segment)

# %% [markdown]
# ### Exercise 1.2 — predict: when is one gradient step enough?
#
# Take 101 starting points $x_0$ evenly spread over $[-2.5, 2.5]$ and, for each, compare the
# step $x_0 + \epsilon\,\mathrm{sign}\,f'(x_0)$ with the network's maximum over a grid of 2001
# points of $[x_0 - \epsilon, x_0 + \epsilon]$, as above. For $\epsilon = 0.5$, on how many of the 101
# points does the step find the maximum? Commit to a number (within 12 counts as right),
# then run the check and the cell after it.

# %% tags=["exercise"]
answer = None
# BEGIN SOLUTION
answer = 69
# END SOLUTION

# %%
check("1.2", answer)

# %% tags=["reveal"]
starts = torch.linspace(-2.5, 2.5, 101).tolist()
found = {}
for eps in (0.01, 0.5):
    found[eps] = sum(r.f_best - r.f_grad < 1e-6 for r in (inner_max_1d(net, x0, eps) for x0 in starts))
    print(f"ε = {eps}: the gradient step finds the maximum on {found[eps]} of 101 starting points")

# %% tags=["hide-input"]
check_claim(found[0.01] > 90 and 50 <= found[0.5] <= 80, "most points for ε = 0.01, far fewer for 0.5",
            show=False)

# %% [markdown]
# ### Exercise 1.3 — explain: what two bounds say about the radius
#
# For one image and a target $t$, a relaxation proves $m_t^* > 0$ at $\epsilon = 0.03$, and an
# attack finds a valid image with $m_t < 0$ at $\epsilon = 0.08$. Let $\epsilon^*$ be the
# smallest radius whose ball holds a valid image with $m_t \le 0$. What do these two facts
# alone tell us?
#
# - `"a"`: $\epsilon^* = 0.08$: an attack finds a point as soon as one exists
# - `"b"`: $\epsilon^* = 0.03$: a relaxation is exact wherever it proves something
# - `"c"`: $0.03 < \epsilon^* \le 0.08$: a larger ball contains the smaller one
# - `"d"`: nothing: a bound at one radius says nothing about another radius

# %% tags=["exercise"]
answer = None
# BEGIN SOLUTION
answer = "c"
# END SOLUTION

# %%
check("1.3", answer)

# %% [markdown]
# ### Exercise 1.4 — investigate: where do the pieces come from?
#
# The network above was trained on noise. Is its irregular shape made by that training, or
# was it there from the start? Build the same network with the same seed but do not train
# it: `train.train_regression(steps=0)` runs the chapter's loop for 0 steps. Count its
# linear pieces on $[-3, 3]$ with `count_linear_pieces`, as above, and report
# `answer = ` that count. Compare it with the trained network's.

# %% tags=["exercise"]
answer = None
# BEGIN SOLUTION
answer = count_linear_pieces(train.train_regression(steps=0), -3.0, 3.0)
# END SOLUTION

# %%
check("1.4", answer)

# %% [markdown]
# ## What we learned
#
# * A ReLU network is piecewise linear with hundreds of pieces on a short interval: one
#   gradient step can miss the worst point of even a 1-D interval.
# * Over the valid images of the ball, an attack's point bounds the worst-case margin from
#   above, a relaxation from below; the MILP computes it.
# * The chapter's `epoch` trains and evaluates the four MNIST networks; binarising the input
#   blunts FGSM on MNIST.

# %% [markdown] tags=["notebook-only"]
# ## References
#
# * J. Z. Kolter and A. Madry. *Adversarial Robustness: Theory and Practice*, NeurIPS 2018
#   tutorial, chapter 3, <https://adversarial-ml-tutorial.org/adversarial_examples/>.
# * G. Montúfar, R. Pascanu, K. Cho, Y. Bengio. "On the number of linear regions of deep
#   neural networks." NeurIPS 2014.
# * L. Schott, J. Rauber, M. Bethge, W. Brendel. "Towards the first adversarially robust
#   neural network model on MNIST." ICLR 2019 (binarisation as a baseline).
# * V. Tjeng, K. Xiao, R. Tedrake. "Evaluating robustness of neural networks with mixed
#   integer programming." ICLR 2019.
