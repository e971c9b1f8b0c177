# %% [markdown]
# # 1. Loss surfaces of small ReLU networks, and the model zoo
#
# *Course: "Adversarial examples, solving the inner maximization" — after chapter 3 of
# Kolter & Madry, "Adversarial Robustness: Theory and Practice".*
#
# An adversary who may move an input $x$ anywhere inside a small ball
# $\Delta = \{\delta : \|\delta\| \le \epsilon\}$ wants to make the loss as large as possible:
#
# $$\max_{\|\delta\| \le \epsilon} \; \ell\big(h_\theta(x + \delta),\, y\big).$$
#
# This is the **inner maximization** of robust training, and this course is about solving it.
# For a linear model it has a closed-form answer: the loss is monotone along the weight
# vector, so the best move is a full step of size $\epsilon$ in the direction that raises the
# loss. Neural networks take that comfort away. This first notebook shows why, with a network
# small enough to draw, then introduces the four MNIST networks used in every later notebook
# and the loop that trains and evaluates them.

# %%
import copy

import matplotlib.pyplot as plt
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

from course_utils import config, records, train
from course_utils.attacks import fgsm
from course_utils.checks import approx, check_claim, check_close, check_same
from course_utils.data import eval_subset, mnist_loaders
from course_utils.exercises import check
from course_utils.models import build_model, describe, load_model
from course_utils.plotting import plot_function_1d
from course_utils.surface import count_linear_pieces, inner_max_1d
from course_utils.widgets import inner_max_1d_widget

_ = torch.manual_seed(0)

# %% [markdown]
# ## A network fitted to noise
#
# Following the chapter, we take a ReLU network with one input, three hidden layers of 100
# units and one output, and run 100 steps of SGD (learning rate 0.01, seed 0) on pairs of
# *independent* Gaussian numbers — there is nothing to learn, so whatever shape the function
# takes is the network's own. The trained weights ship with the course
# (`python -m course_utils train regression` regenerates them).

# %%
net = load_model("regression", device="cpu")
print(describe(net))

# %% [markdown]
# Now draw it on $[-3, 3]$, next to a linear function — the kind of model for which the
# inner maximization was easy.

# %%
fig, (ax_net, ax_lin) = plt.subplots(1, 2, figsize=(11, 3.5))
plot_function_1d(net, ax=ax_net, color="0.2")
ax_net.set_title("ReLU net 1-100-100-100-1")
linear = torch.nn.Linear(1, 1)
with torch.no_grad():
    linear.weight.fill_(0.004)
    linear.bias.fill_(0.0)
plot_function_1d(linear, ax=ax_lin, color="tab:blue")
ax_lin.set_title("a linear function")
fig.tight_layout()
plt.show()

# %% [markdown]
# The linear function goes up at the same rate everywhere. The network wiggles: its slope
# changes sign again and again. Because every unit is a ReLU, the network is **piecewise
# linear** — each change of slope is a point where some unit switches on or off. We can
# count the pieces by walking along a fine grid and watching the pattern of active units.

# %% [markdown] tags=["question"]
# **Ask the room.** The network has 300 ReLUs. How many linear pieces do you expect on
# $[-3, 3]$: a handful, a few dozen, hundreds, or millions?

# %%
pieces = count_linear_pieces(net, -3.0, 3.0)
print(f"linear pieces on [-3, 3] (seen on a grid of 60,001 points): {pieces}")

# %% tags=["hide-input"]
n_params = sum(p.numel() for p in net.parameters())
check_claim(n_params == 20_501, "the network has 20,501 parameters")
check_claim(100 <= pieces < 1000, "hundreds of linear pieces on [-3, 3]")

# %% [markdown]
# Hundreds of pieces on an interval of length 6, from a network of about twenty thousand
# parameters (20,501, counted above). An MNIST classifier has 784 inputs instead of one, and
# the ball around an image cuts through a vastly larger number of such regions.
#
# ## Why that makes the inner maximization hard
#
# Two consequences, both visible in the picture above:
#
# 1. **Small moves can change the output a lot.** Within a short interval the function can
#    climb steeply — exactly what an adversary exploits.
# 2. **Local information can mislead.** For a linear function, the gradient at $x_0$ tells you
#    where the maximum over $[x_0 - \epsilon, x_0 + \epsilon]$ is: at the end it points to.
#    For the network, the gradient only describes the piece you stand on.
#
# In one dimension we can afford to check every point of the interval, so we can compare the
# true maximum with the "one gradient step" guess $x_0 + \epsilon\,\mathrm{sign}\,f'(x_0)$.

# %% [markdown] tags=["question"]
# **Ask the room.** Take $x_0 = 0.75$ and $\epsilon = 0.3$ on the picture above. Where is the
# highest point of $[0.45, 1.05]$, and where does the gradient at $x_0$ send us?

# %%
results = {}
for x0, eps in [(0.75, 0.3), (-1.0, 0.5), (1.5, 0.5)]:
    r = results[x0] = inner_max_1d(net, x0, eps)
    gap = r.f_best - r.f_grad
    verdict = "finds the maximum" if gap < 1e-6 else f"falls short by {gap:.5f}"
    print(f"x0={x0:+.2f} eps={eps:.2f}:  gradient step to x={r.x_grad:+.3f}, f={r.f_grad:+.5f}   "
          f"true max f={r.f_best:+.5f} at x={r.x_best:+.3f}   -> the gradient step {verdict}")

# %% tags=["hide-input"]
r1, r2, r3 = results[0.75], results[-1.0], results[1.5]
check_claim(r1.x_grad < r1.x0 < r1.x_best, "at x0 = 0.75 the step goes left, the maximum lies right")
check_claim(r2.x_grad < r2.x_best < r2.x0 and r2.f_best > r2.f_grad,
            "at x0 = -1 the step goes the right way but past the maximum")
check_claim(r3.f_best - r3.f_grad < 1e-6 and r3.x_best == r3.x_grad,
            "at x0 = 1.5 the step lands on the maximum, the end of the interval")

# %% [markdown]
# At $x_0 = 0.75$ the function rises to the left, so the gradient step goes left, to
# $x = 0.45$ — while the highest point of the interval is at its other end, $x = 1.05$. At
# $x_0 = -1$ the gradient points the right way but the step overshoots: the peak is inside
# the interval, at $x \approx -1.35$, and the end of the interval is lower. Only at
# $x_0 = 1.5$, where the function happens to rise all the way to the end of the interval, is
# the linear answer exact. Move the sliders to find more places where the local slope lies
# about the interval: the widget draws the interval, the linear prediction from $x_0$, the
# point the gradient step reaches and the true maximum.

# %% tags=["nbval-ignore-output"]
inner_max_1d_widget(net, x0=0.75, epsilon=0.3)

# %% [markdown]
# ## Three ways to attack the inner maximization
#
# Since we cannot check every point of a 784-dimensional ball, the chapter — and this course —
# approaches the problem from three sides. It helps to name one more quantity. For a
# classifier with logits $z(x')$, true class $y$ and another class $t$, **the margin** for
# target $t$ is
#
# $$m_t(x') = z_y(x') - z_t(x'),$$
#
# positive while $x'$ is scored more like $y$ than like $t$. Its **worst case** over the ball,
# $m_t^* = \min_{\|\delta\| \le \epsilon} m_t(x + \delta)$, decides robustness: if
# $m_t^* > 0$ for every $t \ne y$, no point of the ball changes the class; if $m_t^* < 0$ for
# some $t$, some point of the ball is not classified $y$ (not necessarily as $t$).

# %% [markdown] tags=["question"]
# **Ask the room.** An attack finds a $\delta$ in the ball with loss 4.2. What does that tell
# us about the inner maximization — is its value 4.2, at least 4.2, or at most 4.2?

# %% [markdown]
# | strategy | what it computes | which side it gives | notebooks |
# | --- | --- | --- | --- |
# | **attacks**: find *some* $\delta$ with a large loss (FGSM, PGD) | the loss, or the margin, at a real point of the ball — an adversarial example when the class changes | a **lower bound on the inner maximization**; in margin terms an **upper bound on the worst-case margin** $m_t^*$ | 02 FGSM, 03 PGD, 04 steepest descent, 05 targeted and $\ell_2$ attacks |
# | **exact**: mixed-integer linear programming (MILP) | the worst-case margin $m_t^*$ of each target $t$, exactly; all targets together decide whether an adversarial example exists. It solves the margin problems, not the maximization of the cross-entropy loss. Only small networks. | exact, for each margin problem | 06 MILP |
# | **relaxations**: replace the network by something easier (LP relaxation, interval bounds) | a bound that holds for every point of the ball | a **lower bound on the worst-case margin**; above 0 it is a certificate that no point of the ball reaches class $t$ | 07 convex relaxations, 08 interval bounds, 09 CROWN and certified accuracy |
#
# An attack and a relaxation bracket $m_t^*$ from the two sides; when the attack's margin is
# negative we hold an adversarial example, when the relaxation's bound is positive we hold a
# proof, and in between we do not know yet.
#
# ## The model zoo
#
# All later notebooks use four MNIST classifiers from the chapter, trained by its recipes and
# shipped inside the package (`course_utils/assets/models/`):
#
# | name | layers | used for |
# | --- | --- | --- |
# | `dnn2` | 784-200-10, fully connected | attacks |
# | `dnn4` | 784-200-100-100-10, fully connected | attacks, LP relaxation |
# | `cnn` | four 3×3 convolutions (32, 32 stride 2, 64, 64 stride 2), FC 100, 10 | attacks |
# | `small` | 784-50-20-10, fully connected | exact verification (MILP) |
#
# Each was trained with SGD (learning rate 0.1, batch 100) for 10 epochs; the CNN's learning
# rate drops to 0.01 after epoch 5. `load_model(name)` returns the trained network in
# evaluation mode.

# %%
models = {name: load_model(name, device="cpu") for name in ("dnn2", "dnn4", "cnn", "small")}
print(describe(models["cnn"]))

# %% [markdown]
# MNIST itself is read from its four original IDX files (from `COURSE_DATA_DIR`,
# the course machines' offline copy, or downloaded once into a per-user cache). Images come as
# tensors of shape `(n, 1, 28, 28)` with pixels in $[0, 1]$; the loaders use batches of 100,
# as in the chapter, and shuffle the training set with a seeded generator.

# %%
train_loader, test_loader = mnist_loaders()
X, y = next(iter(test_loader))
print("one batch:", tuple(X.shape), X.dtype, f"pixels in [{X.min():.0f}, {X.max():.0f}]",
      "labels", y[:10].tolist())
print(f"{len(train_loader.dataset):,} training and {len(test_loader.dataset):,} test images")

# %% [markdown]
# ## The chapter in code: one epoch
#
# Training and evaluating are the same loop: run every batch through the model, measure the
# cross-entropy, and — when an optimizer is given — take one SGD step per batch. The loop
# returns the error rate and the mean loss over the whole dataset.

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
# Let us check it against the package: a fresh 2-layer network (the recipe's starting
# weights, seed 0) trained for one pass over the first 10,000 training images, in their
# stored order, once with our `epoch` and once with `course_utils.train.epoch`, then tested.

# %%
part = DataLoader(TensorDataset(*train_loader.dataset[:10_000]), batch_size=100)
torch.manual_seed(0)
start = build_model("dnn2")
ours, theirs = copy.deepcopy(start), copy.deepcopy(start)
row = epoch(part, ours, torch.optim.SGD(ours.parameters(), lr=0.1)) + epoch(test_loader, ours)
row_pkg = (train.epoch(part, theirs, torch.optim.SGD(theirs.parameters(), lr=0.1))
           + train.epoch(test_loader, theirs))
print("after one pass over 10,000 images: train err, train loss, test err, test loss =",
      ", ".join(approx(v, 4) for v in row))

# %% tags=["hide-input"]
check_same(torch.cat([p.flatten() for p in ours.parameters()]),
           torch.cat([p.flatten() for p in theirs.parameters()]),
           "our epoch and course_utils.train.epoch train the same weights")
check_same(torch.tensor(row), torch.tensor(row_pkg), "and report the same errors and losses")

# %% [markdown]
# The package's `epoch` is this loop, plus moving each batch to the model's device, switching
# the model between training and evaluation mode, no gradient bookkeeping when it only
# evaluates, and an optional progress bar.
#
# The chapter prints the whole training run of this network, one row per epoch. Our recipe's
# run was recorded once (`python tools/record_training.py dnn2`, which retrains the network
# and confirms that it ends at exactly the shipped weights); here it is beside the chapter's:

# %%
record = records.read("training_dnn2")
print(f"{'':5s} {'ours: train err':>15s} {'train loss':>10s} {'test err':>8s} {'test loss':>9s}"
      f"  | {'chapter: train err':>18s} {'train loss':>10s} {'test err':>8s} {'test loss':>9s}")
for t, (a, b) in enumerate(zip(record["rows"], record["chapter"]), 1):
    print(f"{t:5d} {a[0]:15.4f} {a[1]:10.4f} {a[2]:8.4f} {a[3]:9.4f}  | "
          f"{b[0]:18.4f} {b[1]:10.4f} {b[2]:8.4f} {b[3]:9.4f}")
print("largest weight difference between this run and the shipped dnn2:",
      record["max_weight_difference_from_shipped"])

# %% tags=["hide-input"]
ours_rows, chapter_rows = torch.tensor(record["rows"]), torch.tensor(record["chapter"])
check_claim(record["max_weight_difference_from_shipped"] == 0, "the recorded run ends at the shipped weights")
check_claim(bool((ours_rows[1:, 2] < ours_rows[:-1, 2]).all()), "our test error falls every epoch")
check_claim(bool(((ours_rows - chapter_rows).abs()[:, [0, 2]] <= 0.005).all()),
            "every error in our table is within half a point of the chapter's")

# %% [markdown]
# The two runs are the same recipe with different random starting weights and a different
# shuffle, and they track each other epoch by epoch: every error rate in our table is within
# half a percentage point of the chapter's, our test error falls every epoch, and both end
# near 2.9% (0.0286 here, 0.0285 in the chapter).
#
# Now the clean test errors of all four shipped networks, on all 10,000 test images, with
# our `epoch`:

# %%
print(f"{'model':<6} {'ours':>7} {'chapter':>8} {'test loss':>10}")
clean = {}
for name, model in models.items():
    clean[name] = epoch(test_loader, model)
    print(f"{name:<6} {clean[name][0]:7.4f} {records.PUBLISHED_CLEAN_ERRORS[name]:8.4f} {clean[name][1]:10.4f}")

# %% tags=["hide-input"]
check_same(torch.tensor(clean["small"]), torch.tensor(train.epoch(test_loader, models["small"])),
           "small: our epoch and the package's agree")
# the shipped dnn2 is the last row of the recorded run (tolerance: 2 images of 10,000)
check_close(clean["dnn2"][0], record["rows"][-1][2], 2e-4, "dnn2, test error = the recorded run's last row:")
check_claim(all(abs(clean[n][0] - records.PUBLISHED_CLEAN_ERRORS[n]) <= 0.002 for n in models),
            "every clean error is within 0.2 points of the chapter's")
check_claim(clean["cnn"][0] < clean["dnn4"][0] < clean["dnn2"][0] < clean["small"][0],
            "clean error: cnn < dnn4 < dnn2 < small, as in the chapter")

# %% [markdown]
# The 2-layer network's error is the last row of the recorded run. Every clean error is
# within 0.2 percentage points (20 images of 10,000) of the chapter's, and the ranking is the
# chapter's: the CNN best, then the 4-layer, the 2-layer and the small network. The recipes, with their seeds (`dnn4` uses seed 2, the others seed 0):

# %%
for name in models:
    print(f"{name:6s}", train.RECIPES[name])

# %% [markdown]
# ### MNIST is an imperfect testbed
#
# MNIST is small, and every attack and verifier of the course runs on a laptop against it —
# but it is also unusually easy to defend, so a defence that works on MNIST proves little.
# Most of its pixels are pure background or nearly saturated ink, and a defence as simple as
# **binarising** the input (every pixel becomes 0 or 1 at the threshold 0.5) already takes
# much of the power out of small $\ell_\infty$ perturbations. With $\epsilon = 0.1$ a
# binarised pixel can only change if it lies within 0.1 of the threshold:

# %%
X1k, y1k = eval_subset(1000)
flippable = ((X1k > 0.4) & (X1k <= 0.6)).flatten(1).sum(dim=1).float()
print(f"pixels within 0.1 of the threshold: {flippable.mean():.1f} per image on average "
      f"(of 784), at most {flippable.max():.0f}")

# %% [markdown]
# Borrowing the attack of notebook 02 (FGSM at $\epsilon = 0.1$, a one-step attack built on
# the 2-layer network itself), and feeding its attacked images to the same network after
# binarising them:

# %%
def binarise(Z):
    return (Z > 0.5).float()


dnn2 = models["dnn2"]
delta = fgsm(dnn2, X1k, y1k, 0.1)
with torch.no_grad():
    errs = {"clean": dnn2(X1k), "clean, binarised": dnn2(binarise(X1k)),
            "FGSM": dnn2(X1k + delta), "FGSM, binarised": dnn2(binarise(X1k + delta))}
for what, logits in errs.items():
    errs[what] = (logits.argmax(1) != y1k).float().mean().item()
    print(f"dnn2, first 1000 test images, {what:16s} error {approx(errs[what])}")

# %% tags=["hide-input"]
check_claim(flippable.mean() < 20, "fewer than 20 pixels per image can flip on average")
# tolerance: 2/n for a rate over n = 1000 images
check_close(errs["FGSM"], 0.777, 0.004, "dnn2, FGSM error:")
check_close(errs["FGSM, binarised"], 0.098, 0.004, "dnn2, FGSM error after binarising:")
check_close(errs["clean"], 0.025, 0.004, "dnn2, clean error:")
check_close(errs["clean, binarised"], 0.025, 0.004, "dnn2, clean error after binarising:")

# %% [markdown]
# The attack that fools the network on about three images in four fools it on about one in
# ten once the input is binarised, and binarising does not cost clean accuracy here (the
# clean error stays at 2.5%). This is not a proof of robustness — an attacker who knows
# about the binarisation would aim at the few pixels near the threshold, and notebook 02's
# attack was not built for it — but it shows why MNIST results must be read with care: the
# trick relies on nearly black-and-white images and would not carry over to natural images,
# whose information lies in their grey levels. The course uses MNIST because its networks
# are small enough to attack, solve exactly and certify on a laptop, and the principles
# carry over.
#
# ### Retraining
#
# The weights are regenerated, with the per-epoch table of train/test error and loss, by
#
# ```
# python -m course_utils train            # all five networks
# python -m course_utils train small      # just one
# ```
#
# which also rewrites the record `clean_errors` (in `course_utils/assets/results/`). The
# training is seeded, so rerunning it on the same machine reproduces the shipped weights. The training times recorded there,
# on a 2-core CPU:

# %%
recorded_runs = records.read("clean_errors")
print(records.origin("clean_errors"))
for name, entry in recorded_runs.items():
    print(f"{name:6s} {entry['train_seconds']:6.0f} s  (torch {entry['torch']}, {entry['threads']} threads)")

# %% tags=["hide-input"]
check_claim(recorded_runs["cnn"]["train_seconds"] > 60 > max(
    e["train_seconds"] for n, e in recorded_runs.items() if n != "cnn"),
    "the CNN takes minutes, the others seconds")

# %% [markdown]
# The dense networks train in seconds, the CNN in minutes. Set-wide figures in the attack
# and verification notebooks are computed on the first `config.N_EVAL` test images to keep
# every notebook fast on a laptop:

# %%
print("N_EVAL =", config.N_EVAL, "test images (set COURSE_N_EVAL=10000 for the full test set, e.g. on a GPU)")

# %% [markdown]
# ## Exercises
#
# ### Exercise 1.1 — count the linear pieces
#
# Write `count_pieces(model, lo, hi, num)`: evaluate the 1-input ReLU network `model` (an
# `nn.Sequential`) on `num` evenly spaced points of $[lo, hi]$, record after every `nn.ReLU`
# which units are on ($> 0$), and count the places where the on/off pattern of *all* the
# units changes between neighbouring points. A grid on which the pattern never changes is
# one piece. (Later notebooks build on the same idea: a unit whose on/off state cannot change
# inside the ball is *stable*, and the exact MILP of notebook 06 is hard exactly because of
# the *unstable* ones.)

# %% tags=["exercise"]
def count_pieces(model, lo, hi, num=60_001):
    # BEGIN SOLUTION
    h = torch.linspace(lo, hi, num)[:, None]
    patterns = []
    with torch.no_grad():
        for layer in model:
            h = layer(h)
            if isinstance(layer, nn.ReLU):
                patterns.append(h > 0)
    pattern = torch.cat(patterns, dim=1)
    return int((pattern[1:] != pattern[:-1]).any(dim=1).sum()) + 1
    # END SOLUTION


# %%
check("1.1", count_pieces)

# %% [markdown]
# ### Exercise 1.2 — predict: when is one gradient step enough?
#
# Take 101 starting points $x_0$ evenly spread over $[-2.5, 2.5]$ and, for each, compare the
# gradient step $x_0 + \epsilon\,\mathrm{sign}\,f'(x_0)$ with the true maximum of the network
# over $[x_0 - \epsilon, x_0 + \epsilon]$, as above. On how many of the 101 points does the
# step find the maximum, for $\epsilon = 0.01$ and for $\epsilon = 0.5$? Answer with a letter,
# then run the check and the cell after it.
#
# - `"a"`: on all 101 points, for both radii
# - `"b"`: on more than 90 points for $\epsilon = 0.01$, on between 50 and 90 for $\epsilon = 0.5$
# - `"c"`: on more than 90 points for $\epsilon = 0.01$, on fewer than 50 for $\epsilon = 0.5$
# - `"d"`: on 90 points or fewer even for $\epsilon = 0.01$

# %% tags=["exercise"]
answer = None
# BEGIN SOLUTION
answer = "b"
# END SOLUTION

# %%
check("1.2", answer)

# %%
starts = torch.linspace(-2.5, 2.5, 101).tolist()
found = {}
for eps in (0.01, 0.5):
    runs = [inner_max_1d(net, x0, eps) for x0 in starts]
    found[eps] = sum(r.f_best - r.f_grad < 1e-6 for r in runs)
    print(f"ε = {eps}: the gradient step finds the maximum on {found[eps]} of 101 starting points")

# %% tags=["hide-input"]
check_claim(found[0.01] > 90 and 50 <= found[0.5] <= 90, "answer b is what happens")
check_claim(20 <= 101 - found[0.5] <= 45, "for ε = 0.5 the step misses on roughly a third of the points")

# %% [markdown] tags=["solution"]
# <details><summary>Model answer</summary>
#
# **b.** Over a short interval the network is almost always on one linear piece, or on a few
# pieces that slope the same way, so the end the gradient points to is the highest point.
# Over an interval of width 1 the function turns: the gradient at the centre still points
# uphill on many stretches where the network happens to be monotone, but on roughly a third
# of the starting points a peak inside the interval, or a higher point on the other side,
# beats the gradient step. For an attack on an image this is the reason to take many small
# steps (notebook 03) rather than one large one (notebook 02).
#
# </details>

# %% [markdown]
# ### Exercise 1.3 — explain: what do two bounds tell us?
#
# For one test image with label $y$ and a target class $t$, a PGD attack finds a point of the
# ball where the margin is $m_t = z_y - z_t = 0.3$, and a convex relaxation proves that
# $m_t \ge -0.5$ everywhere in the ball. What do we know?
#
# - `"a"`: an adversarial example exists in the ball: the relaxation found a point with margin $-0.5$
# - `"b"`: the image is robust for target $t$: the attack found no negative margin
# - `"c"`: nothing decisive yet: the worst-case margin $m_t^*$ lies between $-0.5$ and $0.3$

# %% tags=["exercise"]
answer = None
# BEGIN SOLUTION
answer = "c"
# END SOLUTION

# %%
check("1.3", answer)

# %% [markdown] tags=["solution"]
# <details><summary>Model answer</summary>
#
# **c.** The attack's point is a real point of the ball, so the worst-case margin is at most
# its margin: $m_t^* \le 0.3$ (an attack gives an upper bound on the worst-case margin, a
# lower bound on the inner maximization). The relaxation's $-0.5$ is a bound, not a point:
# $m_t^* \ge -0.5$. The true value is somewhere in $[-0.5, 0.3]$. A stronger attack could
# push the upper end below 0 (an adversarial example), a tighter relaxation could lift the
# lower end above 0 (a certificate), and the MILP of notebook 06 computes $m_t^*$ exactly.
#
# </details>

# %% [markdown]
# ## What we learned
#
# * A ReLU network is piecewise linear with very many pieces: the 1-100-100-100-1 net has
#   hundreds on $[-3, 3]$. Its gradient describes only the piece you stand on, so one
#   gradient step need not find the worst point of even a one-dimensional interval.
# * The inner maximization is attacked from three sides: attacks give a lower bound on it
#   (an upper bound on the worst-case margin), the MILP computes each worst-case margin
#   exactly, relaxations give a lower bound on the worst-case margin.
# * The chapter's `epoch` loop trains and evaluates the four MNIST networks of the course;
#   our shipped networks are within 0.2 percentage points of the chapter's clean errors.
# * MNIST is a convenient but forgiving testbed: binarising the input already blunts small
#   $\ell_\infty$ attacks.
#
# Notebook 2 builds the first attack: the fast gradient sign method.
#
# ## References
#
# * J. Z. Kolter and A. Madry. *Adversarial Robustness: Theory and Practice*, tutorial at
#   NeurIPS 2018; chapter 3, "Adversarial examples, solving the inner maximization",
#   <https://adversarial-ml-tutorial.org/adversarial_examples/>.
# * C. Szegedy, W. Zaremba, I. Sutskever, J. Bruna, D. Erhan, I. Goodfellow, R. Fergus.
#   "Intriguing properties of neural networks." ICLR 2014.
# * G. Montúfar, R. Pascanu, K. Cho, Y. Bengio. "On the number of linear regions of deep
#   neural networks." NeurIPS 2014.
# * Y. LeCun, L. Bottou, Y. Bengio, P. Haffner. "Gradient-based learning applied to document
#   recognition." Proceedings of the IEEE 86(11), 1998 (MNIST).
# * L. Schott, J. Rauber, M. Bethge, W. Brendel. "Towards the first adversarially robust
#   neural network model on MNIST." ICLR 2019 (binarisation as a baseline defence on MNIST).
# * V. Tjeng, K. Xiao, R. Tedrake. "Evaluating robustness of neural networks with mixed
#   integer programming." ICLR 2019.
# * E. Wong and J. Z. Kolter. "Provable defenses against adversarial examples via the convex
#   outer adversarial polytope." ICML 2018.
