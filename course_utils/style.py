"""One look for every figure of the course: a colour, a marker and a name per method.

Every plotting function and widget takes its colours from here (a test checks that no
other module of ``course_utils`` writes a colour), so an attack or a verifier looks the
same in every chart of every notebook: FGSM is always orange squares, the MILP always
black circles. The palette is Paul Tol's and Okabe & Ito's colour-blind-safe colours,
and every method also has its own marker, so a chart still reads in grey print.

``METHODS``   method key -> ``MethodStyle`` (label, colour, marker, line style)
``method_style(name)``    a key, or an attack's function name (``"pgd_linf"``), to its style
``VERDICTS``  "robust" / "attacked" / "unknown" -> ``VerdictStyle`` (colour, marker,
              frame line style, text symbol); ``verdict_style`` also takes "attack"
``OUTCOMES``  what became of one attacked image (its title in ``plotting.plot_images``, its
              bar in ``plotting.plot_outcomes``)

Introduced with the first chart of notebook 02 and used in every notebook after it.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping


@dataclass(frozen=True)
class MethodStyle:
    """How one method is drawn: ``label`` (legend text), ``color``, ``marker``, ``linestyle``."""
    label: str
    color: str
    marker: str
    linestyle: str = "-"

    def line_kw(self) -> dict:
        """Keyword arguments for ``Axes.plot``: colour, marker, line style and label."""
        return {"color": self.color, "marker": self.marker, "linestyle": self.linestyle, "label": self.label}


METHODS: Mapping[str, MethodStyle] = MappingProxyType({
    # no attack
    "clean": MethodStyle("clean (no attack)", "#555555", "o", ":"),
    # attacks: lower bounds on the inner maximization (chapter 3, notebooks 02-05)
    "fgsm": MethodStyle("FGSM", "#EE7733", "s"),
    "pgd": MethodStyle("PGD (ℓ∞, normalised steps)", "#CC3311", "^"),
    "pgd_plain": MethodStyle("PGD, raw gradient steps", "#EE3377", "v", "--"),
    "pgd_restarts": MethodStyle("PGD + random restarts", "#882255", "P"),
    "targeted": MethodStyle("targeted PGD", "#AA4499", "X"),
    "pgd_l2": MethodStyle("PGD (ℓ2)", "#33BBEE", "D"),
    # verifiers: bounds that prove (notebooks 06-09)
    "interval": MethodStyle("interval bounds", "#999933", "v"),
    "crown": MethodStyle("CROWN (linear bounds)", "#009988", "D"),
    "alpha_crown": MethodStyle("CROWN, optimised slopes", "#332288", "d", "--"),
    "lp": MethodStyle("LP relaxation (chapter's)", "#0077BB", "s"),
    "lp_cuts": MethodStyle("LP + cuts", "#44AA99", "p", "--"),
    "milp": MethodStyle("MILP (exact)", "#000000", "o"),
})
"""The one method table of the course (keys are what the plotting functions accept)."""

ALIASES: Mapping[str, str] = MappingProxyType({
    # the function names of course_utils.attacks
    "pgd_linf": "pgd", "pgd_linf_rand": "pgd_restarts", "pgd_linf_targ": "targeted",
    "pgd_linf_targ2": "targeted",
    # names used by verify / certified
    "lp+cuts": "lp_cuts", "alpha-crown": "alpha_crown", "exact milp": "milp", "exact": "milp", "targeted pgd": "targeted",
    "none": "clean",
})
"""Other names a caller may use for a method: ``course_utils.attacks``' function names
(there, ``"pgd"`` is the raw-gradient PGD: pass ``"pgd_plain"`` for it here)."""


def method_style(name: str) -> MethodStyle:
    """The style of method ``name`` (a key of ``METHODS`` or of ``ALIASES``, any case)."""
    key = str(name).lower()
    key = ALIASES.get(key, key)
    if key not in METHODS:
        raise ValueError(f"unknown method {name!r}: use one of {sorted(METHODS)} "
                         f"(or an alias: {sorted(ALIASES)})")
    return METHODS[key]


def attack_method(attack_name: str) -> str:
    """The ``METHODS`` key of an attack of ``course_utils.attacks.ATTACKS`` ("pgd" is the
    raw-gradient PGD there, ``"pgd_plain"`` here)."""
    if attack_name == "pgd":
        return "pgd_plain"
    key = ALIASES.get(attack_name, attack_name)
    if key not in METHODS:
        raise ValueError(f"unknown attack {attack_name!r}")
    return key


@dataclass(frozen=True)
class VerdictStyle:
    """How a verdict is drawn: ``color``, ``marker``, frame ``linestyle`` and a text ``symbol``
    (so the verdict reads without colour)."""
    label: str
    color: str
    marker: str
    linestyle: str
    symbol: str


VERDICTS: Mapping[str, VerdictStyle] = MappingProxyType({
    "robust": VerdictStyle("proven robust", "#117733", "o", "-", "✓"),
    "attacked": VerdictStyle("attacked", "#CC6677", "x", "--", "✗"),
    "unknown": VerdictStyle("undecided", "#BBBBBB", "s", ":", "?"),
})


def verdict_style(verdict: str) -> VerdictStyle:
    """The style of ``verdict``: "robust", "attacked" (or verify's "attack") or "unknown"."""
    key = "attacked" if verdict == "attack" else verdict
    if key not in VERDICTS:
        raise ValueError(f"verdict must be one of {sorted(VERDICTS)} (or 'attack'), got {verdict!r}")
    return VERDICTS[key]


@dataclass(frozen=True)
class OutcomeStyle:
    """The title of one attacked image: ``mark`` after "true→predicted", and its colour;
    ``hatch``: the fill pattern of its bar in ``plotting.plot_outcomes`` (so the outcomes
    read without colour)."""
    label: str
    mark: str
    color: str
    hatch: str = ""


OUTCOMES: Mapping[str, OutcomeStyle] = MappingProxyType({
    # untargeted: did the prediction stay right?
    "right": OutcomeStyle("still correct", "✓", VERDICTS["robust"].color, ""),
    "wrong": OutcomeStyle("misclassified", "✗", VERDICTS["attacked"].color, "xx"),
    # targeted: three outcomes
    "hit": OutcomeStyle("hit the target", "◎", METHODS["targeted"].color, "///"),
    "other": OutcomeStyle("another class", "✗", VERDICTS["attacked"].color, "xx"),
})

# --- images and maps ---------------------------------------------------------------------

DIGIT_CMAP = "gray_r"
"""Digits are drawn dark on light, as in the chapter: pixel 0 white, 1 black."""
BELOW_RANGE = "#0077BB"
"""Colour of a pixel below 0 (an unclamped attack left the valid image range)."""
ABOVE_RANGE = "#EE3377"
"""Colour of a pixel above 1."""
DIVERGING_CMAP = "PuOr_r"
"""Perturbations δ and other signed maps: symmetric range, white at 0."""
SEQUENTIAL_CMAP = "viridis"
"""An ordered family (several ε, input coordinates)."""

PAPER = "#FFFFFF"
"""Background of a label drawn over a filled region (a bar's share)."""
INK = "#222222"
"""Points and curves that are no method: the network f(x), the clean point x0."""
GUIDE = "#888888"
"""Zero lines, bounds l and u, grid lines."""
FILL_ALPHA = 0.18
"""Transparency of filled regions (relaxations, balls)."""

# --- the search tree of a branch and bound (notebook 06) -------------------------------------


@dataclass(frozen=True)
class NodeStyle:
    """How one node of a branch-and-bound tree is drawn: ``label``, ``color``, ``marker``."""
    label: str
    color: str
    marker: str


SEARCH_NODES: Mapping[str, NodeStyle] = MappingProxyType({
    "split": NodeStyle("split: bound at most the minimum", VERDICTS["unknown"].color, "o"),
    "left": NodeStyle("left unsplit: bound at least the minimum", VERDICTS["robust"].color, "s"),
    "infeasible": NodeStyle("no input has these phases", VERDICTS["attacked"].color, "x"),
    "optimum": NodeStyle("every phase fixed: the minimum", METHODS["milp"].color, "*"),
})
"""The four kinds of node of ``plotting.plot_search_tree``, by what the search did with them."""
