"""The model answers of notebooks 01 and 02 state facts about the shipped networks; each
fact is recomputed here, so an answer cannot drift from what the networks do.

(A model answer is fixed text shown after a right answer; unlike a notebook's prose it has
no check cell beside it.)
"""

from __future__ import annotations

import math

import pytest
import torch

from course_utils.attacks import clamp_images, fgsm
from course_utils.data import eval_subset
from course_utils.exercises import all_exercises
from course_utils.exercises import nb01, nb02
from course_utils.models import load_model
from course_utils.surface import inner_max_1d


def test_1_2_one_step_wins_almost_always_at_0_01_and_misses_about_a_third_at_0_5():
    net = load_model("regression", device="cpu")
    starts = torch.linspace(-2.5, 2.5, 101).tolist()
    small = sum(r.f_best - r.f_grad < 1e-6 for r in (inner_max_1d(net, x0, 0.01) for x0 in starts))
    assert small >= 90, "the model answer says the step almost always succeeds for ε = 0.01"
    missed = 101 - nb01._one_step_found()
    assert 0.25 <= missed / 101 <= 0.42, "the model answer says the step misses on about a third at ε = 0.5"
    assert "about a third" in all_exercises()["1.2"].model_answer


def test_1_4_about_as_many_pieces_before_training_as_after():
    at_init, trained = nb01._pieces_at_init_and_trained()
    assert trained >= 100 and abs(at_init - trained) <= 0.1 * trained
    assert all_exercises()["1.4"].model_answer.startswith("About as many pieces before training as after")


def test_2_1_the_error_at_0_02_and_the_shape_of_the_curve():
    errors = nb02._errors_dnn2()
    assert 0.06 <= errors[0.02] <= 0.085, "the model answer says about 7%"
    line = errors[0.0] + (errors[0.1] - errors[0.0]) / 5
    assert 0.16 <= line <= 0.18, "the model answer says a straight line would give 17%"
    model, (X, y) = load_model("dnn2", device="cpu"), eval_subset(1000)
    with torch.no_grad():
        at = {e: (model(X + fgsm(model, X, y, e)).argmax(1) != y).float().mean().item() for e in (0.05, 0.15)}
    assert abs(at[0.05] - 0.23) <= 0.015 and abs(at[0.15] - 0.97) <= 0.015, at
    assert 0.7 <= at[0.15] - at[0.05] <= 0.8, "about three images in four flip between 0.05 and 0.15"


def test_2_4_random_corners_barely_hurt_without_the_clamp_and_do_with_it():
    ref = nb02._random_corner_errors()
    off, on = ref["off"][0], ref["on"][0]
    assert 0.02 <= off[0] <= 0.04 and 0.045 <= off[1] <= 0.075, "about 3% at 0.1 and 6% at 0.3, clamp off"
    assert 0.25 <= on[1] <= 0.36, "about 30% at 0.3 with the clamp"
    assert ref["fgsm"]["off"][1] >= 0.98, "FGSM's corner fools nearly every image at 0.3"
    model, (X, _) = load_model("dnn2", device="cpu"), eval_subset(1000)
    signs = torch.randint(0, 2, X.shape, generator=torch.Generator().manual_seed(0)) * 2.0 - 1
    cut = clamp_images(X, 0.3 * signs)
    background = X == 0
    # "on the background the clamp cuts every -0.3 to 0 and keeps every +0.3"
    assert bool((cut[background] >= 0).all()) and bool((cut[background & (signs > 0)] == 0.3).all())


@pytest.mark.parametrize("exercise_id", ["1.2", "1.3", "1.4", "2.1", "2.2", "2.3", "2.4", "2.5"])
def test_model_answers_are_there_and_name_no_build_plumbing(exercise_id):
    text = all_exercises()[exercise_id].model_answer
    assert len(text.split()) >= 30
    assert not any(word in text for word in ("COURSE_", "tools/", "nbval", "pytest", "test suite"))
