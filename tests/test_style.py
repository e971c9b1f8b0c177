"""One colour per method: the table in course_utils.style is the only place colours live."""

import ast
from pathlib import Path

import matplotlib
import pytest
from matplotlib.colors import is_color_like, to_rgba

from course_utils import style

matplotlib.use("Agg")

PACKAGE = Path(style.__file__).resolve().parent
# every module that draws: the plotting package and the widgets
DRAWING_MODULES = sorted(PACKAGE.glob("plotting/*.py")) + [PACKAGE / n for n in (
    "widgets.py", "verify_widgets.py", "widget_core.py", "polytope.py")]
BRIEF_METHODS = {"clean", "fgsm", "pgd", "pgd_restarts", "targeted", "pgd_l2", "interval", "crown", "lp",
                 "lp_cuts", "milp"}


def test_every_method_of_the_course_has_one_distinct_style():
    assert BRIEF_METHODS <= set(style.METHODS)
    colours = [to_rgba(s.color) for s in style.METHODS.values()]
    assert len(set(colours)) == len(colours), "two methods share a colour"
    labels = [s.label for s in style.METHODS.values()]
    assert len(set(labels)) == len(labels)
    verdicts = list(style.VERDICTS.values())
    assert len({v.symbol for v in verdicts}) == len({to_rgba(v.color) for v in verdicts}) == 3
    assert len({v.linestyle for v in verdicts}) == 3, "verdict frames must differ without colour"
    # a figure may draw both (notebook 09's bracket: every method, and a verdict per ε along the top)
    assert not set(colours) & {to_rgba(v.color) for v in verdicts}, "a method shares a colour with a verdict"


def test_every_attack_and_alias_resolves():
    from course_utils.attacks import ATTACKS

    for name in ATTACKS:
        assert style.attack_method(name) in style.METHODS
    assert style.attack_method("pgd") == "pgd_plain"           # the raw-gradient PGD of attacks.py
    assert style.method_style("pgd_linf") is style.METHODS["pgd"]
    assert style.method_style("MILP") is style.METHODS["milp"]
    assert style.verdict_style("attack") is style.VERDICTS["attacked"]
    with pytest.raises(ValueError, match="unknown method 'nope'"):
        style.method_style("nope")
    with pytest.raises(ValueError, match="verdict must be one of"):
        style.verdict_style("maybe")


def _string_constants(tree: ast.AST):
    """String literals of a module, without docstrings and f-string format specs."""
    skip = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                skip.add(id(body[0].value))
        if isinstance(node, ast.FormattedValue) and node.format_spec is not None:
            skip.update(id(n) for n in ast.walk(node.format_spec))
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):   # attribute docstrings
            skip.add(id(node.value))
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            yield node


@pytest.mark.parametrize("path", DRAWING_MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_drawing_module_writes_a_colour_or_colormap(path):
    # "none" (no colour; also CSS display: none) is the one colour-like word allowed
    colormaps = set(matplotlib.colormaps)
    found = [(node.lineno, node.value) for node in _string_constants(ast.parse(path.read_text()))
             if node.value != "none" and (is_color_like(node.value) or node.value in colormaps)]
    assert not found, f"{path.name}: colours must come from course_utils.style, found {found}"


def test_method_colours_are_written_only_in_the_style_table():
    for path in PACKAGE.rglob("*.py"):
        if path.name == "style.py":
            continue
        text = path.read_text().lower()
        for key, s in style.METHODS.items():
            assert s.color.lower() not in text, f"{path.name} writes {key}'s colour {s.color} itself"


def test_the_colour_check_catches_literals_but_not_docstrings_or_formats():
    source = ('"""Docstring naming red."""\n'
              'def f(ax, v):\n    """Draws in black."""\n'
              '    ax.plot(v, color="tab:red", cmap="viridis")\n    return f"{v:g}"\n')
    found = {n.value for n in _string_constants(ast.parse(source))
             if is_color_like(n.value) or n.value in set(matplotlib.colormaps)}
    assert found == {"tab:red", "viridis"}
