"""Tests of course_utils.evaluate: the results record and the notebooks' comparison table."""

from __future__ import annotations

import json

import pytest
import torch

from course_utils import config, evaluate


def test_comparison_table_reads_the_record(tmp_path, monkeypatch):
    path = tmp_path / "attack_errors.json"
    path.write_text(json.dumps({
        "fgsm/dnn2/clamp_off": {"error": 0.9357, "n": 10000},
        "fgsm/dnn2/clamp_on": {"error": 0.7017, "n": 10000},
    }))
    monkeypatch.setattr(evaluate, "RESULTS_FILE", path)
    table = evaluate.comparison_table("fgsm", {"dnn2": {False: 0.959, True: 0.777}, "cnn": {False: 0.5}},
                                      {"dnn2": 1000, "cnn": 100})
    lines = table.splitlines()
    assert "0.9259" in lines[3] and "0.9357" in lines[3] and "0.7017" in lines[3] and "10000" in lines[3]
    assert "≈0.959" in lines[3] and "≈0.777" in lines[3]
    assert lines[4].count("—") == 4  # cnn: nothing recorded (off, on, n), no live clamp-on figure


def test_missing_record_is_empty(tmp_path, monkeypatch):
    monkeypatch.setattr(evaluate, "RESULTS_FILE", tmp_path / "none.json")
    assert evaluate.load_results() == {}
    assert evaluate.recorded("fgsm", "dnn2", True) is None


def test_result_key_and_loader_checks():
    assert evaluate.result_key("pgd_l2", "cnn", True) == "pgd_l2/cnn/clamp_on"
    with pytest.raises(ValueError, match="batch_size"):
        evaluate.tensor_loader(torch.zeros(2, 1, 2, 2), torch.zeros(2, dtype=torch.int64), 0)


def test_recorded_results_file_is_consistent():
    """Every recorded entry names its subset, clamp setting, time and command."""
    for key, entry in evaluate.load_results().items():
        assert key == evaluate.result_key(entry["attack"], entry["model"], entry["clamp"])
        assert 0 <= entry["error"] <= 1 and 1 <= entry["n"] <= 10_000
        command = entry["command"]
        if command.startswith("python benchmarks/"):
            # a run too long for one go, recorded in chunks by a script of benchmarks/
            script = command.split()[1]
            assert (config.ROOT / script).is_file(), script
        else:
            assert command.startswith("python -m course_utils.evaluate"), command
        assert entry["seconds"] >= 0
