"""The command line never loses a user's work (course_utils.cli): every output is checked
before any computing, ``certified`` saves its record as images are settled (an interrupt
leaves a partial record that ``--resume`` finishes, equal to an uninterrupted run), an
existing record is replaced only with ``--force``, and nothing is written into an installed
package. The commands run in subprocesses, as a user runs them."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from course_utils import cli, config, records
from course_utils.data import find_mnist

ROOT = config.ROOT
# A run that would take many minutes: an error that comes within seconds came before computing.
LONG_RUN = ["certified", "--n", "10000", "--eps", "0.05", "0.1"]
# A small real run with images for the LP/MILP step: eps 0.03 settled by CROWN alone, eps 0.04
# leaves 6 of the first 16 test images (8 of the first 24) to the LP with cuts.
SMALL_RUN = ["certified", "--n", "24", "--eps", "0.03", "0.04", "--methods", "crown", "lp+cuts"]


def _env(user: Path, **extra) -> dict:
    env = dict(os.environ, COURSE_USER_DIR=str(user), COURSE_DEVICE="cpu", PYTHONUNBUFFERED="1",
               PYTHONPATH=str(ROOT))
    return {**env, **extra}


@pytest.fixture
def started():
    """Starts ``python -m course_utils ARGV`` in subprocesses; any still running at the end
    of the test is killed (a check that failed would leave a run of many minutes)."""
    procs = []

    def start(argv, user: Path, cwd: Path = ROOT, **extra) -> subprocess.Popen:
        procs.append(subprocess.Popen([sys.executable, "-m", "course_utils", *argv], cwd=cwd,
                                      env=_env(user, **extra), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      text=True))
        return procs[-1]
    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def _cannot_write(folder: Path) -> bool:
    try:
        (folder / "course-probe.json").touch()
    except OSError:
        return True
    (folder / "course-probe.json").unlink()
    return False


def _unwritable_folder(tmp_path: Path) -> Path:
    """A folder this process cannot create files in (root ignores permissions: /sys then)."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    for candidate in (folder, Path("/sys")):
        if candidate.is_dir() and _cannot_write(candidate):
            return candidate
    pytest.skip("no folder here refuses this user's writes")


def test_bad_outputs_are_refused_before_computing(tmp_path, started):
    """Each bad --out is named, with what is expected, within seconds of a run that would
    take many minutes: before any computing; nothing is written."""
    (tmp_path / "a_folder.json").mkdir()
    unwritable = _unwritable_folder(tmp_path)
    cases = {
        str(tmp_path / "missing" / "run.json"): f"its folder {tmp_path / 'missing'} does not exist; create it",
        str(unwritable / "run.json"): f"cannot write into {unwritable}",
        str(tmp_path / "a_folder.json"): "is a folder; give a file in it",
        "run-1": "--out must be a record name made of letters, digits and _ (such as certified_small) or a "
                 "path ending in .json, got 'run-1'",
        "rec.JSON": "got 'rec.JSON'",
    }
    start = time.perf_counter()
    runs = {out: started([*LONG_RUN, "--out", out], tmp_path / "user") for out in cases}
    for out, expected in cases.items():
        stdout, stderr = runs[out].communicate(timeout=300)
        assert runs[out].returncode == 2, stderr
        assert expected in stderr and "Traceback" not in stderr, stderr
        assert stderr.strip().splitlines()[-1].startswith("python -m course_utils certified: error: --out")
    assert time.perf_counter() - start < 120          # the runs themselves take many minutes
    assert not (tmp_path / "user" / "results").exists() or not list((tmp_path / "user" / "results").iterdir())


def _record(path: Path) -> dict:
    return json.loads(path.read_text())


def _wait_for_settled(path: Path, proc: subprocess.Popen, timeout: float = 600) -> dict:
    """The partial record once the LP/MILP step has settled an image: its pending images
    (only ever fewer) differ from those its first write left to that step."""
    first, end = None, time.monotonic() + timeout
    while time.monotonic() < end and proc.poll() is None:
        part = _record(path).get("in_progress") if path.exists() else None
        if part and first is None:
            first = part["pending"]
        elif part and part["pending"] != first:
            return _record(path)
        time.sleep(0.05)
    raise AssertionError(f"the run ended or took too long before settling an exact-step image: "
                         f"{proc.communicate()}")


def _same_verdicts(a: dict, b: dict) -> None:
    assert [r["epsilon"] for r in a["results"]] == [r["epsilon"] for r in b["results"]]
    for ra, rb in zip(a["results"], b["results"]):
        for key in ("verdicts", "decided_by", "survived_pgd", "counts", "split", "certified"):
            assert ra[key] == rb[key], (ra["epsilon"], key)


def test_an_interrupted_run_resumes_to_the_uninterrupted_record(tmp_path, started):
    """SIGINT in the middle of the LP/MILP step: exit status 130, a valid partial record
    that says what is done; --resume finishes it. The result equals an uninterrupted
    run's, image by image."""
    user, out = tmp_path / "user", tmp_path / "run.json"
    proc = started([*SMALL_RUN, "--out", str(out)], user)
    partial = _wait_for_settled(out, proc)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    saved = _record(out)
    assert saved["status"] == "partial" and len(saved["results"]) == 1 and saved["in_progress"]
    assert saved["progress"].startswith("1 of 2 radii done; at eps 0.04, ")
    assert 1 <= saved["in_progress"]["pending"].count("1") <= partial["in_progress"]["pending"].count("1")
    assert f"continue with:\n  {saved['command']} --resume" in stderr and "Traceback" not in stderr
    # without --resume or --force the record is kept, and both are named
    again = started([*SMALL_RUN, "--out", str(out)], user)
    assert again.wait(timeout=300) == 2 and "--resume continues it, --force replaces it" in again.stderr.read()
    assert _record(out) == saved
    resumed = started([*SMALL_RUN, "--out", str(out), "--resume"], user)
    stdout, stderr = resumed.communicate(timeout=900)
    assert resumed.returncode == 0, stderr
    done = _record(out)
    assert done["status"] == "complete" and "in_progress" not in done and done["command"] == saved["command"]

    reference = tmp_path / "uninterrupted.json"
    assert cli.main([*SMALL_RUN, "--out", str(reference)]) == 0
    _same_verdicts(done, _record(reference))
    assert _record(reference)["results"][1]["split"].get("lp+cuts", 0) >= 2   # the exact step had work


def test_sigterm_keeps_the_finished_radii(tmp_path, started):
    """SIGTERM (``timeout``, a CI runner) stops a run like Ctrl-C: the radii finished are in
    the record, which says so."""
    out = tmp_path / "run.json"
    eps = [f"{e / 100:g}" for e in range(1, 21)]
    proc = started(["certified", "--n", "2000", "--methods", "interval", "--eps", *eps, "--out", str(out)],
                   tmp_path / "user")
    end = time.monotonic() + 600
    while not out.exists() and proc.poll() is None and time.monotonic() < end:
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    saved = _record(out)
    done = len(saved["results"])
    assert saved["status"] == "partial" and 1 <= done < 20 and saved["progress"] == f"{done} of 20 radii done"
    assert [r["epsilon"] for r in saved["results"]] == [float(e) for e in eps[:done]]
    assert "--resume" in stderr


def test_resume_needs_the_same_run(tmp_path, capsys, monkeypatch):
    """--resume refuses a complete record, other arguments, or no record at all; --force
    and --resume exclude each other. All before computing (a run of 10,000 images)."""
    monkeypatch.setenv("COURSE_USER_DIR", str(tmp_path))
    path = tmp_path / "results" / "certified_small.json"
    for argv, held, message in (
            ([*LONG_RUN, "--resume"], None, f"--resume: {path} holds no run to continue"),
            ([*LONG_RUN, "--resume"], {"status": "complete", "results": []}, "holds a complete run, nothing to continue"),
            ([*LONG_RUN, "--resume", "--n", "20"], {"status": "partial", "results": [], "command": "c",
                                                    "arguments": cli._run_arguments(cli.parser().parse_args(LONG_RUN))},
             "these differ: n 20 (the record's: 10000)"),
            ([*LONG_RUN, "--resume", "--force"], {"status": "partial"}, "--resume and --force exclude each other"),
            (LONG_RUN, {"status": "partial", "command": "c"}, f"{path} holds a partial run (c); --resume continues "
                                                              f"it, --force replaces it")):
        if held is not None:
            records.write("certified_small", held)
        with pytest.raises(SystemExit) as exc:
            cli.main(argv)
        assert exc.value.code == 2 and message in capsys.readouterr().err
        assert records.read_file(path) == (held or {})


def _hashes(folder: Path) -> dict:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_an_installed_package_is_never_written_into(tmp_path, started):
    """The package copied as pip installs it (no checkout around it), its assets read-only:
    evaluate, train and certified write into the user folder; --shipped is refused by
    name; not one file of the package changes."""
    site = tmp_path / "site-packages"
    shutil.copytree(ROOT / "course_utils", site / "course_utils", ignore=shutil.ignore_patterns("__pycache__"))
    assets = site / "course_utils" / "assets"
    before = _hashes(site / "course_utils")
    for p in [assets, *assets.rglob("*")]:
        p.chmod(0o555 if p.is_dir() else 0o444)
    user, cwd = tmp_path / "user", tmp_path / "elsewhere"
    cwd.mkdir()
    env = dict(PYTHONPATH=str(site), COURSE_DATA_DIR=str(find_mnist()), PYTHONDONTWRITEBYTECODE="1")
    runs = [["evaluate", "--models", "small", "--attacks", "fgsm", "--clamp", "off", "--n", "20", "--no-progress"],
            ["train", "regression"],
            ["certified", "--n", "5", "--methods", "interval"],
            ["evaluate", "--shipped", "--models", "small", "--attacks", "fgsm", "--n", "20"]]
    procs = [started(argv, user, cwd, **env) for argv in runs]
    outputs = [p.communicate(timeout=600) for p in procs]
    try:
        assert [p.returncode for p in procs] == [0, 0, 0, 2], outputs
        assert "--shipped re-records the files shipped with the course and works only in a checkout" in outputs[3][1]
        assert str(site / "course_utils") in outputs[3][1]
        assert sorted(p.name for p in (user / "results").iterdir()) == ["attack_errors.json", "certified_small.json"]
        assert (user / "models" / "regression.pt").is_file()
        assert _record(user / "results" / "attack_errors.json")["fgsm/small/clamp_off"]["n"] == 20
        assert _record(user / "results" / "certified_small.json")["status"] == "complete"
    finally:
        for p in [assets, *assets.rglob("*")]:
            p.chmod(0o755 if p.is_dir() else 0o644)
    assert _hashes(site / "course_utils") == before


def test_train_keeps_existing_weights_without_force(tmp_path, monkeypatch, capsys):
    """train writes into the user folder; weights there (or the shipped ones, --shipped)
    are replaced only with --force; the error comes before training."""
    monkeypatch.setenv("COURSE_USER_DIR", str(tmp_path / "user"))
    shipped = tmp_path / "shipped"
    shipped.mkdir()
    (shipped / "regression.pt").write_bytes(b"shipped")
    monkeypatch.setattr(config, "writable_asset", lambda *parts: shipped)
    monkeypatch.setattr(records, "record_path", lambda name, shipped=False: tmp_path / "shipped" / f"{name}.json")
    with pytest.raises(SystemExit) as exc:
        cli.main(["train", "--shipped", "regression"])
    assert exc.value.code == 2
    assert f"weights exist already: {shipped / 'regression.pt'}; --force replaces them" in capsys.readouterr().err
    assert (shipped / "regression.pt").read_bytes() == b"shipped"
    assert cli.main(["train", "regression"]) == 0
    assert (tmp_path / "user" / "models" / "regression.pt").is_file()
    assert (shipped / "regression.pt").read_bytes() == b"shipped"
    assert cli.main(["train", "--shipped", "--force", "regression"]) == 0
    assert (shipped / "regression.pt").read_bytes() != b"shipped"


def test_the_tests_use_a_fresh_user_folder_and_the_shipped_records():
    """tests/conftest.py: no test reads or writes a developer's own runs."""
    folder = Path(os.environ["COURSE_USER_DIR"])
    assert config.user_dir() == folder and folder.name.startswith("course-user-")
    assert records.check_source(None) == "shipped"
    assert "COURSE_USER_DIR=$$(mktemp -d" in (ROOT / "Makefile").read_text()
