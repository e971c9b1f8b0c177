"""The chapter's published figures and the recorded runs (course_utils.records): the
shipped records and the user's own, which the notebooks print and say which, the
comparison table that reads them, atomic writes, and the command line that writes them."""

from __future__ import annotations

import json
import os
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from course_utils import cli, config, evaluate, records


@pytest.fixture
def tmp_records(tmp_path, monkeypatch):
    """Shipped records read from an empty temporary folder (``.shipped``) instead of the
    package's; the user's folder another one (``.user``)."""
    folders = SimpleNamespace(shipped=tmp_path / "shipped", user=tmp_path / "user")
    folders.shipped.mkdir()
    shipped = config.asset
    monkeypatch.setattr(config, "asset", lambda *parts: folders.shipped.joinpath(*parts[1:])
                        if parts[0] == "results" else shipped(*parts))
    monkeypatch.setenv("COURSE_USER_DIR", str(folders.user))
    return folders


def test_comparison_table_reads_the_record(tmp_records):
    records.write_file(tmp_records.shipped / "attack_errors.json", {
        "fgsm/dnn2/clamp_off": {"error": 0.9357, "n": 10000, "command": "x"},
        "fgsm/dnn2/clamp_on": {"error": 0.7017, "n": 10000, "command": "x"},
    })
    table = evaluate.comparison_table("fgsm", {"dnn2": {False: 0.959, True: 0.777}, "cnn": {False: 0.5}},
                                      {"dnn2": 1000, "cnn": 100})
    lines = table.splitlines()
    assert "0.9259" in lines[3] and "0.9357" in lines[3] and "0.7017" in lines[3] and "10000" in lines[3]
    assert "≈0.959" in lines[3] and "≈0.777" in lines[3]
    assert lines[4].count("—") == 4  # cnn: nothing recorded (off, on, n), no live clamp-on figure
    assert lines[5] == "recorded: attack_errors: shipped with the course, n = 10000"


def test_the_users_runs_are_shown_only_when_asked_and_say_so(tmp_records, monkeypatch):
    """A user's entry stands in for the shipped one only with COURSE_RECORDS=user (or
    source="user"); the table and ``origin`` then name the user's file and its n."""
    records.write_file(tmp_records.shipped / "attack_errors.json", {
        "fgsm/dnn2/clamp_off": {"error": 0.9357, "n": 10000, "command": "x"},
        "fgsm/dnn2/clamp_on": {"error": 0.7017, "n": 10000, "command": "x"}})
    mine = records.write("attack_errors", {"fgsm/dnn2/clamp_off": {"error": 0.5, "n": 200, "command": "y"}})
    assert mine == tmp_records.user / "results" / "attack_errors.json"
    live = ({"dnn2": {False: 0.959}}, {"dnn2": 1000})
    assert "0.9357" in evaluate.comparison_table("fgsm", *live)            # COURSE_RECORDS=shipped (conftest)
    assert records.attack_error("fgsm", "dnn2", False, source="user")["error"] == 0.5
    monkeypatch.setenv("COURSE_RECORDS", "user")
    lines = evaluate.comparison_table("fgsm", *live).splitlines()
    assert "0.5000" in lines[3] and "0.7017" in lines[3] and "200/10000" in lines[3]
    assert lines[4] == (f"recorded: attack_errors: your runs in {mine} (fgsm/dnn2/clamp_off), n = 200; the "
                        f"others shipped with the course, n = 10000")
    assert records.read("attack_errors", "shipped")["fgsm/dnn2/clamp_off"]["error"] == 0.9357
    monkeypatch.setenv("COURSE_RECORDS", "mine")
    with pytest.raises(ValueError, match=r"^the environment variable COURSE_RECORDS must be 'shipped'"):
        records.read("attack_errors")
    with pytest.raises(ValueError, match=r"^source must be 'shipped', 'user' or None"):
        records.read("attack_errors", "yours")


def test_a_whole_record_is_the_users_run_or_the_shipped_one(tmp_records):
    records.write_file(tmp_records.shipped / "certified_small.json", {"n": 200, "command": "c", "results": []})
    assert records.origin("certified_small", "user") == records.origin("certified_small") == (
        "certified_small: shipped with the course, n = 200")
    path = records.write("certified_small", {"n": 50, "command": "d", "results": []})
    assert records.read("certified_small", "user") == {"n": 50, "command": "d", "results": []}
    assert records.read("certified_small") == {"n": 200, "command": "c", "results": []}
    assert records.origin("certified_small", "user") == f"certified_small: your run {path}, n = 50"
    assert records.load_certified("small", "user")["origin"] == f"certified_small: your run {path}, n = 50"
    assert records.read("clean_errors", "user") == {}


def test_a_partial_certified_run_is_refused_unless_asked_for(tmp_records):
    from course_utils.certified import CertifiedResult, Progress
    r = CertifiedResult(0.01, ("crown",), np.array(["robust"] * 3, dtype=object),
                        np.array(["crown"] * 3, dtype=object), np.ones(3, dtype=bool))
    record = records.certified_record({"n": 3, "command": "python -m course_utils certified --n 3"},
                                      Progress((r,)), radii=2)
    assert record["status"] == "partial" and record["progress"] == "1 of 2 radii done"
    path = records.write("certified_small", record)
    with pytest.raises(ValueError, match=r"partial run \(1 of 2 radii done\); finish it with "
                                         r"`python -m course_utils certified --n 3 --resume`"):
        records.load_certified("small", "user")
    kept = records.load_certified_file(path, partial=True)
    assert [x.epsilon for x in kept["results"]] == [0.01] and kept["status"] == "partial"
    restored = records.certified_progress(record)
    assert restored.current is None and np.array_equal(restored.finished[0].verdict, r.verdict)
    with pytest.raises(ValueError, match=r"^record is not a certified-accuracy run that can be continued"):
        records.certified_progress({"results": [{"epsilon": 0.1}]})


def test_atomic_write_leaves_the_old_file_or_the_new_one(tmp_path, monkeypatch):
    """An interrupt at the rename leaves the old content and no temporary file."""
    path = records.atomic_write(tmp_path / "r.json", "old\n")
    os.chmod(path, 0o640)
    records.atomic_write(path, b"new\n")
    assert path.read_text() == "new\n" and (path.stat().st_mode & 0o777) == 0o640

    def interrupted(src, dst):
        raise KeyboardInterrupt
    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        records.atomic_write(path, "newer\n")
    assert path.read_text() == "new\n" and sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]


def test_an_installed_package_is_never_written_into(tmp_records, monkeypatch):
    """Outside a checkout the shipped files cannot be re-recorded; the user's runs go to the
    user's folder (the subprocess test in test_cli.py runs the commands on such a copy)."""
    from course_utils import train
    from course_utils.models import build_model, load_model
    monkeypatch.setattr(config, "in_checkout", lambda: False)
    for call in (lambda: records.write("attack_errors", {}, shipped=True), lambda: config.writable_asset("models")):
        with pytest.raises(RuntimeError, match=r"works only in a checkout .* never written into"):
            call()
    torch.manual_seed(0)
    path = train.save_weights(build_model("small"), "small")
    assert path == tmp_records.user / "models" / "small.pt"
    with pytest.raises(FileExistsError, match=r"small.pt exists; pass force=True"):
        train.save_weights(build_model("small"), "small")
    torch.manual_seed(1)
    net = build_model("small")
    train.save_weights(net, "small", force=True)
    back = load_model("small", device="cpu", models_dir=path.parent)
    assert all(torch.equal(a, b) for a, b in zip(back.state_dict().values(), net.state_dict().values()))


def test_missing_record_is_empty(tmp_records):
    assert records.read("attack_errors") == {}
    assert records.attack_error("fgsm", "dnn2", True) is None
    with pytest.raises(FileNotFoundError, match=r"model_name='cnn'.*course_utils certified --model cnn"):
        records.load_certified("cnn")


def test_record_names_are_checked():
    for bad in ("../models/cnn", "attack_errors.json", "", "run-1"):
        with pytest.raises(ValueError, match="name must be a record's name"):
            records.read(bad)


def test_result_key_and_loader_checks():
    assert records.attack_key("pgd_l2", "cnn", True) == "pgd_l2/cnn/clamp_on"
    with pytest.raises(ValueError, match="batch_size"):
        evaluate.tensor_loader(torch.zeros(2, 1, 2, 2), torch.zeros(2, dtype=torch.int64), 0)


def test_recorded_attack_errors_are_consistent():
    """Every recorded entry names its subset, clamp setting, time and a command that exists."""
    entries = records.read("attack_errors")
    assert len(entries) >= 20
    for key, entry in entries.items():
        assert key == records.attack_key(entry["attack"], entry["model"], entry["clamp"])
        assert 0 <= entry["error"] <= 1 and 1 <= entry["n"] <= 10_000
        command = entry["command"]
        if command.startswith("python benchmarks/"):
            # a run too long for one go, recorded in chunks by a script of benchmarks/
            script = command.split()[1]
            assert (config.ROOT / script).is_file(), script
        else:
            assert command.startswith("python -m course_utils evaluate "), command
            cli.parser().parse_args(command.split()[3:])  # still a valid command line
        assert entry["seconds"] >= 0


@pytest.mark.parametrize("model", ["small", "dnn2"])
def test_recorded_certified_runs_load(model):
    record = records.load_certified(model)
    assert record["model"] == model and record["results"]
    assert record["command"].startswith(f"python -m course_utils certified --model {model} ")
    cli.parser().parse_args(record["command"].split()[3:])
    assert [r.epsilon for r in record["results"]] == sorted(r.epsilon for r in record["results"])


@pytest.mark.parametrize("model, n, limit", [("small", 200, 20.0), ("dnn2", 100, 10.0)])
def test_certified_settings_read_the_recorded_command(model, n, limit):
    record = records.load_certified(model)
    settings = records.certified_settings(record)
    assert settings == {"model": model, "n": n, "epsilons": [r.epsilon for r in record["results"]],
                        "time_limit": limit}
    no_limit = {"command": f"python -m course_utils certified --model {model} --n 7 --eps 0.05"}
    assert records.certified_settings(no_limit) == {"model": model, "n": 7, "epsilons": [0.05], "time_limit": None}


@pytest.mark.parametrize("record, message", [
    ({}, r"^record must be a certified-accuracy record .* got command None"),
    ({"command": "python -m course_utils evaluate --n 10"}, r"^record must be a certified-accuracy record"),
    ({"command": "python -m course_utils certified --time-limit -1"}, r"^record's command .* is not one the command"),
    ("certified_small", r"^record must be a certified-accuracy record"),
])
def test_certified_settings_refuse_what_is_not_a_certified_record(record, message, capsys):
    with pytest.raises(ValueError, match=message):
        records.certified_settings(record)
    assert capsys.readouterr().err == ""


def test_clean_errors_and_published_figures_cover_the_zoo():
    recorded = records.read("clean_errors")
    assert set(recorded) == set(records.PUBLISHED_CLEAN_ERRORS) == {"dnn2", "dnn4", "cnn", "small"}
    for name, entry in recorded.items():
        assert entry["published"] == records.PUBLISHED_CLEAN_ERRORS[name]


def test_side_by_side_compares_signs():
    table = records.side_by_side({0: 1.5, 2: -0.1}, {0: 5.81, 2: 2.04, 3: 0.02}, name="ours",
                                 verdicts={3: "attack"})
    lines = table.splitlines()
    assert lines[1].endswith("yes") and lines[2].endswith("NO") and lines[3].endswith("NO")
    assert "attack" in lines[3]


def test_evaluate_command_records_its_figures(tmp_records, capsys):
    """``python -m course_utils evaluate`` on 20 images: one entry per clamp setting,
    merged into the user's record, with the command that made it; the shipped record
    untouched; an entry there already is replaced only with --force (--resume skips it)."""
    shipped = tmp_records.shipped / "attack_errors.json"
    records.write_file(shipped, {"fgsm/small/clamp_on": {"error": 0.5, "n": 10000}})
    before = shipped.read_bytes()
    records.write("attack_errors", {"fgsm/cnn/clamp_off": {"kept": True}})
    argv = ["evaluate", "--models", "small", "--attacks", "fgsm", "--n", "20", "--no-progress"]
    assert cli.main(argv) == 0
    mine = tmp_records.user / "results" / "attack_errors.json"
    written = json.loads(mine.read_text())
    assert written["fgsm/cnn/clamp_off"] == {"kept": True}
    entry = written["fgsm/small/clamp_on"]
    assert entry["n"] == 20 and 0 <= entry["error"] <= 1 and entry["published"] is None
    assert entry["command"] == "python -m course_utils " + " ".join(argv)
    assert "fgsm/small/clamp_off" in written and shipped.read_bytes() == before
    out = capsys.readouterr().out
    assert "fgsm           small clamp on  n=20" in out and f"recorded in {mine}" in out
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    assert exc.value.code == 2
    assert (f"{mine} holds fgsm/small/clamp_off, fgsm/small/clamp_on already; --resume computes only the "
            f"missing entries, --force replaces them") in capsys.readouterr().err
    assert cli.main(argv + ["--resume"]) == 0 and json.loads(mine.read_text()) == written
    assert "nothing to compute" in capsys.readouterr().out
    assert cli.main(argv + ["--force", "--clamp", "off"]) == 0
    again = json.loads(mine.read_text())
    assert again["fgsm/small/clamp_on"] == written["fgsm/small/clamp_on"]
    assert again["fgsm/small/clamp_off"]["command"] == "python -m course_utils " + " ".join(argv + ["--clamp", "off"])


def test_command_line_rejects_bad_arguments(capsys):
    for argv, message in ((["train", "resnet"], "unknown model name 'resnet'"),
                          (["evaluate", "--attacks", "cw"], "invalid choice: 'cw'"),
                          (["certified", "--model", "vgg"], "invalid choice: 'vgg'"),
                          ([], "required: COMMAND")):
        with pytest.raises(SystemExit) as exc:
            cli.main(argv)
        assert exc.value.code == 2
        assert message in capsys.readouterr().err
