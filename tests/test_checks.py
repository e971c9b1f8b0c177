"""The notebooks' check helpers: they pass quietly-but-visibly, fail loudly, and print the
same text on every machine."""

import json

import numpy as np
import pytest
import torch

from course_utils import checks


def test_check_close_prints_the_recorded_value_not_the_live_one(capsys):
    checks.check_close(0.8031, 0.802, 0.005, "FGSM error")
    first = capsys.readouterr().out
    checks.check_close(torch.tensor(0.7991), 0.802, 0.005, "FGSM error")
    assert capsys.readouterr().out == first == "✓ FGSM error ≈ 0.802 (± 0.005)\n"


@pytest.mark.parametrize("value", [0.81, 0.79, float("inf")])
def test_check_close_fails_outside_the_tolerance(value):
    with pytest.raises(AssertionError, match="FGSM error: this run gives"):
        checks.check_close(value, 0.802, 0.005, "FGSM error")


@pytest.mark.parametrize("args, match", [
    ((float("nan"), 0.8, 0.1), "value must not be NaN"),
    (("0.8", 0.8, 0.1), "value must be a real number"),
    ((0.8, 0.8, -1), "tol must be >= 0"),
    ((torch.zeros(2), 0.8, 0.1), "single number"),
    ((True, 1, 0), "real number"),
])
def test_check_close_refuses_bad_arguments(args, match):
    with pytest.raises(ValueError, match=match):
        checks.check_close(*args, "x")


def test_check_close_logs_for_the_portability_measurement(tmp_path, monkeypatch, capsys):
    log = tmp_path / "log.jsonl"
    monkeypatch.setenv("COURSE_CHECK_LOG", str(log))
    checks.check_close(np.float32(0.25), 0.25, 0.0, "a")
    with pytest.raises(AssertionError):
        checks.check_close(1.0, 0.25, 0.1, "b")          # logged even when it fails
    rows = [json.loads(line) for line in log.read_text().splitlines()]
    assert [r["what"] for r in rows] == ["a", "b"] and rows[1]["value"] == 1.0


def test_approx_marks_the_figure():
    assert checks.approx(0.80349) == "≈0.803"
    assert checks.approx(torch.tensor(5.8974), 2) == "≈5.90"
    with pytest.raises(ValueError):
        checks.approx("0.8")


def test_check_claim(capsys):
    checks.check_claim(torch.tensor(True), "PGD beats FGSM")
    assert capsys.readouterr().out == "✓ PGD beats FGSM\n"
    with pytest.raises(AssertionError, match="the text claims: PGD beats FGSM"):
        checks.check_claim(False, "PGD beats FGSM")
    with pytest.raises(ValueError, match="one boolean"):
        checks.check_claim(torch.tensor([True, False]), "x")
    with pytest.raises(ValueError, match="boolean"):
        checks.check_claim(1, "x")


def test_check_same(capsys):
    a = torch.randn(3, 4, generator=torch.Generator().manual_seed(0))
    checks.check_same(a, a.numpy() + 1e-7, "same δ")
    assert capsys.readouterr().out == "✓ same δ (to 1e-06)\n"
    with pytest.raises(AssertionError, match="differ by up to"):
        checks.check_same(a, a + 1e-3, "same δ")
    with pytest.raises(AssertionError, match="shapes differ"):
        checks.check_same(a, a[:2], "same δ")


def test_a_check_with_show_false_prints_nothing_but_still_fails(capsys):
    check_close, check_claim, check_same = checks.check_close, checks.check_claim, checks.check_same
    check_close(0.5, 0.5, 0.01, "a figure:", show=False)
    check_claim(True, "a claim", show=False)
    check_same(torch.zeros(3), torch.zeros(3), "two results", show=False)
    assert capsys.readouterr().out == ""
    with pytest.raises(AssertionError, match="a figure"):
        check_close(0.6, 0.5, 0.01, "a figure:", show=False)
    with pytest.raises(AssertionError, match="a claim"):
        check_claim(False, "a claim", show=False)
    with pytest.raises(AssertionError, match="two results"):
        check_same(torch.zeros(3), torch.ones(3), "two results", show=False)
    for call in (lambda: check_claim(True, "c", show="no"), lambda: check_close(1, 1, 0, "f", show=None),
                 lambda: check_same(torch.zeros(1), torch.zeros(1), "s", show=1)):
        with pytest.raises(ValueError, match="show must be True or False"):
            call()
