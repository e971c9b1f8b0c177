"""Certified accuracy at scale (course_utils.certified): every image ends robust,
attacked or unknown; what is proven robust survives a strong attack; the methods are
ordered; bad input is named."""

import numpy as np
import pytest
import torch

from course_utils.attacks import pgd_linf_rand
from course_utils.certified import METHODS, certified_accuracy
from course_utils.data import eval_subset
from course_utils.models import load_model

N = 30


@pytest.fixture(scope="module")
def small_results():
    X, y = eval_subset(N)
    model = load_model("small")
    return model, X, y, certified_accuracy(model, (X, y), [0.0, 0.02, 0.04], progress=False)


def test_counts_add_up_and_the_methods_are_ordered(small_results):
    model, X, y, results = small_results
    for r in results:
        assert r.total == N
        assert sum(r.counts.values()) == N
        assert sum(r.split.values()) == N
        assert r.counts["unknown"] == 0                 # the MILP decides every image
        cert = [r.certified(m) for m in METHODS]
        assert cert == sorted(cert)                      # interval <= CROWN <= LP <= MILP
        assert cert[-1] <= r.pgd_accuracy <= r.clean_accuracy
        assert cert[-1] == r.counts["robust"] / N
    at_zero = results[0]
    with torch.no_grad():
        clean = (model(X).argmax(1) == y).float().mean().item()
    assert at_zero.clean_accuracy == pytest.approx(clean)
    assert at_zero.certified("interval") == pytest.approx(clean)   # at eps 0 the box is a point
    # robustness can only shrink as eps grows
    assert results[1].certified("milp") >= results[2].certified("milp")


def test_what_is_proven_robust_survives_a_strong_attack(small_results):
    model, X, y, results = small_results
    for r in results[1:]:
        robust = torch.as_tensor(r.verdict == "robust")
        if not robust.any():
            continue
        Xr, yr = X[robust], y[robust]
        torch.manual_seed(0)
        delta = pgd_linf_rand(model, Xr, yr, r.epsilon, r.epsilon / 8, 40, 3)
        with torch.no_grad():
            assert (model(Xr + delta).argmax(1) == yr).all()


def test_cheaper_methods_only_and_a_loader_and_workers():
    from torch.utils.data import DataLoader, TensorDataset
    X, y = eval_subset(12)
    model = load_model("small")
    loader = DataLoader(TensorDataset(X, y), batch_size=5)
    (r,) = certified_accuracy(model, loader, 0.05, ["crown", "interval"], limit=10, progress=False)
    assert r.methods == ("interval", "crown") and r.total == 10
    # without an exact step, whatever CROWN leaves open stays unknown
    assert r.counts["unknown"] == int((r.verdict == "unknown").sum())
    assert set(r.decided_by[r.verdict == "unknown"]) <= {""}
    (two,) = certified_accuracy(model, (X, y), 0.05, ["crown", "milp"], workers=2, progress=False)
    (one,) = certified_accuracy(model, (X, y), 0.05, ["crown", "milp"], progress=False)
    assert np.array_equal(two.verdict, one.verdict)


@pytest.mark.parametrize("kwargs, message", [
    (dict(epsilons=-0.1), "epsilons"),
    (dict(epsilons=float("nan")), "epsilons"),
    (dict(methods=["milp", "magic"]), "methods"),
    (dict(methods=[]), "methods"),
    (dict(limit=0), "limit"),
    (dict(workers=0), "workers"),
    (dict(time_limit=0), "time_limit"),
    (dict(pgd_steps=0), "pgd_steps"),
])
def test_bad_input_is_named(kwargs, message):
    X, y = eval_subset(3)
    args = dict(epsilons=0.05, methods=["interval"]) | kwargs
    with pytest.raises(ValueError, match=message):
        certified_accuracy(load_model("small"), (X, y), progress=False, **args)


def test_bad_data_is_named():
    X, y = eval_subset(3)
    with pytest.raises(ValueError, match="images"):
        certified_accuracy(load_model("small"), (X * 2, y), 0.05, ["interval"], progress=False)
    with pytest.raises(ValueError, match="labels"):
        certified_accuracy(load_model("small"), (X, y[:2]), 0.05, ["interval"], progress=False)


def test_bound_sandwich_brackets_the_minimum_with_every_step():
    """Every lower bound <= the MILP's minimum <= the attack's margin, at every ε; the
    package's CROWN and alpha-CROWN never below the interval bound and CROWN; all seven
    series agree at ε = 0 (the box is a point); by default only the chapter's five."""
    from course_utils.certified import CHAPTER_SANDWICH, SANDWICH_STEPS, bound_sandwich
    X, y = eval_subset(2)
    model = load_model("small")
    eps = [0.0, 0.03, 0.06]
    s = bound_sandwich(model, X[1:2], int(y[1]), 0, eps, steps=SANDWICH_STEPS)
    assert s["epsilon"] == eps and set(s["status"]) == {"lp", "lp+cuts", "exact milp"}
    assert all(st == "optimal" for k in s["status"] for st in s["status"][k])
    for i in range(len(eps)):
        exact = s["exact milp"][i]
        for step in ("interval", "crown", "alpha-crown", "lp", "lp+cuts"):
            assert s[step][i] <= exact + 1e-9, (step, eps[i])
        assert exact <= s["targeted pgd"][i] + 1e-4 * max(1.0, abs(exact))
        assert s["interval"][i] <= s["crown"][i] <= s["alpha-crown"][i] + 1e-12
        assert s["lp"][i] <= s["lp+cuts"][i] + 1e-6          # tightened bounds and cuts only raise the LP
    assert max(s[k][0] for k in SANDWICH_STEPS) - min(s[k][0] for k in SANDWICH_STEPS) < 1e-6
    default = bound_sandwich(model, X[1:2], int(y[1]), 0, [0.03])
    assert set(default) == {"epsilon", "status", *CHAPTER_SANDWICH} and set(default["status"]) == {"lp", "exact milp"}
    assert default["crown"] == s["crown"][1:2] and default["exact milp"][0] == pytest.approx(s["exact milp"][1])
    with pytest.raises(ValueError, match="steps must be a non-empty subset"):
        bound_sandwich(model, X[1:2], int(y[1]), 0, [0.03], steps=["crown", "pgd"])


# --- the hook: on_progress and start ----------------------------------------------------------

HOOKED = dict(epsilons=[0.03, 0.04], methods=["crown", "lp+cuts"], progress=False)
"""First 16 test images: eps 0.03 all settled by PGD and CROWN, eps 0.04 leaves 6 images to
the LP with cuts."""


@pytest.fixture(scope="module")
def hooked_run():
    """One uninterrupted run of 16 images and every Progress its hook received."""
    X, y = eval_subset(16)
    model, seen = load_model("small"), []
    return model, X, y, certified_accuracy(model, (X, y), on_progress=seen.append, **HOOKED), seen


def _same(a, b) -> bool:
    return all(np.array_equal(getattr(a, k), getattr(b, k)) for k in ("verdict", "decided_by", "survived_pgd"))


def test_the_hook_sees_every_settled_image(hooked_run):
    """A radius without open images reports once, when it is done; a radius with open
    images once after its batched steps, once per settled image, once when done; what it
    receives are copies."""
    model, X, y, results, seen = hooked_run
    open_ = int((results[1].decided_by == "lp+cuts").sum() + (results[1].verdict == "unknown").sum())
    assert open_ >= 4
    assert [(len(p.finished), p.current is None) for p in seen] == \
        [(1, True)] + [(1, False)] * (open_ + 1) + [(2, True)]
    assert [int(p.pending.sum()) for p in seen[1:-1]] == list(range(open_, -1, -1))
    assert _same(seen[0].finished[0], results[0]) and _same(seen[-1].finished[1], results[1])
    assert _same(seen[-2].current, results[1]) and seen[1].describe(2) == f"1 of 2 radii done; at eps 0.04, " \
        f"{16 - open_} of 16 images settled"
    assert (seen[1].current.verdict[seen[1].pending] == "unknown").all()
    seen[1].current.verdict[:] = "robust"          # a copy: the run's own result is not touched
    assert not (results[1].verdict == "robust").all()


@pytest.mark.parametrize("after", [1, 4])
def test_a_run_stopped_anywhere_resumes_to_the_same_result(hooked_run, after, monkeypatch):
    """Stop a run at its ``after``-th report, continue from the last Progress: the same
    verdicts as the uninterrupted run, image by image; the batched steps of the radius in
    progress are not run again."""
    model, X, y, results, _ = hooked_run
    seen = []

    def stop(progress):
        seen.append(progress)
        if len(seen) == after:
            raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt, match=r"interrupted at eps 0\.04 \(1 of 2 radii finished\); what it "
                                                r"settled went to on_progress"):
        certified_accuracy(model, (X, y), on_progress=stop, **HOOKED)
    from course_utils import certified
    real, batched = certified._batched_steps, []
    monkeypatch.setattr(certified, "_batched_steps", lambda run, eps: batched.append(eps) or real(run, eps))
    again = certified_accuracy(model, (X, y), start=seen[-1], **HOOKED)
    assert all(_same(a, b) for a, b in zip(again, results))
    assert batched == ([0.04] if seen[-1].current is None and len(seen[-1].finished) == 1 else [])
    assert again[0].seconds == seen[-1].finished[0].seconds


def test_start_must_belong_to_the_run(hooked_run):
    from course_utils.certified import Progress
    model, X, y, results, seen = hooked_run
    progress = seen[2]
    for kwargs, message in (
            (dict(epsilons=[0.03, 0.05]), r"start was made for other epsilons, methods or images: it holds eps 0\.04"),
            (dict(methods=["interval", "lp+cuts"]), r"start was made for other epsilons, methods or images"),
            (dict(epsilons=[0.03]), r"start holds 2 radii, more than the 1 epsilons asked"),
            (dict(start="progress"), r"^start must be a Progress")):
        with pytest.raises(ValueError, match=message):
            certified_accuracy(model, (X, y), **{**HOOKED, "start": progress, **kwargs})
    with pytest.raises(ValueError, match=r"start was made for other epsilons, methods or images: .* 12 images"):
        certified_accuracy(model, (X[:12], y[:12]), start=progress, **HOOKED)
    relabelled = y.clone()
    relabelled[0] = (relabelled[0] + 1) % 10        # image 0 misclassified now
    with pytest.raises(ValueError, match=r"start was made for other images or another model"):
        certified_accuracy(model, (X, relabelled), start=progress, **HOOKED)
    wrong = Progress(progress.finished, progress.current, ~progress.pending)
    with pytest.raises(ValueError, match=r"start.pending marks images whose verdict is already settled"):
        certified_accuracy(model, (X, y), start=wrong, **HOOKED)
    with pytest.raises(ValueError, match=r"^on_progress must be a function"):
        certified_accuracy(model, (X, y), on_progress="print", **HOOKED)
