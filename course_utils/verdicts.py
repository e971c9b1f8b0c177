"""The words of verification: what a verifier can answer, and the name of each step.

One vocabulary, shared by ``verify`` (one image), ``certified`` (many images),
``plotting`` and the notebooks (chapter 3, "Exactly solving the inner maximization",
"Upper bounding the inner maximization", and notebook 09 beyond the chapter).

A **verdict** is what is known about one target class (or one whole image):

``"robust"``    proven: no point of the ε-ball reaches the target (a certificate);
``"attacked"``  a real adversarial point was found and replayed on the model (a witness);
``"unknown"``   neither, yet (a loose bound, a time limit, or no exact step asked for).

A **step** is one way of deciding; each name means exactly one method:

``"misclassified"``  the clean prediction is already wrong (``certified_accuracy`` only)
``"pgd"``            untargeted l∞ PGD, batched over images (``certified_accuracy`` only)
``"targeted pgd"``   l∞ PGD towards each target class, best iterate kept (``verify.pgd_targets``)
``"interval"``       interval bounds with the chapter's analytic last layer (notebook 08)
``"crown"``          CROWN-style linear bounds (notebook 09)
``"alpha-crown"``    CROWN with each unstable ReLU's lower slope optimised (``alpha``)
``"lp"``             the chapter's LP relaxation on interval bounds (notebook 07)
``"lp+cuts"``        the LP relaxation on tightened bounds, strengthened by cuts from each
                     ReLU's convex hull over its input box (notebook 07)
``"milp"``           the MILP that decides only the sign of the minimum (notebook 06): a
                     short branch and bound over ReLU phases on the LP relaxation first
                     (``splits``), HiGHS's MILP solver for what it leaves open
``"exact milp"``     the MILP solved to its exact minimum (notebook 06)

``STEPS`` lists them cheapest first.
"""

from __future__ import annotations

from typing import Literal, Sequence, Tuple, get_args

Verdict = Literal["robust", "attacked", "unknown"]
VERDICTS: Tuple[str, ...] = get_args(Verdict)

Step = Literal["misclassified", "pgd", "targeted pgd", "interval", "crown", "alpha-crown", "lp", "lp+cuts", "milp",
               "exact milp"]
STEPS: Tuple[str, ...] = get_args(Step)
"""Every step, cheapest first."""

ATTACK_STEPS = ("misclassified", "pgd", "targeted pgd")
"""Steps that can only find attacks."""

BOUND_STEPS = ("interval", "crown", "alpha-crown")
"""Steps that only bound (no solver): they can only prove robustness."""

SOLVER_STEPS = ("lp", "lp+cuts", "milp", "exact milp")
"""Steps that solve a linear program (and take ``solver`` / ``time_limit``)."""


def check_step(step: str, allowed: Sequence[str] = STEPS, name: str = "step") -> str:
    """``step`` if it is one of ``allowed``, else a ``ValueError`` listing them."""
    if not isinstance(step, str) or step not in allowed:
        raise ValueError(f"{name} must be one of {tuple(allowed)}, got {step!r}")
    return step


def check_steps(steps: Sequence[str], allowed: Sequence[str] = STEPS, name: str = "steps") -> Tuple[str, ...]:
    """A non-empty selection of ``allowed`` (a name or a sequence), put in cheapest-first order."""
    if isinstance(steps, str):
        steps = (steps,)
    steps = tuple(steps)
    bad = [s for s in steps if s not in allowed]
    if bad or not steps:
        raise ValueError(f"{name} must be a non-empty subset of {tuple(allowed)}, got {steps}")
    return tuple(s for s in STEPS if s in steps)


def dearest(steps: Sequence[str]) -> str:
    """The most expensive of ``steps`` (what it took to settle them all)."""
    return max(steps, key=STEPS.index)
