"""The chapter's published figures and the course's recorded runs, in one place.

*Published* figures are the numbers the chapter prints (clean errors, error rates under
attack, the small net's verification values for the first test image); the notebooks
print ours beside them. Our networks were retrained with the chapter's recipes (other
random draws), so values differ a little; what should agree are the orders of magnitude
and, for verification, the signs (the verdicts).

*Recorded* runs are the figures too slow to recompute in a notebook, stored with the
command that made them as JSON files shipped inside the package
(``course_utils/assets/results/NAME.json``):

==================== ========================================== ===================================
record               what                                       made by
==================== ========================================== ===================================
``clean_errors``     clean test error of each shipped net       ``python -m course_utils train``
``attack_errors``    full-test-set error rates under attack     ``python -m course_utils evaluate``
``cnn_restarts_chunks`` the CNN's 10-restart PGD, in chunks     ``benchmarks/cnn_restarts_chunks.py``
``certified_NAME``   certified-accuracy curves of model NAME    ``python -m course_utils certified``
``training_NAME``    per-epoch table of NAME's training run     ``python tools/record_training.py NAME``
==================== ========================================== ===================================
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, Mapping, Optional

from . import config
from .threat import check_flag

# --- published: the chapter's figures ---------------------------------------------------------

PUBLISHED_CLEAN_ERRORS = {"dnn2": 0.0285, "dnn4": 0.0210, "cnn": 0.0105, "small": 0.0321}
"""Clean test errors the chapter reports after training (notebook 01)."""

PUBLISHED_ATTACK_ERRORS = {
    "fgsm": {"dnn2": 0.9259, "dnn4": 0.8827, "cnn": 0.4173},
    "pgd_linf": {"dnn2": 0.9637, "dnn4": 0.9838, "cnn": 0.7432},
    "pgd_linf_rand": {"cnn": 0.7648},
    "pgd_l2": {"dnn2": 0.9232, "dnn4": 0.9435, "cnn": 0.7854},
}
"""Test errors under attack the chapter reports (full MNIST test set; ℓ∞ without the
clamp to [0, 1], ℓ2 with it), notebooks 02-05."""

MILP_EPS_005: Dict[int, float] = {0: 5.8100, 1: 10.8362, 2: 2.0393, 3: 0.0189, 4: 13.5284, 5: 5.1461,
                                  6: 20.4544, 8: 3.5429, 9: 4.2740}
"""Small net, first test image (label 7): MILP objectives (true logit minus target logit,
minimised) at ε = 0.05, per target (notebook 06)."""

MILP_EPS_01: Dict[int, float] = {0: -2.5450, 1: 3.0434, 2: -4.9661, 3: -7.3098, 4: 4.7410, 5: -4.8706,
                                 6: 7.9804, 8: -6.9536, 9: -3.3144}
"""Small net, MILP objectives at ε = 0.1 (target 2: -4.9661, the chapter's worked example)."""

MILP_TARGET2_LOGITS = [1.0796, -2.6237, 8.6610, 7.0129, -7.5661, 1.3062, -9.9369, 3.6949, 7.4791, -1.0597]
"""Small net, ε = 0.1, target 2: the MILP's last layer (equal to the model's at its witness)."""

LP_EPS_002: Dict[int, float] = {0: 8.6791, 1: 12.2333, 2: 4.1208, 3: 1.8577, 4: 16.2365, 5: 7.9642,
                                6: 23.4593, 8: 6.1031, 9: 5.5812}
"""Small net, LP relaxation objectives at ε = 0.02 (notebook 07)."""

LP_TARGET2_EPS_01 = -26.1198
"""Small net, ε = 0.1, target 2: the LP relaxation's objective."""

LP_TARGET2_RELAXED_LOGITS = [-0.5424, -3.6820, 21.9775, 6.1798, -6.1639, -0.2772, -2.2563, -4.1423, 9.6180,
                             -5.3172]
LP_TARGET2_MODEL_LOGITS = [1.1391, -2.7607, 8.2508, 5.9955, -5.9659, 0.4923, -8.7102, 3.8318, 6.5946, -1.3704]
"""The LP's last layer and the real model's logits at the LP's input (they disagree)."""

DNN4_LP_EPS_001: Dict[int, float] = {0: 5.4801, 1: 2.1967, 2: 0.4646, 3: -2.2650, 4: 9.8074, 5: 1.4952,
                                     6: 12.8353, 8: -0.3933, 9: -1.9891}
"""4-layer DNN, LP relaxation objectives at ε = 0.01."""

INTERVAL_EPS_002: Dict[int, float] = {0: -7.4266, 1: -2.0292, 2: -8.3150, 3: -15.3994, 4: 2.3814,
                                      5: -10.8030, 6: 5.5759, 8: -13.8508, 9: -11.2778}
"""Small net, interval-based bounds (analytic last layer) at ε = 0.02 (target 7 is 0), notebook 08."""

LOGIT_BOUNDS_EPS_01 = {
    "cnn": ([-2998.66, -2728.17, -2460.19, -2534.02, -3074.00, -2425.47, -2874.64, -2319.74, -2541.71, -2524.94],
            [2305.80, 2738.13, 2543.17, 2636.16, 1995.43, 2955.59, 2503.64, 2955.37, 2904.12, 2960.84]),
    "dnn2": ([-20.79, -23.55, -17.50, -16.72, -32.42, -22.67, -30.80, -15.00, -23.63, -24.76],
             [18.33, 14.59, 26.34, 28.89, 18.66, 28.71, 11.50, 32.54, 24.40, 25.30]),
    "dnn4": ([-218.17, -195.33, -176.88, -214.72, -221.61, -173.79, -233.50, -201.40, -208.68, -197.09],
             [183.83, 207.23, 176.98, 205.43, 190.99, 209.22, 186.59, 231.43, 200.68, 213.99]),
}
"""Interval bounds on the 10 logits of the first test image at ε = 0.1: (lower, upper), notebook 06."""


def _sign(v: Optional[float]) -> str:
    return "?" if v is None else ("+" if v > 0 else "-")


def side_by_side(ours: Mapping[int, Optional[float]], chapter: Mapping[int, float], name: str = "ours",
                 verdicts: Optional[Mapping[int, str]] = None) -> str:
    """A small table: target, our value (or verdict), the chapter's, and whether the signs
    agree. ``verdicts`` (target -> "robust"/"attacked"/"unknown") is used where we have
    no value (decide mode): robust counts as +, attacked as -."""
    lines = [f"{'target':>6} {name:>10} {'chapter':>10}  signs agree"]
    for t, ref in chapter.items():
        v = ours.get(t)
        if v is None and verdicts is not None:
            word = verdicts.get(t, "unknown")
            shown, sign = f"{word:>10}", {"robust": "+", "attacked": "-"}.get(word, "?")
        else:
            shown, sign = ("" if v is None else f"{v:10.4f}"), _sign(v)
        lines.append(f"{t:>6} {shown:>10} {ref:10.4f}  {'yes' if sign == _sign(ref) else 'NO'}")
    return "\n".join(lines)


# --- recorded: runs stored with the package ---------------------------------------------------


def results_dir() -> Path:
    """The folder of the recorded runs, ``course_utils/assets/results`` (a real folder:
    the commands that re-record write there)."""
    return config.writable_asset("results")


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"name must be a record's name such as 'attack_errors', got {name!r}")
    return name


def read(name: str) -> dict:
    """The record ``name`` (e.g. ``"attack_errors"``), ``{}`` when none was recorded yet.

    A file that is not a JSON object is a ``ValueError`` naming it and the cause."""
    path = config.asset("results", f"{_check_name(name)}.json")
    if not path.is_file():
        return {}
    try:
        record = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path} cannot be read as JSON ({exc}); restore it from the course's "
                         f"repository or re-record it") from None
    if not isinstance(record, dict):
        raise ValueError(f"{path} must hold a JSON object, got a {type(record).__name__}; restore it "
                         f"from the course's repository or re-record it")
    return record


def write(name: str, record: dict) -> Path:
    """Store ``record`` as the record ``name`` (sorted keys, one file per record); returns its path."""
    if not isinstance(record, dict):
        raise ValueError(f"record must be a dict, got {type(record).__name__}")
    path = results_dir() / f"{_check_name(name)}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    return path


def attack_key(attack: str, model: str, clamp: bool) -> str:
    """Key of one figure in the ``attack_errors`` record, e.g. ``"pgd_linf/cnn/clamp_off"``."""
    for value, what in ((attack, "attack"), (model, "model")):
        if not isinstance(value, str) or not value or "/" in value:
            raise ValueError(f"{what} must be a name such as 'pgd_linf' or 'cnn' (a non-empty string "
                             f"without '/'), got {value!r}")
    return f"{attack}/{model}/clamp_{'on' if check_flag(clamp, 'clamp') else 'off'}"


def attack_error(attack: str, model: str, clamp: bool) -> Optional[dict]:
    """One recorded full-test-set entry (error, loss, n, seconds, command), or ``None``."""
    return read("attack_errors").get(attack_key(attack, model, clamp))


def _fmt(value: Optional[float]) -> str:
    return "—" if value is None else f"{value:.4f}"


def attack_errors_markdown() -> str:
    """The ``attack_errors`` record as a markdown table (``python -m course_utils evaluate --markdown``)."""
    rows = ["| attack | model | clamp | n | error | chapter | seconds | command |",
            "| --- | --- | --- | ---: | ---: | ---: | ---: | --- |"]
    for _, e in sorted(read("attack_errors").items()):
        chapter_setting = e["clamp"] == (e["attack"] == "pgd_l2")
        published = e.get("published") if chapter_setting else None
        rows.append(f"| {e['attack']} | {e['model']} | {'on' if e['clamp'] else 'off'} | {e['n']} | "
                    f"{e['error']:.4f} | {_fmt(published)} | {e['seconds']:.0f} | `{e['command']}` |")
    return "\n".join(rows)


def load_certified(model_name: str) -> dict:
    """The recorded certified-accuracy run of ``model_name`` (notebook 09):
    ``{"model", "n", "command", "seconds", "results": [CertifiedResult, ...]}``."""
    from .certified import CertifiedResult

    if not isinstance(model_name, str) or not model_name.isidentifier():
        raise ValueError(f"model_name must be a model's name such as 'small', got {model_name!r}")
    record = read(f"certified_{model_name}")
    if not record:
        raise FileNotFoundError(
            f"no recorded certified-accuracy run for model_name={model_name!r}; make one with "
            f"python -m course_utils certified --model {model_name} --out certified_{model_name}")
    record["results"] = [CertifiedResult.from_dict(d) for d in record["results"]]
    return record
