# %% [markdown]
# # 4. Normalized steepest descent: why PGD takes sign steps
#
# *Course: "Adversarial examples, solving the inner maximization" — after chapter 3 of
# Kolter & Madry, "Adversarial Robustness: Theory and Practice".*
#
# Notebook 3 met a practical problem: the gradient of the loss with respect to the input is
# tiny near a clean image, so a plain gradient step $\alpha g$ needed $\alpha \approx 10^4$ to
# move at all. This notebook looks at the fix, the **normalized steepest descent** step,
# which decouples how far we move from how large the gradient is — and which depends on the
# norm we measure distance with. (Notation: notebook 0.)

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from course_utils import config
from course_utils.checks import approx, check_claim, check_close, check_same
from course_utils.attacks import fgsm, pgd_l2, pgd_linf, project_ball, steepest_direction
from course_utils.data import eval_subset
from course_utils.evaluate import epoch_adversarial, tensor_loader
from course_utils.exercises import check
from course_utils.models import load_model
from course_utils.plotting import plot_delta_heatmaps, plot_steepest_ascent_2d
from course_utils.widgets import attack_widget, steepest_ascent_widget

torch.manual_seed(0)
models = {name: load_model(name) for name in ("dnn2", "dnn4", "cnn")}
X, y = eval_subset(config.N_EVAL)  # first N_EVAL test images (1000 by default)

# %% [markdown]
# ## The steepest step for a given norm
#
# Ordinary gradient descent on a function $f$ moves by $-\alpha \nabla_z f(z)$: the length of
# the step is proportional to the length of the gradient. **Normalized** steepest descent
# fixes the length instead. Among all steps $v$ of size at most $\alpha$ — size measured in a
# chosen norm — it takes the one that changes $f$ the most to first order:
#
# $$z := z - \operatorname*{argmax}_{\|v\| \le \alpha}\; v^\top \nabla_z f(z).$$
#
# (For our attacks we *maximise* the loss, so we add the step rather than subtract it.) The
# answer depends on the norm:
#
# * **$\ell_2$.** By Cauchy–Schwarz, $v^\top g \le \|v\|_2 \|g\|_2$, with equality when $v$
#   points along $g$. So the best step is
#   $$\operatorname*{argmax}_{\|v\|_2 \le \alpha} v^\top g = \alpha\, \frac{g}{\|g\|_2}:$$
#   the gradient direction, rescaled to length $\alpha$.
# * **$\ell_\infty$.** Each coordinate of $v$ may independently be anything in
#   $[-\alpha, \alpha]$, and $v^\top g = \sum_i v_i g_i$ is largest when every $v_i$ takes the
#   extreme value with the sign of $g_i$:
#   $$\operatorname*{argmax}_{\|v\|_\infty \le \alpha} v^\top g = \alpha \operatorname{sign}(g).$$
#
# In both cases the value reached is $\alpha$ times the **dual norm** of $g$ ($\|g\|_2$ for
# $\ell_2$, $\|g\|_1$ for $\ell_\infty$).
#
# After a step, PGD brings $\delta$ back into the ball with the **projection** $\mathcal{P}_\epsilon$,
# the nearest point of the ball. For $\ell_\infty$ that clips every coordinate to
# $[-\epsilon, \epsilon]$; for $\ell_2$ it shrinks a $\delta$ that is too long back onto the
# sphere, $\mathcal{P}_\epsilon(z) = \epsilon\, z / \max(\epsilon, \|z\|_2)$.
#
# ### The chapter in code
#
# Four one-line functions, one image per row of the batch (`norms` takes the $\ell_2$ norm of
# each image, shaped so that it divides the image):

# %%
def norms(Z):
    """ℓ2 norm of each example of Z, shaped (n, 1, 1, 1) to broadcast against it."""
    return Z.reshape(Z.shape[0], -1).norm(dim=1).reshape(-1, *[1] * (Z.dim() - 1))


def steepest_linf(g):
    return g.sign()


def steepest_l2(g):
    return g / norms(g)


def project_linf(delta, epsilon):
    return delta.clamp(-epsilon, epsilon)


def project_l2(delta, epsilon):
    return delta * (epsilon / norms(delta).clamp(min=epsilon))


# %% [markdown]
# On a small vector first, with its two dual norms:

# %%
g_toy = torch.tensor([[3.0, -0.5, 0.0, 1.0]])
for name, v in (("l2", steepest_l2(g_toy)), ("l∞", steepest_linf(g_toy))):
    print(f"{name:3s} direction {v.numpy().round(3)[0]},  v·g = {(v * g_toy).sum():.3f}")
print(f"dual norms of g: ||g||_2 = {g_toy.norm():.3f}, ||g||_1 = {g_toy.abs().sum():.3f}")

# %% [markdown]
# Then on real gradients: the gradient of the loss at $\delta = 0$ for the first 100 test
# images and the 2-layer network, checked against the package's `steepest_direction` and
# `project_ball`. The $\ell_2$ test perturbations have lengths from 0 to 4, so half of them lie
# inside the ball of radius 2 and must come back unchanged:

# %%
dnn2 = models["dnn2"]
delta = torch.zeros_like(X[:100], requires_grad=True)
nn.CrossEntropyLoss(reduction="sum")(dnn2(X[:100] + delta), y[:100]).backward()
g = delta.grad.detach()
check_same(steepest_linf(g), steepest_direction(g, "linf"), "steepest_linf = steepest_direction(g, 'linf')")
check_same(steepest_l2(g), steepest_direction(g, "l2"), "steepest_l2 = steepest_direction(g, 'l2')")
w_inf = 0.3 * g / g.abs().amax()                                       # entries in [-0.3, 0.3]
w_two = steepest_l2(g) * torch.linspace(0, 4, 100).reshape(-1, 1, 1, 1)  # ℓ2 lengths 0 ... 4
check_same(project_linf(w_inf, 0.1), project_ball(w_inf, 0.1, "linf"), "project_linf = project_ball(·, 0.1, 'linf')")
check_same(project_l2(w_two, 2.0), project_ball(w_two, 2.0, "l2"), "project_l2 = project_ball(·, 2, 'l2')")

# %% tags=["hide-input"]
check_claim(torch.equal(steepest_linf(1e-6 * g), steepest_linf(g)), "scaling g by 1e-6 leaves sign(g) unchanged")
check_same(steepest_l2(1e-6 * g), steepest_l2(g), "scaling g by 1e-6 leaves g/‖g‖₂ unchanged")
check_claim(bool((norms(project_l2(w_two, 2.0)) <= 2.0 + 1e-5).all()), "every projected δ has ‖δ‖₂ ≤ 2")

# %% [markdown]
# Multiply $g$ by $10^{-6}$ and neither direction changes (the check above): that is exactly
# the property the plain gradient step lacked. The package's versions add argument checks and
# a guard for an all-zero gradient (where $g / \|g\|_2$ would divide by zero), and
# `projected_steepest_ascent` chains them with the $[0, 1]$ clamp.
#
# ## A picture in two dimensions
#
# Take a smooth function of two variables, start at the origin, and climb with ten
# normalized steps of size $\alpha = 0.2$ under each norm, projecting back onto the ball of
# radius $\epsilon = 1$ after each step — the dashed circle for $\ell_2$, the dashed square for
# $\ell_\infty$. The grey lines are level sets of $f$ (values rise to the upper right).

# %% [markdown] tags=["question"]
# **Ask the room.** Both climbs take ten steps of the same size inside a ball of the same
# radius. Which one ends higher — and where will the $\ell_\infty$ one stop?

# %%
def f(Z):
    return Z[..., 0] + 0.3 * Z[..., 1] - 0.25 * (Z[..., 0] - Z[..., 1]) ** 2


def grad_f(z):
    d = z[0] - z[1]
    return np.array([1 - 0.5 * d, 0.3 + 0.5 * d])


plot_steepest_ascent_2d(f, grad_f, (0.0, 0.0), alpha=0.2, num_iter=10, epsilon=1.0)
plt.show()

# %% [markdown]
# The $\ell_2$ steps follow the gradient, then slide along the circle towards the best point
# on it. The $\ell_\infty$ steps ignore the gradient's proportions: every step moves by
# $\pm\alpha$ in *every* coordinate, so they march diagonally and end in a corner of the
# square, where both coordinates are at $\pm\epsilon$. In 784 dimensions that corner
# behaviour is what we saw in notebook 2: without the clamp, the $\ell_\infty$ attack moves
# every pixel with a nonzero gradient by the full budget. The square also contains the
# circle, so the $\ell_\infty$ climb ends higher:

# %%
z_inf, z_two = np.zeros(2), np.zeros(2)
for _ in range(10):
    z_inf = np.clip(z_inf + 0.2 * np.sign(grad_f(z_inf)), -1, 1)
    z_two = z_two + 0.2 * grad_f(z_two) / np.linalg.norm(grad_f(z_two))
    z_two = z_two / max(1.0, np.linalg.norm(z_two))
print(f"l∞ end point {z_inf.round(3)}, f = {f(z_inf):.3f}")
print(f"l2 end point {z_two.round(3)}, f = {f(z_two):.3f}")

# %% tags=["hide-input"]
angles = np.linspace(0, 2 * np.pi, 100001)
best_on_circle = f(np.stack([np.cos(angles), np.sin(angles)], axis=-1)).max()
check_claim(bool(np.array_equal(z_inf, [1.0, 1.0])), "the l∞ climb ends in the corner (1, 1)")
check_claim(abs(np.linalg.norm(z_two) - 1) < 1e-9 and best_on_circle - f(z_two) < 0.001,
            "the l2 climb ends on the circle, within 0.001 of the best value on it")
check_claim(bool(f(z_inf) > f(z_two)), "the l∞ climb ends higher than the l2 climb")

# %% [markdown]
# ## l∞ PGD is "mini-FGSM, repeated"
#
# Put the two pieces together. Under $\ell_\infty$ the normalized step is
# $\alpha \operatorname{sign}(g)$, and the projection clips to $[-\epsilon, \epsilon]$. One
# step of size $\alpha = \epsilon$ from $\delta = 0$ is therefore *exactly* FGSM; PGD with
# $\alpha < \epsilon$ repeats small FGSM steps, re-reading the gradient each time so it can
# follow the loss around its bends:

# %%
one_step = pgd_linf(dnn2, X[:100], y[:100], epsilon=0.1, alpha=0.1, num_iter=1)
print("pgd_linf with one step of α = ε equals fgsm:", torch.equal(one_step, fgsm(dnn2, X[:100], y[:100], 0.1)))

# %% [markdown]
# How much do the extra steps buy? Error of the 2-layer network against $\ell_\infty$ PGD
# ($\epsilon = 0.1$, $\alpha = 0.01$) after $k$ steps, on the first 500 test images, in the
# chapter's setting (no clamp) and with valid images — and FGSM on the same 500 images for
# comparison.

# %% [markdown] tags=["question"]
# **Ask the room.** With $\alpha = 0.01$ and $\epsilon = 0.1$, how many steps does PGD need
# before a pixel can even reach the edge of the box? Will two small steps beat one FGSM step?

# %%
loader = tensor_loader(X[:500], y[:500], batch_size=500)
fgsm_err = [epoch_adversarial(dnn2, loader, fgsm, 0.1, clamp=c, progress=False)[0] for c in (False, True)]
lines = ["attack          clamp off   clamp on",
         f"FGSM            {approx(fgsm_err[0]):>9s}   {approx(fgsm_err[1]):>8s}"]
by_steps = {}
for k in (1, 2, 5, 10, 20, 40):
    by_steps[k] = [epoch_adversarial(dnn2, loader, pgd_linf, 0.1, 0.01, k, clamp=c, progress=False)[0]
                   for c in (False, True)]
    name = f"PGD, {k:2d} step{'s' if k > 1 else ' '}"
    lines.append(f"{name:14s}  {approx(by_steps[k][0]):>9s}   {approx(by_steps[k][1]):>8s}")
print("\n".join(lines))

# %% tags=["hide-input"]
# Rates over 500 images: tolerance 2/500 (0.004), above twice the spread measured across CPU
# kernels and thread counts (tools/portability.py).
for name, value, errors in (("FGSM", fgsm_err, (0.968, 0.804)), ("PGD, 10 steps", by_steps[10], (0.974, 0.834)),
                            ("PGD, 40 steps", by_steps[40], (0.984, 0.862))):
    for clamp, recorded in zip((False, True), errors):
        check_close(value[clamp], recorded, 0.004, f"dnn2, {name}, clamp {'on' if clamp else 'off'}:")
check_claim(max(by_steps[2]) < min(fgsm_err) / 2, "two steps of α = 0.01 reach less than half of FGSM's error")
check_claim(abs(by_steps[10][0] - fgsm_err[0]) < 0.015 and by_steps[10][1] > fgsm_err[1] + 0.015,
            "at 10 steps PGD is level with FGSM without the clamp and ahead of it with the clamp")
check_claim(all(by_steps[20][c] > fgsm_err[c] + 0.01 for c in (0, 1)), "at 20 steps PGD beats FGSM in both settings")
check_claim(all(by_steps[40][c] - by_steps[10][c] < 0.05 for c in (0, 1)),
            "from 10 to 40 steps the error grows by less than 0.05")
check_claim(by_steps[40][1] < by_steps[40][0], "with the clamp, PGD levels off lower")

# %% [markdown]
# With $\alpha = 0.01$ it takes ten steps just to reach the edge of a ball of radius 0.1, so
# the first rows are weak attacks: after two steps no pixel has moved by more than 0.02,
# and the error is less than half of FGSM's. At ten steps — just enough to reach the edge of
# the box — PGD is level with FGSM on these 500 images without the clamp, and already ahead
# of it with the clamp; by twenty steps it beats FGSM in both settings, and after that it
# levels off. With the clamp the curve levels off lower: the attack has fewer allowed moves.
#
# ## Other norms, same loop
#
# Nothing in the loop is specific to $\ell_\infty$: swap the direction
# ($g/\|g\|_2$) and the projection (rescale onto the sphere) and the same code gives
# $\ell_2$ PGD, `pgd_l2` — notebook 5 writes it out. Both are calls of one function,
# `projected_steepest_ascent(..., norm=...)`. Here they are side by side on the same images,
# with the chapter's radii ($\epsilon = 0.1$ for $\ell_\infty$, $\epsilon = 2$ for $\ell_2$) and
# valid images.

# %% [markdown] tags=["question"]
# **Ask the room.** The $\ell_2$ budget is 2, the $\ell_\infty$ budget 0.1. Measured in $\ell_2$,
# which of the two perturbations is longer?

# %%
d_inf = pgd_linf(dnn2, X[:100], y[:100], 0.1, 0.01, 40)
d_two = pgd_l2(dnn2, X[:100], y[:100], 2.0, 0.1, 40)
stats = {}
for name, d in (("l∞ PGD, ε = 0.1", d_inf), ("l2 PGD, ε = 2", d_two)):
    flat = d.flatten(1).abs()
    stats[name] = {"‖δ‖∞": flat.amax(1).mean(), "‖δ‖₂": flat.norm(dim=1).mean(),
                   "> 0.05": (flat > 0.05).float().mean(), "> 0.1": (flat > 0.1 + 1e-6).float().mean()}
print(f"{'mean, 100 images':17s} {'‖δ‖∞':>7s} {'‖δ‖₂':>7s}   share of pixels moved by > 0.05, > 0.1")
for name, s in stats.items():
    print(f"{name:17s} " + " ".join(f"{approx(v):>7s}" for v in s.values()))

# %% tags=["hide-input"]
# Shares of 78,400 pixels and mean lengths: spread across CPU kernels and thread counts below
# 3e-5 (tools/portability.py); the tolerances leave room for other BLAS builds.
s_inf, s_two = stats["l∞ PGD, ε = 0.1"], stats["l2 PGD, ε = 2"]
check_close(s_inf["‖δ‖₂"], 2.133, 0.02, "mean ℓ2 length of the l∞ attack's δ:")
check_close(s_inf["> 0.05"], 0.588, 0.01, "share of pixels the l∞ attack moves by more than 0.05:")
check_close(s_two["> 0.05"], 0.271, 0.01, "share of pixels the l2 attack moves by more than 0.05:")
check_close(s_two["> 0.1"], 0.138, 0.01, "share of pixels the l2 attack moves by more than 0.1:")
check_claim(bool(s_inf["> 0.1"] == 0), "the l∞ attack moves no pixel by more than 0.1")
check_claim(bool((d_two.flatten(1).abs().amax(1) > 0.1).all()),
            "on every image the l2 attack moves some pixel by more than 0.1")
check_claim(bool(s_inf["‖δ‖₂"] > 2.0), "the l∞ attack's δ is longer in ℓ2 than the whole l2 budget")

# %% [markdown]
# The $\ell_\infty$ attack spreads a small change over many pixels: more than half of them
# move by more than 0.05, none by more than 0.1, and its $\delta$ is *longer* in $\ell_2$
# than the whole $\ell_2$ budget of 2. The $\ell_2$ attack concentrates: about a quarter of
# the pixels move by more than 0.05, one in seven by more than 0.1 — beyond anything the
# $\ell_\infty$ ball allows — and on every image some pixel moves by more than 0.1. Same
# algorithm, very different perturbations, chosen entirely by the norm. (Notebook 5 asks how
# to compare radii across norms.)
#
# The same perturbations as pictures, for the first three images: each $\delta$ on one colour
# scale for both attacks, white at 0, orange where the attack darkens a pixel (adds ink),
# purple where it lightens one; under each map its $\ell_\infty$ and $\ell_2$ lengths.

# %%
plot_delta_heatmaps(X[:3], {"pgd": d_inf[:3], "pgd_l2": d_two[:3]}, n=3, shared_range=True,
                    title="dnn2, valid images: ℓ∞ PGD (ε = 0.1) and ℓ2 PGD (ε = 2)")
plt.show()

# %% tags=["hide-input"]
top_two = d_two[:3].flatten(1).abs().amax(1)
check_claim(bool((top_two > 0.3).all()), "on each of the three images the l2 attack moves some pixel by more than 0.3")
# shares of 2,352 pixels: no spread across CPU kernels (default, avx2, native) and 1 or 2 threads;
# the tolerance leaves room for other BLAS builds
check_close((d_inf[:3].abs() > 0.0999).float().mean(), 0.561, 0.02, "l∞, three images: share of pixels at ±0.1:")
check_close((d_inf[:3] == 0).float().mean(), 0.371, 0.02, "l∞, three images: share of pixels left unchanged:")
check_close((d_two[:3].abs() < 0.05).float().mean(), 0.723, 0.02, "l2, three images: share moved by less than 0.05:")
check_claim(bool((d_inf[:3][X[:3] == 0] >= 0).all() and (d_two[:3][X[:3] == 0] >= 0).all()),
            "on the background (x = 0) both δ are ≥ 0: the clamp lets white pixels only get darker")
unchanged = d_inf[:3] == 0
check_claim(bool((unchanged & (X[:3] == 0)).sum() > 0.9 * unchanged.sum()),
            "more than 90% of the pixels the l∞ attack leaves unchanged are white background")

# %% [markdown]
# The $\ell_\infty$ maps are pale and flat: more than half of the pixels sit at the full
# $\pm 0.1$, and most of the rest are left white — unchanged, on the background, where the
# clamp forbids lightening a pixel that is already white. The $\ell_2$ maps are the opposite:
# about seven pixels in ten move by less than 0.05 and look nearly white, while a few dark
# strokes reach beyond 0.3, three times what the $\ell_\infty$ ball allows any pixel.
#
# ## Try it
#
# First the two-dimensional picture: move $\epsilon$, $\alpha$ and the number of steps. With
# $\alpha$ larger than $\epsilon$ both methods jump straight to the boundary; with few small
# steps they never reach it.

# %% tags=["nbval-ignore-output"]
steepest_ascent_widget(f, grad_f, epsilon=1.0, alpha=0.2, num_iter=10)

# %% [markdown]
# Then the same choice on MNIST: `pgd_linf` against `pgd_l2` (for $\ell_2$, try ε around
# 1–3 and α around 0.1). The error is printed for the first 100 test images.

# %% tags=["nbval-ignore-output"]
attack_widget(models, X[:100], y[:100], attack=["pgd_linf", "pgd_l2"], epsilon=0.1, alpha=0.01,
              num_iter=40)

# %% [markdown]
# ## Exercises
#
# ### Exercise 4.1 — the steepest direction under $\ell_1$
#
# The same question for a third norm: which $v$ with $\|v\|_1 \le 1$ maximises $v^\top g$?
# Since $v^\top g \le \sum_i |v_i|\,|g_i| \le \|v\|_1 \max_i |g_i|$, the answer puts the whole
# budget on the **one** coordinate where $|g_i|$ is largest, with the sign of $g_i$, and
# reaches $\|g\|_\infty$ (the dual norm of $\ell_1$). Write `steepest_l1(g)`: for a batch of
# gradients `g` of shape `(n, 1, 28, 28)`, return `v` of the same shape with, in each image,
# a single entry $\operatorname{sign}(g_i)$ at the largest $|g_i|$ and zeros elsewhere.

# %% tags=["exercise"]
def steepest_l1(g):
    # BEGIN SOLUTION
    flat = g.flatten(1)
    top = flat.abs().argmax(dim=1)
    v = torch.zeros_like(flat)
    rows = torch.arange(flat.shape[0])
    v[rows, top] = flat[rows, top].sign()
    return v.reshape(g.shape)
    # END SOLUTION


# %%
check("4.1", steepest_l1)

# %% [markdown]
# An $\ell_1$ attack built on this step changes one pixel per step: the opposite extreme of
# the $\ell_\infty$ attack, which changes all of them.
#
# ### Exercise 4.2 — predict where the $\ell_\infty$ climb ends
#
# Take $f(z) = z_1 - (z_2 - 0.3)^2$ (written `z[0]`, `z[1]` in code) and climb from the origin
# with ten $\ell_\infty$ steps $z := \operatorname{clip}(z + 0.2\, \operatorname{sign}(\nabla f(z)), -1, 1)$.
# The best point of the square is $(1, 0.3)$. Where does the climb end? Answer with a letter
# **before** running the cell after the check.
#
# * **a** — in the corner $(1, 1)$, like the picture above
# * **b** — at $(1, 0.3)$, the best point of the square
# * **c** — at $(1, 0.4)$, after bouncing between $z_2 = 0.2$ and $z_2 = 0.4$
# * **d** — at $(0.3, 1)$

# %% tags=["exercise"]
answer = None
# BEGIN SOLUTION
answer = "c"
# END SOLUTION

# %%
check("4.2", answer)

# %% [markdown]
# Now run the climb:

# %%
z = np.zeros(2)
for step in range(1, 11):
    z = np.clip(z + 0.2 * np.sign(np.array([1.0, -2.0 * (z[1] - 0.3)])), -1, 1)
    print(f"step {step:2d}: z = ({z[0]:.1f}, {z[1]:.1f}), f = {z[0] - (z[1] - 0.3) ** 2:.2f}")

# %% [markdown]
# Sign steps never shrink: near an optimum inside the box they overshoot and bounce by
# $\pm\alpha$. That is one reason to keep $\alpha$ a small fraction of $\epsilon$, and why the
# chapter suggests a number of steps a small multiple of $\epsilon / \alpha$: enough to reach
# the edge, with a step small enough that the bouncing costs little.
#
# ### Exercise 4.3 — why does the $\ell_2$ projection rescale?
#
# Clipping every coordinate of $\delta$ to $[-\epsilon/\sqrt{n}, \epsilon/\sqrt{n}]$ also
# returns a point of the $\ell_2$ ball of radius $\epsilon$ (a cube that fits inside it). Why
# does $\ell_2$ PGD rescale, $\epsilon\, z / \max(\epsilon, \|z\|_2)$, instead?
#
# * **a** — rescaling is faster to compute
# * **b** — rescaling returns the nearest point of the ball; clipping to the small cube
#   lands deep inside it and throws away most of the budget
# * **c** — clipping can return a point outside the ball
# * **d** — rescaling keeps $x + \delta$ inside $[0, 1]$

# %% tags=["exercise"]
answer = None
# BEGIN SOLUTION
answer = "b"
# END SOLUTION

# %%
check("4.3", answer)

# %% [markdown] tags=["solution"]
# <details><summary>Model answer</summary>
#
# A projection returns the *nearest* point of the set, and for the $\ell_2$ ball that is
# $\epsilon\, z / \|z\|_2$ when $z$ is outside: it keeps the direction and shortens the length
# to exactly $\epsilon$. Clipping to the cube of half-side $\epsilon/\sqrt{n}$ also stays in
# the ball, but that cube is a sliver of it. A $\delta$ that puts its whole length
# $\epsilon = 2$ on a single pixel is already in the ball; clipping would cut it to
# $2/\sqrt{784} = 0.071$. The attack would lose exactly the concentrated perturbations that
# make $\ell_2$ attacks different from $\ell_\infty$ ones. Neither map knows about $[0, 1]$:
# that is the clamp.
#
# </details>

# %% [markdown]
# ## What we learned
#
# * Normalized steepest ascent takes a step of fixed size in the direction that gains the
#   most *for the chosen norm*: $g/\|g\|_2$ for $\ell_2$, $\operatorname{sign}(g)$ for
#   $\ell_\infty$, one coordinate for $\ell_1$. The gradient's magnitude no longer sets the
#   step; the gain is $\alpha$ times the dual norm of $g$.
# * The projection is the nearest point of the ball: clip for $\ell_\infty$, rescale for
#   $\ell_2$.
# * Under $\ell_\infty$, PGD is FGSM with a small step, repeated; with one step of size
#   $\epsilon$ it *is* FGSM. It needs about $\epsilon/\alpha$ steps to reach the edge of the
#   ball; then it catches up with FGSM and passes it.
# * One loop serves every norm; only the direction and the projection change — and with
#   them the kind of perturbation: spread thin under $\ell_\infty$, concentrated under $\ell_2$.
#
# ## References
#
# * S. Boyd and L. Vandenberghe. *Convex Optimization*. Cambridge University Press, 2004,
#   section 9.4, "Steepest descent method" (normalized steepest descent, dual norms).
# * I. J. Goodfellow, J. Shlens and C. Szegedy. "Explaining and Harnessing Adversarial
#   Examples." *International Conference on Learning Representations (ICLR)*, 2015 (FGSM).
# * A. Madry, A. Makelov, L. Schmidt, D. Tsipras and A. Vladu. "Towards Deep Learning Models
#   Resistant to Adversarial Attacks." *International Conference on Learning Representations
#   (ICLR)*, 2018 (PGD).
# * Z. Kolter and A. Madry. *Adversarial Robustness: Theory and Practice*, chapter 3,
#   "Adversarial examples, solving the inner maximization".
#   [adversarial-ml-tutorial.org](https://adversarial-ml-tutorial.org/adversarial_examples/)
