"""Precomputed numbers for the slow widgets (notebooks 07-09), and the code that makes them.

A slider must answer in about a second, but an exact MILP on the small net takes from a
second to a minute per image, and the LP on ``dnn4`` several seconds. So the widgets of
``bound_comparison_widget`` and ``certified_widget`` read what is slow from tables made
once, on their default grid, by::

    python tools/precompute_widgets.py            # both tables (about an hour on 2 cores)

and compute it live only when the learner ticks "compute live". The same functions
(``bound_row``, ``certified_row``) fill the tables and the live widgets, so a live number
and a precomputed one come from the same code. Each table records the command, the
package's solver settings, and fingerprints of the weights and images it was made
with: a table made for other weights is not used.

Tables live in ``course_utils/assets/tables/`` (package data).
"""

from __future__ import annotations

import hashlib
import json
import time
from functools import partial
from types import MappingProxyType
from typing import Dict, Mapping, Optional

import torch

BOUND_GRID = MappingProxyType({
    "models": ("small", "dnn2", "dnn4"), "images": 5, "epsilons": tuple(round(0.01 * i, 2) for i in range(11)),
    "methods": MappingProxyType({"lp": ("small", "dnn2", "dnn4"), "exact milp": ("small",)}), "time_limit": 20.0})
"""``bound_comparison_widget``'s default grid: the first 5 test images, ε = 0, 0.01, …,
0.1; the LP for three networks, the exact MILP for the small one (at most 20 s per target)."""

CERTIFIED_GRID = MappingProxyType({
    "models": ("small", "dnn2"), "images": 30, "epsilons": tuple(round(0.01 * i, 2) for i in range(11)),
    "methods": ("lp+cuts", "milp"), "time_limit": 20.0})
"""``certified_widget``'s default grid: the first 30 test images, ε = 0, 0.01, …, 0.1, the
cascades up to the LP with cuts and up to the MILP (at most 20 s per solver call)."""


WIDGET_CASCADE = ("interval", "crown", "lp+cuts", "milp")
"""The certified-accuracy widget's steps, the ones notebook 09 teaches (``certified.METHODS``
without the optional "alpha-crown"); its table holds the cascades up to "lp+cuts" and "milp"."""


def fingerprint(*tensors: torch.Tensor) -> str:
    """A short hash of tensors' values (float32 on the CPU): which weights or images."""
    h = hashlib.sha256()
    for t in tensors:
        h.update(t.detach().cpu().to(torch.float32).contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def model_fingerprint(model: torch.nn.Module) -> str:
    """``fingerprint`` of all of ``model``'s parameters."""
    return fingerprint(*model.parameters())


def eps_key(epsilon: float) -> str:
    """The table key of a radius (3 decimals: the grids' step is 0.01)."""
    return f"{float(epsilon):.3f}"


# --- one entry -----------------------------------------------------------------------------------


def bound_row(model, x: torch.Tensor, label: int, epsilon: float, method: str, time_limit: float) -> dict:
    """Per target, step ``method``'s lower bound on ``min logit_label - logit_target`` over
    the l∞ ball (``verify.certify``; "interval", "lp" or "exact milp"): the optimum when the
    solver proved one, else its best bound, with the verdicts, solver statuses and the
    seconds it took (``time_limit`` seconds per solver call)."""
    from .verdicts import SOLVER_STEPS
    from .verify import certify

    options = {"time_limit": time_limit} if method in SOLVER_STEPS else {}
    cert = certify(model, x, label, epsilon, method, **options)
    return {"targets": [r.target for r in cert.results],
            "values": [r.value if r.value is not None else r.bound for r in cert.results],
            "verdicts": [r.verdict for r in cert.results],
            "status": [r.status for r in cert.results],
            "seconds": round(cert.seconds, 3)}


def certified_row(model, X: torch.Tensor, y: torch.Tensor, epsilon: float, method: str,
                  time_limit: Optional[float]) -> dict:
    """``certified.certified_accuracy`` on ``X, y`` with the cascade ``WIDGET_CASCADE`` up
    to ``method``, as ``CertifiedResult.as_dict()``."""
    from .certified import certified_accuracy

    methods = WIDGET_CASCADE[: WIDGET_CASCADE.index(method) + 1]
    (r,) = certified_accuracy(model, (X, y), epsilon, methods, time_limit=time_limit, progress=False)
    return r.as_dict()


# --- reading and writing -----------------------------------------------------------------------


def _check_name(name: str) -> str:
    if name not in ("bounds", "certified"):
        raise ValueError(f"table name must be 'bounds' or 'certified', got {name!r}")
    return f"{name}.json"


def table_path(name: str):
    """Where table ``name`` ("bounds" or "certified") is written (a checkout or an
    editable install: ``course_utils/assets/tables/``)."""
    from .config import writable_asset
    return writable_asset("tables", _check_name(name))


def load_table(name: str) -> dict:
    """A precomputed table, or an empty one (``{"entries": {}}``) if none was made."""
    from .config import asset
    f = asset("tables", _check_name(name))
    if not f.is_file():
        return {"entries": {}, "models": {}, "missing": f"course_utils/assets/tables/{f.name}"}
    return json.loads(f.read_text())


def usable_models(table: dict, models: Dict[str, torch.nn.Module], X: torch.Tensor, y: torch.Tensor) -> set:
    """The names in ``models`` whose weights, and the images ``X, y``, are those the table
    was made with (only those models' entries may be shown)."""
    n = table.get("images", 0)
    if not n or len(X) < n or fingerprint(X[:n], y[:n].float()) != table.get("data"):
        return set()
    return {name for name, m in models.items() if table["models"].get(name) == model_fingerprint(m)}


def recorded_bounds(models: Dict[str, torch.nn.Module], X: torch.Tensor, y: torch.Tensor, model: str,
                    method: str, index: int, epsilon: float) -> Dict[int, float]:
    """Per target, the optimum that the "bounds" table holds for step ``method`` ("lp" or
    "exact milp") on ``models[model]``, image ``X[index]`` (label ``y[index]``), radius
    ``epsilon``: ``{target: value}`` (notebooks 07 and 08 quote the exact MILP's minima of
    notebook 06 from it rather than solving them again).

    Only a table made for these weights and images is read, and only optima a solver proved.

    Raises:
        ValueError: ``model`` not in ``models``; the table was made for other weights or
            images; it has no entry for this model, method, image and radius (its grid is
            ``BOUND_GRID``); or an entry's solver did not reach an optimum (its status named).
    """
    if model not in models:
        raise ValueError(f"model must be one of {sorted(models)}, got {model!r}")
    table = load_table("bounds")
    if model not in usable_models(table, models, X, y):
        raise ValueError(f"the bounds table was not made for these weights of {model!r} and these images "
                         f"(X must start with the first {table.get('images', 0)} test images)")
    key = bound_entry_key(model, method, index, epsilon)
    if key not in table["entries"]:
        raise ValueError(f"the bounds table has no entry {key!r}: its grid is {dict(BOUND_GRID['methods'])} "
                         f"on images 0..{BOUND_GRID['images'] - 1}, epsilon in {list(BOUND_GRID['epsilons'])}")
    entry = table["entries"][key]
    unproven = [f"target {t}: {s}" for t, s in zip(entry["targets"], entry["status"]) if s != "optimal"]
    if unproven:
        raise ValueError(f"entry {key!r} holds values no solver proved optimal ({', '.join(unproven)})")
    return dict(zip(entry["targets"], entry["values"]))


def bound_entry_key(model: str, method: str, index: int, epsilon: float) -> str:
    return f"{model}|{method}|{int(index)}|{eps_key(epsilon)}"


def certified_entry_key(model: str, method: str, epsilon: float) -> str:
    return f"{model}|{method}|{eps_key(epsilon)}"


def _header(grid: Mapping, models, X, y, command: str) -> dict:
    from importlib.metadata import version

    plain = json.loads(json.dumps({k: dict(v) if isinstance(v, Mapping) else v for k, v in grid.items()}))
    return {"command": command, "grid": plain,
            "images": grid["images"], "data": fingerprint(X[:grid["images"]], y[:grid["images"]].float()),
            "models": {name: model_fingerprint(models[name]) for name in grid["models"]},
            "torch": torch.__version__, "highs": version("highspy"), "entries": {}}


def _resume(name: str, header: dict, resume: bool) -> dict:
    """The table to fill: a new one, or (``resume``) the saved one if it was made for the
    same grid, weights and images (its entries are kept and not recomputed)."""
    old = load_table(name)
    same = all(old.get(k) == header[k] for k in ("grid", "data", "models"))
    if resume and same:
        return {**header, "entries": old["entries"], "seconds": old.get("seconds", 0.0)}
    return {**header, "seconds": 0.0}


def build_table(name: str, models, X, y, command: str, resume: bool = True, log=None) -> dict:
    """Fill table ``name`` ("bounds": ``BOUND_GRID``, "certified": ``CERTIFIED_GRID``) and
    save it after every entry, so an interrupted run resumes where it stopped. Returns it."""
    grid = BOUND_GRID if name == "bounds" else CERTIFIED_GRID
    table = _resume(name, _header(grid, models, X, y, command), resume)
    for key, compute in _jobs(name, grid, models, X, y):
        if key in table["entries"]:
            continue
        start = time.perf_counter()
        table["entries"][key] = compute()
        spent = time.perf_counter() - start
        table["seconds"] = round(table["seconds"] + spent, 1)
        save_table(name, table)
        if log:
            log(f"{key}: {spent:.1f} s")
    return table


def _jobs(name: str, grid: Mapping, models, X, y):
    """``(key, compute)`` for every entry of the grid."""
    limit = grid["time_limit"]
    if name == "bounds":
        for method, names in grid["methods"].items():
            for model in names:
                for i in range(grid["images"]):
                    for eps in grid["epsilons"]:
                        yield (bound_entry_key(model, method, i, eps),
                               partial(bound_row, models[model], X[i:i + 1], int(y[i]), eps, method, limit))
    else:
        n = grid["images"]
        for model in grid["models"]:
            for method in grid["methods"]:
                for eps in grid["epsilons"]:
                    yield (certified_entry_key(model, method, eps),
                           partial(certified_row, models[model], X[:n], y[:n], eps, method, limit))


def save_table(name: str, table: dict):
    """Write ``table`` as ``course_utils/assets/tables/<name>.json``."""
    path = table_path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        json.dump(table, f, indent=0, sort_keys=True)
    return path

