# %% [markdown]
# # 0. Notation and glossary
#
# *Course: "Adversarial examples, solving the inner maximization" — after chapter 3 of
# Kolter & Madry, "Adversarial Robustness: Theory and Practice".*

# %%
import torch

from course_utils.checks import approx, check_claim, check_close, check_same
from course_utils.data import eval_subset
from course_utils.models import load_model
from course_utils.plotting import plot_margins

# %% [markdown]
# ## The setting
#
# An image $x \in [0, 1]^n$ ($n = 784$ pixels for MNIST) has a true label $y$. A network
# $h_\theta$ maps it to ten **logits** $z = h_\theta(x)$ and predicts the class with the
# largest. The loss is the cross-entropy $\ell(z, y) = \log \sum_j e^{z_j} - z_y$. The
# **inner maximization** is the adversary's problem:
#
# $$\max_{\|\delta\| \le \epsilon}\; \ell\big(h_\theta(x + \delta), y\big).$$

# %% [markdown]
# ### Layer by layer
#
# For notebooks 6–9, the chapter's notation: $z_1 = x$, pre-activations
# $\hat z_{i+1} = W_i z_i + b_i$ and activations $z_{i+1} = \max(0, \hat z_{i+1})$ for
# $i = 1, \dots, d-1$, and the logits $z_{d+1} = W_d z_d + b_d$ (no ReLU on the last layer).

# %% [markdown]
# ## Symbols and their names in code
#
# | math | code | meaning |
# | --- | --- | --- |
# | $x$, $y$ | `X`, `y` | images `(n, 1, 28, 28)`, pixels in $[0, 1]$; labels `(n,)` |
# | $h_\theta$ | `model` | a trained network (`dnn2`, `dnn4`, `cnn`, `small`) |
# | $\delta$ | `delta` | the perturbation (attacks return $\delta$, not $x + \delta$) |
# | $\epsilon$, $\alpha$ | `epsilon`, `alpha` | ball radius; step size |
# | | `num_iter`, `restarts` | steps; random starts |
# | $g$ | | the loss's gradient in $\delta$ |
# | $t$ | `y_targ` | a target class |

# %% [markdown]
# ### Margins and bounds
#
# | math | code | meaning |
# | --- | --- | --- |
# | $c = e_y - e_t$ | `c` | gives the margin $m_t = c^\top z = z_y - z_t$ |
# | $\hat z$, $l$, $u$ | `bounds` | a pre-activation and its bounds |
# | $v$ | | one ReLU's 0/1 variable in the MILP |

# %% [markdown]
# ## Glossary
#
# **ε-ball.** The allowed perturbations, $\{\delta : \|\delta\| \le \epsilon\}$. In the
# $\ell_\infty$ ball every pixel may move by at most $\epsilon$ (the chapter mostly uses
# $\epsilon = 0.1$); in the $\ell_2$ ball $\delta$ has length at most $\epsilon$
# (notebook 4).
#
# **Clamp.** Keep $x + \delta$ a valid image: $-x_i \le \delta_i \le 1 - x_i$. The course's
# attacks clamp unless told `clamp=False` (the chapter's $\ell_\infty$ code, notebook 2). The
# course's verifiers (notebooks 1 and 6–9) work on the valid images of the ball,
# $x + \delta \in [0, 1]^n$; the chapter's MILP and LP minimise over the whole ball, which can
# only lower the margin.

# %% [markdown]
# ### Adversarial examples and margins
#
# An **adversarial example** is a point $x + \delta$ of the ball not classified as $y$; a
# **targeted** attack asks for a class $t$ (notebook 5). **The margin** $m_t(x') = z_y(x') -
# z_t(x')$: if negative, the class at $x'$ is not $y$, but not
# necessarily $t$. The **worst-case margin** is taken over the valid images of the ball,
#
# $$m_t^* = \min \{\, m_t(x + \delta) : \|\delta\| \le \epsilon,\ x + \delta \in [0, 1]^n \,\}:$$
#
# if $m_t^* > 0$ for every $t \ne y$, no valid image of the ball is misclassified; if
# $m_t^* < 0$ for some $t$, one is.

# %% tags=["subslide"]
small = load_model("small")
x, y = eval_subset(1)                                # the first test image and its label
with torch.no_grad():
    z = small(x)[0]                                  # its ten logits
label = int(y[0])
margins = {t: z[label] - z[t] for t in range(10) if t != label}
print(f"label {label}, prediction {int(z.argmax())}; margins: "
      + ", ".join(f"{t}: {approx(m, 2)}" for t, m in margins.items()))
_ = plot_margins(x[0], z, label, title="the small network on the first test image")

# %% tags=["hide-input"]
check_close(min(margins.values()), 7.815, 0.01, "smallest margin of the first test image (target 9):")
check_claim(all(m > 0 for m in margins.values()), "every margin is positive: the image is classified as its label")
check_claim(min(margins, key=margins.get) == 9, "the smallest margin is the one to target 9", show=False)
c = torch.eye(10)[label] - torch.eye(10)[3]          # c = e_y - e_t for the target t = 3
check_same(c @ z, margins[3], "c^T z is the margin m_3", show=False)   # prints nothing: it passed

# %% [markdown]
# ### Which side each method gives
#
# | method | notebooks | gives |
# | --- | --- | --- |
# | attacks (FGSM, PGD, ...) | 2–5 | a real point: a **lower bound** on the inner maximization; with the clamp, an **upper bound** on $m_t^*$ |
# | MILP | 6 | $m_t^*$ **exactly**, one target at a time |
# | LP, interval bounds, CROWN | 7–9 | a **lower bound** on $m_t^*$ |
#
# So a relaxation's bound $\le m_t^* \le$ the margin at any clamped attack's point (notebook 1).

# %% [markdown]
# ### Stable neurons, big-M, relaxation
#
# Given bounds $l \le \hat z \le u$ on a ReLU's input, the neuron is *stably off* if
# $u \le 0$, *stably on* if $l \ge 0$, *unstable* if $l < 0 < u$. The MILP encodes an
# unstable ReLU exactly with one binary $v$: $z \ge \hat z$, $z \ge 0$, $z \le u\,v$,
# $z \le \hat z - (1 - v)\,l$ (**big-M**, notebook 6). Allowing $0 \le v \le 1$ **relaxes** it
# to a triangle (notebook 7).

# %% [markdown]
# ### Certificates and accuracies
#
# A **certificate** is a lower bound above 0 on $m_t^*$ for every target $t \ne y$: it proves
# that no valid image within $\epsilon$ of $x$ is misclassified. **Robust accuracy** is the
# share of test images classified correctly at every valid image of their ball.
# **Certified accuracy** (correct and certified) is a lower bound on it; the accuracy under
# a clamped attack an upper bound. The chapter reports the complement, the *error under
# attack* (notebook 9).

# %% [markdown]
# ## How to read the notebooks
#
# **Two editions.** Work in the *learner's edition* (`notebooks/NN_name.ipynb`); the *solved
# edition* (`notebooks/solutions/NN_name.ipynb`) answers every exercise, for after trying.

# %% [markdown]
# ### Code first
#
# Each algorithm of the chapter appears as a few lines of PyTorch, checked equal to its
# version in the package `course_utils`, which later notebooks call. The package's version
# also runs on the model's device, checks its arguments, and leaves the model's mode and
# gradients as it found them.

# %% [markdown]
# ### Check lines
#
# Every figure the text relies on is checked in a collapsed cell, which stops with an error
# naming the figure if it drifts; most print nothing when they pass.

# %% [markdown] tags=["notebook-only"]
# The two ✓ lines under the margins above are such checks; two more passed in silence. A
# line `✓ ... = course_utils.attacks.fgsm(...) (to 1e-06)` says that the notebook's and the
# package's versions agree entry by entry.

# %% [markdown]
# ### ≈ figures
#
# A figure printed `≈7.82` may differ in its last digit on another computer (its check
# allows a tolerance measured across machines); counts and recorded figures carry no ≈.

# %% [markdown] tags=["notebook-only"]
# ### Exercises
#
# Notebooks 1–9 end with four kinds: *implement* (extend code shown), *predict* (a
# number, before seeing it), *explain* (wrong options are common
# misconceptions), *investigate* (change a setting, measure, report). Answer at
# `...  # your code here` or `answer = None`, then run the `check("N.M", ...)` cell under it
# for the model answer or a hint. `solution("N.M")` shows the model answer and points
# to the reference solution.

# %% [markdown] tags=["room"]
# ### Exercises
#
# Four kinds, at the end of every notebook: *implement* (extend the code shown), *predict* (a
# number, before the cell that shows it), *explain* (each wrong option a common
# misconception), *investigate* (change a setting, measure, report). A check under each
# answer says "right" and shows the model answer, or "not yet" with a hint.

# %% [markdown]
# ### Ask the room, and the pictures
#
# **Ask the room.** marks a lecture question: collect guesses, then run the next
# cell. In every chart a method keeps one colour and marker; verdicts (robust ✓, attacked ✗,
# unknown ?) carry a symbol too.

# %% [markdown]
# ## Where each idea appears
#
# | notebook | ideas |
# | --- | --- |
# | 1 | ReLU loss surfaces; the three sides; the model zoo |
# | 2 | FGSM; when one step is exact; the clamp |
# | 3 | PGD: plain and normalized steps, restarts |
# | 4 | steepest ascent; $\ell_2$ PGD; radii across norms |
# | 5 | targeted attacks; ball + objective + optimiser |
# | 6 | the MILP: exact margins, big-M |
# | 7 | the LP relaxation; fake adversarial points |
# | 8 | interval bound propagation |
# | 9 | CROWN; certified accuracy |

# %% [markdown]
# ## References
#
# * Z. Kolter and A. Madry. *Adversarial Robustness: Theory and Practice*, chapter 3,
#   "Adversarial examples, solving the inner maximization".
#   [adversarial-ml-tutorial.org](https://adversarial-ml-tutorial.org/adversarial_examples/)
# * Each method's papers: at the end of the notebook that introduces it.
