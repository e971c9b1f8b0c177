"""Checks that keep a notebook's text true to its outputs, on any machine.

A sentence such as "FGSM fools the CNN on about 80% of the images" relies on a figure the
notebook computes live. Three things can go wrong: the code changes and the figure drifts
(the sentence silently lies), a learner's CPU computes the last digit differently (a strict
output comparison fails although nothing is wrong), or the text was written from memory.
The helpers here answer all three; every notebook uses them (introduced in notebook 01):

* :func:`check_close` -- a live figure against the value the text relies on, with a
  tolerance measured across CPUs and thread counts; prints one stable line or raises.
* :func:`check_claim` -- a comparison the text states ("PGD beats FGSM on every network").
* :func:`check_same` -- two computations that must agree (a notebook's ten-line version of
  an algorithm and the package's), to a stated tolerance.
* :func:`approx` -- formats a live figure whose last digit may differ between machines as
  ``≈0.803``. The notebook tests mask the digits after ``≈`` (``tests/nbval_sanitize.cfg``),
  so such a figure must be backed by a :func:`check_close` in the same or the next cell.

Check lines start with ``✓`` and print only the recorded value and the tolerance, never
the live one, so that the printed text is the same on every machine. A notebook shows a
few of them where a reader should see the evidence, and passes ``show=False`` to the rest:
those print nothing unless they fail (a failure always raises, so the notebook tests
catch it either way). To measure how much a
figure moves between machines, set ``COURSE_CHECK_LOG`` to a file: every
:func:`check_close` then appends its figure and live value to it as one JSON line
(``tools/portability.py`` does this under several CPU kernels and thread counts).
"""

from __future__ import annotations

import json
import math
import numbers
import os
from typing import Union

import numpy as np
import torch

Number = Union[int, float, np.number, torch.Tensor]

MARK = "≈"
"""Prefix of a figure whose last digit may differ between machines (see :func:`approx`)."""


def _as_float(value, name: str) -> float:
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise ValueError(f"{name} must be a single number, got a tensor of shape {tuple(value.shape)}")
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.number)):
        raise ValueError(f"{name} must be a real number, got {value!r}")
    number = float(value)
    if math.isnan(number):
        raise ValueError(f"{name} must not be NaN")
    return number


def approx(value: Number, digits: int = 3) -> str:
    """``value`` as ``"≈0.803"`` (``digits`` decimals), for a live figure that may differ in
    its last digit on another CPU. Back it with :func:`check_close`."""
    return f"{MARK}{_as_float(value, 'value'):.{int(digits)}f}"


def check_close(value: Number, recorded: Number, tol: Number, what: str, *, show: bool = True) -> None:
    """Assert ``|value - recorded| <= tol`` and print ``✓ what ≈ recorded (± tol)``
    (``show=False``: print nothing unless it fails).

    ``recorded`` is the figure the notebook's text relies on; ``tol`` the spread measured
    across machines and thread counts, with a margin (``benchmarks/portability.md``).
    Raises ``AssertionError`` naming the figure, the live value and the allowed range.
    """
    value, recorded = _as_float(value, "value"), _as_float(recorded, "recorded")
    tol, show = _as_float(tol, "tol"), _check_show(show)
    if tol < 0:
        raise ValueError(f"tol must be >= 0, got {tol}")
    log = os.environ.get("COURSE_CHECK_LOG")
    if log:
        with open(log, "a", encoding="utf-8") as f:
            f.write(json.dumps({"what": what, "value": value, "recorded": recorded, "tol": tol}) + "\n")
    if not abs(value - recorded) <= tol:
        raise AssertionError(f"{what}: this run gives {value:.6g}, but the text relies on "
                             f"{recorded:g} ± {tol:g}. Rerun the notebook from the top; if it "
                             "still differs, the text beside this figure needs updating.")
    _report(f"✓ {what} {MARK} {recorded:g} (± {tol:g})", show)


def check_claim(condition, claim: str, *, show: bool = True) -> None:
    """Assert a statement the text makes about the outputs, and print ``✓ claim``
    (``show=False``: print nothing unless it fails)."""
    show = _check_show(show)
    if isinstance(condition, torch.Tensor):
        if condition.numel() != 1:
            raise ValueError("condition must be one boolean, got a tensor of shape "
                             f"{tuple(condition.shape)}; use .all() or .any()")
        condition = bool(condition.item())
    if not isinstance(condition, (bool, np.bool_)):
        raise ValueError(f"condition must be a boolean, got {condition!r}")
    if not condition:
        raise AssertionError(f"the text claims: {claim} -- but this run's outputs say otherwise")
    _report(f"✓ {claim}", show)


def _report(line: str, show: bool) -> None:
    """Print a passed check's line when ``show`` asks for it."""
    if show:
        print(line)


def _check_show(show) -> bool:
    if not isinstance(show, (bool, np.bool_)):
        raise ValueError(f"show must be True or False, got {show!r}")
    return bool(show)


def max_difference(a, b) -> float:
    """Largest absolute entry-wise difference of two tensors/arrays of the same shape."""
    a = a.detach().cpu().double().numpy() if isinstance(a, torch.Tensor) else np.asarray(a, dtype=float)
    b = b.detach().cpu().double().numpy() if isinstance(b, torch.Tensor) else np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise AssertionError(f"shapes differ: {a.shape} vs {b.shape}")
    return float(np.abs(a - b).max()) if a.size else 0.0


def check_same(ours, theirs, what: str, atol: float = 1e-6, *, show: bool = True) -> None:
    """Assert two results agree entry by entry within ``atol``; print ``✓ what (to atol)``
    (``show=False``: print nothing unless it fails).

    For a notebook's own version of an algorithm beside the package's: both are computed
    on the same machine, so they agree to rounding whatever the CPU.
    """
    show = _check_show(show)
    gap = max_difference(ours, theirs)
    if not gap <= atol:
        raise AssertionError(f"{what}: the two differ by up to {gap:.3g} (allowed {atol:g})")
    _report(f"✓ {what} (to {atol:g})", show)
