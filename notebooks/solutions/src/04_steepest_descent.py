# %% [markdown]
# # 4. Normalized steepest descent, and attacks in the $\ell_2$ ball
#
# *Course: "Adversarial examples, solving the inner maximization" — after chapter 3 of
# Kolter & Madry, "Adversarial Robustness: Theory and Practice".*
#
# A raw gradient step moves as far as the gradient is large (notebook 3). The **normalized
# steepest descent** step fixes the distance; its direction depends on the norm.
# (Notation: notebook 0.)

# %%
import math

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn as nn

from course_utils import config, records
from course_utils.attacks import fgsm, pgd_l2 as pgd_l2_package, pgd_linf, project_ball, steepest_direction
from course_utils.checks import approx, check_claim, check_close, check_same
from course_utils.data import eval_subset
from course_utils.evaluate import error_per_step, error_table
from course_utils.exercises import check
from course_utils.models import load_model
from course_utils.plotting import (plot_delta_heatmaps, plot_error_vs_steps, plot_images,
                                   plot_steepest_ascent_2d)
from course_utils.widgets import attack_widget, steepest_ascent_widget

torch.manual_seed(0)
models = {name: load_model(name) for name in ("dnn2", "dnn4", "cnn")}
dnn2 = models["dnn2"]
X, y = eval_subset(config.N_EVAL)  # the first N_EVAL test images (1000 by default)

# %% [markdown]
# ## The steepest step for a given norm
#
# Take the step $v$ of size at most $\alpha$ in a chosen norm that raises $f$ most to first
# order:
#
# $$z := z + \operatorname*{argmax}_{\|v\| \le \alpha}\; v^\top \nabla_z f(z).$$
#
# With $g = \nabla_z f(z)$:
#
# * **$\ell_2$.** By Cauchy–Schwarz $v^\top g \le \|v\|_2 \|g\|_2$, with equality when $v$
#   points along $g$: the step is $\alpha\, g / \|g\|_2$.
# * **$\ell_\infty$.** Each $v_i$ ranges independently over $[-\alpha, \alpha]$;
#   $\sum_i v_i g_i$ is largest with every $v_i = \alpha \operatorname{sign}(g_i)$.
# * **$\ell_1$.** $v^\top g \le \sum_i |v_i|\,|g_i| \le \|v\|_1 \max_i |g_i|$: the whole
#   budget goes to the coordinate $k$ with the largest $|g_k|$, $v = \alpha
#   \operatorname{sign}(g_k)\, e_k$.
#
# Each gains $\alpha$ times the **dual norm** of $g$: $\|g\|_2$, $\|g\|_1$, $\|g\|_\infty$.
# The **projection** $\mathcal{P}_\epsilon$ then returns the nearest point of the
# ball: under $\ell_\infty$ it clips every coordinate to $[-\epsilon, \epsilon]$; under
# $\ell_2$ it shrinks a too-long $\delta$ onto the sphere,
# $\mathcal{P}_\epsilon(z) = \epsilon\, z / \max(\epsilon, \|z\|_2)$.
#
# ### The chapter in code
#
# One image per row (`norms`: each image's $\ell_2$ norm, shaped to divide it):

# %%
def norms(Z):
    """ℓ2 norm of each example of Z, shaped (n, 1, 1, 1) to broadcast against it."""
    return Z.reshape(Z.shape[0], -1).norm(dim=1).reshape(-1, *[1] * (Z.dim() - 1))


def steepest_linf(g):
    return g.sign()


def steepest_l2(g):
    return g / norms(g)


def steepest_l1(g):
    flat = g.flatten(1)
    k = flat.abs().argmax(dim=1)
    v = torch.zeros_like(flat)
    v[torch.arange(len(k)), k] = flat[torch.arange(len(k)), k].sign()
    return v.reshape(g.shape)


def project_linf(delta, epsilon):
    return delta.clamp(-epsilon, epsilon)


def project_l2(delta, epsilon):
    return delta * (epsilon / norms(delta).clamp(min=epsilon))


# %% [markdown]
# On a small vector, with the three dual norms:

# %%
g_toy = torch.tensor([[3.0, -0.5, 0.0, 1.0]])
for name, v in (("l2", steepest_l2(g_toy)), ("l∞", steepest_linf(g_toy)), ("l1", steepest_l1(g_toy))):
    print(f"{name:3s} direction {v.numpy().round(3)[0]},  v·g = {(v * g_toy).sum():.3f}")
print(f"dual norms: ||g||_2 = {g_toy.norm():.3f}, ||g||_1 = {g_toy.abs().sum():.3f}, ||g||_∞ = {g_toy.abs().max():.3f}")

# %% [markdown]
# Then on the 2-layer network's loss gradients at $\delta = 0$ (first 100 test images),
# against `steepest_direction` and `project_ball` ($\ell_2$ test points of lengths 0 to 4,
# half inside the ball of radius 2):

# %%
delta = torch.zeros_like(X[:100], requires_grad=True)
nn.CrossEntropyLoss(reduction="sum")(dnn2(X[:100] + delta), y[:100]).backward()
g = delta.grad.detach()
w_inf = 0.3 * g / g.abs().amax()                                         # entries in [-0.3, 0.3]
w_two = steepest_l2(g) * torch.linspace(0, 4, 100).reshape(-1, 1, 1, 1)    # ℓ2 lengths 0 ... 4
check_same(torch.cat([steepest_linf(g), steepest_l2(g)]),
           torch.cat([steepest_direction(g, "linf"), steepest_direction(g, "l2")]),
           "steepest_linf, steepest_l2 = steepest_direction(g, 'linf'), (g, 'l2')")
check_same(torch.cat([project_linf(w_inf, 0.1), project_l2(w_two, 2.0)]),
           torch.cat([project_ball(w_inf, 0.1, "linf"), project_ball(w_two, 2.0, "l2")]),
           "project_linf, project_l2 = project_ball(·, 0.1, 'linf'), (·, 2, 'l2')")

# %% tags=["hide-input"]
for steepest in (steepest_linf, steepest_l2, steepest_l1):
    check_same(steepest(1e-6 * g), steepest(g), f"scaling g by 1e-6 leaves {steepest.__name__}(g) unchanged",
               show=False)
gain = (steepest_l1(g) * g).flatten(1).sum(1)
check_same(gain, g.flatten(1).abs().amax(1), "the ℓ1 step gains ‖g‖∞ on every image", atol=1e-7, show=False)
check_claim(bool((norms(project_l2(w_two, 2.0)) <= 2.0 + 1e-5).all()), "every projected δ has ‖δ‖₂ ≤ 2", show=False)
check_same(project_l2(w_two[:50], 2.0), w_two[:50], "points inside the ball come back unchanged", show=False)

# %% [markdown]
# Multiply $g$ by $10^{-6}$ and no direction changes: the property the raw step lacked.
#
# ## A picture in two dimensions
#
# Ten normalized steps of $\alpha = 0.2$ up a smooth 2-D $f$ from the origin, projected onto
# the ball of radius 1 (dashed); grey: level sets of $f$, rising to the upper right.

# %% [markdown] tags=["question"]
# **Ask the room.** Both climbs take ten steps of the same size in a ball of the same radius.
# Which one ends higher, and where will the $\ell_\infty$ one stop?

# %% tags=["reveal"]
def f(Z):
    return Z[..., 0] + 0.3 * Z[..., 1] - 0.25 * (Z[..., 0] - Z[..., 1]) ** 2


def grad_f(z):
    d = z[0] - z[1]
    return np.array([1 - 0.5 * d, 0.3 + 0.5 * d])


plot_steepest_ascent_2d(f, grad_f, (0.0, 0.0), alpha=0.2, num_iter=10, epsilon=1.0)
plt.show()
z_inf, z_two = np.zeros(2), np.zeros(2)
for _ in range(10):
    z_inf = np.clip(z_inf + 0.2 * np.sign(grad_f(z_inf)), -1, 1)
    z_two = z_two + 0.2 * grad_f(z_two) / np.linalg.norm(grad_f(z_two))
    z_two = z_two / max(1.0, np.linalg.norm(z_two))
print(f"l∞ end point {z_inf.round(3)}, f = {f(z_inf):.3f};  l2 end point {z_two.round(3)}, f = {f(z_two):.3f}")

# %% tags=["hide-input"]
angles = np.linspace(0, 2 * np.pi, 100001)
best_on_circle = f(np.stack([np.cos(angles), np.sin(angles)], axis=-1)).max()
check_claim(bool(np.array_equal(z_inf, [1.0, 1.0])), "the l∞ climb ends in the corner (1, 1)", show=False)
check_claim(abs(np.linalg.norm(z_two) - 1) < 1e-9 and best_on_circle - f(z_two) < 0.001,
            "the l2 climb ends on the circle, within 0.001 of the best value on it", show=False)
check_claim(bool(f(z_inf) > best_on_circle), "the corner (1, 1) is higher than every point of the circle",
            show=False)

# %% [markdown]
# The $\ell_2$ steps follow the gradient, then slide along the circle to within 0.001 of its
# best point. The $\ell_\infty$ steps move *every* coordinate by $\pm\alpha$, so they march
# diagonally into the corner $(1, 1)$, here higher than any point of the circle.
#
# ## $\ell_\infty$ PGD is FGSM, repeated
#
# Under $\ell_\infty$ the normalized step is $\alpha \operatorname{sign}(g)$ and the
# projection a clip, so one step of $\alpha = \epsilon$ from $\delta = 0$ *is* FGSM:

# %%
one_step = pgd_linf(dnn2, X[:100], y[:100], epsilon=0.1, alpha=0.1, num_iter=1)
check_claim(torch.equal(one_step, fgsm(dnn2, X[:100], y[:100], 0.1)), "pgd_linf with one step of α = ε is fgsm")

# %% [markdown]
# With $\alpha < \epsilon$, PGD repeats small FGSM steps.
#
# ### Exercise 4.1 — predict: the error after 1, 5 and 40 steps
#
# $\ell_\infty$ PGD on the 2-layer network, $\epsilon = 0.1$, $\alpha = 0.01$, valid images
# (clamp on), the first 1000 test images, where one FGSM step of 0.1 fools 0.78 (notebook 2).
# Predict the error after 1, 5 and 40 steps, as a tuple of three numbers between 0 and 1,
# before the next cell draws the curve.

# %% tags=["exercise"]
predicted = None
# BEGIN SOLUTION
predicted = (0.05, 0.25, 0.85)
# END SOLUTION

# %%
check("4.1", predicted)

# %% [markdown]
# The error after each step of one 40-step run (`error_per_step`; its first $k$ steps are
# PGD with $k$ steps), FGSM's as a level line; dense networks: first 1000 test images, CNN:
# first 50:

# %% tags=["reveal"]
n_live = {"dnn2": min(len(y), 1000), "dnn4": min(len(y), 1000), "cnn": min(len(y), 50)}
by_step, fgsm_err = {}, {}
for name, model in models.items():
    Xn, yn = X[:n_live[name]], y[:n_live[name]]
    by_step[name] = error_per_step(model, Xn, yn, 0.1, 0.01, 40)
    with torch.no_grad():
        fgsm_err[name] = (model(Xn + fgsm(model, Xn, yn, 0.1)).argmax(1) != yn).float().mean().item()
plot_error_vs_steps([curve for name in models for curve in (
    {"method": "pgd", "model": f"{name} (first {n_live[name]})", "error": by_step[name]},
    {"method": "fgsm", "model": f"{name} (first {n_live[name]})", "error": fgsm_err[name]})],
    title="ℓ∞, ε = 0.1, α = 0.01, valid images")
plt.show()

# %% tags=["hide-input"]
if len(y) >= 1000:
    check_close(fgsm_err["dnn2"], 0.777, 0.004, "dnn2, FGSM, first 1000 images:", show=False)
    for k, value in ((1, 0.043), (5, 0.239), (10, 0.822), (40, 0.852)):
        check_close(by_step["dnn2"][k], value, 0.004, f"dnn2, PGD error after {k} steps:", show=False)
first_past = {name: next(k for k, e in enumerate(by_step[name]) if e > fgsm_err[name]) for name in models}
check_claim(all(8 <= k <= 10 for k in first_past.values()), "every network: PGD passes FGSM at step 8, 9 or 10",
            show=False)
check_claim(len(y) < 1000 or first_past["dnn2"] == 10, "dnn2: PGD passes FGSM at step 10", show=False)
check_claim(all(by_step[n][40] - by_step[n][20] < 0.02 for n in models), "from 20 to 40 steps: under 2 points",
            show=False)

# %% [markdown]
# After $k$ steps no pixel has moved by more than $k\alpha$, so PGD is at most as strong as
# an attack in the ball of radius $k\alpha$. PGD passes FGSM at step 8 to 10 on every
# network, as $k\alpha$ reaches $\epsilon$, and gains less than two points from step 20 to
# 40. Hence the chapter's rule: a small multiple of $\epsilon / \alpha$ steps.
#
# ## The chapter in code: $\ell_2$ PGD
#
# Swap in the $\ell_2$ direction and projection (both per image). Unlike its $\ell_\infty$
# attacks, the chapter's $\ell_2$ attack clips
# $x + \delta$ to $[0, 1]$ (clamp on); $\epsilon = 2$, $\alpha = 0.1$, 40 steps.

# %%
def pgd_l2(model, X, y, epsilon, alpha, num_iter):
    """ℓ2 PGD with the chapter's clip of x + δ to [0, 1]. Returns δ."""
    delta = torch.zeros_like(X, requires_grad=True)
    for t in range(num_iter):
        loss = nn.CrossEntropyLoss(reduction="sum")(model(X + delta), y)
        loss.backward()
        delta.data += alpha * steepest_l2(delta.grad.detach())
        delta.data = torch.min(torch.max(delta.detach(), -X), 1 - X)      # clip x + δ to [0, 1]
        delta.data = project_l2(delta.detach(), epsilon)
        delta.grad.zero_()
    return delta.detach()


# %%
check_same(pgd_l2(dnn2, X[:100], y[:100], 2.0, 0.1, 40), pgd_l2_package(dnn2, X[:100], y[:100], 2.0, 0.1, 40),
           "dnn2, 100 images: our pgd_l2 = course_utils.attacks.pgd_l2")
Xg, yg = X[:18], y[:18]
delta = pgd_l2(models["cnn"], Xg, yg, 2.0, 0.1, 40)
with torch.no_grad():
    plot_images(Xg + delta, yg, models["cnn"](Xg + delta), 3, 6)
plt.show()

# %% [markdown]
# No uniform haze: strokes and smudges (measured below). Its recorded error on the full
# test set, beside $\ell_\infty$ PGD at $\epsilon = 0.1$:

# %%
rec = {(a, c): {n: records.attack_error(a, n, c)["error"] for n in models}
       for a in ("pgd_linf", "pgd_l2") for c in (False, True)}
print(error_table({"ℓ2, ε = 2": rec["pgd_l2", True], "ℓ2, chapter": records.PUBLISHED_ATTACK_ERRORS["pgd_l2"],
                   "ℓ2, clamp off": rec["pgd_l2", False], "ℓ∞, clamp off": rec["pgd_linf", False],
                   "ℓ∞, clamp on": rec["pgd_linf", True]},
                  title="error rate, full test set; ℓ∞: ε = 0.1; clamp on unless noted"))

# %% tags=["hide-input"]
gap = {(a, m): rec[a, False][m] - rec[a, True][m] for a in ("pgd_linf", "pgd_l2") for m in models}
check_claim(all(abs(rec["pgd_l2", True][m] - rec["pgd_linf", False][m]) < 0.06 for m in models),
            "in the chapter's settings the two attacks are within 0.06 on every network", show=False)
check_claim(all(rec["pgd_l2", True][m] > rec["pgd_linf", True][m] + 0.09 for m in models)
            and rec["pgd_l2", True]["cnn"] > rec["pgd_linf", True]["cnn"] + 0.3,
            "valid images: l2 beats l∞ by > 0.09 everywhere, > 0.3 on the CNN", show=False)
check_claim(all(gap["pgd_l2", m] < gap["pgd_linf", m] / 3 for m in models),
            "the clamp costs l2 less than a third of what it costs l∞", show=False)
check_claim(abs(rec["pgd_l2", True]["cnn"] - records.PUBLISHED_ATTACK_ERRORS["pgd_l2"]["cnn"]) < 0.005,
            "our CNN's l2 error is within 0.005 of the chapter's", show=False)

# %% [markdown]
# In the chapter's settings ($\ell_\infty$ unclamped, $\ell_2$ clamped) the two attacks fool
# each network about equally often (within 0.06); our CNN's $\ell_2$ error is within half a
# point of the chapter's. With valid images for both, $\ell_2$ at $\epsilon = 2$ is
# stronger, by more than 0.3 on the CNN, and the clamp costs it less than a third of what
# it costs $\ell_\infty$.
#
# ## Spread thin or concentrated

# %% [markdown] tags=["question"]
# **Ask the room.** The $\ell_2$ budget is 2, the $\ell_\infty$ budget 0.1. Measured in
# $\ell_2$, which of the two perturbations is longer?

# %% tags=["reveal"]
d_inf = pgd_linf(dnn2, X[:100], y[:100], 0.1, 0.01, 40)
d_two = pgd_l2_package(dnn2, X[:100], y[:100], 2.0, 0.1, 40)
print(f"{'mean over 100 images':20s} {'‖δ‖∞':>6s} {'‖δ‖₂':>6s}  share of pixels moved by > 0.05, > 0.1")
for name, d in (("l∞ PGD, ε = 0.1", d_inf), ("l2 PGD, ε = 2", d_two)):
    flat = d.flatten(1).abs()
    print(f"{name:20s} " + " ".join(f"{approx(v, 2):>6s}" for v in (flat.amax(1).mean(), flat.norm(dim=1).mean()))
          + f"  {approx((flat > 0.05).float().mean())}, {approx((flat > 0.1 + 1e-6).float().mean())}")
plot_delta_heatmaps(X[:3], {"pgd": d_inf[:3], "pgd_l2": d_two[:3]}, n=3, shared_range=True,
                    title="dnn2, valid images: ℓ∞ PGD (ε = 0.1) and ℓ2 PGD (ε = 2)")
plt.show()

# %% tags=["hide-input"]
flat_inf, flat_two = d_inf.flatten(1).abs(), d_two.flatten(1).abs()
check_close(flat_inf.norm(dim=1).mean(), 2.133, 0.02, "mean ℓ2 length of the l∞ attack's δ:", show=False)
check_close((flat_inf > 0.05).float().mean(), 0.588, 0.01, "l∞: share of pixels moved by > 0.05:", show=False)
check_close((flat_two > 0.05).float().mean(), 0.271, 0.01, "l2: share of pixels moved by > 0.05:", show=False)
check_close((flat_two > 0.1 + 1e-6).float().mean(), 0.138, 0.01, "l2: share moved by > 0.1:", show=False)
check_claim(bool((flat_inf <= 0.1 + 1e-6).all()), "the l∞ attack moves no pixel by more than 0.1", show=False)
check_claim(bool((flat_two.amax(1) > 0.1).all()), "on every image the l2 attack moves some pixel by more than 0.1",
            show=False)
check_claim(bool((flat_two[:3].amax(1) > 0.3).all()), "on each of the three maps some l2 pixel moves by > 0.3",
            show=False)
# shares of the 2,352 pixels of the three maps
check_close((flat_two[:3] < 0.05).float().mean(), 0.723, 0.02, "l2, maps: share moved by less than 0.05:", show=False)
check_close((flat_inf[:3] > 0.0999).float().mean(), 0.561, 0.02, "l∞, maps: share at ±0.1:", show=False)
unchanged = d_inf[:3] == 0
check_claim(bool((unchanged & (X[:3] == 0)).sum() > 0.9 * unchanged.sum()),
            "over 90% of the pixels the l∞ attack leaves alone on the maps are white background", show=False)

# %% [markdown]
# The $\ell_\infty$ attack spreads thin: more than half of the pixels move by more than
# 0.05, none by more than 0.1, and its $\delta$ is on average *longer* in $\ell_2$
# than the whole $\ell_2$ budget. The $\ell_2$ attack concentrates: a quarter of the pixels
# move by more than 0.05, one in seven by more than 0.1. In the maps (orange adds ink, purple
# removes it) the $\ell_\infty$ maps are flat, white mostly on the background, where the
# clamp forbids lightening a white pixel; the $\ell_2$ maps are pale (seven pixels in ten
# move by less than 0.05) with a few dark strokes above 0.3.
#
# ## Why $\epsilon = 2$, twenty times the $\ell_\infty$ radius?

# %% [markdown] tags=["question"]
# **Ask the room.** In 784 dimensions, which is bigger: the $\ell_\infty$ ball of radius 0.1
# (a cube) or the $\ell_2$ ball of radius 2?

# %% [markdown]
# Radii are not comparable across norms. The cube of radius 0.1 has its corners at $\ell_2$
# distance $0.1\sqrt{784} = 2.8$. The chapter compares **volumes**: the cube's is
# $(2\epsilon)^n$, the $\ell_2$ ball's $\pi^{n/2} r^n / \Gamma(n/2 + 1)$, equal, by
# Stirling's formula, for $r \approx \epsilon \sqrt{2n / (\pi e)}$: 1.35 on MNIST. The
# volumes underflow a float; we compare logarithms:

# %% tags=["reveal"]
n, eps, r = 784, 0.1, 2.0
log_cube = n * math.log(2 * eps)
log_ball = n / 2 * math.log(math.pi) + n * math.log(r) - math.lgamma(n / 2 + 1)
r_stirling = eps * math.sqrt(2 * n / (math.pi * math.e))
cube_points = (2 * torch.rand(10_000, n, generator=torch.Generator().manual_seed(0)) - 1) * eps
lengths = cube_points.norm(dim=1)
print(f"Stirling's equal-volume radius: {r_stirling:.3f}")
print(f"volume(l2 ball, r = 2) / volume(cube, ε = 0.1) = 10^{(log_ball - log_cube) / math.log(10):.1f}")
print(f"10,000 random points of the cube: lengths {approx(lengths.min(), 2)} to {approx(lengths.max(), 2)}; "
      f"l∞ PGD's δ above: mean length {approx(flat_inf.norm(dim=1).mean(), 2)}")

# %% tags=["hide-input"]
check_claim(round((log_ball - log_cube) / math.log(10)) == 131, "the volume ratio is about 10^131", show=False)
check_claim(bool((lengths <= 2).all()), "every sampled point of the cube lies inside the l2 ball of radius 2",
            show=False)
check_close(lengths.mean(), eps * math.sqrt(n / 3), 0.01, "mean length of a random point, ε√(n/3):", show=False)
check_claim(bool(flat_inf.norm(dim=1).min() > lengths.max()), "every δ of l∞ PGD is longer than every sampled point",
            show=False)
check_claim(abs(2 / r_stirling - 1.5) < 0.05, "radius 2 is about 1.5 times the equal-volume radius", show=False)

# %% [markdown]
# In radius, 2 is 1.5 times 1.35; in volume, the factor is raised to the 784th power: the
# $\ell_2$ ball holds about $10^{131}$ cubes. Yet volume is a poor guide in high dimension.
# A random point of the cube has length about $\epsilon \sqrt{n/3} = 1.6$, so almost all of
# the cube's volume lies *inside* the $\ell_2$ ball of radius 2 (all of our 10,000 samples).
# PGD heads for the corners instead: its perturbations are longer than every sample.
#
# ## Try it
#
# The 2-D climb (try $\alpha > \epsilon$, or few small steps), then `pgd_linf` against
# `pgd_l2`, first 100 images ($\ell_2$: try ε from 1 to 3, α near 0.1).

# %% tags=["nbval-ignore-output"]
steepest_ascent_widget(f, grad_f, epsilon=1.0, alpha=0.2, num_iter=10)

# %% tags=["nbval-ignore-output"]
attack_widget(models, X[:100], y[:100], attack=["pgd_linf", "pgd_l2"], epsilon=0.1, alpha=0.01,
              num_iter=40)

# %% [markdown]
# ## Exercises
#
# ### Exercise 4.2 — the projection onto the $\ell_1$ ball
#
# The nearest point of $\{\|\delta\|_1 \le \epsilon\}$ to $z$ is $z$ itself when
# $\|z\|_1 \le \epsilon$; otherwise it is $\operatorname{sign}(z_i) \max(|z_i| - \theta, 0)$
# for every entry, with the one threshold $\theta > 0$ that brings the $\ell_1$ norm down to
# exactly $\epsilon$. Write `project_l1(delta, epsilon)` for a batch `delta` of shape
# `(n, 1, 28, 28)`: one projection per image, the same shape out. (Finding $\theta$: sort
# the $|z_i|$, or bisect.)

# %% tags=["exercise"]
def project_l1(delta, epsilon):
    # BEGIN SOLUTION
    flat = delta.flatten(1)
    size = flat.abs()
    top = size.sort(dim=1, descending=True).values
    excess = top.cumsum(dim=1) - epsilon                       # the l1 norm above ε if the j largest stay
    j = torch.arange(1, flat.shape[1] + 1, dtype=flat.dtype)
    kept = (top - excess / j > 0).sum(dim=1, keepdim=True)      # how many entries stay non-zero
    theta = (excess.gather(1, kept - 1) / kept).clamp(min=0)     # 0 when the image is inside the ball
    return (flat.sign() * (size - theta).clamp(min=0)).reshape(delta.shape)
    # END SOLUTION


# %%
check("4.2", project_l1)

# %% [markdown]
# ### Exercise 4.3 — the exact equal-volume radius
#
# Write `equal_volume_radius(epsilon, n)`: the radius $r$ of the $\ell_2$ ball in $n$
# dimensions whose volume $\pi^{n/2} r^n / \Gamma(n/2 + 1)$ equals the cube
# $[-\epsilon, \epsilon]^n$'s. Exact for any $n$ from 1 (where $r = \epsilon$) to
# ImageNet's 150528: no Stirling, and no overflow.

# %% tags=["exercise"]
def equal_volume_radius(epsilon, n):
    # BEGIN SOLUTION
    return 2 * epsilon / math.sqrt(math.pi) * math.exp(math.lgamma(n / 2 + 1) / n)
    # END SOLUTION


# %%
check("4.3", equal_volume_radius)

# %% [markdown]
# ### Exercise 4.4 — investigate: $\ell_2$ PGD at the equal-volume radius
#
# Is an $\ell_2$ attack at the equal-volume radius as strong as the $\ell_\infty$ one? On the
# 2-layer network, the first 500 test images, valid images, 40 steps: measure the error of
# `pgd_l2_package` at $\epsilon$ = 1.35 and 2 (with $\alpha = \epsilon / 20$), and of
# `pgd_linf` at $\epsilon = 0.1$, $\alpha = 0.01$. Give a dict with the keys `"l2 1.35"`,
# `"l2 2"` and `"linf 0.1"`.

# %% tags=["exercise"]
errors = None
# BEGIN SOLUTION
X500, y500 = X[:500], y[:500]
deltas = {"l2 1.35": pgd_l2_package(dnn2, X500, y500, 1.35, 1.35 / 20, 40),
          "l2 2": pgd_l2_package(dnn2, X500, y500, 2.0, 0.1, 40),
          "linf 0.1": pgd_linf(dnn2, X500, y500, 0.1, 0.01, 40)}
with torch.no_grad():
    errors = {key: (dnn2(X500 + d).argmax(1) != y500).float().mean().item() for key, d in deltas.items()}
# END SOLUTION

# %%
check("4.4", errors)

# %% [markdown]
# ### Exercise 4.5 — explain: why does the $\ell_2$ projection rescale?
#
# Clipping every coordinate to $[-\epsilon/\sqrt{n}, \epsilon/\sqrt{n}]$ also returns a point
# of the $\ell_2$ ball of radius $\epsilon$: that cube fits inside it. Why does $\ell_2$ PGD
# rescale, $\epsilon\, z / \max(\epsilon, \|z\|_2)$, instead?
#
# - `"a"`: rescaling is cheaper: one norm per image instead of a clip of every entry
# - `"b"`: clipping to that small cube can return a point outside the $\ell_2$ ball
# - `"c"`: rescaling is what keeps $x + \delta$ inside the range of valid images $[0, 1]$
# - `"d"`: rescaling gives the nearest point of the ball; that cube is a sliver of it

# %% tags=["exercise"]
answer = None
# BEGIN SOLUTION
answer = "d"
# END SOLUTION

# %%
check("4.5", answer)

# %% [markdown]
# ## What we learned
#
# * The steepest step gains $\alpha$ times the dual norm of $g$ at any gradient scale; the
#   projection clips ($\ell_\infty$), rescales ($\ell_2$) or soft-thresholds ($\ell_1$).
# * $\ell_\infty$ PGD, FGSM repeated with a small step, passes FGSM after about
#   $\epsilon / \alpha$ steps, then levels off.
# * $\ell_\infty$ spreads the perturbation thin, $\ell_2$ concentrates it; radii are not
#   comparable across norms.
#
# ## References
#
# * S. Boyd and L. Vandenberghe. *Convex Optimization*, 2004, section 9.4 (normalized
#   steepest descent, dual norms).
# * J. Duchi et al. "Efficient projections onto the ℓ1-ball for learning in high
#   dimensions." ICML 2008.
# * A. Madry et al. "Towards deep learning models resistant to adversarial attacks." ICLR
#   2018 (PGD under ℓ∞ and ℓ2).
# * J. Z. Kolter and A. Madry. *Adversarial Robustness: Theory and Practice*, tutorial at
#   NeurIPS 2018; chapter 3, "Adversarial examples, solving the inner maximization",
#   <https://adversarial-ml-tutorial.org/adversarial_examples/>.
