"""Take the README's screenshot: a course notebook with its sliders, in JupyterLab.

Uses the browser test's machinery (``tests/browser_helpers.py``): a throw-away
JupyterLab on 127.0.0.1 over a copy of the notebook, Debian's headless Chromium driven by
Playwright. The notebook is run from the Run menu, the cell holding the slider is
scrolled to the top of the window, and the window is saved as a PNG reduced to a
palette of ``--colors`` colours (small enough to commit).

    .venv/bin/python tools/screenshot.py                       # docs/img/02_fgsm.png
    .venv/bin/python tools/screenshot.py --notebook 03_pgd.ipynb --out docs/img/03_pgd.png

Needs ``/usr/bin/chromium`` (``apt-get install -y chromium``) and ``pip install playwright``.
"""

from __future__ import annotations

import argparse
import io
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
import browser_helpers as bh  # noqa: E402


def take(notebook: str, out: Path, slider_label: str = r"ε", width: int = 1100,
         height: int = 660, colors: int = 128, run_all_timeout_s: float = 180) -> Path:
    """Open ``notebook`` (a name in ``notebooks/``), run it, save the window as ``out``."""
    from PIL import Image
    from playwright.sync_api import sync_playwright

    path = bh.NOTEBOOK_DIR / notebook
    if not path.exists():
        raise FileNotFoundError(f"notebook {path} does not exist")
    with bh.LabServer([path]) as lab, sync_playwright() as playwright:
        browser = bh.launch_chromium(playwright)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.set_default_timeout(bh.STEP_TIMEOUT_S * 1000)
            nb = bh.NotebookPage(page, lab, notebook)
            nb.open()
            nb.run_all(run_all_timeout_s)
            # Hide the file browser so the notebook gets the width.
            page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab.lm-mod-current").first.click()
            slider = nb.slider(re.compile(slider_label))
            cell = slider.locator("xpath=ancestor::div[contains(@class,'jp-CodeCell')][1]")
            cell.evaluate("el => el.scrollIntoView({block: 'start'})")
            page.mouse.move(0, height - 1)  # no hover highlight on the widget
            page.wait_for_timeout(1000)
            png = page.screenshot()
        finally:
            browser.close()
    image = Image.open(io.BytesIO(png)).convert("RGB")
    image = image.quantize(colors=colors, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    out.parent.mkdir(parents=True, exist_ok=True)
    image.save(out, optimize=True)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notebook", default="02_fgsm.ipynb", help="a notebook in notebooks/")
    parser.add_argument("--out", type=Path, default=None,
                        help="PNG to write (default docs/img/<notebook>.png)")
    parser.add_argument("--slider", default=r"ε", help="label (regex) of the slider to show")
    parser.add_argument("--width", type=int, default=1100)
    parser.add_argument("--height", type=int, default=660)
    parser.add_argument("--colors", type=int, default=128, help="palette size of the saved PNG")
    args = parser.parse_args(argv)
    out = args.out or ROOT / "docs" / "img" / (Path(args.notebook).stem + ".png")
    saved = take(args.notebook, out, args.slider, args.width, args.height, args.colors)
    print(f"{saved.relative_to(ROOT) if saved.is_relative_to(ROOT) else saved}: "
          f"{saved.stat().st_size / 1024:.0f} KB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
