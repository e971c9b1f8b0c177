# %% [markdown]
# # 3. Projected gradient descent (PGD)
#
# *Course: "Adversarial examples, solving the inner maximization" — after chapter 3 of
# Kolter & Madry, "Adversarial Robustness: Theory and Practice".*
#
# FGSM's single step can land far from the best point of a loss that bends (notebook 1).
# Projected gradient *ascent* takes many small steps, each followed by a return into the
# ball:
#
# $$\delta := \mathcal{P}\Big(\delta + \alpha\, \nabla_\delta\, \ell\big(h_\theta(x+\delta), y\big)\Big),$$
#
# where $\mathcal{P}$ maps a point back onto the ball (under $\ell_\infty$: clip every
# coordinate to $[-\epsilon, \epsilon]$). Every version gives a lower bound on the inner
# maximization: the loss at a real point of the ball.

# %%
import matplotlib.pyplot as plt
import torch
import torch.nn as nn

from course_utils import config, records
from course_utils import attacks as package
from course_utils.checks import approx, check_claim, check_close, check_same
from course_utils.data import eval_subset
from course_utils.evaluate import error_table
from course_utils.exercises import check
from course_utils.models import load_model
from course_utils.plotting import plot_gradient_scales, plot_images, plot_loss_curves
from course_utils.widgets import attack_widget

torch.manual_seed(0)
models = {name: load_model(name) for name in ("dnn2", "dnn4", "cnn")}
cnn = models["cnn"]
X, y = eval_subset(config.N_EVAL)        # the first N_EVAL test images (1000 by default)
Xg, yg = X[:18], y[:18]                  # the chapter's 3 x 6 grid

# %% [markdown]
# ## The chapter in code: plain PGD
#
# The formula literally: a raw gradient step, then the clip.

# %%
def pgd(model, X, y, epsilon, alpha, num_iter):
    """Projected gradient ascent with raw steps alpha * g, clipped to the eps-box."""
    delta = torch.zeros_like(X, requires_grad=True)
    for t in range(num_iter):
        loss = nn.CrossEntropyLoss(reduction="sum")(model(X + delta), y)
        loss.backward()
        delta.data = (delta + alpha * delta.grad.detach()).clamp(-epsilon, epsilon)
        delta.grad.zero_()
    return delta.detach()


# %% [markdown]
# (The chapter averages the loss and multiplies $\alpha$ by the batch size to undo it;
# summing the loss gives the same steps.) Against the package's `pgd`, clamp off,
# $\alpha = 10^4$:

# %%
delta_plain = pgd(cnn, Xg, yg, 0.1, 1e4, 20)
check_same(delta_plain, package.pgd(cnn, Xg, yg, 0.1, 1e4, 20, clamp=False),
           "cnn, 18 images: our pgd = course_utils.attacks.pgd(clamp=False)")

# %% [markdown] tags=["question"]
# **Ask the room.** The chapter runs this attack with $\alpha = 10^4$, on pixels in $[0, 1]$
# and a ball of radius 0.1. Why would anyone take a step of ten thousand?

# %% [markdown]
# ## How large is the gradient?
#
# The chapter's mean $|g_i|$ at $\delta = 0$ is over a batch of 100 images, for the batch's
# *mean* loss; we take each image's own gradient (summed loss) and divide by 100:

# %% tags=["reveal"]
grads = {}
for name, model in models.items():
    delta0 = torch.zeros_like(X[:100], requires_grad=True)
    nn.CrossEntropyLoss(reduction="sum")(model(X[:100] + delta0), y[:100]).backward()
    grads[name] = delta0.grad.detach()
mean_grad = grads["cnn"].abs().mean().item()
print(f"CNN, mean |g_i| for the batch's mean loss: {approx(mean_grad / 100 * 1e6, 2)} × 10⁻⁶"
      "   (chapter: 1.83 × 10⁻⁶)")

# %% tags=["hide-input"]
check_close(mean_grad / 100 * 1e6, 5.32, 0.05, "CNN, mean |gradient| at δ = 0, in units of 1e-6:", show=False)
check_claim(2.5 < mean_grad / 100 / 1.83e-6 < 3.5, "about three times the chapter's", show=False)
check_claim(4 < 1e4 * mean_grad < 6, "α = 1e4 times an image's own mean |g_i| is about 5", show=False)

# %% [markdown]
# Ours is about three times the chapter's (another run of the recipe). An image's own
# gradient is 100 times that, about $5 \times 10^{-4}$ per entry on average: a raw step of
# $\alpha = 10^4$ moves the average entry by about 5, fifty times $\epsilon$.
#
# ### Exercise 3.1 — predict: how many entries does one raw step push to the edge?
#
# One raw step of $\alpha = 10^4$ from $\delta = 0$ moves entry $i$ by $10^4 |g_i|$ before
# the clip. What share of the CNN's 78,400 entries (these 100 images) does it take to the
# edge, $10^4 |g_i| \ge \epsilon = 0.1$? Commit to a number between 0 and 1 before the next
# section draws every entry.

# %% tags=["exercise"]
share = None
# BEGIN SOLUTION
share = 0.2
# END SOLUTION

# %%
check("3.1", share)

# %% [markdown]
# ## The spread of gradient scales
#
# Left, each image's mean $|g_i|$; right, every entry of these 100 images (log axis), with
# the line $|g_i| = \epsilon / \alpha$ for $\alpha = 10^4$: an entry to its right reaches
# $\pm\epsilon$ in one raw step.

# %% tags=["reveal"]
plot_gradient_scales(grads, alpha=1e4, epsilon=0.1)
plt.show()

# %% tags=["hide-input"]
entries = {name: g.abs() for name, g in grads.items()}
per_image = {name: e.flatten(1).mean(dim=1) for name, e in entries.items()}
reach = (1e4 * entries["cnn"] >= 0.1).float().mean()          # over every one of the 78,400 entries
check_close(reach, 0.214, 0.01, "CNN: share of all entries that one raw step of 1e4 takes to ±ε:", show=False)
check_claim(all(bool((e > 0).all()) for e in entries.values()), "no entry is exactly 0", show=False)
cnn_min, cnn_max = entries["cnn"].min(), entries["cnn"].max()
check_claim(bool(cnn_max > 1e11 * cnn_min), "the CNN's entries span more than eleven orders of magnitude", show=False)
top10 = per_image["cnn"].sort(descending=True).values[:10].sum() / per_image["cnn"].sum()
check_claim(bool(top10 > 0.9), "the CNN's 10 images with the largest gradients carry over 90% of the mean", show=False)
check_claim(15 < 0.1 / (1e4 * per_image["cnn"].median()) < 25,
            "the median CNN image's raw step moves an entry by about ε/20 on average", show=False)
check_claim(all(bool(s.max() > 1e3 * s.min()) for s in per_image.values()),
            "within each network, images' scales span more than three orders of magnitude", show=False)
between = per_image["dnn2"].median() / per_image["cnn"].median()
check_claim(bool(300 < between < 3000), "median image: dnn2's scale about a thousand times the CNN's", show=False)
check_claim(all(bool(s.max() / s.min() > between) for s in per_image.values()),
            "the spread within each network exceeds the gap between the networks' medians", show=False)
flat = {name: e.flatten(1) for name, e in entries.items()}
check_claim(all(bool((f.max(dim=1).values > 300 * f.min(dim=1).values).all()) for f in flat.values()),
            "within every image of every network, the largest entry is over 300 times the smallest", show=False)

# %% [markdown]
# The CNN's entries span more than eleven orders of magnitude; ten images with large
# gradients carry over 90% of the average. The median image's raw step moves its entries by
# about $\epsilon / 20$ on average; one step of $10^4$ takes only about a fifth of all entries
# to $\pm\epsilon$. Scales differ between networks (the median 2-layer image's is about a
# thousand times the median CNN image's) and, by more, between one network's images, which
# span over three orders of magnitude. Within each of these images, the largest entry
# is over 300 times the smallest.
#
# ## Many raw steps

# %% [markdown] tags=["question"]
# **Ask the room.** Is there one $\alpha$ that suits all three networks? One that suits every
# image of one network?

# %% tags=["reveal"]
alphas = (1, 1e2, 1e4)
sweep = {}
for name, model in models.items():
    for alpha in alphas:
        delta = pgd(model, Xg, yg, 0.1, alpha, 20)
        with torch.no_grad():
            sweep[name, alpha] = (model(Xg + delta).argmax(1) != yg).float().mean().item()
print(error_table({f"α = {a:g}": {name: sweep[name, a] for name in models} for a in alphas}, live=True,
                  title="plain pgd, 20 steps: share of the 18 grid images fooled"))

# %% tags=["hide-input"]
# shares of 18 images: tolerance one image
for (name, alpha), value in {("dnn2", 1): 14, ("cnn", 1): 2, ("dnn2", 1e2): 18, ("cnn", 1e2): 8,
                             ("dnn2", 1e4): 18, ("dnn4", 1e4): 18, ("cnn", 1e4): 14}.items():
    check_close(sweep[name, alpha], value / 18, 1 / 18, f"{name}, plain pgd, α = {alpha:g}, share fooled:", show=False)
check_claim(all(sweep[n, 1e4] > 0.5 for n in models) and all(min(sweep[n, a] for n in models) < 0.5 for a in (1, 1e2)),
            "only 1e4 fools most of the grid on every network", show=False)

# %% [markdown]
# $\alpha = 1$ fools the 2-layer network on most of the grid and the CNN on almost none;
# $\alpha = 100$ still falls short on the CNN; only $10^4$ fools most of the grid on every
# network. Twenty plain steps:

# %%
def input_gradient(model, X, y, delta):
    """Gradient of the summed cross-entropy with respect to the input, at X + delta."""
    delta = delta.clone().requires_grad_(True)
    nn.CrossEntropyLoss(reduction="sum")(model(X + delta), y).backward()
    return delta.grad.detach()


delta, past_edge, medians = torch.zeros_like(Xg), [], []
for t in range(20):
    g = input_gradient(cnn, Xg, yg, delta)
    past_edge.append((1e4 * g.abs() >= 0.1).float().mean().item())     # raw steps that overshoot ε
    medians.append(g.abs().median())
    delta = (delta + 1e4 * g).clamp(-0.1, 0.1)
at_edge = (delta.abs() > 0.0999).float().mean()
print("share of entries whose raw step 1e4·|g_i| ≥ ε, steps 1, 2, 3, 10, 20: "
      + ", ".join(approx(past_edge[t], 2) for t in (0, 1, 2, 9, 19)))
print(f"median |g_i| at step 3 / at step 1: 10^{approx((medians[2] / medians[0]).log10(), 1)};  "
      f"after 20 steps, share of entries at ±ε: {approx(at_edge)}")
with torch.no_grad():
    plot_images(Xg + delta_plain, yg, cnn(Xg + delta_plain), 3, 6)
plt.show()

# %% tags=["hide-input"]
check_same(delta, delta_plain, "the watched run is pgd's", show=False)
check_close(at_edge, 0.943, 0.01, "α = 1e4, 20 steps: share of the grid's entries at ±ε:", show=False)
check_claim(3.8 < (medians[2] / medians[0]).log10() < 4.8, "after two steps the median entry is ~1e4 times larger",
            show=False)
check_claim(past_edge[0] < 0.3 and all(p > 0.5 for p in past_edge[2:]),
            "step 1: under a third of the raw steps overshoot; from step 3 on, most do", show=False)

# %% [markdown]
# After 20 steps, 94% of the entries sit at $\pm\epsilon$. The first steps raise the loss,
# and the gradient grows with it: after two steps the median entry is about ten thousand
# times larger than at $\delta = 0$, and from the third step on most raw steps overshoot and
# are cut to $\pm\epsilon$.
#
# ## The chapter in code: normalised steps, `pgd_linf`
#
# The cure (notebook 4 derives it): move a fixed distance $\alpha$ in the steepest direction
# *for the ball's norm*, $\operatorname{sign}(g)$ under $\ell_\infty$:
#
# $$\delta := \operatorname{clip}_{[-\epsilon, \epsilon]}\big(\delta + \alpha \operatorname{sign}(g)\big).$$
#
# Each step is a small FGSM step: the gradient's size no longer matters, and $\alpha$ is a
# distance in the units of $\epsilon$. From $\delta = 0$ this is Kurakin et al.'s iterative
# FGSM; Madry et al.'s PGD starts from a random point of the ball (below).

# %%
def pgd_linf(model, X, y, epsilon, alpha, num_iter):
    """PGD under l-infinity: steps alpha * sign(g), clipped to the eps-box."""
    delta = torch.zeros_like(X, requires_grad=True)
    for t in range(num_iter):
        loss = nn.CrossEntropyLoss(reduction="sum")(model(X + delta), y)
        loss.backward()
        delta.data = (delta + alpha * delta.grad.detach().sign()).clamp(-epsilon, epsilon)
        delta.grad.zero_()
    return delta.detach()


# %%
delta_linf = pgd_linf(cnn, Xg, yg, epsilon=0.1, alpha=1e-2, num_iter=40)
check_same(delta_linf, package.pgd_linf(cnn, Xg, yg, 0.1, 1e-2, 40, clamp=False),
           "cnn, 18 images: our pgd_linf = course_utils.attacks.pgd_linf(clamp=False)")
with torch.no_grad():
    plot_images(Xg + delta_linf, yg, cnn(Xg + delta_linf), 3, 6)
plt.show()

# %% [markdown]
# The chapter's knobs: $\alpha$ a small fraction of $\epsilon$ (here a tenth), steps a small
# multiple of $\epsilon / \alpha$, so the iterate can cross the ball. On the grid both
# attacks fool the same images. The first 100 test images, 40 steps each:

# %%
X100, y100 = X[:100], y[:100]
d_plain, d_linf = pgd(cnn, X100, y100, 0.1, 1e4, 40), pgd_linf(cnn, X100, y100, 0.1, 1e-2, 40)
still = d_plain.flatten(1).abs().amax(dim=1) < 0.01      # images plain pgd barely moved
with torch.no_grad():
    fool_plain, fool_linf = cnn(X100 + d_plain).argmax(1) != y100, cnn(X100 + d_linf).argmax(1) != y100
print(f"share fooled: plain pgd (α = 1e4) {approx(fool_plain.float().mean(), 2)}, "
      f"pgd_linf (α = 0.01) {approx(fool_linf.float().mean(), 2)}")
print(f"share that plain pgd moved by less than 0.01 anywhere: {approx(still.float().mean(), 2)}")

# %% tags=["hide-input"]
with torch.no_grad():
    wrong_grid = {"plain": cnn(Xg + delta_plain).argmax(1) != yg, "linf": cnn(Xg + delta_linf).argmax(1) != yg}
check_claim(torch.equal(wrong_grid["plain"], wrong_grid["linf"]), "on the grid both attacks fool the same images",
            show=False)
check_close(fool_plain.float().mean(), 0.65, 0.02, "CNN, 100 images, plain pgd α = 1e4, share fooled:", show=False)
check_close(fool_linf.float().mean(), 0.78, 0.02, "CNN, 100 images, pgd_linf, share fooled:", show=False)
check_close(still.float().mean(), 0.13, 0.02, "CNN, 100 images, share plain pgd barely moved:", show=False)
check_claim(bool(per_image["cnn"][still].median() < 1e-3 * per_image["cnn"][~still].median()),
            "their median gradient scale is over a thousand times smaller than the others'", show=False)
check_claim(bool((still & fool_linf).any()), "pgd_linf fools some of them", show=False)

# %% [markdown]
# Plain PGD fools about two thirds of these images, `pgd_linf` nearly four in five. Plain PGD
# leaves about one image in eight almost where it was — their median gradient scale is over
# a thousand times smaller than the other images', so even $10^4 g_i$ stays far below
# $\epsilon$ — and `pgd_linf` fools some of them.
#
# The mean loss over the grid by step (0: the clean image):

# %%
def loss_per_step(model, X, y, epsilon, step, num_iter, delta=None):
    """Per-image loss at each iterate of delta := clip(delta + step(g)), from delta (default 0).
    Returns a tensor (number of images, num_iter + 1)."""
    delta = torch.zeros_like(X) if delta is None else delta.clone()
    losses = []
    for t in range(num_iter + 1):
        delta.requires_grad_(True)
        loss = nn.CrossEntropyLoss(reduction="none")(model(X + delta), y)
        losses.append(loss.detach())
        if t < num_iter:
            loss.sum().backward()
            delta = (delta + step(delta.grad)).clamp(-epsilon, epsilon).detach()
    return torch.stack(losses, dim=1)


steps = {"plain, α = 1": lambda g: 1.0 * g, "plain, α = 1e4": lambda g: 1e4 * g,
         "pgd": lambda g: 1e-2 * g.sign()}
curves = {what: loss_per_step(cnn, Xg, yg, 0.1, step, 40).mean(dim=0) for what, step in steps.items()}
plot_loss_curves(curves, ylabel="cross-entropy, mean over the 18 images",
                 title="CNN, ε = 0.1: raw steps of two sizes, normalised steps of 0.01 (pgd)")
plt.show()

# %% tags=["hide-input"]
check_same(curves["plain, α = 1e4"][20], package.per_example_loss(cnn, Xg, yg, delta_plain).mean(),
           "the traced plain run at step 20 = the loss of pgd's δ", atol=1e-4, show=False)
check_claim(bool(curves["plain, α = 1"][0] < curves["plain, α = 1"][40] < curves["plain, α = 1e4"][40]),
            "plain α = 1 creeps up, below plain α = 1e4", show=False)
check_claim(bool(curves["plain, α = 1e4"][2] > curves["pgd"][2]), "after 2 steps plain α = 1e4 is ahead", show=False)
check_claim(bool(curves["pgd"][10] > curves["plain, α = 1e4"][10]), "by step 10 the normalised steps are ahead",
            show=False)
check_claim(bool(curves["pgd"][40] > curves["plain, α = 1e4"][40] + 1), "they end more than 1 higher", show=False)
plain = curves["plain, α = 1e4"]
check_claim(bool(plain[2] > plain[0] + 1 and plain[40] - plain[10] < curves["pgd"][40] - curves["pgd"][10]),
            "raw steps of 1e4 jump in two steps, then gain less than the normalised steps", show=False)

# %% [markdown]
# Raw steps of 1 make the loss creep up; raw steps of $10^4$ jump at once, then gain less;
# normalised steps, 0.01 at a time, overtake them by step 10 and end more than one unit of
# loss higher.
#
# ## Test error under PGD, $\epsilon = 0.1$
#
# Ours (recorded once on all 10,000 test images, $\alpha = 0.01$, 40 steps) and the
# chapter's, FGSM beside:

# %%
full = {(a, c): {n: records.attack_error(a, n, c)["error"] for n in models}
        for a in ("fgsm", "pgd_linf") for c in (False, True)}
print(error_table({"FGSM": full["fgsm", False], "PGD": full["pgd_linf", False],
                   "PGD, chapter": records.PUBLISHED_ATTACK_ERRORS["pgd_linf"],
                   "PGD, clamp on": full["pgd_linf", True]},
                  title="error rate, full test set; clamp off (the chapter's setting) unless noted"))

# %% tags=["hide-input"]
gain = {n: full["pgd_linf", False][n] - full["fgsm", False][n] for n in models}
check_claim(all(0.97 <= full["pgd_linf", False][n] <= 0.98 for n in ("dnn2", "dnn4"))
            and round(full["pgd_linf", False]["cnn"], 2) == 0.73, "dense 97-98%, CNN 73%", show=False)
check_claim(all(abs(full["pgd_linf", False][n] - records.PUBLISHED_ATTACK_ERRORS["pgd_linf"][n]) < 0.015
                for n in models), "each within 1.5 points of the chapter's", show=False)
check_claim(gain["cnn"] > 3 * max(gain["dnn2"], gain["dnn4"]), "the CNN gains most, over three times", show=False)
check_claim(all(full["pgd_linf", c][n] > full["fgsm", c][n] for n in models for c in (False, True)),
            "PGD beats FGSM on every network, clamp off and on", show=False)
check_claim(all(full["pgd_linf", True][n] < full["pgd_linf", False][n] for n in models),
            "the clamp lowers every PGD error", show=False)

# %% [markdown]
# PGD fools the dense networks on 97–98% of the test set and the CNN on 73%, each within 1.5
# points of the chapter, and beats FGSM on every network, clamp off or on. The CNN gains
# most: from 0.454 to 0.731, more than three times either dense network's gain (the chapter:
# 0.417 → 0.743). With valid images (clamp on) every error is
# lower: the chapter's attack also uses pixels outside $[0, 1]$.
#
# ## Random restarts
#
# PGD can stall on a lower hill of the loss, depending on its start. So run PGD from
# several random points of the ball and keep **per image** the $\delta$ with the highest
# loss.

# %%
def pgd_linf_rand(model, X, y, epsilon, alpha, num_iter, restarts, generator):
    """pgd_linf from `restarts` uniform random starts in the box; per image the highest loss."""
    max_loss = torch.full(y.shape, -float("inf"), dtype=X.dtype)
    max_delta = torch.zeros_like(X)
    for i in range(restarts):
        delta = (2 * torch.rand(X.shape, generator=generator, dtype=X.dtype) - 1) * epsilon
        delta.requires_grad_(True)
        for t in range(num_iter):
            loss = nn.CrossEntropyLoss(reduction="sum")(model(X + delta), y)
            loss.backward()
            delta.data = (delta + alpha * delta.grad.detach().sign()).clamp(-epsilon, epsilon)
            delta.grad.zero_()
        all_loss = nn.CrossEntropyLoss(reduction="none")(model(X + delta), y)
        better = all_loss > max_loss       # ties keep the earlier restart
        max_delta[better] = delta.detach()[better]
        max_loss = torch.max(max_loss, all_loss)
    return max_delta


# %% [markdown]
# `pgd_linf_rand` runs all restarts as one batch, which may round differently in single
# precision: we compare in double.

# %%
dnn4_64, X64 = load_model("dnn4").double(), X[:20].double()
check_same(pgd_linf_rand(dnn4_64, X64, y[:20], 0.1, 1e-2, 40, 10, torch.Generator().manual_seed(0)),
           package.pgd_linf_rand(dnn4_64, X64, y[:20], 0.1, 1e-2, 40, 10, clamp=False,
                                 generator=torch.Generator().manual_seed(0)),
           "dnn4, 20 images, float64: our pgd_linf_rand = the package's (clamp off)")

# %% [markdown] tags=["question"]
# **Ask the room.** Ten restarts cost ten times as much. How much do you expect them to buy:
# a few more images fooled, or many?

# %% tags=["reveal"]
rand = records.attack_error("pgd_linf_rand", "cnn", False)["error"]
print(error_table({"PGD": {"cnn": full["pgd_linf", False]["cnn"]}, "10 restarts": {"cnn": rand},
                   "chapter, PGD": {"cnn": records.PUBLISHED_ATTACK_ERRORS["pgd_linf"]["cnn"]},
                   "chapter, 10 restarts": {"cnn": records.PUBLISHED_ATTACK_ERRORS["pgd_linf_rand"]["cnn"]}},
                  title="error rate, full test set, clamp off"))

# %% tags=["hide-input"]
check_claim(0.01 < rand - full["pgd_linf", False]["cnn"] < 0.03, "restarts add one to three points", show=False)

# %% [markdown]
# About two points, for ten times the price, in the chapter as here. Test image 3, a 0: the
# loss along PGD from $\delta = 0$ and from the ten random starts that `pgd_linf_rand` (seed
# 0) draws for it in a batch of the first 20 images (thin; the best thick):

# %%
k, R = 3, 10
generator = torch.Generator().manual_seed(0)
starts = torch.stack([(2 * torch.rand(X[:20].shape, generator=generator) - 1) * 0.1 for _ in range(R)])[:, k]
paths = loss_per_step(cnn, X[k:k + 1].repeat(R, 1, 1, 1), y[k:k + 1].repeat(R), 0.1,
                      lambda g: 1e-2 * g.sign(), 40, delta=starts)
from_zero = loss_per_step(cnn, X[k:k + 1], y[k:k + 1], 0.1, lambda g: 1e-2 * g.sign(), 40)
plot_loss_curves({"pgd_restarts": paths, "pgd": from_zero[0]}, ylabel=f"cross-entropy of image {k}",
                 title=f"CNN, image {k} (a {y[k].item()}): PGD from δ = 0 and from 10 random starts")
plt.show()

# %% tags=["hide-input"]
runs = package.projected_steepest_ascent(cnn, X[k:k + 1].repeat(R, 1, 1, 1), y[k:k + 1].repeat(R), 0.1, 1e-2, 40,
                                         clamp=False, delta_init=starts)
best = package.best_per_example(cnn, X[k:k + 1], y[k:k + 1], runs[:, None])
check_same(package.per_example_loss(cnn, X[k:k + 1], y[k:k + 1], best)[0], paths[:, -1].max(),
           "the best path ends at the loss of the package's best restart (same starts)", atol=1e-4, show=False)
high = paths[:, -1] > 1.0
check_claim(bool(from_zero[0, -1] < 0.5), "from δ = 0, PGD stops below loss 0.5 (still classified right)", show=False)
check_claim(int(high.sum()) == 1 and bool((paths[~high, -1] < 0.5).all()),
            "one restart of ten climbs above loss 1, the other nine stay below 0.5", show=False)
with torch.no_grad():
    check_claim(bool(cnn(X[k:k + 1] + best).argmax(1) != y[k]), "the best restart misclassifies the image",
                show=False)

# %% [markdown]
# From $\delta = 0$ PGD stops at a low loss on this image, and so do nine of the ten random
# starts; one climbs past a loss of 1 and ends where the image is misclassified.
#
# ## Try it
#
# `pgd` takes raw steps (try α = 0.01, 1 and 10⁴ on each model), `pgd_linf` normalised
# ones, `pgd_linf_rand` one random start; α is a distance for `pgd_linf`, a multiplier of the
# gradient for `pgd`. Error on the first 50 test images.

# %% tags=["nbval-ignore-output"]
attack_widget(models, X[:50], y[:50], attack=["pgd_linf", "pgd", "pgd_linf_rand"],
              epsilon=0.1, alpha=0.01, num_iter=40, alpha_range=(1e-3, 1e5))

# %% [markdown]
# ## Exercises
#
# ### Exercise 3.2 — PGD with momentum
#
# Sign steps follow the gradient of the moment. MI-FGSM (Dong et al., 2018) follows a running
# sum of past gradient directions instead, which smooths the path through a loss that bends:
#
# $$m := \mu\, m + \frac{g}{\|g\|_1}, \qquad \delta := \operatorname{clip}_{[-\epsilon, \epsilon]}\big(\delta + \alpha \operatorname{sign}(m)\big),$$
#
# from $m = 0$ and $\delta = 0$, with $g$ the gradient of the loss at the current $\delta$
# and the $\ell_1$ norm taken over each image. Write
# `pgd_momentum(model, X, y, epsilon, alpha, num_iter, mu)`, returning $\delta$ (no clamp,
# like `pgd_linf`). With $\mu = 0$ it is `pgd_linf`.

# %% tags=["exercise"]
def pgd_momentum(model, X, y, epsilon, alpha, num_iter, mu):
    # BEGIN SOLUTION
    delta = torch.zeros_like(X, requires_grad=True)
    m = torch.zeros_like(X)
    for _ in range(num_iter):
        loss = nn.functional.cross_entropy(model(X + delta), y, reduction="sum")
        (g,) = torch.autograd.grad(loss, delta)
        m = mu * m + g / g.abs().flatten(1).sum(dim=1).reshape(-1, 1, 1, 1)
        delta = (delta + alpha * m.sign()).clamp(-epsilon, epsilon).detach().requires_grad_(True)
    return delta.detach()
    # END SOLUTION


# %%
check("3.2", pgd_momentum)

# %% [markdown]
# ### Exercise 3.3 — investigate: the step size and the number of steps
#
# The chapter's rule: $\alpha$ a small fraction of $\epsilon$, steps a small multiple of
# $\epsilon / \alpha$. Test it. On the 2-layer network, the first 500 test images, valid
# images (the package's `pgd_linf`, clamp on by default), $\epsilon = 0.1$ and 40 steps,
# measure the error for $\alpha$ = 0.001, 0.0025, 0.01 and 0.1, and give them as a dict
# `{alpha: error}`.

# %% tags=["exercise"]
errors = None
# BEGIN SOLUTION
X500, y500 = X[:500], y[:500]
errors = {}
for alpha in (0.001, 0.0025, 0.01, 0.1):
    delta = package.pgd_linf(models["dnn2"], X500, y500, 0.1, alpha, 40)
    with torch.no_grad():
        errors[alpha] = (models["dnn2"](X500 + delta).argmax(1) != y500).float().mean().item()
# END SOLUTION

# %%
check("3.3", errors)

# %% [markdown]
# ### Exercise 3.4 — explain: which images did plain PGD leave alone?
#
# Plain PGD with $\alpha = 10^4$ barely moved about one image in eight of the first 100:
# their gradients are over a thousand times smaller than the others' (median). Which images
# are they?
#
# - `"a"`: images the CNN already gets wrong, so the loss has nothing left to gain there
# - `"b"`: images the CNN is sure of, where $\partial\ell/\partial z = p - e_y$ is tiny
# - `"c"`: images with much white background, where the clamp forbids most of the moves
# - `"d"`: images right next to a decision boundary, where the loss surface is flat

# %% tags=["exercise"]
answer = None
# BEGIN SOLUTION
answer = "b"
# END SOLUTION

# %%
check("3.4", answer)

# %% [markdown]
# The evidence: each image's clean margin $z_y - \max_{j \ne y} z_j$.

# %%
with torch.no_grad():
    z = cnn(X100)
margin = z.gather(1, y100[:, None])[:, 0] - z.scatter(1, y100[:, None], float("-inf")).amax(dim=1)
print(f"images plain pgd left alone: smallest margin {approx(margin[still].min(), 1)}; "
      f"the other images: median margin {approx(margin[~still].median(), 1)}")

# %% tags=["hide-input"]
check_claim(bool((margin[still] > 17).all()), "every image plain pgd left alone is classified right with margin > 17",
            show=False)
check_claim(bool(margin[~still].median() < 13), "the other images' median margin is below 13", show=False)

# %% [markdown]
# ## What we learned
#
# * PGD repeats "step, then project". A raw step moves each entry by $\alpha |g_i|$, and
#   gradient entries span orders of magnitude between networks, between images and within
#   every image: no single $\alpha$ suits every image.
# * One raw step of $10^4$ moves only a fifth of the CNN's entries to $\pm\epsilon$; the steps
#   add up, and the gradient grows as the loss rises.
# * Normalised steps, $\alpha \operatorname{sign}(g)$ under $\ell_\infty$, make $\alpha$ a
#   distance; 40 steps of 0.01 beat one FGSM step of 0.1 on every network.
# * Random restarts find higher local maxima on some images: about two points of error on
#   the CNN, at ten times the price.
#
# ## References
#
# * A. Madry et al. "Towards deep learning models
#   resistant to adversarial attacks." ICLR 2018 (PGD with random starts).
# * A. Kurakin, I. Goodfellow, S. Bengio. "Adversarial examples in the physical world."
#   ICLR 2017 workshop (the iterative FGSM).
# * Y. Dong et al. "Boosting adversarial attacks
#   with momentum." CVPR 2018 (MI-FGSM).
# * J. Z. Kolter and A. Madry. *Adversarial Robustness: Theory and Practice*, NeurIPS 2018
#   tutorial, chapter 3, <https://adversarial-ml-tutorial.org/adversarial_examples/>.
