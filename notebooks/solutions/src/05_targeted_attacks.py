# %% [markdown]
# # 5. Targeted attacks
#
# *Course: "Adversarial examples, solving the inner maximization" — after chapter 3 of
# Kolter & Madry, "Adversarial Robustness: Theory and Practice".*
#
# Now the adversary wants a particular answer. The loop of notebooks 3 and 4 stays; only
# the **objective** changes. (Notation: notebook 0.)

# %%
import matplotlib.pyplot as plt
import torch
import torch.nn as nn
import torch.nn.functional as F

from course_utils import attacks, config
from course_utils.checks import approx, check_claim, check_close, check_same
from course_utils.data import eval_subset
from course_utils.exercises import check
from course_utils.models import load_model
from course_utils.plotting import plot_delta_heatmaps, plot_images, plot_outcomes
from course_utils.widgets import attack_widget

torch.manual_seed(0)
models = {name: load_model(name) for name in ("dnn2", "dnn4", "cnn")}
cnn = models["cnn"]
X, y = eval_subset(config.N_EVAL)    # the first N_EVAL test images (1000 by default)
Xs, ys = X[:30], y[:30]              # the CNN is slow on a CPU: the first 30 test images

# %% [markdown]
# ## Two targeted objectives
#
# To make the network predict class $t$, raise the loss of the true class and lower that of
# the target:
#
# $$\max_{\|\delta\| \le \epsilon}\; \ell\big(h_\theta(x+\delta), y\big) - \ell\big(h_\theta(x+\delta), t\big).$$
#
# For the cross-entropy, $\ell(z, y) = \log \sum_j e^{z_j} - z_y$, the log-sum-exp terms
# cancel, and with the logits $z = h_\theta(x + \delta)$ the objective is
#
# $$\max_{\|\delta\| \le \epsilon}\; z_t - z_y \;=\; -\min_{\|\delta\| \le \epsilon}\; m_t(x + \delta),$$
#
# where $m_t = z_y - z_t$ is **the margin** for target $t$ (notebook 0). The attack drives
# the margin down; notebooks 6–9 ask for its exact minimum. The chapter's settings: the CNN,
# $\epsilon = 0.2$, $\alpha = 0.01$, 40 steps, clamp off, targets 2 and 0.
#
# ### The chapter in code
#
# `pgd_linf` of notebook 3 with the margin as its objective (summed over the batch):

# %%
def pgd_linf_targ(model, X, y, epsilon, alpha, num_iter, y_targ):
    """Targeted ℓ∞ PGD: maximise z_targ - z_y over ||δ||∞ ≤ ε. Returns δ."""
    delta = torch.zeros_like(X, requires_grad=True)
    for t in range(num_iter):
        yp = model(X + delta)
        loss = (yp[:, y_targ] - yp.gather(1, y[:, None])[:, 0]).sum()
        loss.backward()
        delta.data = (delta + alpha * delta.grad.detach().sign()).clamp(-epsilon, epsilon)
        delta.grad.zero_()
    return delta.detach()


# %% [markdown]
# Against `attacks.pgd_linf_targ` (clamp off), then target 2 on the first 30 test images (18
# shown; titles mark those now classified as the target):

# %%
dnn2 = models["dnn2"]
check_same(pgd_linf_targ(dnn2, Xs, ys, 0.2, 0.01, 40, 2), attacks.pgd_linf_targ(dnn2, Xs, ys, 0.2, 0.01, 40, 2,
                                                                                 clamp=False),
           "dnn2, 30 images: our pgd_linf_targ = attacks.pgd_linf_targ(..., clamp=False)")
deltas = {("margin", 2): pgd_linf_targ(cnn, Xs, ys, 0.2, 0.01, 40, y_targ=2)}
with torch.no_grad():
    plot_images(Xs + deltas["margin", 2], ys, cnn(Xs + deltas["margin", 2]), 3, 6, targets=2)
plt.show()

# %% tags=["hide-input"]
with torch.no_grad():
    hits_grid = (cnn(Xs[:18] + deltas["margin", 2][:18]).argmax(1) == 2).float().mean()
check_claim(bool(hits_grid >= 16 / 18), "at least 16 of the 18 images are now classified as a 2", show=False)

# %% [markdown]
# Almost every image now reads as a 2 to the network; to us, the same digits under
# a visible haze ($\epsilon = 0.2$ is a large ball).

# %% [markdown] tags=["question"]
# **Ask the room.** Now target 0. The objective only pushes $z_0$ above $z_y$. What else
# could the network end up predicting?

# %% tags=["reveal"]
deltas["margin", 0] = attacks.pgd_linf_targ(cnn, Xs, ys, 0.2, 0.01, 40, 0, clamp=False)
with torch.no_grad():
    plot_images(Xs + deltas["margin", 0], ys, cnn(Xs + deltas["margin", 0]), 3, 6, targets=0)
plt.show()

# %% [markdown]
# Some images end up as neither their label nor 0.
#
# ### Exercise 5.1 — predict: the margin of the images that went elsewhere
#
# On the images of the 30 now classified as neither their label nor 0, what is the sign of
# the margin $m_0 = z_y - z_0$? Answer before the next cell counts.
#
# - `"a"`: negative on most: 0 beat the true class, and a third class beat 0 as well
# - `"b"`: positive on all: the true class still beats 0, and a third class beats both
# - `"c"`: zero on all: the attack stops moving once $z_0$ has caught up with $z_y$
# - `"d"`: undefined: $m_0$ is a margin only for the images the network classifies as 0

# %% tags=["exercise"]
answer = None
# BEGIN SOLUTION
answer = "a"
# END SOLUTION

# %%
check("5.1", answer)

# %% tags=["reveal"]
def outcomes(delta, t):
    """Among the images not labelled t: shares that hit t, stay correct, go to another class;
    and the margins m_t = z_y - z_t of those that went to another class."""
    with torch.no_grad():
        z = cnn(Xs + delta)
    keep = ys != t
    pred, label = z.argmax(1)[keep], ys[keep]
    margin = (z.gather(1, ys[:, None])[:, 0] - z[:, t])[keep]
    other = (pred != t) & (pred != label)
    shares = [(pred == t).float().mean().item(), (pred == label).float().mean().item(), other.float().mean().item()]
    return shares, margin[other]


(hit, still, other), margins = outcomes(deltas["margin", 0], 0)
print(f"target 0, images not labelled 0: hit {approx(hit, 2)}, still correct {approx(still, 2)}, "
      f"another class {approx(other, 2)}")
print(f"of those that went to another class, share with m_0 < 0: {approx((margins < 0).float().mean(), 2)}")

# %% tags=["hide-input"]
check_claim(other > 0.2 and bool((margins < 0).float().mean() > 0.5),
            "over a fifth go to another class, most of them with m_0 < 0", show=False)

# %% [markdown]
# A negative margin $m_t < 0$ means the true class has lost, not that $t$ has won: in
# notebooks 6–9, a negative worst-case margin for *some* target proves that an adversarial
# example exists, not which class it lands in.
#
# ### A second objective, and a third
#
# The chapter's remedy: push the target up against *all* the other classes at once,
#
# $$\max_{\|\delta\| \le \epsilon}\; z_t - \sum_{y' \ne t} z_{y'}.$$

# %%
def pgd_linf_targ2(model, X, y, epsilon, alpha, num_iter, y_targ):
    """Targeted ℓ∞ PGD: maximise z_targ - (sum of the other logits) over ||δ||∞ ≤ ε."""
    delta = torch.zeros_like(X, requires_grad=True)
    for t in range(num_iter):
        yp = model(X + delta)
        loss = 2 * yp[:, y_targ].sum() - yp.sum()
        loss.backward()
        delta.data = (delta + alpha * delta.grad.detach().sign()).clamp(-epsilon, epsilon)
        delta.grad.zero_()
    return delta.detach()


check_same(pgd_linf_targ2(dnn2, Xs, ys, 0.2, 0.01, 40, 0), attacks.pgd_linf_targ2(dnn2, Xs, ys, 0.2, 0.01, 40, 0,
                                                                                   clamp=False),
           "dnn2, 30 images: our pgd_linf_targ2 = attacks.pgd_linf_targ2(..., clamp=False)")
deltas["sum", 0] = pgd_linf_targ2(cnn, Xs, ys, 0.2, 0.01, 40, y_targ=0)
with torch.no_grad():
    plot_images(Xs + deltas["sum", 0], ys, cnn(Xs + deltas["sum", 0]), 3, 6, targets=0)
plt.show()

# %% [markdown]
# A third: Carlini and Wagner's (C&W, 2017) objective, the target against the **largest** other
# logit,
#
# $$\max_{\|\delta\| \le \epsilon}\; z_t - \max_{j \ne t} z_j ,$$
#
# positive exactly when the network predicts $t$; the same loop climbs it:

# %%
def margin_cw(logits, y_targ):
    """z_targ - max_{j != targ} z_j per example: > 0 exactly when the prediction is y_targ."""
    others = logits.clone()
    others[:, y_targ] = -float("inf")
    return logits[:, y_targ] - others.amax(dim=1)


# %% [markdown] tags=["question"]
# **Ask the room.** Which of the three objectives will hit the target most often? Will the
# sum beat the chapter's first objective?

# %% tags=["reveal"]
def run(objective, t):
    if objective == "margin":
        return attacks.pgd_linf_targ(cnn, Xs, ys, 0.2, 0.01, 40, t, clamp=False)
    if objective == "sum":
        return attacks.pgd_linf_targ2(cnn, Xs, ys, 0.2, 0.01, 40, t, clamp=False)
    return attacks.projected_steepest_ascent(cnn, Xs, ys, 0.2, 0.01, 40, clamp=False,
                                             loss_fn=lambda z, y_: margin_cw(z, t))


names = {"margin": "z_t - z_y (chapter, 1st)", "sum": "z_t - Σ others (chapter, 2nd)", "cw": "z_t - max other (C&W)"}
table = {}
for t in (2, 0):
    for objective in names:
        if (objective, t) not in deltas:
            deltas[objective, t] = run(objective, t)
        table[objective, t] = outcomes(deltas[objective, t], t)[0]
plot_outcomes({f"{names[o]}, t = {t}": table[o, t] for t in (2, 0) for o in names},
              title=f"CNN, targeted ℓ∞ PGD, ε = 0.2, clamp off: first {len(ys)} test images not labelled t")
plt.show()

# %% tags=["hide-input"]
# shares of 25-29 images: tolerance 2/25 = 0.08
hits = {key: row[0] for key, row in table.items()}
for key, value in {("margin", 2): 0.966, ("margin", 0): 0.440, ("sum", 0): 0.480, ("cw", 0): 0.840}.items():
    check_close(hits[key], value, 0.08, f"{names[key[0]]}, target {key[1]}: share hitting the target", show=False)
check_claim(hits["sum", 2] < hits["margin", 2] - 0.1 and abs(hits["sum", 0] - hits["margin", 0]) <= 0.08,
            "the sum hits less often for target 2, about as often (±2 images) for target 0", show=False)
check_claim(all(table["sum", t][1] > table["margin", t][1] + 0.08 for t in (2, 0)),
            "the sum leaves more images still correct than the first, for both targets", show=False)
check_claim(all(hits["cw", t] >= max(hits["margin", t], hits["sum", t]) for t in (2, 0))
            and hits["cw", 0] > max(hits["margin", 0], hits["sum", 0]) + 0.3,
            "C&W hits at least as often as both everywhere, by over 0.3 for target 0", show=False)

# %% [markdown]
# The chapter's second objective is not the fix on our CNN: for target 2 it hits less often
# than the first, for target 0 about as often, and for both it leaves more images correctly
# classified. C&W's objective hits at least as often as both everywhere, and for target 0
# by far the most often.
#
# **What a targeted $\delta$ looks like.** Valid images (clamp on): the untargeted attack
# and the first objective aimed at 2 and at 0, on three images labelled neither 2 nor 0,
# each $\delta$ on its own colour scale (orange adds ink, purple removes it):

# %%
valid = {"untargeted": attacks.pgd_linf(cnn, Xs, ys, 0.2, 0.01, 40),
         "target 2": attacks.pgd_linf_targ(cnn, Xs, ys, 0.2, 0.01, 40, 2),
         "target 0": attacks.pgd_linf_targ(cnn, Xs, ys, 0.2, 0.01, 40, 0)}
shown = torch.tensor([0, 2, 4])                         # a 7, a 1 and a 4
plot_delta_heatmaps(Xs[shown], {name: d[shown] for name, d in valid.items()}, n=3)
plt.show()

# %% tags=["hide-input"]
others = (ys != 0) & (ys != 2)
center = torch.stack([X[y == c].mean(0) for c in range(10)]).mean(0)


def like(d, t):
    """Cosine of each δ with the average test image of class t minus the average digit."""
    return F.cosine_similarity(d.flatten(1), (X[y == t].mean(0) - center).flatten()[None], dim=1)


closer0 = int(((like(valid["target 0"], 0) > like(valid["target 2"], 0)) & others).sum())
closer2 = int(((like(valid["target 2"], 2) > like(valid["target 0"], 2)) & others).sum())
check_claim(bool((ys[shown] != 0).all() and (ys[shown] != 2).all()), "the three images are labelled neither 2 nor 0",
            show=False)
check_claim(min(closer0, closer2) >= 2 / 3 * int(others.sum()),
            "on at least two thirds of the images labelled neither 2 nor 0, the δ aimed at t is more like the "
            "average t than the δ aimed at the other target, for t = 0 and t = 2", show=False)

# %% [markdown]
# To the eye, the targeted perturbations seem to draw their target: curved strokes for 0,
# horizontal strokes for 2 (the untargeted $\delta$ has horizontal strokes too). The cosine
# says a little more: of the first 30 test images, on at least two thirds of those labelled
# neither 2 nor 0, each targeted $\delta$ points closer to (the mean test image of its
# target) − (the mean of the ten class means) than the $\delta$ aimed at the other target does.
#
# ## What about all those other attacks?
#
# The chapter's point: each named attack is a choice of **ball** (the threat model) and
# **optimiser** (how it searches the ball), plus the **objective** it climbs.
#
# | attack | ball | objective | optimiser |
# | --- | --- | --- | --- |
# | FGSM (Goodfellow et al.) | $\ell_\infty$ | cross-entropy | one signed-gradient step of size $\epsilon$ |
# | PGD (Madry et al.) | $\ell_\infty$, $\ell_2$ | cross-entropy or a margin | projected normalized steepest ascent |
# | C&W (Carlini & Wagner) | $\ell_2$ (also $\ell_0$, $\ell_\infty$) | $\max_{j \ne t} z_j - z_t$, floored at $-\kappa$ | Adam on the penalty $\|\delta\|_2^2 + c \cdot$ objective, via a change of variables keeping $x + \delta$ in $[0, 1]$; $c$ by binary search |
# | DeepFool (Moosavi-Dezfooli et al.) | $\ell_2$ (any $\ell_p$) | reach the nearest decision boundary | linearise, step to the linearised boundary, repeat |
#
# C&W and DeepFool seek the *smallest* perturbation that changes the class rather than the
# worst point of a fixed ball, but they are the same kind of object. All of them find
# adversarial examples; none can show that
# there is none.
#
# ## Try it
#
# Choose the objective (`pgd_linf_targ`, `pgd_linf_targ2`), the target and ε; first 100 test
# images.

# %% tags=["nbval-ignore-output"]
attack_widget(models, X[:100], y[:100], attack=["pgd_linf_targ", "pgd_linf_targ2"],
              epsilon=0.2, alpha=0.01, num_iter=40, y_targ=2)

# %% [markdown]
# ## Exercises
#
# ### Exercise 5.2 — a targeted attack on the least likely class
#
# A demanding test of a network: aim each image at the class it finds *least* likely. Write
# `least_likely(model, X, y, epsilon, alpha, num_iter)`: for each image, the target is the
# class with the smallest logit on the clean image; return the $\delta$ of the package's
# `attacks.projected_steepest_ascent` (valid images, its default) climbing the C&W objective
# $z_t - \max_{j \ne t} z_j$ with each image's own target.

# %% tags=["exercise"]
def least_likely(model, X, y, epsilon, alpha, num_iter):
    # BEGIN SOLUTION
    with torch.no_grad():
        targets = model(X).argmin(dim=1)

    def objective(logits, labels):
        z_t = logits.gather(1, targets[:, None])[:, 0]
        rivals = logits.scatter(1, targets[:, None], float("-inf"))
        return z_t - rivals.amax(dim=1)

    return attacks.projected_steepest_ascent(model, X, y, epsilon, alpha, num_iter, loss_fn=objective)
    # END SOLUTION


# %%
check("5.2", least_likely)

# %% [markdown]
# ### Exercise 5.3 — explain: why is the second objective no better?
#
# On our CNN the chapter's second objective, $z_t - \sum_{y' \ne t} z_{y'}$, hits the target
# less often than the first, $z_t - z_y$, for target 2, and about as often for target 0. Why?
#
# - `"a"`: its gradient is smaller, so the same number of steps gets less far
# - `"b"`: it is the cross-entropy of the target in disguise, and that one saturates
# - `"c"`: the prediction hangs on the largest rival; the sum pushes on all nine
# - `"d"`: the target's logit counts twice, so every sign step is twice too big

# %% tags=["exercise"]
answer = None
# BEGIN SOLUTION
answer = "c"
# END SOLUTION

# %%
check("5.3", answer)

# %% [markdown]
# ### Exercise 5.4 — investigate: which targets are hard?
#
# On the 2-layer network, the first 100 test images, valid images, $\epsilon = 0.2$,
# $\alpha = 0.01$, 40 steps: run the package's `attacks.pgd_linf_targ` aimed at each class
# $t = 0, \dots, 9$, and measure the share of the images *not labelled* $t$ that end up
# classified as $t$. Give the ten shares as a list, target 0 first.

# %% tags=["exercise"]
shares = None
# BEGIN SOLUTION
X100, y100 = X[:100], y[:100]
shares = []
for t in range(10):
    delta = attacks.pgd_linf_targ(models["dnn2"], X100, y100, 0.2, 0.01, 40, t)
    with torch.no_grad():
        pred = models["dnn2"](X100 + delta).argmax(1)
    shares.append((pred[y100 != t] == t).float().mean().item())
# END SOLUTION

# %%
check("5.4", shares)

# %% [markdown]
# ## What we learned
#
# * A targeted attack is the same loop with another objective. The chapter's first,
#   $z_t - z_y$, drives $m_t$ below zero, which changes the class, not necessarily to $t$.
#   On our CNN its second does no better; the C&W objective hits the target most often.
# * Some targets are far harder to reach than others.
# * Every named attack is a ball, an objective and an optimiser; none can prove that no
#   adversarial example exists.
#
# ## References
#
# * N. Carlini and D. Wagner. "Towards Evaluating the Robustness of Neural Networks."
#   IEEE S&P 2017.
# * S.-M. Moosavi-Dezfooli et al. "DeepFool: a simple and accurate method to fool deep
#   neural networks." CVPR 2016.
# * A. Kurakin et al. "Adversarial machine learning at scale." ICLR 2017 (targeting the
#   least likely class).
# * J. Z. Kolter and A. Madry. *Adversarial Robustness: Theory and Practice*, tutorial at
#   NeurIPS 2018; chapter 3, "Adversarial examples, solving the inner maximization",
#   <https://adversarial-ml-tutorial.org/adversarial_examples/>.
