"""Drive JupyterLab in headless Chromium: the machinery behind ``tests/test_browser.py``
and ``tools/screenshot.py``.

nbval checks the text a notebook prints, but it never draws a widget: a notebook can
pass nbval and still show a learner "Loading widget..." or a slider that redraws
nothing. This module looks at the course the way a learner does:

1. :class:`LabServer` starts ``jupyter lab`` from the project's interpreter on
   127.0.0.1, on a free port, with a random token, over a temporary folder holding
   *copies* of the notebooks with their outputs stripped (so whatever the page shows
   was produced live, and the repository's saved outputs are never touched). Jupyter's
   config, data, runtime and settings folders all live in that temporary folder, so a
   learner's own ``~/.jupyter`` cannot change the result. The server always runs in its
   own process group and :meth:`LabServer.stop` kills the whole group. Whatever ends the
   process that started it (an exception, Ctrl-C, a normal exit, SIGTERM from ``timeout``
   or a CI runner, even SIGKILL on Linux) stops the server and its kernels: see
   :meth:`LabServer.start`.
2. :func:`launch_chromium` starts Debian's ``/usr/bin/chromium`` through Playwright
   (``playwright install`` cannot download a browser here) with the flags that keep it
   off the network.
3. :class:`NotebookPage` opens one notebook, runs every cell from the Run menu,
   collects error outputs, finds a slider by its label, moves it with the keyboard and
   returns what the output looked like before and after.

Every wait has a time limit (``STEP_TIMEOUT_S``, or the ``run_all`` timeout), so a hung
kernel or a widget that never renders ends the test instead of the CI job.
"""

from __future__ import annotations

import atexit
import ctypes
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK_DIR = ROOT / "notebooks"
CHROMIUM = Path(os.environ.get("COURSE_CHROMIUM", "/usr/bin/chromium"))
ARTIFACT_DIR = ROOT / "build" / "browser"
"""Screenshots and server logs of failed browser tests land here (git-ignored)."""

STEP_TIMEOUT_S = 30
"""Limit for one browser step (open a notebook, render a widget, redraw after a slider move)."""

SERVER_START_TIMEOUT_S = 60

PR_SET_PDEATHSIG = 1
"""Linux's prctl option: the signal a process gets when the thread that started it ends."""

# Keep Chromium quiet on a closed network; --no-sandbox because CI runs as root.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
]

# JupyterLab settings for the throw-away server: render every cell (no virtual
# scrolling, so off-screen outputs exist in the page) and no news/update pop-ups.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}

# An error output (JupyterLab shows it as stderr): a traceback, or a line that starts
# with an exception's name ("SyntaxError: ...", whose display has no traceback header).
# Warnings ("file.py:3: UserWarning: ...") are not errors.
TRACEBACK_RE = re.compile(r"Traceback \(most recent call last\)|^\s*\w*(Error|Exception|Interrupt)\b",
                          re.MULTILINE)
WIDGET_ERROR_TEXT = ("Error displaying widget", "Loading widget...", "model not found")
# Without a widget manager, JupyterLab falls back to the widget's text repr.
WIDGET_AS_TEXT_RE = re.compile(
    r"^\s*(interactive|VBox|HBox|Box|GridBox|Tab|Accordion|Output|\w+Slider)\(children=|"
    r"^\s*\w+Slider\(value=")


def _has_run(prompt: str) -> bool:
    """Whether a code cell's prompt ('[ ]:', '[*]:', '[12]:') shows that it has run."""
    return re.fullmatch(r"\[\d+\]:", prompt) is not None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def strip_outputs(src: Path, dst: Path) -> None:
    """Copy notebook ``src`` to ``dst`` without outputs or execution counts."""
    nb = json.loads(src.read_text())
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
    nb.get("metadata", {}).pop("widgets", None)
    dst.write_text(json.dumps(nb, indent=1))


def playwright_available() -> bool:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    return True


def launch_chromium(playwright):
    """Start headless Debian Chromium through Playwright (``playwright`` from ``sync_playwright()``)."""
    if not CHROMIUM.exists():
        raise FileNotFoundError(
            f"{CHROMIUM} not found: install Debian's chromium (apt-get install -y chromium) "
            "or point COURSE_CHROMIUM at a Chromium binary"
        )
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                      args=CHROMIUM_ARGS, timeout=STEP_TIMEOUT_S * 1000)


@contextmanager
def chromium():
    """Playwright's ``sync_playwright()`` with Debian's Chromium launched; closes both."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class LabServer:
    """A throw-away JupyterLab on 127.0.0.1 serving copies of ``notebooks``.

    ``notebooks`` are paths of ``.ipynb`` files; ``extra_env`` is added to the
    environment of the server and hence of its kernels (e.g. a smaller
    ``COURSE_N_EVAL``). ``disabled_extensions`` names JupyterLab extensions to switch
    off (e.g. ``@jupyter-widgets/jupyterlab-manager``, to see the test catch a missing
    widget manager). Use as a context manager, or call :meth:`start` and
    :meth:`stop` (always, in a ``finally``).
    """

    notebooks: list[Path]
    extra_env: dict[str, str] = field(default_factory=dict)
    disabled_extensions: list[str] = field(default_factory=list)
    port: int = 0
    token: str = ""
    workdir: Path | None = None
    proc: subprocess.Popen | None = None
    log_path: Path | None = None
    _sigterm: tuple | None = field(default=None, init=False, repr=False)   # (our handler, the one before)

    @property
    def root_dir(self) -> Path:
        return self.workdir / "notebooks"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, notebook_name: str) -> str:
        """Address that opens ``notebook_name`` in a fresh JupyterLab workspace."""
        return f"{self.base_url}/lab/tree/{notebook_name}?reset&token={self.token}"

    def start(self) -> "LabServer":
        self.workdir = Path(tempfile.mkdtemp(prefix="course-lab-"))
        self.root_dir.mkdir()
        for nb in self.notebooks:
            strip_outputs(nb, self.root_dir / nb.name)
        settings = self.workdir / "lab-settings"
        for rel, values in LAB_SETTINGS.items():
            path = settings / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values))
        labconfig = self.workdir / "config" / "labconfig"
        labconfig.mkdir(parents=True)
        (labconfig / "page_config.json").write_text(json.dumps(
            {"disabledExtensions": {name: True for name in self.disabled_extensions}}))
        self.port = free_port()
        self.token = secrets.token_hex(16)
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("JUPYTER", "JPY_")) and k != "MPLBACKEND"}
        env.update({
            "JUPYTER_CONFIG_DIR": str(self.workdir / "config"),
            "JUPYTER_DATA_DIR": str(self.workdir / "data"),
            "JUPYTER_RUNTIME_DIR": str(self.workdir / "runtime"),
            "IPYTHONDIR": str(self.workdir / "ipython"),
            "JUPYTER_PLATFORM_DIRS": "1",
            "PYTHONUNBUFFERED": "1",
        })
        env.update(self.extra_env)
        cmd = [
            sys.executable, "-m", "jupyter", "lab",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root_dir}",
            "--ServerApp.allow_remote_access=False",
            f"--LabApp.user_settings_dir={settings}",
            f"--LabApp.workspaces_dir={self.workdir / 'workspaces'}",
            "--LabApp.news_url=",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--ServerApp.terminals_enabled=False",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:  # CI containers run as root
            cmd.append("--allow-root")
        self.log_path = self.workdir / "jupyterlab.log"
        log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, cwd=self.root_dir, env=env, stdout=log,
                                     stderr=subprocess.STDOUT, start_new_session=True,
                                     preexec_fn=_terminated_with_parent())
        log.close()
        self._stop_with_this_process()
        self._wait_ready()
        return self

    def _stop_with_this_process(self) -> None:
        """Make sure the server ends with this process, however this process ends.

        An exception or Ctrl-C reaches ``stop`` through ``with`` or ``finally``; a normal
        exit without ``stop`` through ``atexit``; SIGTERM, whose default action ends the
        process without either, through a handler (main thread only) that stops the
        server and then ends the process by SIGTERM as before. And on Linux the server
        gets SIGTERM from the kernel when this process dies in any way, SIGKILL included
        (``_terminated_with_parent``): it then shuts its kernels down itself.
        """
        atexit.register(self.stop)
        if threading.current_thread() is not threading.main_thread():
            return
        previous = signal.getsignal(signal.SIGTERM)

        def on_sigterm(signum, frame):
            self.stop()
            if callable(previous):
                previous(signum, frame)
                return
            signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)
            os.kill(os.getpid(), signal.SIGTERM)

        signal.signal(signal.SIGTERM, on_sigterm)
        self._sigterm = (on_sigterm, previous)

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        status = f"{self.base_url}/api/status?token={self.token}"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"jupyter lab exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(status, timeout=2) as reply:
                    if reply.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.25)
        raise TimeoutError(f"jupyter lab did not answer within {SERVER_START_TIMEOUT_S} s:\n{self.log_tail()}")

    def log_tail(self, n_chars: int = 3000) -> str:
        if self.log_path is None or not self.log_path.exists():
            return "(no server log)"
        return self.log_path.read_text(errors="replace")[-n_chars:]

    def shutdown_kernels(self) -> None:
        """Shut down every kernel session of the server (between two notebooks)."""
        api = f"{self.base_url}/api/sessions"
        with urllib.request.urlopen(f"{api}?token={self.token}", timeout=10) as reply:
            sessions = json.load(reply)
        for session in sessions:
            request = urllib.request.Request(f"{api}/{session['id']}?token={self.token}",
                                             method="DELETE")
            urllib.request.urlopen(request, timeout=30).close()

    def stop(self) -> None:
        """Stop the server and its kernels, remove the copies.

        Kernels run in sessions of their own: they are shut down through the server's
        API first (best effort), then the server's whole process group gets SIGTERM,
        SIGKILL after 10 s. A kernel whose server died exits by itself (ipykernel
        watches its parent). Safe to call twice.
        """
        atexit.unregister(self.stop)
        handler, previous = self._sigterm or (None, None)
        if handler is not None and threading.current_thread() is threading.main_thread() \
                and signal.getsignal(signal.SIGTERM) is handler:
            signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.shutdown_kernels()
            except Exception:  # the server may already be unable to answer
                pass
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
            except ProcessLookupError:
                pass
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> "LabServer":
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()


def _terminated_with_parent():
    """A ``preexec_fn`` that asks Linux to send the child SIGTERM when the thread that
    started it ends (``prctl(PR_SET_PDEATHSIG)``); ``None`` elsewhere. ``prctl`` is
    looked up here, in the parent: the child, between fork and exec, only calls it."""
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):       # not Linux
        return None
    return lambda: prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM))


@dataclass
class OutputSnapshot:
    """What one cell's output area shows: image sources and the text."""

    images: list[str]
    text: str

    def differs_from(self, other: "OutputSnapshot") -> bool:
        return self.images != other.images or self.text != other.text


class NotebookPage:
    """One notebook opened in JupyterLab, in a Playwright ``page``."""

    def __init__(self, page, server: LabServer, name: str):
        self.page = page
        self.server = server
        self.name = name
        self.seconds: float | None = None  # how long Run All Cells took

    # -- opening and running ------------------------------------------------------

    def open(self) -> None:
        """Load the notebook and wait until its kernel is idle."""
        page = self.page
        page.goto(self.server.url(self.name), timeout=STEP_TIMEOUT_S * 1000)
        page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell").first.wait_for(
            timeout=STEP_TIMEOUT_S * 1000)
        self.wait_kernel_idle(STEP_TIMEOUT_S)

    def kernel_status(self) -> str:
        """The kernel's state as the page shows it: 'idle', 'busy', 'starting', ... or ''.

        Read from the notebook toolbar's execution indicator and the status bar
        ("Python 3 (ipykernel) | Idle"); 'idle' only when both agree, since the
        indicator alone reads idle before the kernel has connected.
        """
        indicator = self.page.locator(".jp-NotebookPanel-toolbar .jp-Notebook-ExecutionIndicator")
        toolbar = indicator.first.get_attribute("data-status") if indicator.count() else ""
        texts = self.page.locator("#jp-main-statusbar .jp-StatusBar-TextItem").all_inner_texts()
        bar = next((t.rsplit("|", 1)[1].strip().lower() for t in texts if "|" in t), "")
        if toolbar == "idle" and bar == "idle":
            return "idle"
        return bar if bar and bar != "idle" else (toolbar or "")

    def wait_kernel_idle(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.kernel_status() == "idle":
                return
            time.sleep(0.2)
        raise TimeoutError(f"{self.name}: kernel not idle after {timeout_s:.0f} s "
                           f"(status: {self.kernel_status()!r})")

    def click_menu(self, menu: str, item: str, timeout_s: float = STEP_TIMEOUT_S) -> None:
        """Click ``menu`` > ``item`` in JupyterLab's menu bar, as a learner would.

        A menu item stays disabled until the notebook's kernel is connected; the menu
        is reopened until the item is enabled (at most ``timeout_s``).
        """
        page = self.page
        deadline = time.monotonic() + timeout_s
        while True:
            page.locator(".lm-MenuBar-itemLabel",
                         has_text=re.compile(f"^{re.escape(menu)}$")).click()
            entry = page.locator(".lm-Menu-content .lm-Menu-item").filter(
                has=page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{re.escape(item)}$"))
            ).first
            entry.wait_for()
            if "lm-mod-disabled" not in (entry.get_attribute("class") or ""):
                entry.click()
                return
            page.keyboard.press("Escape")
            if time.monotonic() > deadline:
                raise TimeoutError(f"menu item {menu} > {item} still disabled after {timeout_s:.0f} s")
            time.sleep(0.5)

    def prompts(self) -> list[str]:
        """The input prompts of the code cells: '[ ]:', '[*]:' or '[12]:'."""
        return [t.strip() for t in
                self.page.locator(".jp-CodeCell .jp-InputArea-prompt").all_inner_texts()]

    def run_all(self, timeout_s: float) -> float:
        """Run > Run All Cells; wait until the kernel has stopped running cells.

        Returns the seconds taken. The copies have no execution counts, so a cell has
        run when its prompt shows a number. JupyterLab stops at a cell that raises and
        leaves the rest unrun: that also ends the wait (the kernel idle, no cell '[*]'
        for 3 s); :meth:`cells_not_run` and :meth:`error_outputs` tell what happened.
        If nothing starts within ``STEP_TIMEOUT_S`` (the click landed before the kernel
        was ready) the menu is used once more.
        """
        start = time.monotonic()
        deadline = start + timeout_s
        for attempt in range(2):
            self.click_menu("Run", "Run All Cells")
            clicked = time.monotonic()
            settled_since = None
            while time.monotonic() < deadline:
                prompts = self.prompts()
                ran = sum(map(_has_run, prompts))
                settled = (ran > 0 and "[*]:" not in prompts and self.kernel_status() == "idle")
                if settled and ran == len(prompts):
                    return time.monotonic() - start
                settled_since = (settled_since or time.monotonic()) if settled else None
                if settled_since and time.monotonic() - settled_since > 3:
                    return time.monotonic() - start  # stopped at an error
                if ran == 0 and "[*]:" not in prompts and attempt == 0 \
                        and time.monotonic() - clicked > STEP_TIMEOUT_S:
                    break  # nothing happened: click again
                time.sleep(0.5)
        raise TimeoutError(f"{self.name}: Run All Cells not finished after {timeout_s:.0f} s "
                           f"({len(self.cells_not_run())} code cells still waiting or running; "
                           f"kernel {self.kernel_status()!r})")

    def cells_not_run(self) -> list[int]:
        """Positions (1-based, among code cells) of the cells whose prompt shows no number."""
        return [i for i, p in enumerate(self.prompts(), 1) if not _has_run(p)]

    # -- what the page shows ------------------------------------------------------

    def error_outputs(self) -> list[str]:
        """Texts of outputs a learner would read as an error: tracebacks and broken widgets."""
        problems = []
        stderr = self.page.locator(
            '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')
        for text in stderr.all_inner_texts():
            if TRACEBACK_RE.search(text):
                problems.append(text.strip()[:1500])
        for text in self.page.locator(".jp-OutputArea-output").all_inner_texts():
            for marker in WIDGET_ERROR_TEXT:
                if marker in text:
                    problems.append(f"{marker!r} in output: {text.strip()[:300]}")
            if WIDGET_AS_TEXT_RE.search(text):
                problems.append("a widget is shown as text, not drawn (JupyterLab has no widget "
                                "manager: jupyterlab_widgets missing or not matching ipywidgets): "
                                + text.strip()[:200])
        return problems

    def wait_widgets_rendered(self, timeout_s: float = STEP_TIMEOUT_S) -> None:
        """Wait (at most ``timeout_s``) until no output still reads "Loading widget...".

        Widget views are drawn asynchronously after their cell has run; one that never
        loads is then reported by :meth:`error_outputs`.
        """
        loading = self.page.locator(".jp-OutputArea-output", has_text="Loading widget...")
        deadline = time.monotonic() + timeout_s
        while loading.count() and time.monotonic() < deadline:
            time.sleep(0.25)

    def slider(self, label: re.Pattern):
        """The first visible slider widget whose label matches ``label``."""
        sliders = self.page.locator(".jupyter-widgets.widget-slider")
        # Some sliders may be hidden (display: none) until a dropdown needs them.
        sliders.first.wait_for(state="attached", timeout=STEP_TIMEOUT_S * 1000)
        for i in range(sliders.count()):
            s = sliders.nth(i)
            if s.is_visible() and label.search(s.locator(".widget-label").first.inner_text().strip()):
                return s
        labels = [sliders.nth(i).locator(".widget-label").first.inner_text()
                  for i in range(sliders.count())]
        raise AssertionError(f"{self.name}: no slider labelled {label.pattern!r}; "
                             f"rendered sliders: {labels}")

    def output_of(self, element):
        """The output area of the cell holding ``element`` (a widget)."""
        return element.locator("xpath=ancestor::div[contains(@class,'jp-Cell-outputArea')][1]")

    @staticmethod
    def snapshot(output) -> OutputSnapshot:
        images = [output.locator("img").nth(i).get_attribute("src") or ""
                  for i in range(output.locator("img").count())]
        # The widget's own readout changes with the slider; compare everything else.
        text = output.evaluate(
            """el => {
                const copy = el.cloneNode(true);
                copy.querySelectorAll('.widget-readout, .widget-label, input, select, .jp-OutputPrompt')
                    .forEach(n => n.remove());
                return copy.innerText;
            }""")
        return OutputSnapshot(images, text)

    def readout(self, slider) -> str:
        return slider.locator(".widget-readout").first.inner_text().strip()

    def move_slider(self, slider, presses: int = 3) -> tuple[str, str]:
        """Focus the slider's handle and press the right arrow ``presses`` times.

        If the slider already sits at its maximum, the left arrow is used instead.
        Returns the readout before and after. Each key press sends a value to the
        kernel, also for sliders with ``continuous_update=False``.
        """
        before = self.readout(slider)
        handle = slider.locator(".noUi-handle").first
        handle.focus(timeout=STEP_TIMEOUT_S * 1000)
        for key in ("ArrowRight", "ArrowLeft"):
            for _ in range(presses):
                handle.press(key)
            after = self.readout(slider)
            if after != before:
                return before, after
        return before, after

    def wait_for_change(self, output, before: OutputSnapshot, timeout_s: float,
                        settle_s: float = 8.0) -> OutputSnapshot:
        """Wait until ``output`` differs from ``before`` and the kernel is idle again.

        Gives up early, returning the unchanged snapshot, once ``settle_s`` seconds
        have passed and the kernel has been idle for the last 3 of them (a callback
        that is still computing keeps the kernel busy); at the latest after ``timeout_s``.
        """
        start = time.monotonic()
        idle_since = None
        now = before
        while time.monotonic() - start < timeout_s:
            now = self.snapshot(output)
            idle = self.kernel_status() == "idle"
            if now.differs_from(before) and idle:
                # Let the redraw finish (a figure may follow its text).
                time.sleep(0.5)
                self.wait_kernel_idle(timeout_s)
                return self.snapshot(output)
            idle_since = (idle_since or time.monotonic()) if idle else None
            if idle_since and time.monotonic() - start > settle_s \
                    and time.monotonic() - idle_since > 3:
                break
            time.sleep(0.25)
        return now

    def screenshot(self, path: Path, element=None) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        (element or self.page).screenshot(path=str(path))
        return path


def write_demo_notebook(path: Path) -> Path:
    """A small notebook with two ε sliders, each redrawing a figure and printing a number.

    The slider labelled "ε" works; the one labelled "ε (dead)" has a callback that
    ignores its value, the broken slider the test must catch. The browser test runs
    this notebook first: if the working slider fails, the environment (JupyterLab, the
    widget manager, Chromium, the kernel's interpreter) is broken, not the course's
    notebooks.
    """
    import nbformat

    def interact_cell(label: str, used: str) -> str:
        return (
            "def draw(epsilon):\n"
            "    fig, ax = plt.subplots(figsize=(3, 2))\n"
            f"    ax.plot(np.linspace(0, 1, 20) * {used})\n"
            "    ax.set_ylim(0, 1)\n"
            "    plt.show()\n"
            f"    print(f'error at epsilon: {{{used}:.3f}}')\n\n"
            "widgets.interact(draw, epsilon=widgets.FloatSlider(\n"
            f"    value=0.1, min=0, max=0.5, step=0.05, description={label!r}, "
            "continuous_update=False));")

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        # The kernel must be the project's interpreter, the one running the server.
        nbformat.v4.new_code_cell(
            "import sys\n"
            f"assert sys.prefix == {sys.prefix!r}, f'kernel runs {{sys.executable}}'\n\n"
            "import ipywidgets as widgets\nimport matplotlib.pyplot as plt\nimport numpy as np"),
        nbformat.v4.new_code_cell(interact_cell("ε", "epsilon")),
        nbformat.v4.new_code_cell(interact_cell("ε (dead)", "0.1")),
    ]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path
