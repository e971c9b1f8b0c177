"""The chapter's published figures and the course's recorded runs, in one place.

*Published* figures are the numbers the chapter prints (clean errors, error rates under
attack, the small net's verification values for the first test image); the notebooks
print ours beside them. Our networks were retrained with the chapter's recipes (other
random draws), so values differ a little; what should agree are the orders of magnitude
and, for verification, the signs (the verdicts).

*Recorded* runs are the figures too slow to recompute in a notebook, stored with the
command that made them as JSON files shipped inside the package
(``course_utils/assets/results/NAME.json``). The notebooks print the shipped records, and
with each the line ``origin(NAME)`` (which record, its n and command). The same commands
run by a user write the user's own records (``config.user_dir()/results/NAME.json``, or
``--out``), never the shipped ones; ``COURSE_RECORDS=user`` (or ``source="user"``) makes
``read`` and the notebooks show the user's runs where there are any, and ``origin`` says so.
A maintainer re-records a shipped file from a checkout with ``--shipped --force``:

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

import contextlib
import io
import json
import os
import re
import tempfile
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


# --- recorded: the shipped runs and the user's own ---------------------------------------------

SOURCES = ("shipped", "user")
"""Where ``read`` takes a record from: the course's ``"shipped"`` records (the default) or
the ``"user"``'s own runs where there are any (env ``COURSE_RECORDS``)."""

ENTRY_RECORDS = ("attack_errors", "clean_errors")
"""Records made of entries (one per attack, model and clamp; one per model): a user's run
stands in for single entries. Every other record is one run, read whole."""

RECORD_NAME = re.compile(r"[A-Za-z0-9_]+")
"""A record's name: letters, digits and _ (``--out`` takes one, or a path ending in .json)."""
SHIPPED_FOLDER = "course_utils/assets/results"
"""Where the shipped records live, as the notebooks name it."""

_UNSTATED = {"clean_errors": {"n": config.FULL_TEST_SET, "command": "python -m course_utils train"}}
"""What a record made of entries does not store itself: its n and command (for ``origin``)."""


def check_name(name: str) -> str:
    """``name`` if it is a record's name (letters, digits and _), else a ``ValueError``."""
    if not isinstance(name, str) or not RECORD_NAME.fullmatch(name):
        raise ValueError(f"name must be a record's name made of letters, digits and _ (such as "
                         f"'attack_errors'), got {name!r}")
    return name


def check_source(source: Optional[str]) -> str:
    """``source`` ("shipped" or "user"); ``None``: the environment variable
    ``COURSE_RECORDS``, "shipped" when it is unset."""
    if source is None:
        raw = os.environ.get("COURSE_RECORDS", "shipped")
        if raw not in SOURCES:
            raise ValueError(f"the environment variable COURSE_RECORDS must be 'shipped' (the course's "
                             f"records) or 'user' (your runs where there are any), got {raw!r}")
        return raw
    if source not in SOURCES:
        raise ValueError(f"source must be 'shipped', 'user' or None (the environment variable "
                         f"COURSE_RECORDS), got {source!r}")
    return source


def user_results_dir() -> Path:
    """The folder of the user's own records, ``config.user_dir() / "results"``."""
    return config.user_dir() / "results"


def record_path(name: str, *, shipped: bool = False) -> Path:
    """Where ``write`` stores the record ``name``: the user's folder
    (``user_results_dir()``), or with ``shipped`` -- a maintainer re-recording the course,
    in a checkout only (``config.writable_asset``) -- ``course_utils/assets/results``."""
    name = check_name(name)
    folder = config.writable_asset("results") if check_flag(shipped, "shipped") else user_results_dir()
    return folder / f"{name}.json"


def read_file(path) -> dict:
    """The record stored at ``path`` (a JSON object), ``{}`` when there is no such file.

    A file that is not a JSON object is a ``ValueError`` naming it and the cause."""
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


def read_from(name: str, where: str) -> dict:
    """The record ``name`` as stored in one place, ``where`` "shipped" or "user" (nothing
    taken from the other); ``{}`` when it has none."""
    if where == "user":
        return read_file(user_results_dir() / f"{check_name(name)}.json")
    if where != "shipped":
        raise ValueError(f"where must be 'shipped' or 'user', got {where!r}")
    return read_file(config.asset("results", f"{check_name(name)}.json"))


def read(name: str, source: Optional[str] = None) -> dict:
    """The record ``name`` (e.g. ``"attack_errors"``) that the course reads, ``{}`` when
    none was recorded (notebooks 01-05, 09).

    ``source`` (default: env ``COURSE_RECORDS``, else "shipped"): "shipped", the record
    shipped with the package; "user", the user's run of that name when there is one
    (``user_results_dir()``), else the shipped record -- for ``ENTRY_RECORDS`` the user's
    entries replace only the shipped entries of the same keys. ``origin`` says which, in
    one line."""
    shipped = read_from(name, "shipped")
    if check_source(source) == "shipped":
        return shipped
    mine = read_from(name, "user")
    if not mine:
        return shipped
    return {**shipped, **mine} if name in ENTRY_RECORDS else mine


def _sizes(entries) -> str:
    ns = sorted({e["n"] for e in entries if isinstance(e, dict) and isinstance(e.get("n"), int)})
    return f", n = {' or '.join(str(n) for n in ns)}" if ns else ""


def _whole_origin(name: str, record: dict, mine: bool) -> str:
    where = f"your run {user_results_dir() / name}.json" if mine else "shipped with the course"
    text = f"{name}: {where}" + (f", n = {record['n']}" if "n" in record else "")
    if record.get("status") == "partial":
        text += f", partial: {record.get('progress', 'unfinished')}"
    return text


def origin(name: str, source: Optional[str] = None, keys=None) -> str:
    """One line saying what ``read(name, source)`` reads, for the notebooks to print
    beside a recorded figure: "shipped with the course" and its n, or the user's run with
    its path and n (the command that made a record stays in the record, ``read``).
    ``keys``: for ``ENTRY_RECORDS``, only those entries."""
    shipped, mine = read_from(name, "shipped"), {}
    if check_source(source) == "user":
        mine = read_from(name, "user")
    if name not in ENTRY_RECORDS:
        return _whole_origin(name, mine or shipped, bool(mine))
    keys = list(shipped.keys() | mine.keys()) if keys is None else list(keys)
    own = [k for k in keys if k in mine]
    others = [shipped[k] for k in keys if k not in mine and k in shipped]
    text = f"{name}: "
    if own:
        sizes = _sizes(mine[k] for k in own) or (f", n = {_UNSTATED[name]['n']}" if name in _UNSTATED else "")
        text += (f"your runs in {user_results_dir() / name}.json ({', '.join(sorted(own))}){sizes}"
                 + ("; the others " if others else ""))
    if others or not own:
        stated = _UNSTATED.get(name, {})
        sizes = _sizes(others) or (f", n = {stated['n']}" if stated else "")
        text += f"shipped with the course{sizes}"
    return text


def atomic_write(path, content) -> Path:
    """Write ``content`` (text or bytes) to ``path`` atomically: into a temporary file in the
    same folder, flushed to disk, then renamed over ``path`` (``os.replace``). A reader, an
    interrupt or a crash sees the old file or the new one, never a part of one."""
    path = Path(path)
    data = content.encode() if isinstance(content, str) else bytes(content)
    mode = path.stat().st_mode & 0o777 if path.is_file() else 0o644
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


def write_file(path, record: dict) -> Path:
    """Store ``record`` at ``path`` as JSON (sorted keys), atomically; returns the path."""
    if not isinstance(record, dict):
        raise ValueError(f"record must be a dict, got {type(record).__name__}")
    return atomic_write(path, json.dumps(record, indent=2, sort_keys=True) + "\n")


def write(name: str, record: dict, *, shipped: bool = False) -> Path:
    """Store ``record`` as the record ``name`` (one file per record, written atomically)
    in the user's folder, or with ``shipped`` (a checkout only) over the shipped record;
    returns its path. Whether to replace an existing record is the caller's decision (the
    commands ask for ``--force``)."""
    if not isinstance(record, dict):
        raise ValueError(f"record must be a dict, got {type(record).__name__}")
    path = record_path(name, shipped=shipped)
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_file(path, record)


def check_output(path, what: str) -> Path:
    """``path`` as a file that a run can write at its end, checked before it computes:
    its folder exists and takes a new file, and ``path`` is not a folder. Otherwise a
    ``ValueError`` naming ``what`` (e.g. "--out") and what to do."""
    path = Path(path).expanduser()
    if path.is_dir():
        raise ValueError(f"{what} {path} is a folder; give a file in it, such as {path / 'run.json'}")
    if path.exists() and not path.is_file():
        raise ValueError(f"{what} {path} exists and is not a plain file; choose another name")
    if not path.parent.is_dir():
        why = "is not a folder" if path.parent.exists() else "does not exist"
        raise ValueError(f"{what} {path}: its folder {path.parent} {why}; create it first or choose another place")
    try:
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", suffix=".probe"):
            pass
    except OSError as exc:
        raise ValueError(f"{what} {path}: cannot write into {path.parent} ({exc.strerror or exc}); "
                         f"choose a writable place") from None
    return path


def attack_key(attack: str, model: str, clamp: bool) -> str:
    """Key of one figure in the ``attack_errors`` record, e.g. ``"pgd_linf/cnn/clamp_off"``."""
    for value, what in ((attack, "attack"), (model, "model")):
        if not isinstance(value, str) or not value or "/" in value:
            raise ValueError(f"{what} must be a name such as 'pgd_linf' or 'cnn' (a non-empty string "
                             f"without '/'), got {value!r}")
    return f"{attack}/{model}/clamp_{'on' if check_flag(clamp, 'clamp') else 'off'}"


def attack_error(attack: str, model: str, clamp: bool, source: Optional[str] = None) -> Optional[dict]:
    """One recorded full-test-set entry (error, loss, n, seconds, command), or ``None``;
    ``source`` as for ``read``."""
    return read("attack_errors", source).get(attack_key(attack, model, clamp))


def _fmt(value: Optional[float]) -> str:
    return "—" if value is None else f"{value:.4f}"


def attack_errors_markdown(source: Optional[str] = None) -> str:
    """The ``attack_errors`` record as a markdown table, and its ``origin``
    (``python -m course_utils evaluate --markdown``)."""
    rows = ["| attack | model | clamp | n | error | chapter | seconds | command |",
            "| --- | --- | --- | ---: | ---: | ---: | ---: | --- |"]
    for _, e in sorted(read("attack_errors", source).items()):
        chapter_setting = e["clamp"] == (e["attack"] == "pgd_l2")
        published = e.get("published") if chapter_setting else None
        rows.append(f"| {e['attack']} | {e['model']} | {'on' if e['clamp'] else 'off'} | {e['n']} | "
                    f"{e['error']:.4f} | {_fmt(published)} | {e['seconds']:.0f} | `{e['command']}` |")
    return "\n".join(rows) + f"\n\n{origin('attack_errors', source)}"


def load_certified(model_name: str, source: Optional[str] = None, *, partial: bool = False) -> dict:
    """The recorded certified-accuracy run of ``model_name`` (notebook 09), the record
    ``certified_NAME`` of ``source`` (as for ``read``): ``{"model", "n", "command",
    "seconds", "results": [CertifiedResult, ...], "origin": one line}``.

    A partial run (interrupted) is a ``ValueError`` that says how to finish it, unless
    ``partial``: then ``results`` holds its finished radii."""
    if not isinstance(model_name, str) or not model_name.isidentifier():
        raise ValueError(f"model_name must be a model's name such as 'small', got {model_name!r}")
    name = f"certified_{model_name}"
    record = read(name, source)
    if not record:
        raise FileNotFoundError(
            f"no recorded certified-accuracy run for model_name={model_name!r}; make one with "
            f"`python -m course_utils certified --model {model_name}` (it goes into your folder as "
            f"{name}) and read it with source='user' or COURSE_RECORDS=user")
    return _certified(record, origin(name, source), partial)


def load_certified_file(path, *, partial: bool = False) -> dict:
    """``load_certified`` for a record written with ``certified --out PATH.json``."""
    path = Path(path).expanduser()
    record = read_file(path)
    if not record:
        raise FileNotFoundError(f"path {path} holds no record (no such file, or an empty one)")
    return _certified(record, f"{path.name}: your run {path}" + (f", n = {record['n']}" if "n" in record else ""),
                      partial)


def certified_settings(record: Mapping) -> dict:
    """What a certified-accuracy run was asked for (notebook 09), for a learner-facing line
    instead of its command: the record's ``command`` (``python -m course_utils certified
    ...``) read back by the command line's own parser.

    Args:
        record: a record from ``load_certified`` or ``load_certified_file``.

    Returns:
        ``{"model": str, "n": int, "epsilons": [float, ...], "time_limit": seconds for each
        image's LP and MILP steps at each ε (float), or None when the run had none}``.
    """
    import shlex

    from .cli import parser

    command = record.get("command") if isinstance(record, Mapping) else None
    words = shlex.split(command) if isinstance(command, str) else []
    head = ["python", "-m", "course_utils", "certified"]
    if words[:4] != head:
        raise ValueError(f"record must be a certified-accuracy record whose command starts with "
                         f"'{' '.join(head)}', got command {command!r}")
    try:
        with contextlib.redirect_stderr(io.StringIO()):          # argparse's own usage message
            args = parser().parse_args(words[3:])
    except SystemExit:
        raise ValueError(f"record's command {command!r} is not one the command line accepts") from None
    return {"model": args.model, "n": args.n, "epsilons": list(args.eps), "time_limit": args.time_limit}


def _certified(record: dict, where: str, partial: bool) -> dict:
    from .certified import CertifiedResult

    if record.get("status") == "partial" and not check_flag(partial, "partial"):
        raise ValueError(f"{where} is a partial run ({record.get('progress', 'unfinished')}); finish it with "
                         f"`{record.get('command', 'its command')} --resume`, or pass partial=True for its "
                         f"finished radii")
    if not isinstance(record.get("results"), list):
        raise ValueError(f"{where} is not a certified-accuracy record: it has no list of results")
    out = {k: v for k, v in record.items() if k not in ("in_progress",)}
    out["results"] = [CertifiedResult.from_dict(d) for d in record["results"]]
    out["origin"] = where
    return out


def certified_record(meta: dict, progress, radii: int) -> dict:
    """The record of a certified-accuracy run so far (``python -m course_utils
    certified``): ``meta`` (model, n, command, seconds, arguments, ...), the finished
    radii's results, and while it is partial (``progress``: a ``certified.Progress`` with
    fewer than ``radii`` radii finished) ``"status": "partial"``, ``"progress"`` in words
    and ``"in_progress"``: the radius under way with its pending images (``--resume``)."""
    record = {**meta, "results": [r.as_dict() for r in progress.finished]}
    if len(progress.finished) >= radii:
        return {**record, "status": "complete"}
    record.update(status="partial", progress=progress.describe(radii))
    if progress.current is not None:
        record["in_progress"] = {"result": progress.current.as_dict(),
                                 "pending": "".join("1" if p else "0" for p in progress.pending)}
    return record


def certified_progress(record: dict):
    """The ``certified.Progress`` stored in a record of ``certified_record`` (what
    ``--resume`` continues from); a ``ValueError`` naming what is missing or malformed."""
    import numpy as np

    from .certified import CertifiedResult, Progress

    try:
        finished = tuple(CertifiedResult.from_dict(d) for d in record["results"])
        part = record.get("in_progress")
        if part is None:
            return Progress(finished)
        pending = np.array([c == "1" for c in part["pending"]], dtype=bool)
        if set(part["pending"]) - {"0", "1"}:
            raise ValueError("pending must be a string of 0 and 1")
        return Progress(finished, CertifiedResult.from_dict(part["result"]), pending)
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"record is not a certified-accuracy run that can be continued ({type(exc).__name__}: "
                         f"{exc})") from None
