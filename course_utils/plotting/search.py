"""The search tree of a branch and bound over ReLU phases (notebook 06): which nodes the
search split, which it never needed to, which phase patterns no input has, and where the
minimum was found. Nodes come as ``(parent, phase, bound)`` triples, the format of
``splits.SearchTree.nodes`` and of notebook 06's inline ``branch_and_bound``."""

from __future__ import annotations

import math
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from .. import style
from ._common import finish, new_axes

Node = Tuple[Optional[int], Optional[int], float]


def _check_nodes(nodes) -> List[Node]:
    """``nodes`` as a list of ``(parent, phase, bound)``: the root first (parent ``None``),
    every other parent an earlier node, phases 0 or 1."""
    nodes = list(getattr(nodes, "nodes", nodes))
    if not nodes or nodes[0][0] is not None:
        raise ValueError("nodes must start with the root, (None, None, bound)")
    for k, node in enumerate(nodes[1:], 1):
        if len(node) != 3 or not (isinstance(node[0], int) and 0 <= node[0] < k) or node[1] not in (0, 1):
            raise ValueError(f"nodes[{k}] must be (parent, phase, bound) with parent an earlier node and "
                             f"phase 0 or 1, got {node!r}")
    return nodes


def tree_layout(nodes: Sequence[Node]) -> Dict[int, Tuple[float, int]]:
    """``{node: (x, depth)}``: leaves spaced one apart from left to right (phase 0 to the
    left of phase 1), each split node centred over its children."""
    nodes = _check_nodes(nodes)
    children: Dict[int, List[int]] = {}
    for k, (parent, phase, _) in enumerate(nodes[1:], 1):
        children.setdefault(parent, []).append(k)
    place, next_leaf = {}, [0.0]

    def visit(k: int, depth: int) -> None:
        kids = sorted(children.get(k, []), key=lambda j: nodes[j][1])
        for j in kids:
            visit(j, depth + 1)
        if kids:
            place[k] = (float(np.mean([place[j][0] for j in kids])), depth)
        else:
            place[k] = (next_leaf[0], depth)
            next_leaf[0] += 1.0

    visit(0, 0)
    return place


def node_kinds(nodes: Sequence[Node], optimum: Optional[int] = None) -> List[str]:
    """Each node's key of ``style.SEARCH_NODES``: ``"optimum"`` (node ``optimum``),
    ``"split"`` (it has children), ``"infeasible"`` (bound ``inf``) or ``"left"``."""
    nodes = _check_nodes(nodes)
    parents = {p for p, _, _ in nodes[1:]}
    return ["optimum" if k == optimum else "split" if k in parents else
            "infeasible" if math.isinf(b) else "left" for k, (_, _, b) in enumerate(nodes)]


def plot_search_tree(nodes, optimum: Optional[int] = None, ax=None, title: str = ""):
    """Draw a branch-and-bound tree: one row per number of phases fixed, phase 0 to the
    left, each node marked by what the search did with it (``style.SEARCH_NODES``), the
    path to the ``optimum`` drawn thick, the root's bound and the minimum written beside
    their nodes. ``nodes``: ``(parent, phase, bound)`` triples or a
    ``splits.SearchTree`` (its ``optimum`` is then used). Returns the figure."""
    if optimum is None:
        optimum = getattr(nodes, "optimum", None)
    nodes = _check_nodes(nodes)
    if optimum is not None and not (isinstance(optimum, int) and 0 <= optimum < len(nodes)):
        raise ValueError(f"optimum must be the index of a node (0 .. {len(nodes) - 1}) or None, got {optimum!r}")
    place, kinds = tree_layout(nodes), node_kinds(nodes, optimum)
    path, k = set(), optimum
    while k is not None:
        path.add(k)
        k = nodes[k][0]
    ax = new_axes(ax, (9, 4.2))
    for k, (parent, _, _) in enumerate(nodes[1:], 1):
        on_path = k in path
        ax.plot([place[parent][0], place[k][0]], [place[parent][1], place[k][1]],
                color=style.INK if on_path else style.GUIDE, lw=2.2 if on_path else 0.8, zorder=1)
    for kind, look in style.SEARCH_NODES.items():
        mine = [k for k in range(len(nodes)) if kinds[k] == kind]
        if mine:
            ax.scatter([place[k][0] for k in mine], [place[k][1] for k in mine], color=look.color,
                       marker=look.marker, s=140 if kind == "optimum" else 36, zorder=2,
                       label=f"{look.label} ({len(mine)})")
    for k, what in ((0, "root bound"), (optimum, "minimum")):
        if k is not None and math.isfinite(nodes[k][2]):
            ax.annotate(f"{what} {nodes[k][2]:.3f}", place[k], xytext=(8, 4), textcoords="offset points", fontsize=8)
    ax.invert_yaxis()
    ax.set_xticks([])
    ax.set_ylabel("phases fixed")
    for side in ("top", "right", "bottom"):
        ax.spines[side].set_visible(False)
    return finish(ax, title or f"{len(nodes)} LPs", legend_loc="lower left")
