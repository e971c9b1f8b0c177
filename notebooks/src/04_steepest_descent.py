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
# norm we measure distance with.

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch

from course_utils import config
from course_utils.checks import approx, check_close
from course_utils.attacks import fgsm, pgd_l2, pgd_linf, steepest_direction
from course_utils.data import eval_subset
from course_utils.evaluate import epoch_adversarial, tensor_loader
from course_utils.models import load_model
from course_utils.plotting import plot_steepest_ascent_2d
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
# $\ell_2$, $\|g\|_1$ for $\ell_\infty$). `steepest_direction` computes the unit-size step:

# %%
g = torch.tensor([[3.0, -0.5, 0.0, 1.0]])
for norm in ("l2", "linf"):
    v = steepest_direction(g, norm)
    print(f"{norm:4s} direction {v.numpy().round(3)[0]},  v·g = {(v * g).sum():.3f}")
print(f"dual norms of g: ||g||_2 = {g.norm():.3f}, ||g||_1 = {g.abs().sum():.3f}")

# %% [markdown]
# Multiply $g$ by $10^{-6}$ and neither direction changes: that is exactly the property the
# plain gradient step lacked.
#
# ## A picture in two dimensions
#
# Take a smooth function of two variables, start at the origin, and climb with ten
# normalized steps of size $\alpha = 0.2$ under each norm, projecting back onto the ball of
# radius $\epsilon = 1$ after each step — the dashed circle for $\ell_2$, the dashed square for
# $\ell_\infty$. The grey lines are level sets of $f$ (values rise to the upper right).

# %%
def f(Z):
    return Z[..., 0] + 0.3 * Z[..., 1] - 0.25 * (Z[..., 0] - Z[..., 1]) ** 2


def grad_f(z):
    d = z[0] - z[1]
    return np.array([1 - 0.5 * d, 0.3 + 0.5 * d])


plot_steepest_ascent_2d(f, grad_f, (0.0, 0.0), alpha=0.2, num_iter=10, epsilon=1.0)
plt.show()

# %% [markdown]
# The $\ell_2$ steps (blue) follow the gradient, then slide along the circle to the best
# point on it. The $\ell_\infty$ steps (red) ignore the gradient's proportions: every step
# moves by $\pm\alpha$ in *every* coordinate, so they march diagonally and end in a corner of
# the square, where both coordinates are at $\pm\epsilon$. In 784 dimensions that corner
# behaviour is what we saw in notebook 2: the l∞ attack moves every pixel by the full budget.
# The square also contains the circle, so the $\ell_\infty$ climb ends higher:

# %%
z_inf, z_two = np.zeros(2), np.zeros(2)
for _ in range(10):
    z_inf = np.clip(z_inf + 0.2 * np.sign(grad_f(z_inf)), -1, 1)
    z_two = z_two + 0.2 * grad_f(z_two) / np.linalg.norm(grad_f(z_two))
    z_two = z_two / max(1.0, np.linalg.norm(z_two))
print(f"l∞ end point {z_inf.round(3)}, f = {f(z_inf):.3f}")
print(f"l2 end point {z_two.round(3)}, f = {f(z_two):.3f}")

# %% [markdown]
# ## l∞ PGD is "mini-FGSM, repeated"
#
# Put the two pieces together. Under $\ell_\infty$ the normalized step is
# $\alpha \operatorname{sign}(g)$, and the projection clips to $[-\epsilon, \epsilon]$. One
# step of size $\alpha = \epsilon$ from $\delta = 0$ is therefore *exactly* FGSM; PGD with
# $\alpha < \epsilon$ repeats small FGSM steps, re-reading the gradient each time so it can
# follow the loss around its bends:

# %%
dnn2 = models["dnn2"]
one_step = pgd_linf(dnn2, X[:100], y[:100], epsilon=0.1, alpha=0.1, num_iter=1)
print("pgd_linf with one step of α = ε equals fgsm:", torch.equal(one_step, fgsm(dnn2, X[:100], y[:100], 0.1)))

# %% [markdown]
# How much do the extra steps buy? Error of the 2-layer network against $\ell_\infty$ PGD
# ($\epsilon = 0.1$, $\alpha = 0.01$) after $k$ steps, on the first 500 test images, in the
# chapter's setting (no clamp) and with valid images:

# %%
loader = tensor_loader(X[:500], y[:500], batch_size=500)
print("steps   clamp off   clamp on")
by_steps = {}
for k in (1, 2, 5, 10, 20, 40):
    by_steps[k] = [epoch_adversarial(dnn2, loader, pgd_linf, 0.1, 0.01, k, clamp=c, progress=False)[0]
                   for c in (False, True)]
    print(f"{k:5d}   {approx(by_steps[k][0]):>9s}   {approx(by_steps[k][1]):>8s}")

# %% tags=["hide-input"]
for k, errors in {10: (0.974, 0.834), 40: (0.984, 0.862)}.items():
    for clamp, value in zip((False, True), errors):
        check_close(by_steps[k][clamp], value, 0.006, f"dnn2, {k} PGD steps, clamp {'on' if clamp else 'off'}:")

# %% [markdown]
# With $\alpha = 0.01$ it takes at least ten steps just to reach the edge of a ball of
# radius 0.1, so the first rows are weak attacks. By ten steps — just enough to reach the
# edge of the box — PGD has passed FGSM (0.959 clamp off, 0.777 clamp on on the first 1000
# images, notebook 2) and after that it levels off. With the clamp the curve levels off
# lower: the attack has fewer allowed moves.
#
# ## Other norms, same loop
#
# Nothing in the loop is specific to $\ell_\infty$: swap the direction
# ($g/\|g\|_2$) and the projection (rescale onto the sphere) and the same code gives
# $\ell_2$ PGD, `pgd_l2` — notebook 5 studies it. Both are calls of one function,
# `projected_steepest_ascent(..., norm=...)`. Here they are side by side on the same images:

# %%
d_inf = pgd_linf(dnn2, X[:100], y[:100], 0.1, 0.01, 40)
d_two = pgd_l2(dnn2, X[:100], y[:100], 2.0, 0.1, 40)
for name, d in (("l∞ PGD, ε = 0.1", d_inf), ("l2 PGD, ε = 2", d_two)):
    flat = d.flatten(1)
    print(f"{name}: mean ||δ||_∞ = {approx(flat.abs().amax(1).mean())}, mean ||δ||_2 = "
          f"{approx(flat.norm(dim=1).mean())}, pixels changed by > 0.05: "
          f"{approx((flat.abs() > 0.05).float().mean())}")

# %% tags=["hide-input"]
changed = {name: (d.flatten(1).abs() > 0.05).float().mean() for name, d in (("l∞", d_inf), ("l2", d_two))}
check_close(changed["l∞"], 0.588, 0.01, "share of pixels the l∞ attack changes by more than 0.05:")
check_close(changed["l2"], 0.271, 0.01, "share of pixels the l2 attack changes by more than 0.05:")

# %% [markdown]
# The $\ell_\infty$ attack spreads a small change over many pixels; the $\ell_2$ attack
# changes few pixels, some of them a lot. Same algorithm, very different perturbations —
# chosen entirely by the norm.
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
              num_iter=40, epsilon_max=3.0)

# %% [markdown]
# ## What we learned
#
# * Normalized steepest ascent takes a step of fixed size in the direction that gains the
#   most *for the chosen norm*: $g/\|g\|_2$ for $\ell_2$, $\operatorname{sign}(g)$ for
#   $\ell_\infty$. The gradient's magnitude no longer sets the step.
# * Under $\ell_\infty$, PGD is FGSM with a small step, repeated; with one step of size
#   $\epsilon$ it *is* FGSM.
# * One loop serves every norm; only the direction and the projection change.
