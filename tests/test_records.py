"""The chapter's published figures and the recorded runs (course_utils.records), the
notebooks' comparison table that reads them, and the command line that writes them."""

from __future__ import annotations

import json

import pytest
import torch

from course_utils import cli, config, evaluate, records


@pytest.fixture
def tmp_records(tmp_path, monkeypatch):
    """Records read from and written to a temporary folder instead of the package's."""
    shipped = config.asset
    monkeypatch.setattr(config, "asset", lambda *parts: tmp_path.joinpath(*parts[1:]) if parts[0] == "results"
                        else shipped(*parts))
    monkeypatch.setattr(records, "results_dir", lambda: tmp_path)
    return tmp_path


def test_comparison_table_reads_the_record(tmp_records):
    records.write("attack_errors", {
        "fgsm/dnn2/clamp_off": {"error": 0.9357, "n": 10000},
        "fgsm/dnn2/clamp_on": {"error": 0.7017, "n": 10000},
    })
    table = evaluate.comparison_table("fgsm", {"dnn2": {False: 0.959, True: 0.777}, "cnn": {False: 0.5}},
                                      {"dnn2": 1000, "cnn": 100})
    lines = table.splitlines()
    assert "0.9259" in lines[3] and "0.9357" in lines[3] and "0.7017" in lines[3] and "10000" in lines[3]
    assert "≈0.959" in lines[3] and "≈0.777" in lines[3]
    assert lines[4].count("—") == 4  # cnn: nothing recorded (off, on, n), no live clamp-on figure


def test_missing_record_is_empty(tmp_records):
    assert records.read("attack_errors") == {}
    assert records.attack_error("fgsm", "dnn2", True) is None
    with pytest.raises(FileNotFoundError, match=r"model_name='cnn'.*course_utils certified --model cnn"):
        records.load_certified("cnn")


def test_record_names_are_checked():
    for bad in ("../models/cnn", "attack_errors.json", ""):
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
    merged into what was recorded before, with the command that made it."""
    records.write("attack_errors", {"fgsm/cnn/clamp_off": {"kept": True}})
    argv = ["evaluate", "--models", "small", "--attacks", "fgsm", "--n", "20", "--no-progress"]
    assert cli.main(argv) == 0
    written = json.loads((tmp_records / "attack_errors.json").read_text())
    assert written["fgsm/cnn/clamp_off"] == {"kept": True}
    entry = written["fgsm/small/clamp_on"]
    assert entry["n"] == 20 and 0 <= entry["error"] <= 1 and entry["published"] is None
    assert entry["command"] == "python -m course_utils " + " ".join(argv)
    assert "fgsm/small/clamp_off" in written
    assert "fgsm           small clamp on  n=20" in capsys.readouterr().out


def test_command_line_rejects_bad_arguments(capsys):
    for argv, message in ((["train", "resnet"], "unknown model name 'resnet'"),
                          (["evaluate", "--attacks", "cw"], "invalid choice: 'cw'"),
                          (["certified", "--model", "vgg"], "invalid choice: 'vgg'"),
                          ([], "required: COMMAND")):
        with pytest.raises(SystemExit) as exc:
            cli.main(argv)
        assert exc.value.code == 2
        assert message in capsys.readouterr().err
