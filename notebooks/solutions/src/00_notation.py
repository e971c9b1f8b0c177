# %% [markdown]
# # 0. Notation and glossary
#
# *Course: "Adversarial examples, solving the inner maximization" — after chapter 3 of
# Kolter & Madry, "Adversarial Robustness: Theory and Practice".*
#
# The symbols, the words and the conventions of the whole course on one page. Read it once;
# come back when a symbol or a word in a later notebook is unclear.
#
# ## The setting
#
# An image $x \in [0, 1]^n$ ($n = 784$ pixels for MNIST) has a true label $y$. A network
# $h_\theta$ maps it to ten **logits** $z = h_\theta(x)$, one score per class, and predicts the
# class with the largest logit. Layer by layer (the chapter's notation, notebooks 6–9):
# $z_1 = x$, the pre-activation $\hat z_{i+1} = W_i z_i + b_i$, the activation
# $z_{i+1} = \max(0, \hat z_{i+1})$, and the last layer gives the logits $z_{d+1}$. Training
# minimises the cross-entropy loss $\ell(z, y) = \log \sum_j e^{z_j} - z_y$.
#
# An adversary may add a perturbation $\delta$ from a small ball. The **inner maximization**
# is the adversary's problem:
#
# $$\max_{\|\delta\| \le \epsilon}\; \ell\big(h_\theta(x + \delta), y\big).$$
#
# ## Symbols and their names in code
#
# The same names in every notebook:
#
# | math | code | meaning |
# | --- | --- | --- |
# | $x$, $y$ | `X`, `y` | a batch of images, shape `(n, 1, 28, 28)` with pixels in $[0, 1]$, and their labels, shape `(n,)` |
# | $h_\theta$ | `model` | a trained network (`dnn2`, `dnn4`, `cnn`, `small`) |
# | $\delta$ | `delta` | the perturbation; every attack returns $\delta$, never $x + \delta$ |
# | $\epsilon$ | `epsilon` | the radius of the ball |
# | $\alpha$ | `alpha` | the step size of an iterative attack |
# | | `num_iter`, `restarts` | number of steps; number of random starts |
# | $g$ | | the gradient of the loss with respect to $\delta$ |
# | $t$, $y_{\text{targ}}$ | `y_targ` | a target class |
# | $z$ | `model(X + delta)` | the logits |
# | $c = e_y - e_t$ | `c` | the vector that turns logits into a margin |
# | $m_t = c^\top z = z_y - z_t$ | `margin` | **the margin** for target $t$ |
# | $\hat z$, $l$, $u$ | `bounds` | a pre-activation and lower and upper bounds on it, $l \le \hat z \le u$ |
# | $v$ | | the 0/1 variable of one ReLU in the MILP |
#
# ## Glossary
#
# **ε-ball.** The set of allowed perturbations, $\{\delta : \|\delta\| \le \epsilon\}$. In the
# $\ell_\infty$ ball every pixel may move by at most $\epsilon$ (a cube of side $2\epsilon$;
# the chapter mostly uses $\epsilon = 0.1$). In the $\ell_2$ ball the whole perturbation has
# Euclidean length at most $\epsilon$, so a few pixels may move a lot (the chapter uses
# $\epsilon = 2$). Radii are not comparable across norms (notebook 5).
#
# **Clamp.** Keep $x + \delta$ a valid image: every pixel in $[0, 1]$, i.e.
# $-x_i \le \delta_i \le 1 - x_i$. The course's attacks clamp by default; `clamp=False`
# reproduces the chapter's $\ell_\infty$ code, which does not (its $\ell_2$ code does). The
# chapter's $\ell_\infty$ figures rely partly on pixels no image can have (notebook 2).
#
# **Steepest-ascent direction and projection.** The step that raises the loss most for a
# given norm — $\operatorname{sign}(g)$ for $\ell_\infty$, $g / \|g\|_2$ for $\ell_2$ — and
# the map back to the nearest point of the ball — clip for $\ell_\infty$, rescale for $\ell_2$
# (notebook 4).
#
# **Adversarial example.** A point $x + \delta$ of the ball (a valid image, if clamped) that
# the network does not classify as $y$. A **targeted** attack asks for a particular class $t$.
#
# **The margin** (target $t$): $m_t(x') = z_y(x') - z_t(x') = c^\top z$ with
# $c = e_y - e_t$ — the chapter's $c^\top z_{d+1}$. Positive: the true class beats $t$ at
# $x'$. If $m_t(x') < 0$ for some $t$, the class changes at $x'$ — **not necessarily to $t$**:
# a third class may have the largest logit (notebook 5).
#
# **Worst-case margin.** $m_t^* = \min_{\|\delta\| \le \epsilon} m_t(x + \delta)$, the
# targeted problem that verification solves or bounds. If $m_t^* > 0$ for every $t \ne y$, no
# adversarial example exists in the ball; if $m_t^* < 0$ for some $t$, one does.
#
# **Lower and upper bounds: which side each method gives.** Attacks and verifiers approach
# the worst case from opposite sides:
#
# | method | notebooks | what it gives |
# | --- | --- | --- |
# | attacks (FGSM, PGD, targeted PGD, C&W) | 2–5 | a real point: its loss is a **lower bound** on the inner maximization, its margin an **upper bound** on $m_t^*$. Can find an adversarial example, never prove there is none. |
# | MILP (mixed-integer linear program) | 6 | $m_t^*$ **exactly**, one target at a time; deciding all targets decides whether an adversarial example exists. It solves the margin problems, not the cross-entropy maximization. |
# | LP relaxation | 7 | a **lower bound** on $m_t^*$ |
# | interval bounds | 8 | a **lower bound** on $m_t^*$, the loosest and the cheapest |
# | CROWN (linear bounds) | 9 | a **lower bound** on $m_t^*$ |
#
# So, for every target: interval bound $\le$ LP bound (on the same $l$, $u$) $\le m_t^* \le$
# the margin of any attack's point. A certifier's number is never "an upper bound on the inner
# maximization": it is a lower bound on the worst-case margin.
#
# **Stable and unstable neurons.** Given $l \le \hat z \le u$ for a ReLU's input, the neuron is
# *stably off* if $u \le 0$ (its output is 0 on the whole ball), *stably on* if $l \ge 0$ (its
# output is $\hat z$), and *unstable* if $l < 0 < u$. Only unstable neurons make the problem
# hard: each needs a 0/1 choice in the MILP, or a relaxation.
#
# **Big-M.** The MILP's exact encoding of $z = \max(0, \hat z)$ with one binary $v$:
# $z \ge \hat z$, $z \ge 0$, $z \le u\,v$, $z \le \hat z - (1 - v)\,l$. The bounds $l$ and $u$
# play the role of the "big M" constants; the tighter they are, the faster the solver
# (notebook 6).
#
# **Relaxation.** A larger, easier set in place of a hard one — e.g. $0 \le v \le 1$ instead
# of $v \in \{0, 1\}$, which turns each unstable ReLU into a triangle (notebook 7). Minimising
# the margin over a larger set gives a smaller number: a lower bound on $m_t^*$.
#
# **Certificate.** A proof that an image is robust at radius $\epsilon$: a lower bound above 0
# on $m_t^*$ for every target $t \ne y$.
#
# **Robust accuracy** at radius $\epsilon$: the share of test images classified correctly at
# every point of their ball. It is rarely known exactly. An attack gives an **upper bound**
# (the images it fails to flip) — the chapter reports the complement, the *error under
# attack*. **Certified accuracy** — the share of images classified correctly and certified by a
# given verifier — is a **lower bound** (notebook 9).
#
# ## How to read the notebooks
#
# **Check lines.** Beside a figure that the text relies on, a collapsed cell prints a line
# starting with ✓. It is an assertion, not decoration: if the figure ever drifts from what
# the text says, the cell raises an error that names the figure. Here are two, for the first
# test image and the small network:

# %%
import torch

from course_utils.checks import approx, check_claim, check_close
from course_utils.data import eval_subset
from course_utils.models import load_model

small = load_model("small")
x, y = eval_subset(1)                                # the first test image and its label
with torch.no_grad():
    z = small(x)[0]                                  # its ten logits
label = int(y[0])
c = torch.eye(10)[label] - torch.eye(10)[3]          # c = e_y - e_t for the target t = 3
print(f"label {label}, prediction {int(z.argmax())}; m_3 = c^T z = {approx(c @ z, 2)}")
margins = {t: z[label] - z[t] for t in range(10) if t != label}
print("margins m_t: " + ", ".join(f"{t}: {approx(m, 2)}" for t, m in margins.items()))

# %% tags=["hide-input"]
# One forward pass: spread below 3e-4 across CPU kernels and thread counts (tools/portability.py).
check_close(min(margins.values()), 7.815, 0.01, "smallest margin of the first test image (target 9):")
check_claim(all(m > 0 for m in margins.values()), "every margin is positive: the image is classified as its label")

# %% [markdown]
# The first line reads: this run's smallest margin is within 0.01 of 7.815, the value the
# text relies on. The second asserts a statement. A third kind,
# `✓ pgd_linf = attacks.pgd_linf(...) (to 1e-06)`, says that a notebook's own few-line
# version of an algorithm and the package's agree entry by entry.
#
# **≈ figures.** A figure printed as `≈7.82` comes out of floating-point arithmetic whose
# last digit may differ on another computer (another CPU, another number of threads) —
# above all the error rates of attacks over many images, where one image more or less flips.
# The notebook tests ignore the digits after ≈; the check line beside the figure holds it to
# a tolerance measured across machines. Figures from recorded runs (the chapter's, or the
# full test set's, read from the course's records) are printed without ≈.
#
# **Exercises.** Each notebook from 2 on ends with exercises of three kinds: implement a
# function, predict an outcome before running the cell that shows it, or explain why (pick
# an answer; a model answer follows, collapsed). Write your answer where the cell says
# `...  # your code here` or `answer = None`, run it, then run the `check("N.M", name)` cell
# under it. It prints `✓ Exercise N.M (...): right.` or `✗ ... not yet -- <what is wrong>.
# Hint: <what to try>` — never a bare traceback. `make student` writes the notebooks without
# the solutions.
#
# **Ask the room.** Cells that start with **Ask the room.** are questions for a lecture: pause
# there, collect guesses, then run the next cell, which answers them.
#
# **Pictures.** Every method keeps one colour and one marker in every chart of the course
# (FGSM, PGD, PGD with restarts, targeted PGD, $\ell_2$ PGD, interval bounds, CROWN, the LP,
# the MILP), taken from one table in `course_utils`, so a curve is recognisable from notebook
# to notebook and in grey print. Digits are drawn dark on light, as in the chapter;
# perturbations $\delta$ on a two-sided colour map, white where $\delta = 0$. Right and wrong
# predictions are marked by a symbol as well as a colour.
#
# ## Where each idea appears
#
# | notebook | ideas |
# | --- | --- |
# | 1 | the inner maximization; why ReLU loss surfaces make it hard; the model zoo |
# | 2 | FGSM; the clamp |
# | 3 | PGD: plain and normalized steps, random restarts |
# | 4 | steepest ascent per norm; projections; $\ell_\infty$ vs $\ell_2$ perturbations |
# | 5 | targeted attacks and the margin; $\ell_2$ attacks; radii across norms; other attacks |
# | 6 | the MILP: exact worst-case margins; big-M; interval bounds for $l$, $u$ |
# | 7 | the LP relaxation and its fake adversarial points |
# | 8 | interval bound propagation with an analytic last layer |
# | 9 | CROWN-style linear bounds; certified accuracy over a test set |
#
# ## References
#
# * Z. Kolter and A. Madry. *Adversarial Robustness: Theory and Practice*, chapter 3,
#   "Adversarial examples, solving the inner maximization".
#   [adversarial-ml-tutorial.org](https://adversarial-ml-tutorial.org/adversarial_examples/)
# * The papers behind each method are listed at the end of the notebook that introduces it.
