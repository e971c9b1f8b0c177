# %% [markdown]
# # 3. Projected gradient descent (PGD)
#
# *Course: "Adversarial examples, solving the inner maximization" — after chapter 3 of
# Kolter & Madry, "Adversarial Robustness: Theory and Practice".*
#
# FGSM takes one step, as large as the ball allows, and stops. On a network whose loss
# bends and folds (notebook 1) that single step can land far from the best point in the ball.
# The obvious remedy is to take **many small steps**, each followed by a return into the
# ball. That is projected gradient descent — or rather ascent, since we maximise:
#
# $$\delta := \mathcal{P}\Big(\delta + \alpha\, \nabla_\delta\, \ell\big(h_\theta(x+\delta), y\big)\Big),$$
#
# where $\mathcal{P}$ maps a point back onto the ball $\{\|\delta\| \le \epsilon\}$ (for
# $\ell_\infty$: clip every coordinate to $[-\epsilon, \epsilon]$). There are now more knobs —
# the step size $\alpha$, the number of steps — and, as we will see, the plain version of the
# update has a trap in it. Like FGSM, every version gives a lower bound on the inner
# maximization: the loss at a real point of the ball.

# %%
import copy

import matplotlib.pyplot as plt
import torch
import torch.nn as nn

from course_utils import config, records
from course_utils import attacks as package
from course_utils.checks import approx, check_claim, check_close, check_same
from course_utils.data import eval_subset
from course_utils.evaluate import comparison_table, epoch_adversarial, tensor_loader
from course_utils.exercises import check
from course_utils.models import load_model
from course_utils.plotting import plot_error_vs_epsilon, plot_images, plot_loss_curves
from course_utils.widgets import attack_widget

torch.manual_seed(0)
models = {name: load_model(name) for name in ("dnn2", "dnn4", "cnn")}
cnn = models["cnn"]
X, y = eval_subset(config.N_EVAL)        # first N_EVAL test images (1000 by default)
N_CNN, N_RESTARTS = 50, 20               # the CNN is slow on a CPU: smaller live subsets
Xg, yg = X[:18], y[:18]                  # the chapter's 3 x 6 grid

# %% [markdown]
# ## The chapter in code: plain PGD
#
# The first version follows the formula literally: step along the raw gradient, then clip.

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
# (The chapter averages the loss over the batch and multiplies $\alpha$ by the batch size to
# undo it; summing the loss does the same in one go, and each image's step then does not
# depend on how many images share the batch.) Against the package's `pgd`, clamp off, with
# the chapter's $\alpha = 10^4$:

# %%
delta_plain = pgd(cnn, Xg, yg, 0.1, 1e4, 20)
check_same(delta_plain, package.pgd(cnn, Xg, yg, 0.1, 1e4, 20, clamp=False),
           "cnn, 18 images: our pgd = course_utils.attacks.pgd(clamp=False)")

# %% [markdown]
# The package's `pgd` is the same loop written once for every attack of the course
# (`projected_steepest_ascent`), on the model's device, with argument checks and the
# optional [0, 1] clamp.

# %% [markdown] tags=["question"]
# **Ask the room.** The chapter runs this attack with $\alpha = 10^4$ on pixels that live in
# $[0, 1]$ and a ball of radius 0.1. Why would anyone take a step of ten thousand?

# %% [markdown]
# ## Why the step size must be huge
#
# Let us look at how large the gradient actually is at the clean image, $\delta = 0$. As in
# the chapter we take the mean loss over a batch of 100 images and average $|g_i|$ over all
# pixels of all images:

# %%
delta0 = torch.zeros_like(X[:100], requires_grad=True)
nn.CrossEntropyLoss()(cnn(X[:100] + delta0), y[:100]).backward()
mean_grad = delta0.grad.abs().mean().item()
print(f"mean |gradient| at δ = 0 (CNN, batch mean loss): {approx(mean_grad * 1e6, 2)} × 10⁻⁶"
      "   (chapter: 1.83 × 10⁻⁶)")

# %% tags=["hide-input"]
check_close(mean_grad * 1e6, 5.32, 0.05, "CNN, mean |gradient| at δ = 0, in units of 1e-6:")
check_claim(2.5 < mean_grad * 1e6 / 1.83 < 3.5, "about three times the chapter's")

# %% [markdown]
# A few millionths (ours is about three times the chapter's: another training run of the
# same recipe). Averaging the loss over the batch divides each image's gradient by 100;
# undone, the average is about $5 \times 10^{-4}$ per pixel, still tiny. A gradient step of
# size $\alpha$ moves a pixel by about $\alpha$ times that, so to move it by anything like
# $\epsilon = 0.1$ we need $\alpha$ in the thousands. With an ordinary step size, nothing
# happens:

# %%
runs = {1e-2: pgd(cnn, Xg, yg, 0.1, 1e-2, 20), 1e4: delta_plain}
for alpha, delta in runs.items():
    with torch.no_grad():
        fooled = (cnn(Xg + delta).argmax(1) != yg).sum().item()
    at_edge = (delta.abs() > 0.0999).float().mean().item()
    print(f"plain pgd, α = {alpha:g}, 20 steps: max |δ| = {approx(delta.abs().max(), 4)}, "
          f"share of pixels at ±ε {approx(at_edge)}, images fooled {approx(fooled, 0)} of 18")

# %% tags=["hide-input"]
check_claim(bool(runs[1e-2].abs().max() < 0.01), "α = 0.01: no pixel moves by 0.01")
check_close(at_edge, 0.943, 0.01, "α = 1e4: share of pixels at ±ε:")
check_close(fooled, 14, 1, "α = 1e4: images fooled of 18:")

# %% [markdown]
# With $\alpha = 10^{-2}$ no pixel moves by even 0.01 and no image is fooled. With
# $\alpha = 10^4$, after 20 steps, 94% of the pixels sit at the edge of the box and 14 of
# the 18 images are fooled. The chapter runs 1000 such steps; we run 20 to keep the
# notebook quick. Here is its grid on the CNN (clamp off, as in the chapter):

# %%
with torch.no_grad():
    plot_images(Xg + delta_plain, yg, cnn(Xg + delta_plain), 3, 6)
plt.show()

# %% [markdown]
# ## A raw step must be tuned to the gradient's scale
#
# $\alpha = 10^4$ works here because it was chosen for this network's gradients. How much do
# gradients differ? Per image (the loss summed, so each image's gradient is its own), here is
# the mean $|g_i|$ over the pixels at $\delta = 0$ — smallest, median and largest over the
# first 100 test images, for each network:

# %%
scale = {}
for name, model in models.items():
    d0 = torch.zeros_like(X[:100], requires_grad=True)
    nn.CrossEntropyLoss(reduction="sum")(model(X[:100] + d0), y[:100]).backward()
    scale[name] = d0.grad.flatten(1).abs().mean(dim=1)
    q = scale[name]
    print(f"{name:5s} per-image mean |g|: smallest ≈{q.min():.0e}, median ≈{q.median():.0e}, "
          f"largest ≈{q.max():.0e}")

# %% tags=["hide-input"]
check_claim(all(bool(s.max() > 1e3 * s.min()) for s in scale.values()),
            "within each network the scale spans more than three orders of magnitude")
check_claim(bool(300 < scale["dnn2"].median() / scale["cnn"].median() < 3000),
            "median scale: dnn2 about a thousand times the CNN's")
check_claim(all(bool(s.max() / s.min() > scale["dnn2"].median() / scale["cnn"].median()) for s in scale.values()),
            "the spread within each network exceeds the gap between the networks' medians")
for name, model in models.items():  # confident images (low loss) have flat losses around them
    order = package.per_example_loss(model, X[:100], y[:100], torch.zeros_like(X[:100])).argsort()
    check_claim(bool(scale[name][order[-10:]].median() > 100 * scale[name][order[:10]].median()),
                f"{name}: the 10 highest-loss images' median scale > 100 x the 10 lowest-loss images'")

# %% [markdown]
# The scale differs by orders of magnitude **between networks** (the median CNN image's
# gradient is about a thousand times smaller than the median 2-layer network image's) and,
# even more, **between images of one network**: a confidently classified image has a nearly
# flat loss around it, a doubtful one a steep loss (for each network, the ten images with the
# highest clean loss have gradients over a hundred times larger than the ten with the
# lowest).

# %% [markdown] tags=["question"]
# **Ask the room.** A step size that works for the 2-layer network: will it work for the
# CNN? And is there one $\alpha$ that suits every image of one network?

# %%
alphas = (1, 1e2, 1e4)
sweep = {}
for name, model in models.items():
    for alpha in alphas:
        delta = pgd(model, Xg, yg, 0.1, alpha, 20)
        with torch.no_grad():
            sweep[name, alpha] = (model(Xg + delta).argmax(1) != yg).sum().item()
    print(f"{name:5s} images fooled of 18 by plain pgd, 20 steps:  " +
          "   ".join(f"α = {a:g}: {approx(sweep[name, a], 0)}" for a in alphas))

# %% tags=["hide-input"]
# counts of 18 images: tolerance 1 image
for (name, alpha), value in {("dnn2", 1): 14, ("cnn", 1): 2, ("dnn2", 1e2): 18, ("cnn", 1e2): 8,
                             ("dnn2", 1e4): 18, ("dnn4", 1e4): 18, ("cnn", 1e4): 14}.items():
    check_close(sweep[name, alpha], value, 1, f"{name}, plain pgd, α = {alpha:g}, images fooled of 18:")

# %% [markdown]
# $\alpha = 1$ fools the 2-layer network on 14 of the 18 images and the CNN on 2; $\alpha =
# 100$ is enough for the 2-layer network and still too small for the CNN (8 of 18). Only
# $\alpha = 10^4$ serves all three networks on these images — and at that size most raw
# steps $\alpha g_i$ are far larger than $\epsilon$, so the clip cuts them to $\pm\epsilon$:
# the plain attack has quietly become a sequence of full-size sign steps. That rescue has a
# limit: an image whose gradient is smaller still does not move at all. We will see it once
# we have the cure.
#
# ## The chapter in code: normalised steps, `pgd_linf`
#
# The cure (notebook 4 shows it in a picture) is to **normalise** the step: move a fixed
# distance $\alpha$ in the direction of steepest ascent *for the norm of the ball*. Under
# $\ell_\infty$ that direction is $\operatorname{sign}(g)$:
#
# $$\delta := \operatorname{clip}_{[-\epsilon, \epsilon]}\big(\delta + \alpha \operatorname{sign}(g)\big).$$
#
# Each step is a small FGSM step — PGD under $\ell_\infty$ is "mini-FGSM, repeated". The
# gradient's size no longer matters, only its direction, and $\alpha$ is a distance, in the
# same units as $\epsilon$. This is the PGD of the literature.

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
# How to choose the knobs: $\alpha$ a small fraction of $\epsilon$ (here a tenth), and a
# number of steps a small multiple of $\epsilon / \alpha$, so that the iterate can cross the
# ball a few times (here 40 steps of 0.01 for a ball of radius 0.1). How does this grid
# compare with plain PGD's above, and with FGSM's (notebook 02) on the same 18 images?

# %%
delta_fgsm = package.fgsm(cnn, Xg, yg, 0.1, clamp=False)
with torch.no_grad():
    wrong = {"FGSM": cnn(Xg + delta_fgsm).argmax(1) != yg,
             "plain pgd, α = 1e4": cnn(Xg + delta_plain).argmax(1) != yg,
             "pgd_linf, α = 0.01": cnn(Xg + delta_linf).argmax(1) != yg}
for what, w in wrong.items():
    print(f"CNN, {what:19s} fools {approx(w.sum().item(), 0)} of the 18 grid images")

# %% tags=["hide-input"]
check_close(wrong["FGSM"].sum().item(), 11, 1, "CNN, FGSM, images fooled of 18:")
check_close(wrong["pgd_linf, α = 0.01"].sum().item(), 14, 1, "CNN, pgd_linf, images fooled of 18:")
check_claim(bool((wrong["plain pgd, α = 1e4"] == wrong["pgd_linf, α = 0.01"]).all()),
            "plain pgd at α = 1e4 and pgd_linf fool the same images of the 18")

# %% [markdown]
# On these 18 images plain PGD at $\alpha = 10^4$ and `pgd_linf` fool exactly the same 14,
# and FGSM only 11: plain PGD with a huge $\alpha$ is not FGSM in disguise but repeated
# full-size sign steps, and it does as well as the normalised attack — *here*, on images
# whose gradients $\alpha = 10^4$ was tuned for. On more images the limit shows. The first
# 100 test images, both attacks with 40 steps:

# %%
X100, y100 = X[:100], y[:100]
d_plain, d_linf = pgd(cnn, X100, y100, 0.1, 1e4, 40), pgd_linf(cnn, X100, y100, 0.1, 1e-2, 40)
still = d_plain.flatten(1).abs().max(dim=1).values < 0.01   # images plain pgd barely moved
with torch.no_grad():
    fool_plain, fool_linf = (cnn(X100 + d_plain).argmax(1) != y100), (cnn(X100 + d_linf).argmax(1) != y100)
print(f"plain pgd (α = 1e4) fools {approx(fool_plain.sum().item(), 0)} of 100, "
      f"pgd_linf (α = 0.01) {approx(fool_linf.sum().item(), 0)}")
print(f"images plain pgd moved by less than 0.01 anywhere: {approx(still.sum().item(), 0)}; "
      f"of them fooled by pgd_linf: {approx((still & fool_linf).sum().item(), 0)}")
print(f"their median gradient scale ≈{scale['cnn'][still].median():.0e}, "
      f"the other images' ≈{scale['cnn'][~still].median():.0e} (the table above)")

# %% tags=["hide-input"]
check_close(fool_plain.sum().item(), 65, 2, "CNN, 100 images, plain pgd α = 1e4, fooled:")
check_close(fool_linf.sum().item(), 78, 2, "CNN, 100 images, pgd_linf, fooled:")
check_close(still.sum().item(), 13, 2, "CNN, 100 images, images plain pgd barely moved:")
check_claim(bool(scale["cnn"][still].median() < 1e-3 * scale["cnn"][~still].median()),
            "their median gradient is over a thousand times smaller than the others'")
check_claim(bool((still & fool_linf).sum() >= 1), "pgd_linf fools some of them")
check_claim(bool(fool_linf.sum() > fool_plain.sum() + 5), "pgd_linf fools more than 5 images more")

# %% [markdown]
# On 100 images the normalised attack fools 78 and the plain one 65. Plain PGD leaves 13 of
# the images almost where they were: their gradients are over a thousand times smaller than
# the other images' (median), so even $10^4 \times g_i$ stays far below $\epsilon$ — and
# `pgd_linf` fools some of them. No single raw step size suits every image, because the
# gradient's scale varies by orders of magnitude between images; a normalised step moves
# every image by the same distance $\alpha$ per step, whatever its gradient's scale.
#
# The loss tells the same story step by step. Here is the mean cross-entropy over the 18
# grid images after each step, for plain steps of three sizes and for normalised steps:

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


steps = {"plain, α = 0.01": lambda g: 1e-2 * g, "plain, α = 1": lambda g: 1.0 * g,
         "plain, α = 1e4": lambda g: 1e4 * g, "normalised, α = 0.01": lambda g: 1e-2 * g.sign()}
curves = {what: loss_per_step(cnn, Xg, yg, 0.1, step, 40).mean(dim=0) for what, step in steps.items()}
shown = (0, 1, 2, 5, 10, 20, 40)
print(f"{'CNN, mean loss after step':26s}" + "".join(f"{t:>8d}" for t in shown))
for what, c in curves.items():
    print(f"{what:26s}" + "".join(f"{approx(c[t], 2):>8s}" for t in shown))
plot_loss_curves({("pgd" if what.startswith("normalised") else what): c for what, c in curves.items()},
                 ylabel="cross-entropy, mean over the 18 images",
                 title="CNN, ε = 0.1: plain steps of three sizes and normalised steps of 0.01")
plt.show()

# %% tags=["hide-input"]
check_same(curves["plain, α = 1e4"][20], package.per_example_loss(cnn, Xg, yg, delta_plain).mean(),
           "the traced plain run at step 20 = the loss of pgd's δ", atol=1e-4)
check_claim(bool(curves["plain, α = 0.01"][40] - curves["plain, α = 0.01"][0] < 0.01),
            "plain steps of 0.01: the loss does not move")
check_claim(bool(curves["plain, α = 1"][1] < curves["plain, α = 1"][40] < curves["plain, α = 1e4"][40]),
            "plain α = 1 creeps up, below plain α = 1e4")
check_claim(bool(curves["plain, α = 1e4"][2] > curves["normalised, α = 0.01"][2]),
            "after 2 steps plain α = 1e4 is ahead")
check_claim(bool(curves["normalised, α = 0.01"][10] > curves["plain, α = 1e4"][10]),
            "by step 10 the normalised steps are ahead")
check_claim(bool(curves["normalised, α = 0.01"][40] > curves["plain, α = 1e4"][40] + 1),
            "after 40 steps the normalised steps end more than 1 higher")

# %% [markdown]
# Plain steps of 0.01 leave the loss where it was (the flat line), and plain steps of 1 make
# it creep up. Plain steps of $10^4$ jump at once — each is a full-size step to the edge of
# the box — and then stall; the normalised steps (PGD's colour) start slowly, 0.01 at a
# time, overtake them by step 10 and end more than one unit of loss higher.
#
# ## Test error under PGD, $\epsilon = 0.1$, $\alpha = 0.01$, 40 steps
#
# Dense networks on the first `N_EVAL` test images; the CNN, forty times slower than FGSM, on
# the first `N_CNN` = 50 images only; FGSM on the same images beside it. The "recorded"
# columns come from the record `attack_errors` (`records.attack_error`, command in each entry); their "(n)"
# column is the number of test images of the recorded runs — 10000 is the full test set.

# %%
live, live_fgsm, n_live = {}, {}, {}
for name, model in models.items():
    n_live[name] = N_CNN if name == "cnn" else len(y)
    loader = tensor_loader(X[:n_live[name]], y[:n_live[name]], batch_size=500)
    live[name] = {clamp: epoch_adversarial(model, loader, package.pgd_linf, 0.1, 1e-2, 40, clamp=clamp,
                                           progress=False)[0] for clamp in (False, True)}
    live_fgsm[name] = {clamp: epoch_adversarial(model, loader, package.fgsm, 0.1, clamp=clamp,
                                                progress=False)[0] for clamp in (False, True)}
print(comparison_table("pgd_linf", live, n_live))
print("FGSM on the same images:  " + "   ".join(
    f"{name} {approx(e[False])} / {approx(e[True])}" for name, e in live_fgsm.items()) + "   (off / on)")

# %% tags=["hide-input"]
if len(y) == 1000:  # tolerance: 2/n for a rate over n images (n = 1000 dense, 50 CNN)
    quoted = {"dnn2": (0.982, 0.852), "dnn4": (0.988, 0.886), "cnn": (0.760, 0.620)}
    for name, errors in quoted.items():
        for clamp, value in zip((False, True), errors):
            check_close(live[name][clamp], value, 0.004 if name != "cnn" else 0.04,
                        f"{name}, PGD error, clamp {'on' if clamp else 'off'}:")
check_claim(all(live[n][c] > live_fgsm[n][c] for n in models for c in (False, True)),
            "on the same images PGD fools every network more often than FGSM, clamp on or off")
full = {a: {n: records.attack_error(a, n, False)["error"] for n in models} for a in ("fgsm", "pgd_linf")}
gain = {n: full["pgd_linf"][n] - full["fgsm"][n] for n in models}
check_claim(gain["cnn"] > 3 * max(gain["dnn2"], gain["dnn4"]),
            "full test set, clamp off: PGD's gain over FGSM is largest for the CNN")
check_claim(all(abs(full["pgd_linf"][n] - records.attack_error("pgd_linf", n, False)["published"]) < 0.015 for n in models),
            "full test set, clamp off: within 1.5 points of the chapter's PGD errors")
check_claim(all(live[n][True] < live[n][False] for n in models), "the clamp lowers every error")
check_claim(all(0.97 <= full["pgd_linf"][n] <= 0.98 for n in ("dnn2", "dnn4"))
            and round(full["pgd_linf"]["cnn"], 2) == 0.73, "full test set: dense 97-98%, CNN 73%")

# %% [markdown]
# **Reading the table.** Clamp off, as in the chapter: on the full test set (recorded
# columns) the dense networks are fooled on 97–98% of the images and the CNN on 73%, each
# within 1.5 points of the chapter's. On the same images, every live error is higher than
# FGSM's. The CNN, the network that FGSM fooled least, is where the many steps pay off most:
# on the full test set its error rises from 0.454 under FGSM (notebook 02) to 0.731, more
# than three times the gain of either dense network — as in the chapter (0.417 → 0.743).
#
# With the clamp on, every error drops: many of the chapter's winning moves push background
# pixels below 0 or ink above 1. Against valid images PGD is still stronger than FGSM.
#
# ## Error against $\epsilon$
#
# The same attack for a range of radii, with $\alpha = \epsilon / 10$ and 40 steps (the same
# rule as above), clamp off and on, beside FGSM on the same images (one gradient per network
# serves every $\epsilon$, notebook 02): the dense networks on the first `N_EVAL` images,
# the CNN on the first `N_CNN`.

# %%
def error(model, X, y, delta):
    with torch.no_grad():
        return (model(X + delta).argmax(1) != y).float().mean().item()


eps_list = (0.02, 0.05, 0.1, 0.2, 0.3)
pgd_curves, fgsm_curves = {}, {}
for name, model in models.items():
    Xn, yn = X[:n_live[name]], y[:n_live[name]]
    sign_g = package.fgsm(model, Xn, yn, 1.0, clamp=False)   # FGSM's direction serves every ε
    for clamp in (False, True):
        fgsm_curves[name, clamp] = [error(model, Xn, yn, package.clamp_images(Xn, e * sign_g) if clamp
                                          else e * sign_g) for e in eps_list]
        pgd_curves[name, clamp] = [live[name][clamp] if e == 0.1 else error(
            model, Xn, yn, package.pgd_linf(model, Xn, yn, e, e / 10, 40, clamp=clamp)) for e in eps_list]
        for what, c in (("PGD ", pgd_curves), ("FGSM", fgsm_curves)):
            print(f"{name:4s} (n = {len(yn):4d}) clamp {'on ' if clamp else 'off'} {what} " +
                  "  ".join(f"ε={e:<4g} {approx(v)}" for e, v in zip(eps_list, c[name, clamp])))
plot_error_vs_epsilon([{"method": method, "model": f"{name} (first {n_live[name]} images)", "clamp": clamp,
                        "epsilon": eps_list, "error": c[name, clamp]}
                       for name in models for method, c in (("fgsm", fgsm_curves), ("pgd", pgd_curves))
                       for clamp in (False, True)])
plt.show()

# %% tags=["hide-input"]
check_claim(all(c[i] <= c[i + 1] for c in pgd_curves.values() for i in range(len(eps_list) - 1)),
            "every error grows with ε")
check_claim(all(pgd_curves[n, c][i] >= 0.99 for n in models for c in (False, True) for i in (-2, -1)),
            "at ε = 0.2 and 0.3 PGD fools every network on at least 99% of the images")
check_claim(all(p >= f for k in pgd_curves for p, f in zip(pgd_curves[k], fgsm_curves[k])),
            "on the same images PGD's error is at least FGSM's at every ε")
check_claim(fgsm_curves["cnn", False][-1] < 0.95, "FGSM at ε = 0.3 leaves the CNN below 95%")
widest = {(n, c): max(p - f for p, f in zip(pgd_curves[n, c], fgsm_curves[n, c])) for n, c in pgd_curves}
check_claim(all(widest["cnn", c] > max(widest["dnn2", c], widest["dnn4", c]) for c in (False, True)),
            "the largest gap between PGD and FGSM is the CNN's, clamp on or off")

# %% [markdown]
# Every error grows with $\epsilon$, and PGD's curve (triangles) lies on or above FGSM's
# (squares) at every radius, clamp on (solid) or off (dashed). From $\epsilon = 0.2$ on, PGD
# fools every network, the CNN included, on at least 99% of the images, clamp on or off,
# while FGSM still leaves the CNN below 95% at $\epsilon = 0.3$: the CNN's panel is where the
# two attacks differ most.
#
# ## Random restarts
#
# PGD climbs to a local maximum of the loss in the ball, and which one depends on where it
# starts. The chapter's last trick: start from several random points, drawn uniformly in the
# ball, run PGD from each, and keep **per example** the result with the highest loss.
#
# ## The chapter in code: `pgd_linf_rand`

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
# The package's `pgd_linf_rand` runs all the restarts as one batch — ten restarts of 20
# images are one batch of 200 — which is much faster on a CPU. In single precision a larger
# batch may round differently, and after forty sign steps one flipped sign can move a pixel,
# so we compare the two in double precision, on the 4-layer network:

# %%
dnn4_64, X64 = copy.deepcopy(models["dnn4"]).double(), X[:20].double()
check_same(pgd_linf_rand(dnn4_64, X64, y[:20], 0.1, 1e-2, 40, 10, torch.Generator().manual_seed(0)),
           package.pgd_linf_rand(dnn4_64, X64, y[:20], 0.1, 1e-2, 40, 10, clamp=False,
                                 generator=torch.Generator().manual_seed(0)),
           "dnn4, 20 images, float64: our pgd_linf_rand = the package's (clamp off)")

# %% [markdown]
# Besides the batching, the package's version draws its random starts on the CPU from a
# seeded generator (the same starts on any device) and can clamp. Restarts multiply the cost
# by their number, so we run them live on the CNN for the first `N_RESTARTS` = 20 images
# only, 10 restarts, clamp off as in the chapter; the recorded run used the first "(n)" test
# images.

# %% [markdown] tags=["question"]
# **Ask the room.** Ten restarts cost ten times as much. How much do you expect them to buy:
# a few more images fooled, or many?

# %%
Xr, yr = X[:N_RESTARTS], y[:N_RESTARTS]
d_one = package.pgd_linf(cnn, Xr, yr, 0.1, 1e-2, 40, clamp=False)
d_rand = package.pgd_linf_rand(cnn, Xr, yr, 0.1, 1e-2, 40, 10, clamp=False,
                               generator=torch.Generator().manual_seed(0))
with torch.no_grad():
    err_one = (cnn(Xr + d_one).argmax(1) != yr).float().mean()
    err_rand = (cnn(Xr + d_rand).argmax(1) != yr).float().mean()
loss_one = package.per_example_loss(cnn, Xr, yr, d_one).mean()
loss_rand = package.per_example_loss(cnn, Xr, yr, d_rand).mean()
print(f"CNN, first {N_RESTARTS} images: PGD {approx(err_one)}, PGD with 10 restarts {approx(err_rand)}")
print(f"mean loss: PGD {approx(loss_one)}, with restarts {approx(loss_rand)}")
print(comparison_table("pgd_linf_rand", {"cnn": {False: err_rand.item()}}, {"cnn": N_RESTARTS}))

# %% tags=["hide-input"]
# tolerance: 2/n = 0.1 for a rate over 20 images; the loss gain: 2 x the measured spread
check_close(err_one, 0.80, 0.1, "CNN, first 20 images, PGD error:")
check_close(err_rand, 0.85, 0.1, "CNN, first 20 images, PGD error with 10 restarts:")
check_close(loss_rand - loss_one, 0.29, 0.05, "CNN, first 20 images, mean loss gained by the restarts:")
check_claim(bool(loss_rand > loss_one and err_rand >= err_one), "the restarts raise the mean loss and the error")
one, ten = records.attack_error("pgd_linf", "cnn", False), records.attack_error("pgd_linf_rand", "cnn", False)
check_claim(one["n"] == ten["n"] == 10_000 and 0.01 < ten["error"] - one["error"] < 0.03,
            "full test set: restarts add one to three points")

# %% [markdown]
# The restarts find a few more adversarial examples — at ten times the cost. On 20 images
# one more success is 0.05, so the live error is coarse; the mean loss shows the gain more
# finely. The recorded runs agree on the full test set: a single PGD run fooled our CNN on
# 0.731 of the 10000 images and ten restarts on 0.753, a gain of about two points like the
# chapter's (0.743 → 0.765).
#
# What happens inside? Which image did the restarts win? Here are the ten runs of the live
# restart attack again, for that image alone: the same random starts (the same generator,
# seed 0), the loss after each of the 40 steps, one thin line per restart and a thick one
# for the best, beside the single run from $\delta = 0$.

# %%
won = ((cnn(Xr + d_rand).argmax(1) != yr) & (cnn(Xr + d_one).argmax(1) == yr)).nonzero()[:, 0]
print("images fooled with the restarts but not without:", won.tolist())
k, R = int(won[0]), 10
gen = torch.Generator().manual_seed(0)
starts = torch.stack([(2 * torch.rand(Xr.shape, generator=gen) - 1) * 0.1 for _ in range(R)])[:, k]
paths = loss_per_step(cnn, Xr[k:k + 1].repeat(R, 1, 1, 1), yr[k:k + 1].repeat(R), 0.1,
                      lambda g: 1e-2 * g.sign(), 40, delta=starts)
from_zero = loss_per_step(cnn, Xr[k:k + 1], yr[k:k + 1], 0.1, lambda g: 1e-2 * g.sign(), 40)
print(f"image {k} (a {yr[k].item()}): final loss from δ = 0: {approx(from_zero[0, -1], 2)}")
print("final loss per restart:", " ".join(approx(v, 2) for v in paths[:, -1]))
plot_loss_curves({"pgd_restarts": paths, "pgd": from_zero[0]}, ylabel=f"cross-entropy of image {k}",
                 title=f"CNN, image {k}: PGD from δ = 0 and from 10 random starts")
plt.show()

# %% tags=["hide-input"]
high = paths[:, -1] > 1.0
check_claim(won.tolist() == [3], "the restarts win exactly one image of the 20, image 3")
check_claim(bool(from_zero[0, -1] < 0.5), "from δ = 0, PGD stops at a low loss on this image")
check_claim(int(high.sum()) == 1 and bool((paths[~high, -1] < 0.5).all()),
            "one restart of ten climbs above loss 1, the other nine stay below 0.5")

# %% [markdown]
# The restarts win one image, a zero. From $\delta = 0$ PGD stops there at a low loss, and so
# do nine of the ten random starts; one start climbs past a loss of 1 — to a different,
# much higher local maximum, where the image is misclassified. That restarts help at all
# tells us that single PGD runs do stop at local maxima that are not the best point in the
# ball.
#
# ## Try it
#
# Pick the attack: `pgd_linf` (normalised steps), `pgd` (plain gradient steps: try
# α = 0.01, 1 and 1e4, on each model) or `pgd_linf_rand` (one random start). The α slider
# means a distance for `pgd_linf` and a multiplier of the gradient for `pgd`: watch the
# same α do very different things to the three networks. The error is printed for the first
# 50 test images.

# %% tags=["nbval-ignore-output"]
attack_widget(models, X[:50], y[:50], attack=["pgd_linf", "pgd", "pgd_linf_rand"],
              epsilon=0.1, alpha=0.01, num_iter=40, alpha_range=(1e-3, 1e5))

# %% [markdown]
# ## Exercises
#
# ### Exercise 3.1 — random restarts around any attack
#
# Write `with_restarts(attack, restarts, model, X, y)`: call `attack(model, X, y)` (an attack
# with randomness of its own, returning $\delta$) `restarts` times, and return, **for each
# image**, the $\delta$ of the run with the highest cross-entropy loss. Restarts are a
# wrapper: the same function serves any attack.

# %% tags=["exercise"]
def with_restarts(attack, restarts, model, X, y):
    # BEGIN SOLUTION
    best_delta = attack(model, X, y)
    best_loss = nn.CrossEntropyLoss(reduction="none")(model(X + best_delta), y)
    for _ in range(restarts - 1):
        delta = attack(model, X, y)
        loss = nn.CrossEntropyLoss(reduction="none")(model(X + delta), y)
        better = loss > best_loss
        best_delta[better] = delta[better]
        best_loss = torch.max(best_loss, loss)
    return best_delta
    # END SOLUTION


# %%
check("3.1", with_restarts)

# %% [markdown]
# ### Exercise 3.2 — predict: plain PGD with $\alpha = 0.01$ on the 2-layer network
#
# On the CNN, plain PGD with $\alpha = 0.01$ did nothing. Now run it on `dnn2`, 40 steps,
# $\epsilon = 0.1$, on the first 100 test images. Use the table of gradient scales above to
# predict what happens, answer with a letter, then run the check and the cell after it.
#
# - `"a"`: nothing again: no pixel of any image moves by 0.01
# - `"b"`: most pixels of most images barely move, but a few images, those with the
#   largest gradients, reach the edge $\pm\epsilon$ in places
# - `"c"`: most pixels of most images end at $\pm\epsilon$, as with normalised steps

# %% tags=["exercise"]
answer = None
# BEGIN SOLUTION
answer = "b"
# END SOLUTION

# %%
check("3.2", answer)

# %%
d = pgd(models["dnn2"], X100, y100, 0.1, 1e-2, 40)
reach = d.flatten(1).abs().max(dim=1).values > 0.0999
print(f"images with some pixel at ±ε: {approx(reach.sum().item(), 0)} of 100;  "
      f"share of all pixels at ±ε: {approx((d.abs() > 0.0999).float().mean())};  "
      f"share that moved less than 0.01: {approx((d.abs() < 0.01).float().mean())}")
print(f"median gradient scale of the images that reached ±ε ≈{scale['dnn2'][reach].median():.0e}, "
      f"of the others ≈{scale['dnn2'][~reach].median():.0e}")

# %% tags=["hide-input"]
check_claim(bool(scale["dnn2"][reach].min() > scale["dnn2"].quantile(0.9)),
            "the images that reach ±ε are among the tenth with the largest gradients")

# %% [markdown] tags=["solution"]
# <details><summary>Model answer</summary>
#
# **b.** The 2-layer network's gradients are larger than the CNN's, and they vary by orders
# of magnitude between images. For the typical image $0.01 \times g_i$ is still tiny, and 40
# such steps move a pixel by far less than $\epsilon$. For the few images with the largest
# gradients — doubtful ones, near the decision boundary — the same $\alpha$ is a large step,
# and their pixels run to the edge. One raw step size, very different distances: that is why
# the normalised step, which moves every image by $\alpha$, is the one to use.
#
# </details>

# %% [markdown]
# ### Exercise 3.3 — explain: why normalised steps make $\alpha$ a distance
#
# With raw steps, $\alpha$ had to be retuned for every network. Why does the normalised
# step make $\alpha$ a distance, in the same units as $\epsilon$?
#
# - `"a"`: each normalised step changes every pixel (whose gradient is not zero) by exactly
#   $\alpha$, $\|\alpha\,\operatorname{sign}(g)\|_\infty = \alpha$, whatever the gradient's
#   scale; so $\alpha$ is measured in pixel units, like $\epsilon$
# - `"b"`: normalising makes the gradient larger, so the loss rises faster
# - `"c"`: the sign of the gradient is more accurate than its value
# - `"d"`: normalised steps never leave the ball, so no projection is needed

# %% tags=["exercise"]
answer = None
# BEGIN SOLUTION
answer = "a"
# END SOLUTION

# %%
check("3.3", answer)

# %% [markdown] tags=["solution"]
# <details><summary>Model answer</summary>
#
# **a.** A raw step $\alpha g$ moves a pixel by $\alpha |g_i|$: the distance depends on the
# gradient's scale, which differs by orders of magnitude between networks and images, so
# $\alpha$ has no meaning of its own and must be tuned per network (and no value suits every
# image). The steepest-ascent step for the $\ell_\infty$ ball, $\alpha\,\operatorname{sign}(g)$,
# has $\ell_\infty$ length exactly $\alpha$: $\alpha$ is a distance in the same units as
# $\epsilon$, which is what makes the rules "$\alpha$ a small fraction of $\epsilon$" and
# "steps a small multiple of $\epsilon / \alpha$" possible. The projection is still needed
# (d): repeated steps leave the ball.
#
# </details>

# %% [markdown]
# ## What we learned
#
# * PGD repeats "step, then project". A raw gradient step moves each image by $\alpha$ times
#   its gradient, whose scale differs by orders of magnitude between networks and between
#   images: $\alpha$ must be tuned to it, and no single value suits every image.
# * A huge $\alpha$ turns plain PGD into repeated full-size sign steps, which works on the
#   images it was tuned for and leaves the flattest ones untouched.
# * Normalised steps — $\alpha \operatorname{sign}(g)$ under $\ell_\infty$ — make $\alpha$
#   a distance; 40 steps of 0.01 beat one FGSM step of 0.1 on every network.
# * Random restarts find higher local maxima on some images: a point or two more error, at
#   ten times the price.
#
# Notebook 4 looks at the normalised step itself: why the sign, and what changes for other
# norms.
#
# ## References
#
# * A. Madry, A. Makelov, L. Schmidt, D. Tsipras, A. Vladu. "Towards deep learning models
#   resistant to adversarial attacks." ICLR 2018 (PGD with random starts).
# * A. Kurakin, I. Goodfellow, S. Bengio. "Adversarial examples in the physical world."
#   ICLR 2017 workshop (the iterative FGSM).
# * I. J. Goodfellow, J. Shlens, C. Szegedy. "Explaining and harnessing adversarial
#   examples." ICLR 2015 (FGSM).
# * S. Boyd and L. Vandenberghe. *Convex Optimization*. Cambridge University Press, 2004,
#   section 9.4 (normalised steepest descent).
# * J. Z. Kolter and A. Madry. *Adversarial Robustness: Theory and Practice*, tutorial at
#   NeurIPS 2018; chapter 3, "Adversarial examples, solving the inner maximization",
#   <https://adversarial-ml-tutorial.org/adversarial_examples/>.
