"""The machinery under every widget of the course: controls, one output, a cache, a picture.

``LiveFigure`` is a ``VBox`` of controls above an ``Output``. When a control moves it calls
``draw(**values)``, which returns the items to show — strings and matplotlib figures —
renders each figure once to PNG and puts the lot in the output in one step (no flicker,
and no dependence on a plotting backend: it works the same in JupyterLab, under nbval
and in a test). What it showed for a setting is kept (``cache_size`` settings per
widget), so returning to a setting costs nothing.

The widget's ``_repr_mimebundle_`` also carries a still of it as ``image/png``: the first
figure it drew with a caption strip underneath that says it is a still, names the
controls and says what moving them shows (:func:`still_png`). A notebook shown without a
kernel (a static book, GitHub, a deck) shows that picture where the live widget would be;
JupyterLab with a kernel prefers the widget.

``renders`` counts the redraws, and ``move(name, value)`` sets one control and returns
the seconds until the output was redrawn (``benchmarks/widget_timing.py``, the tests).
"""

from __future__ import annotations

import base64
import io
import textwrap
import time
from collections import OrderedDict
from contextlib import contextmanager
from typing import Callable, Dict, Iterable, Optional

import ipywidgets as widgets
import matplotlib.pyplot as plt
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from . import style

PNG_DPI = 100
"""Resolution of the pictures a widget shows (the inline backend's default)."""


def figure_output(fig: Figure) -> dict:
    """A ``display_data`` output message with ``fig`` as PNG (base64); closes ``fig``."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=PNG_DPI, bbox_inches="tight")
    text = repr(fig)
    plt.close(fig)
    return {"output_type": "display_data", "metadata": {},
            "data": {"image/png": base64.b64encode(buf.getvalue()).decode("ascii"), "text/plain": text}}


def text_output(text: str, name: str = "stdout") -> dict:
    """A ``stream`` output message holding ``text`` (a newline is added)."""
    return {"output_type": "stream", "name": name, "text": text.rstrip("\n") + "\n"}


def _as_output(item) -> dict:
    if isinstance(item, Figure):
        return figure_output(item)
    if isinstance(item, str):
        return text_output(item)
    raise TypeError(f"a widget's draw function returns strings and matplotlib figures, got {type(item).__name__}")


CAPTION_PT = 9
"""Font size of a still's caption (points)."""


def still_png(png: str, controls: Iterable[str], caption: str) -> str:
    """A still of a widget: ``png`` (base64, the first figure the widget drew) above a
    caption strip, "A still of a live widget (controls: ...). <caption>". Returns base64."""
    image = plt.imread(io.BytesIO(base64.b64decode(png)), format="png")
    height, width = image.shape[:2]
    text = f"A still of a live widget (controls: {', '.join(controls)})."
    text = textwrap.fill(f"{text} {caption}".strip(), max(40, int(width / (0.55 * CAPTION_PT * PNG_DPI / 72))))
    strip = (text.count("\n") + 1.8) * 1.35 * CAPTION_PT * PNG_DPI / 72
    fig = Figure(figsize=(width / PNG_DPI, (height + strip) / PNG_DPI), dpi=PNG_DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0, strip / (height + strip), 1, height / (height + strip)))
    ax.imshow(image, interpolation="none")
    ax.axis("off")
    fig.text(0.01, (strip - 0.6 * CAPTION_PT * PNG_DPI / 72) / (height + strip), text, fontsize=CAPTION_PT,
             style="italic", va="top", ha="left", color=style.INK)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=PNG_DPI)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _key(values: Dict[str, object]) -> tuple:
    return tuple(sorted((k, round(v, 9) if isinstance(v, float) else v) for k, v in values.items()))


class LiveFigure(widgets.VBox):
    """Controls and an output that ``draw`` fills; see the module's docstring.

    Args:
        draw: ``draw(**values) -> iterable of str | Figure``, one keyword per control.
        controls: name -> ipywidgets control (its ``value`` is passed to ``draw``).
        adjust: optional ``adjust(owner, controls)``, called when a control moves and
            before the redraw, to change other controls (e.g. a slider's range) in the
            same step: the widget redraws once.
        cache_size: how many settings' outputs to keep.
        caption: what moving the controls shows, for the still (:func:`still_png`).

    The first draw runs at construction; an error there is raised (a broken widget
    fails its notebook), later errors are shown in the output.
    """

    def __init__(self, draw: Callable[..., Iterable], controls: Dict[str, widgets.ValueWidget],
                 adjust: Optional[Callable] = None, cache_size: int = 32, caption: str = ""):
        self._draw, self._adjust, self._cache_size = draw, adjust, int(cache_size)
        self._cache: "OrderedDict[tuple, tuple]" = OrderedDict()
        self._held = 0
        self.controls = dict(controls)
        self.out = widgets.Output()
        self.renders = 0
        self.last_error: Optional[BaseException] = None
        super().__init__(children=[*self.controls.values(), self.out])
        for control in self.controls.values():
            control.observe(self._on_change, names="value")
        self.refresh(raise_errors=True)
        first = next((o["data"]["image/png"] for o in self.out.outputs if "data" in o), None)
        shown_controls = [c.description for c in self.controls.values()
                          if getattr(c, "description", "") and c.layout.display != "none"]
        self.static_png = None if first is None else still_png(first, shown_controls, caption)

    def values(self) -> Dict[str, object]:
        """The controls' current values, by name."""
        return {name: c.value for name, c in self.controls.items()}

    @contextmanager
    def hold(self):
        """Change several controls, redraw once at the end."""
        self._held += 1
        try:
            yield self
        finally:
            self._held -= 1
        if not self._held:
            self.refresh()

    def _on_change(self, change) -> None:
        if self._held:
            return
        with self.hold():
            if self._adjust is not None:
                self._adjust(change["owner"], self.controls)

    def refresh(self, raise_errors: bool = False) -> None:
        """Redraw for the current values (from the cache when this setting was drawn)."""
        key = _key(self.values())
        outputs = self._cache.get(key)
        if outputs is None:
            try:
                outputs = tuple(_as_output(item) for item in self._draw(**self.values()))
            except KeyboardInterrupt:
                # the kernel was interrupted mid-drawing: say so rather than keep showing
                # the drawing of another setting; the caller gets the interrupt, without the
                # solver's frames (a long traceback takes IPython seconds to print)
                plt.close("all")
                message = "interrupted before this setting was drawn: move a control to draw again"
                self.out.outputs = (text_output(message, "stderr"),)
                self.renders += 1
                raise KeyboardInterrupt(f"the widget was {message}") from None
            except Exception as exc:
                plt.close("all")
                if raise_errors:
                    raise
                self.last_error = exc
                self.out.outputs = (text_output(f"{type(exc).__name__}: {exc}", "stderr"),)
                self.renders += 1
                return
            self._cache[key] = outputs
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        self._cache.move_to_end(key)
        self.last_error = None
        self.out.outputs = outputs
        self.renders += 1

    def text(self) -> str:
        """The text the output shows now (for tests and the timing script)."""
        return "".join(o.get("text", "") for o in self.out.outputs)

    def pictures(self) -> list:
        """The PNGs (base64) the output shows now."""
        return [o["data"]["image/png"] for o in self.out.outputs if "data" in o]

    def move(self, name: str, value) -> float:
        """Set control ``name`` to ``value``; return the seconds until the output was
        redrawn. Raises ``RuntimeError`` if the output was not replaced."""
        before = self.renders
        start = time.perf_counter()
        self.controls[name].value = value
        seconds = time.perf_counter() - start
        if self.renders == before:
            raise RuntimeError(f"moving {name!r} to {value!r} did not redraw the widget")
        return seconds

    def _repr_mimebundle_(self, **kwargs):
        data = super()._repr_mimebundle_(**kwargs)
        if data is not None and self.static_png:
            data = {**data, "image/png": self.static_png}
        return data


def shown(flag: bool) -> widgets.Layout:
    """A layout that shows a control (``flag``) or hides it."""
    return widgets.Layout(display="flex" if flag else "none")


def set_range(slider, lo: float, hi: float, step: float, value: float) -> None:
    """Give ``slider`` the range ``[lo, hi]``, ``step`` and ``value`` without clipping the
    value on the way (widen first, narrow last)."""
    slider.min, slider.max = min(slider.min, lo), max(slider.max, hi)
    slider.step = step
    slider.value = value
    slider.min, slider.max = lo, hi
