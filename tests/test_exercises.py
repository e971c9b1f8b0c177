"""Every exercise's check passes its reference solution and fails, with the intended hint,
on the blank starter and on plausible wrong answers; the student version runs.

The reference solutions are read from the notebook sources (the one place they live): the
cell tagged ``exercise`` is run with its ``# BEGIN SOLUTION`` block as written, stubbed out
(the student's starter), or replaced by a wrong answer from ``WRONG`` below, after the
notebook's first code cell (its imports), and graded by the ``check("N.M", name)`` call in
the next cell.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import os
import re
import signal
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch

from course_utils import config
from course_utils.exercises import all_exercises, core, evaluate, guard

_spec = importlib.util.spec_from_file_location("nbtool", config.ROOT / "tools" / "notebooks.py")
nbtool = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(nbtool)

CHECK_CALL = re.compile(r'^check\("(?P<id>\d+\.\d+)", (?P<name>\w+)\)$', re.M)

def _wrong_answers() -> dict:
    """``WRONG`` of every ``tests/wrong_answers/nbNN.py``, merged."""
    merged = {}
    for path in sorted((Path(__file__).parent / "wrong_answers").glob("nb*.py")):
        spec = importlib.util.spec_from_file_location(f"wrong_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        assert not set(module.WRONG) & set(merged), f"{path.name} repeats an exercise id"
        merged.update(module.WRONG)
    return merged


WRONG = _wrong_answers()


@dataclass
class Site:
    """Where an exercise lives: its notebook source, setup code, exercise cell, answer name."""

    source: Path
    setup: str
    cell: str
    name: str


def _sites() -> dict[str, Site]:
    sites = {}
    for src in sorted(nbtool.SRC_DIR.glob("*.py")):
        cells = nbtool.read_source(src).cells
        # the notebook's own code; the set-up cell the build puts first installs nothing here
        code = [c for c in cells if c.cell_type == "code" and "course-setup" not in c.metadata.get("tags", [])]
        for i, cell in enumerate(code[:-1]):
            if "exercise" in cell.metadata.get("tags", []):
                match = CHECK_CALL.search(code[i + 1].source)
                assert match, f"{src.name}: the cell after an exercise must call check(\"N.M\", name)"
                assert match["id"] not in sites, f"exercise {match['id']} appears twice"
                sites[match["id"]] = Site(src, code[0].source, cell.source, match["name"])
    return sites


SITES = _sites()
IDS = sorted(all_exercises())


def _answer(site: Site, cell: str):
    namespace: dict = {}
    exec(compile(site.setup, f"{site.source.name}:setup", "exec"), namespace)
    exec(compile(cell, f"{site.source.name}:exercise", "exec"), namespace)
    return namespace[site.name]


def _replace_solution(cell: str, text: str) -> str:
    """The exercise cell with its solution block replaced by ``text`` (re-indented)."""
    lines = cell.splitlines()
    begin = next(i for i, l in enumerate(lines) if l.strip() == nbtool.BEGIN)
    end = next(i for i, l in enumerate(lines) if l.strip() == nbtool.END)
    indent = lines[begin][: len(lines[begin]) - len(lines[begin].lstrip())]
    return "\n".join(lines[:begin] + [indent + l for l in text.splitlines()] + lines[end + 1:])


MIN_PER_NOTEBOOK = 3


def test_every_exercise_sits_in_a_notebook_and_notebooks_have_enough():
    assert sorted(SITES) == IDS
    lessons = sorted(int(p.stem[:2]) for p in nbtool.SRC_DIR.glob("[0-9][0-9]_*.py"))
    modules = sorted(int(p.stem[2:]) for p in (config.ROOT / "course_utils" / "exercises").glob("nb*.py"))
    assert modules == [n for n in lessons if n > 0], "every notebook after 00 (notation) has its exercises"
    for number in modules:
        count = sum(int(k.split(".")[0]) == number for k in IDS)
        assert count >= MIN_PER_NOTEBOOK, f"notebook {number:02d} has {count} exercises"
        assert all(int(site.source.stem[:2]) == int(k.split(".")[0]) for k, site in SITES.items())


@pytest.mark.parametrize("exercise_id", IDS)
def test_the_reference_solution_passes(exercise_id):
    site = SITES[exercise_id]
    outcome = evaluate(exercise_id, _answer(site, site.cell))
    assert outcome.passed, outcome.message
    assert outcome.message.startswith(f"✓ Exercise {exercise_id}")


@pytest.mark.parametrize("exercise_id", IDS)
def test_the_blank_starter_is_not_yet(exercise_id):
    site = SITES[exercise_id]
    outcome = evaluate(exercise_id, _answer(site, nbtool.strip_solutions(site.cell)))
    assert not outcome.passed and "not yet" in outcome.message and "replace the `...`" in outcome.message


@pytest.mark.parametrize("exercise_id, wrong, hint",
                         [(k, w, h) for k, cases in WRONG.items() for w, h in cases])
def test_wrong_answers_get_their_hint(exercise_id, wrong, hint):
    site = SITES[exercise_id]
    outcome = evaluate(exercise_id, _answer(site, _replace_solution(site.cell, wrong)))
    assert not outcome.passed and "not yet" in outcome.message
    assert hint in outcome.message, outcome.message


def test_every_exercise_has_a_wrong_answer():
    assert set(WRONG) == set(IDS)


def test_an_unknown_exercise_gets_one_line_listing_the_ids_and_a_bad_kind_is_refused(capsys):
    from course_utils.exercises import Exercise, check
    for unknown, says in (("99.9", "there is no exercise '99.9'"), (2.1, "2.1 is not an exercise id"),
                          (None, "None is not an exercise id")):
        outcome = evaluate(unknown, None)
        assert not outcome.passed and says in outcome.message
        assert outcome.message.endswith("the exercises are " + ", ".join(IDS))
        check(unknown, lambda: 1)
        printed = capsys.readouterr().out
        assert printed == outcome.message + "\n" and printed.startswith("✗ ")
    with pytest.raises(ValueError, match="kind"):
        Exercise("1.1", "x", "guess", lambda a: "")
    for bad in (0, -1.0, float("inf"), float("nan"), True, "5"):
        with pytest.raises(ValueError, match="time_limit must be a positive number of seconds"):
            Exercise("1.1", "x", "implement", lambda a: "", time_limit=bad)


def test_strip_solutions_keeps_indentation_and_refuses_unbalanced_markers():
    cell = "def f(x):\n    # BEGIN SOLUTION\n    return 2 * x\n    # END SOLUTION\n"
    assert nbtool.strip_solutions(cell) == "def f(x):\n    pass  # your code here"
    for bad in ("# BEGIN SOLUTION\nx = 1\n", "x = 1\n# END SOLUTION\n",
                "# BEGIN SOLUTION\n# BEGIN SOLUTION\n# END SOLUTION\n"):
        with pytest.raises(ValueError):
            nbtool.strip_solutions(bad)


def test_the_student_version_has_no_solutions(tmp_path):
    for path in nbtool.write_students(tmp_path):
        assert nbtool.BEGIN not in path.read_text()
        for cell in nbformat.read(path, as_version=4).cells:
            assert "solution" not in cell.metadata.get("tags", [])
            assert not cell.get("outputs")


# --- a learner cannot break or fool a check (issue 19) --------------------------------
#
# Every exercise is checked with answers that misbehave: they raise, return the wrong type or
# None, exit, loop forever, or change what they are given. Each gets "not yet" with a hint
# that names what happened, and afterwards the reference solution still passes in the same
# process. Exercises are discovered (IDS), so a new one is covered without a line here.

IMPLEMENT = [k for k in IDS if all_exercises()[k].kind == "implement"]
VALUES = [k for k in IDS if k not in IMPLEMENT]
SHORT_LIMIT_S = 0.5


@contextlib.contextmanager
def time_limit(exercise_id: str, seconds: float):
    """Exercise ``exercise_id`` with another time limit during the block."""
    table = all_exercises()
    original = table[exercise_id]
    table[exercise_id] = dataclasses.replace(original, time_limit=seconds)
    try:
        yield
    finally:
        table[exercise_id] = original


def reference(exercise_id: str):
    site = SITES[exercise_id]
    return _answer(site, site.cell)


class NotAnAnswer:
    """What a confused answer returns."""


class Counted:
    """A misbehaving answer that counts its calls."""

    def __init__(self, body):
        self.body, self.calls = body, 0

    def __call__(self, *args, **kwargs):
        self.calls += 1
        return self.body(*args, **kwargs)


def _raises(*args, **kwargs):
    return 1 / 0


def _exits(*args, **kwargs):
    sys.exit(3)


def _loops(*args, **kwargs):
    while True:
        try:
            sum(range(100))
        except Exception:   # a learner's `except Exception` must not swallow the time limit
            pass


MISBEHAVIOURS = {
    "raises": (_raises, "your code raised ZeroDivisionError"),
    "returns the wrong type": (lambda *a, **k: NotAnAnswer(), "NotAnAnswer"),
    "returns None": (lambda *a, **k: None, "returned None"),
    "exits": (_exits, "called exit() or sys.exit() (SystemExit: 3)"),
    "loops forever": (_loops, f"ran for more than {SHORT_LIMIT_S:g} s"),
}


@pytest.mark.parametrize("behaviour", sorted(MISBEHAVIOURS))
@pytest.mark.parametrize("exercise_id", IMPLEMENT)
def test_a_misbehaving_function_gets_a_hint_and_breaks_nothing(exercise_id, behaviour):
    body, hint = MISBEHAVIOURS[behaviour]
    answer = Counted(body)
    start = time.monotonic()
    with time_limit(exercise_id, SHORT_LIMIT_S):
        outcome = evaluate(exercise_id, answer)
    assert answer.calls >= 1
    assert not outcome.passed and "not yet" in outcome.message and hint in outcome.message, outcome.message
    assert "\n" not in outcome.message
    # the learner's code had the limit and at most ~1 s more (a loop comes back that fast)
    assert outcome.learner_seconds < SHORT_LIMIT_S + 1.0, outcome.learner_seconds
    assert time.monotonic() - start < outcome.learner_seconds + 60
    assert signal.getsignal(signal.SIGALRM) == signal.SIG_DFL and signal.getitimer(signal.ITIMER_REAL)[0] == 0
    again = evaluate(exercise_id, reference(exercise_id))
    assert again.passed, again.message


@pytest.mark.parametrize("exercise_id", VALUES)
def test_a_value_exercise_never_runs_a_function_given_as_its_answer(exercise_id):
    answers = [Counted(body) for body, _ in MISBEHAVIOURS.values()]
    for answer in answers:
        outcome = evaluate(exercise_id, answer)
        assert not outcome.passed and "not yet" in outcome.message and "\n" not in outcome.message
        assert "LearnerFunction" not in outcome.message, outcome.message
    # no learner code ran, so nothing can be broken; should a grader ever call it, check
    if any(a.calls for a in answers):
        assert evaluate(exercise_id, reference(exercise_id)).passed


# The vandal: changes everything it is given in place (tensors, arrays, a model's weights and
# mode, a generator's state; never back to what it was, however often it runs), then answers
# what the reference solution answers for the changed inputs. A check that handed the learner its own objects, or computed its reference from
# objects the learner saw, would be fooled (it would say "right") or broken (later checks fail).


def _vandalise(value, seen) -> bool:
    """Change ``value`` in place wherever it can be changed, keeping pixels in [0, 1] and
    labels in 0..9 (so that the solution still answers; x -> 0.75 - x / 2 and a roll are not
    undone by a second run); whether anything changed."""
    if id(value) in seen:
        return False
    seen.add(id(value))
    if isinstance(value, torch.Tensor):
        before = value.detach().clone()
        with torch.no_grad():
            if value.is_floating_point():
                value.mul_(-0.5).add_(0.75)
            elif value.numel():
                value.copy_(value.roll(1, 0))
        return not torch.equal(before, value.detach())
    if isinstance(value, np.ndarray) and value.flags.writeable:
        before = value.copy()
        if value.dtype.kind == "f":
            np.add(np.multiply(value, -0.5, out=value), 0.75, out=value)
        else:
            value[...] = np.roll(value, 1, 0)
        return not np.array_equal(before, value)
    if isinstance(value, torch.nn.Module):
        for t in [*value.parameters(), *value.buffers()]:
            _vandalise(t, seen)
        value.train(not value.training)
        return True
    if isinstance(value, torch.Generator):
        torch.rand(1, generator=value)
        return True
    if isinstance(value, (list, tuple)):
        return any([_vandalise(v, seen) for v in value])
    if isinstance(value, dict):
        return any([_vandalise(v, seen) for v in value.values()])
    return False


class Vandal:
    def __init__(self, solution):
        self.solution, self.results, self.changed, self.raised = solution, [], False, False

    def __call__(self, *args, **kwargs):
        seen: set = set()
        self.changed |= any([_vandalise(v, seen) for v in (*args, *kwargs.values())])
        try:
            result = self.solution(*args, **kwargs)
        except Exception:
            self.raised = True
            raise
        self.results.append(guard.private_copy(result))
        return result


class Replay:
    """Answers, call after call, what the vandal answered, and changes nothing."""

    def __init__(self, results):
        self.results, self.calls = results, 0

    def __call__(self, *args, **kwargs):
        self.calls += 1
        if self.calls > len(self.results):
            raise RuntimeError("the vandal was called fewer times")
        return self.results[self.calls - 1]


@pytest.mark.parametrize("exercise_id", IMPLEMENT)
def test_a_vandal_is_judged_by_its_answers_alone_and_breaks_nothing(exercise_id, monkeypatch):
    solution = reference(exercise_id)
    # 1. judged as if it had changed nothing: its answers are right exactly when they are
    #    right for the inputs as they were (the replay of its answers says which)
    with monkeypatch.context() as m:
        m.setattr(core, "_changed", lambda *args: None)
        vandal = Vandal(solution)
        told = evaluate(exercise_id, vandal)
        truth = evaluate(exercise_id, Replay(vandal.results))
    assert told.passed == truth.passed, (told.message, truth.message)
    # 2. as it is: a function that changes its inputs is not yet, and told so
    vandal = Vandal(solution)
    outcome = evaluate(exercise_id, vandal)
    if vandal.changed:
        says = "your code raised" if vandal.raised else "in place"
        assert not outcome.passed and says in outcome.message, outcome.message
    else:
        assert outcome.passed == truth.passed, outcome.message
    # 3. and nothing it did outlives its check
    again = evaluate(exercise_id, solution)
    assert again.passed, again.message


# --- the machinery itself, on the quickest exercise (4.3: a formula, no data) ----------

QUICK = "4.3"


def _sleeps(epsilon, n):
    time.sleep(3600)


def _catches_once(epsilon, n):
    try:
        while True:
            pass
    except BaseException:     # catches the first time-up, then loops on
        pass
    while True:
        pass


def _late_but_right(epsilon, n):
    try:
        while True:
            pass
    except BaseException:
        pass
    return reference(QUICK)(epsilon, n)


def _calls_exit(epsilon, n):
    exit()


def _calls_quit(epsilon, n):
    quit(0)


def _raises_system_exit(epsilon, n):
    raise SystemExit


def _keyboard_interrupt(epsilon, n):
    raise KeyboardInterrupt


def _switches(epsilon, n):
    torch.set_grad_enabled(False)
    torch.set_default_dtype(torch.float64)
    np.seterr(all="raise")
    return reference(QUICK)(epsilon, n)


@pytest.mark.parametrize("answer, says", [
    (_sleeps, "ran for more than 1 s"), (_catches_once, "ran for more than 1 s"),
    (_late_but_right, "ran for more than 1 s"), (_calls_exit, "called exit() or sys.exit() (SystemExit)"),
    (_calls_quit, "called exit() or sys.exit() (SystemExit: 0)"),
    (_raises_system_exit, "called exit() or sys.exit() (SystemExit)")])
def test_sleeping_stubborn_and_exiting_answers_come_back_with_a_hint(answer, says):
    import builtins
    exits = builtins.exit, builtins.quit
    with time_limit(QUICK, 1.0):
        outcome = evaluate(QUICK, answer)
    assert not outcome.passed and says in outcome.message, outcome.message
    assert outcome.learner_seconds < 2.0
    assert (builtins.exit, builtins.quit) == exits and not sys.stdin.closed
    assert evaluate(QUICK, reference(QUICK)).passed


def test_global_switches_the_answer_sets_are_put_back():
    before = torch.is_grad_enabled(), torch.get_default_dtype(), np.geterr()
    assert evaluate(QUICK, _switches).passed
    assert (torch.is_grad_enabled(), torch.get_default_dtype(), np.geterr()) == before


def test_the_users_interrupt_still_interrupts_and_leaves_no_alarm_behind():
    with pytest.raises(KeyboardInterrupt):
        evaluate(QUICK, _keyboard_interrupt)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a kernel or a terminal
    timer = threading.Timer(0.5, lambda: signal.pthread_kill(threading.main_thread().ident, signal.SIGINT))
    start = time.monotonic()
    try:
        timer.start()
        with pytest.raises(KeyboardInterrupt):
            evaluate(QUICK, _loops)               # the time limit is 10 s: Ctrl-C comes first
    finally:
        timer.cancel()
        signal.signal(signal.SIGINT, previous)
    assert time.monotonic() - start < 2.0
    assert signal.getsignal(signal.SIGALRM) == signal.SIG_DFL and signal.getitimer(signal.ITIMER_REAL)[0] == 0
    assert evaluate(QUICK, reference(QUICK)).passed


def test_off_the_main_thread_the_watching_thread_stops_a_loop():
    """Where there is no SIGALRM (Windows) or it cannot be used (another thread), a watching
    thread raises the time-up in the checking thread: a loop stops, a sleep only ends late."""
    outcomes = {}

    def run(name, answer):
        with time_limit(QUICK, 1.0):
            outcomes[name] = evaluate(QUICK, answer)

    def naps(epsilon, n):
        time.sleep(1.5)
        return reference(QUICK)(epsilon, n)

    for name, answer in (("loop", _loops), ("catches once", _catches_once), ("naps", naps),
                         ("right", reference(QUICK))):
        worker = threading.Thread(target=run, args=(name, answer))
        worker.start()
        worker.join(10)
        assert not worker.is_alive(), f"{name}: the check did not come back"
    assert "ran for more than 1 s" in outcomes["loop"].message and outcomes["loop"].learner_seconds < 2.0
    assert "ran for more than 1 s" in outcomes["catches once"].message
    # a sleep (one call into C) is not cut short: the time-up comes when it returns
    assert "ran for more than 1 s" in outcomes["naps"].message and 1.5 <= outcomes["naps"].learner_seconds < 2.5
    assert outcomes["right"].passed
    assert not [t for t in threading.enumerate() if t.name == "exercise time limit"]


def test_private_copies_share_nothing_mutable_and_keep_what_matters():
    import cvxpy as cp
    model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Dropout(0.5))
    model[1].eval()
    x = torch.ones(3, requires_grad=True)
    inside = x * 2                                  # a tensor inside an autograd graph
    z = cp.Variable(2)
    gen = torch.Generator().manual_seed(0)
    w = torch.arange(4.0)
    given = {"model": model, "x": x, "pair": (w, w[:2]), "inside": inside, "z": z, "arr": np.arange(3.0),
             "gen": gen, "grad_of": lambda: x}
    copied = guard.private_copy(given)
    assert copied["model"] is not model and copied["model"].training and not copied["model"][1].training
    assert copied["model"][0].weight.data_ptr() != model[0].weight.data_ptr()
    cx = copied["x"]
    assert cx.requires_grad and cx.is_leaf and cx.data_ptr() != x.data_ptr()
    cw, view = copied["pair"]
    assert cw.data_ptr() != w.data_ptr() and view.data_ptr() == cw.data_ptr()  # shared stays shared
    copied["inside"].sum().backward()               # gradients still flow back to the grader's x
    assert torch.equal(x.grad, torch.full((3,), 2.0))
    assert copied["z"] is z                          # cvxpy variables: the learner builds on them
    assert copied["grad_of"]() is not x and torch.equal(copied["grad_of"](), x)
    assert torch.equal(copied["gen"].get_state(), gen.get_state()) and copied["gen"] is not gen
    before = guard.private_copy(copied)
    assert guard.same(before, copied)
    copied["arr"][0] = 7
    assert not guard.same(before, copied)
    copied["arr"][0] = 0
    copied["model"].train()
    assert not guard.same(before, copied)
    with pytest.raises(TypeError, match="private copy of a generator"):
        guard.private_copy([(i for i in range(3))])


KERNEL_SETUP = """
import dataclasses, signal, time
from course_utils.exercises import all_exercises, check
table = all_exercises()
def limit(seconds):
    table["4.3"] = dataclasses.replace(table["4.3"], time_limit=seconds)
def bye(epsilon, n):
    exit()                     # IPython's exit: it would end the kernel after the cell
def forever(epsilon, n):
    while True:
        pass
def naps(epsilon, n):
    time.sleep(3600)           # only a signal stops a sleep: the kernel's checks run in its main thread
"""


def _kernel_run(kc, code: str, timeout: float = 60) -> tuple:
    """Run ``code`` in the kernel: (the reply's content, what it printed)."""
    printed = []
    reply = kc.execute_interactive(code, timeout=timeout, output_hook=lambda m: printed.append(
        m["content"].get("text", "")) if m["msg_type"] == "stream" else None)
    return reply["content"], "".join(printed)


def test_in_a_jupyter_kernel_exit_loops_and_interrupts_leave_the_kernel_working():
    """exit() in a learner's function does not end the kernel, a loop comes back after the
    limit, and "Interrupt kernel" still interrupts a check (a KeyboardInterrupt, at once)."""
    jupyter_client = pytest.importorskip("jupyter_client")
    km = jupyter_client.KernelManager(kernel_name="python3")
    km.start_kernel(cwd=str(config.ROOT), env=dict(os.environ, PYTHONPATH=str(config.ROOT),
                                                   COURSE_DEVICE="cpu", COURSE_N_EVAL="1000"))
    try:
        kc = km.client()
        kc.start_channels()
        kc.wait_for_ready(timeout=60)
        assert _kernel_run(kc, KERNEL_SETUP + "limit(1.0)")[0]["status"] == "ok"
        _, printed = _kernel_run(kc, 'check("4.3", bye)\nprint(get_ipython().exit_now)')
        assert "not yet -- your code called exit()" in printed and printed.endswith("False\n"), printed
        for answer in ("forever", "naps"):
            _, printed = _kernel_run(kc, f't = time.monotonic(); check("4.3", {answer}); print(time.monotonic() - t)')
            assert "ran for more than 1 s" in printed and float(printed.split()[-1]) < 2.0, printed
        _kernel_run(kc, "limit(60.0)")
        msg_id = kc.execute('check("4.3", forever)')
        time.sleep(1.5)
        start = time.monotonic()
        km.interrupt_kernel()
        reply = kc.get_shell_msg(timeout=30)
        while reply["parent_header"].get("msg_id") != msg_id:
            reply = kc.get_shell_msg(timeout=30)
        assert reply["content"]["ename"] == "KeyboardInterrupt" and time.monotonic() - start < 2.0
        time.sleep(0.5)   # ipykernel aborts what reaches it just after an error
        content, printed = _kernel_run(kc, 'import math\ncheck("4.3", lambda epsilon, n: 2 * epsilon / '
                                           'math.sqrt(math.pi) * math.exp(math.lgamma(n / 2 + 1) / n))\n'
                                           'print(signal.getsignal(signal.SIGALRM) == signal.SIG_DFL, '
                                           'signal.getitimer(signal.ITIMER_REAL))')
        assert printed.startswith("✓ Exercise 4.3") and printed.endswith("True (0.0, 0.0)\n"), (content, printed)
        kc.stop_channels()
    finally:
        km.shutdown_kernel(now=True)
