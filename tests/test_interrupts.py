"""Every long computation stops cleanly on an interrupt (SIGINT to the main process
alone, as JupyterLab's "Interrupt kernel" sends it): within 2 s, with a clear
KeyboardInterrupt, and with no process left behind (worker processes and
multiprocessing's resource tracker), checked by PID.

Each case runs in a subprocess (or a Jupyter kernel) on the shipped small / dnn2 nets,
is interrupted in the middle of its work, and is watched from outside. The 2 s count
until the KeyboardInterrupt reaches the caller (the script's last lines, or the
kernel's reply); the process's own exit afterwards (torch alone takes 1-2 s to tear
down on a busy machine) is only required to leave nothing behind."""

import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from course_utils import config

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc to find child processes")

LIMIT_S = 2.0

SETUP = """
import contextlib, signal, sys, torch
# Ctrl-C raises KeyboardInterrupt, as in a terminal or a Jupyter kernel, also when this test
# itself was started in the background (a shell's background jobs inherit SIGINT ignored)
signal.signal(signal.SIGINT, signal.default_int_handler)
from course_utils.data import eval_subset
from course_utils.models import load_model

@contextlib.contextmanager
def caught():
    try:
        yield
    except KeyboardInterrupt:
        print("interrupted", flush=True)       # the moment the caller has control again
        raise
"""

CASES = {
    "certified_accuracy, 2 workers": (SETUP + """
from course_utils.certified import certified_accuracy
X, y = eval_subset(80)
print("started", flush=True)
with caught():
    certified_accuracy(load_model("small"), (X, y), 0.1, ["crown", "milp"], workers=2, progress=False)
""", 2),
    "certified_accuracy, in this process": (SETUP + """
from course_utils.certified import certified_accuracy
X, y = eval_subset(80)
print("started", flush=True)
with caught():
    certified_accuracy(load_model("small"), (X, y), 0.1, ["crown", "milp"], progress=False)
""", 0),
    "decide, 2 workers": (SETUP + """
from course_utils.verify import certify
X, y = eval_subset(1)
print("started", flush=True)
with caught():
    certify(load_model("dnn2"), X, int(y[0]), 0.06, steps=("targeted pgd", "milp"), workers=2)
""", 2),
    "exact milp, in this process": (SETUP + """
from course_utils.verify import exact_milp, verification_problem
X, y = eval_subset(1)
p = verification_problem(load_model("dnn2"), X, int(y[0]), 0.06, targets=[3])
p.tightened, p.pgd_points
print("started", flush=True)
with caught():
    exact_milp(p, time_limit=None)
""", 0),
}


def descendants(pid: int) -> set:
    """Every live process below ``pid`` (children, their children, ...), zombies excluded."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[0] != "Z":
                parents.setdefault(int(fields[1]), set()).add(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        kids = parents.get(todo.pop(), set()) - found
        found |= kids
        todo += kids
    return found


def alive(pids: set) -> set:
    """Those of ``pids`` that still exist and are not zombies."""
    out = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            out.add(pid)
    return out


def wait_until(condition, timeout: float, what: str):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"gave up waiting for {what}")


@pytest.mark.parametrize("case", list(CASES))
def test_sigint_to_the_main_process_stops_everything_within_two_seconds(case):
    code, workers = CASES[case]
    env = dict(os.environ, PYTHONUNBUFFERED="1", COURSE_N_EVAL="1000")
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=config.ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "started", proc.stderr.read()
        if workers:
            # the workers are up and working (each has spawned, imported and taken a job)
            wait_until(lambda: len(descendants(proc.pid)) >= workers, 120, "the worker processes")
        time.sleep(3.0)
        assert proc.poll() is None, "the computation ended before it could be interrupted"
        children = descendants(proc.pid)
        assert len(children) >= workers
        start = time.monotonic()
        os.kill(proc.pid, signal.SIGINT)                 # the main process only, as JupyterLab does
        line = proc.stdout.readline().strip()
        seconds = time.monotonic() - start
        left_at_return = alive(children)
        proc.wait(timeout=60)
        stderr = proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert line == "interrupted" and "KeyboardInterrupt" in stderr, stderr
    assert seconds < LIMIT_S, f"{case}: stopped {seconds:.2f} s after the interrupt"
    assert not left_at_return, f"{case}: {left_at_return} still running when the call returned"
    assert not alive(children), f"{case}: left {alive(children)} behind"
    if case.startswith("certified_accuracy"):
        assert "results are discarded" in stderr


@contextlib.contextmanager
def jupyter_kernel():
    """A fresh IPython kernel in the repository: ``(manager, client, kernel pid)``."""
    jupyter_client = pytest.importorskip("jupyter_client")
    km = jupyter_client.KernelManager(kernel_name="python3")
    km.start_kernel(cwd=str(config.ROOT), env=dict(os.environ, COURSE_N_EVAL="1000"))
    try:
        kc = km.client()
        kc.start_channels()
        kc.wait_for_ready(timeout=60)
        yield km, kc, km.provisioner.process.pid
        kc.stop_channels()
    finally:
        km.shutdown_kernel(now=True)


def interrupt_kernel_run(km, kc, kernel_pid: int, code: str, workers: int) -> tuple:
    """Run ``code``, interrupt it through the kernel's own interrupt request (as JupyterLab's
    "Interrupt kernel" does) once its workers are up and it has run 3 s; return the reply's
    content, the seconds from the request to the reply, and the kernel's children then."""
    msg_id = kc.execute(code)
    if workers:
        wait_until(lambda: len(descendants(kernel_pid)) >= workers, 120, "the worker processes")
    time.sleep(3.0)
    children = descendants(kernel_pid)
    assert len(children) >= workers
    start = time.monotonic()
    km.interrupt_kernel()
    reply = kc.get_shell_msg(timeout=30)
    while reply["parent_header"].get("msg_id") != msg_id:
        reply = kc.get_shell_msg(timeout=30)
    return reply["content"], time.monotonic() - start, children


def check_stopped(km, kc, kernel_pid, content, seconds, children, what):
    assert content["status"] == "error" and content["ename"] == "KeyboardInterrupt", content
    assert seconds < LIMIT_S + 0.5, f"{what}: the kernel answered {seconds:.2f} s after the interrupt"
    assert not alive(children) and not descendants(kernel_pid), descendants(kernel_pid)
    # and the kernel is still usable (ipykernel aborts requests that reach it in the moment
    # after an error, as it does for the cells queued behind a failed one: ask again then)
    status = "aborted"
    for _ in range(20):
        status = kc.execute("1 + 1", reply=True, timeout=30)["content"]["status"]
        if status != "aborted":
            break
        time.sleep(0.5)
    assert status == "ok", status
    # and nothing was started behind the reply (e.g. a resource tracker that a semaphore
    # released late would start again)
    time.sleep(1.0)
    assert not descendants(kernel_pid), descendants(kernel_pid)


def test_interrupting_a_jupyter_kernel_stops_certified_accuracy_and_its_workers():
    with jupyter_kernel() as (km, kc, pid):
        kc.execute(SETUP + "from course_utils.certified import certified_accuracy\nX, y = eval_subset(80)\n",
                   reply=True, timeout=120)
        content, seconds, children = interrupt_kernel_run(
            km, kc, pid, "r = certified_accuracy(load_model('small'), (X, y), 0.1, ['crown', 'milp'], workers=2, "
                         "progress=False)", workers=2)
        check_stopped(km, kc, pid, content, seconds, children, "certified_accuracy")
        assert "results are discarded" in content["evalue"]


WIDGET_SETUP = SETUP + """
import json
from course_utils.widgets import bound_comparison_widget, certified_widget
X, y = eval_subset(30)
models = {name: load_model(name) for name in ("small", "dnn2")}
"""


def kernel_value(kc, expression: str):
    """The value of a JSON-able ``expression`` in the kernel."""
    out = []
    kc.execute_interactive(f"print(json.dumps({expression}))", timeout=60,
                           output_hook=lambda m: out.append(m["content"].get("text", ""))
                           if m["msg_type"] == "stream" else None)
    return json.loads("".join(out))


def widget_state(kc, name: str) -> dict:
    """What widget ``name`` shows and holds, read in the kernel."""
    return kernel_value(kc, f"{{'text': {name}.text(), 'values': {name}.values(), 'renders': {name}.renders}}")


def interrupt_comm_update(km, kc, kernel_pid: int, model_id: str, state: dict) -> tuple:
    """Move a widget's control as JupyterLab does (a ``comm_msg`` "update" to its model),
    interrupt the redraw that starts through the kernel's own interrupt request after 3
    s, and return the seconds until the kernel is idle again and its children then."""
    msg = kc.session.msg("comm_msg", {"comm_id": model_id, "data": {"method": "update", "state": state,
                                                                     "buffer_paths": []}})
    kc.shell_channel.send(msg)
    time.sleep(3.0)
    children = descendants(kernel_pid)
    start = time.monotonic()
    km.interrupt_kernel()
    while True:
        m = kc.get_iopub_msg(timeout=30)
        if (m["parent_header"].get("msg_id") == msg["header"]["msg_id"] and m["msg_type"] == "status"
                and m["content"]["execution_state"] == "idle"):
            return time.monotonic() - start, children


@pytest.mark.parametrize("widget", ["milp", "certified"])
def test_interrupting_a_jupyter_kernel_stops_a_live_widget_computation(widget):
    # "compute live" ticked in the browser: the MILP widget solves dnn2's exact MILPs at
    # eps 0.06 (minutes without a time limit); the certified-accuracy widget, its method
    # set to "milp", runs the cascade up to the MILP on 30 images at eps 0.1. The control
    # moves by the comm message JupyterLab sends; "Interrupt kernel" stops the redraw.
    make = {"milp": "w = bound_comparison_widget(models, X, y, epsilon=0.06, model='dnn2', "
                    "methods=('interval', 'exact milp'), milp_models=('dnn2',), time_limit=None)",
            "certified": "w = certified_widget(models, X, y, epsilon=0.1, method='crown', model='small', live=True, "
                         "time_limit=None)"}[widget]
    control, state = {"milp": ("live", {"value": True}), "certified": ("method", {"index": 3})}[widget]
    with jupyter_kernel() as (km, kc, pid):
        assert kc.execute(WIDGET_SETUP + make, reply=True, timeout=300)["content"]["status"] == "ok"
        before = widget_state(kc, "w")
        model_id = kernel_value(kc, f"w.controls[{control!r}].model_id")
        seconds, children = interrupt_comm_update(km, kc, pid, model_id, state)
        assert seconds < LIMIT_S, f"the {widget} widget: the kernel was idle {seconds:.2f} s after the interrupt"
        assert not alive(children) and not descendants(pid), descendants(pid)
        # nothing half-drawn: the widget says it was interrupted, and draws again when moved
        after = widget_state(kc, "w")
        assert after["values"][control] == ("milp" if widget == "certified" else True)
        assert after["text"].startswith("interrupted before this setting was drawn"), after["text"]
        assert after["renders"] == before["renders"] + 1
        back = {"milp": "w.move('live', False)", "certified": "w.move('method', 'crown')"}[widget]
        assert kc.execute(back, reply=True, timeout=120)["content"]["status"] == "ok"
        assert widget_state(kc, "w")["text"] == before["text"]


# --- an interrupt at any moment of a first solve (issue 19 §4) --------------------------------

FIRST_SOLVE = """
from course_utils.verify import certify
cert = certify(small, X, int(y[0]), 0.05, "lp")
"""
"""A fresh kernel's first verification: the verification module's import (and with it the
solver stack's) and the first LP."""

MOMENTS = 5
"""How many fresh kernels are interrupted, each at its own moment of the first solve."""


def fresh_kernel_cell(code: str, interrupt_after: float = None) -> tuple:
    """In a fresh kernel with torch, the small net and one image loaded: run ``code``
    (interrupted after ``interrupt_after`` seconds, if given), then ``FIRST_SOLVE`` again
    and print its answers. Returns ``(reply to code, seconds it ran, status of the second
    run, what it printed or its error)``."""
    with jupyter_kernel() as (km, kc, pid):
        setup = SETUP + "import json\nsmall = load_model('small')\nX, y = eval_subset(1)\n"
        assert kc.execute(setup, reply=True, timeout=300)["content"]["status"] == "ok"
        start = time.monotonic()
        msg_id = kc.execute(code)
        if interrupt_after is not None:
            time.sleep(interrupt_after)
            km.interrupt_kernel()
        reply = kc.get_shell_msg(timeout=120)
        while reply["parent_header"].get("msg_id") != msg_id:
            reply = kc.get_shell_msg(timeout=120)
        first, seconds = reply["content"], time.monotonic() - start
        out, second = [], {"status": "aborted"}
        for _ in range(20):            # ipykernel aborts what reaches it right after an error
            out.clear()
            second = kc.execute_interactive(
                FIRST_SOLVE + "print(json.dumps([[r.verdict, r.status, r.value] for r in cert.results]))",
                timeout=120, output_hook=lambda m: out.append(m["content"].get("text", ""))
                if m["msg_type"] == "stream" else None)["content"]
            if second["status"] != "aborted":
                break
            time.sleep(0.5)
        said = f"{second.get('ename')}: {second.get('evalue')}" if second["status"] == "error" else ""
        return first, seconds, second["status"], "".join(out) or said


def test_an_interrupt_at_any_moment_of_a_first_solve_leaves_the_kernel_verifying():
    # An interrupt that landed in the first `import cvxpy` (the first LP of a kernel) left
    # cvxpy half-loaded: every later LP failed until a restart. Fresh kernels are interrupted
    # at spread-out random moments of their first solve; each must then verify as usual.
    # (How soon an interrupt is answered is not checked here: one that lands in an import of
    # compiled modules waits for it, as in any Python program; the solves' own interrupts
    # are timed by the tests above.)
    first, duration, status, reference = fresh_kernel_cell(FIRST_SOLVE)
    assert first["status"] == "ok" and status == "ok", (first, reference)
    rng = random.Random(19)
    moments = [duration * (i + rng.random()) / MOMENTS for i in range(MOMENTS)]
    for moment in moments:
        first, seconds, status, printed = fresh_kernel_cell(FIRST_SOLVE, interrupt_after=moment)
        assert first["status"] == "ok" or first["ename"] == "KeyboardInterrupt", first
        assert status == "ok" and printed == reference, \
            f"interrupted {moment:.2f} s into a {duration:.2f} s first solve ({first['status']}, answered at " \
            f"{seconds:.2f} s): then {status}, {printed[:300]!r}"
