"""The package works wherever it is installed, and a notebook's first cell installs it.

* ``test_wheel_works_outside_the_checkout`` (every ``make test``): the wheel built from
  the checkout, installed without its dependencies into a new environment that borrows
  them from this one, loads every shipped model and record from ``/``, with nothing of the
  checkout on its path — so the weights and records must be inside the wheel.
* the ``install`` tests (``make test-install``, run by ``.ci/run``): a fresh environment
  with only PyTorch and a Jupyter kernel, as on Colab, runs notebook 04 with the set-up
  cell first: the cell installs ``course_utils`` and its dependencies from a copy of the
  checkout (``COURSE_PACKAGE_SOURCE``), then the notebook runs. ``CITATION.cff`` is
  validated with cffconvert, which needs an environment of its own (it pins an old
  jsonschema).
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import nbformat
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import install_helpers as ih  # noqa: E402

_spec = importlib.util.spec_from_file_location("launch", ih.ROOT / "tools" / "launch.py")
launch = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(launch)

SHARED_MNIST = ih.ROOT.parent / "shared" / "data" / "mnist"

CHECK_INSTALLED = """
import json, sys
import course_utils
from course_utils import config, data, records
from course_utils.models import ARCHITECTURES, load_model
for name in ARCHITECTURES:
    load_model(name, device="cpu")
print(json.dumps({
    "file": course_utils.__file__,
    "in_checkout": config.in_checkout(),
    "records": sorted(records.read("attack_errors"))[:1],
    "certified": len(records.load_certified("small")["results"]),
    "clean": records.read("clean_errors")["cnn"]["test_error"],
    "search": [str(p) for p in data.candidate_dirs()],
    "download": str(data.download_dir()),
}))
"""


def _check_installed(python: Path, venv: Path, cache: Path) -> dict:
    out = ih.run([python, "-c", CHECK_INSTALLED], env=ih.clean_env(XDG_CACHE_HOME=str(cache)))
    got = json.loads(out.strip().splitlines()[-1])
    assert got["file"].startswith(str(venv)), got["file"]
    assert got["in_checkout"] is False
    assert got["records"] and got["certified"] >= 1 and 0 < got["clean"] < 0.05
    expected_cache = str(cache / "course_utils" / "MNIST")
    assert got["search"] == [expected_cache] and got["download"] == expected_cache
    return got


def test_wheel_works_outside_the_checkout(tmp_path):
    source = ih.copy_checkout(tmp_path / "checkout")
    wheel = ih.build_wheel(source, tmp_path / "dist")
    venv = tmp_path / "venv"
    python = ih.make_venv(venv, with_pip=False, borrow_site_packages=True)
    ih.run([sys.executable, "-m", "pip", "--python", python, "install", "--quiet", "--no-deps", wheel])
    _check_installed(python, venv, tmp_path / "cache")


@pytest.mark.install
def test_first_cell_installs_the_course_in_a_fresh_environment(tmp_path):
    venv = tmp_path / "venv"
    python = ih.make_venv(venv)
    # As on Colab: PyTorch (the CPU build; a looser requirement pulls CUDA) and a kernel.
    ih.run([python, "-m", "pip", "install", "--quiet", "torch==2.13.0", "ipykernel", "nbclient"])
    assert "course_utils" not in ih.run([python, "-m", "pip", "list"])
    source = ih.copy_checkout(tmp_path / "checkout")

    nb = nbformat.read(ih.ROOT / "notebooks" / "04_steepest_descent.ipynb", as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    launch.insert_setup_cell(nb, launch.repository_url())
    notebook = tmp_path / "work" / "04_steepest_descent.ipynb"
    notebook.parent.mkdir()
    nbformat.write(nb, notebook)
    ih.run([python, "-c", EXECUTE, notebook], cwd=notebook.parent, timeout=900,
           env=ih.clean_env(COURSE_PACKAGE_SOURCE=str(source), COURSE_DATA_DIR=str(SHARED_MNIST),
                            COURSE_N_EVAL="1000", COURSE_DEVICE="cpu",  # what its checks assume
                            XDG_CACHE_HOME=str(tmp_path / "cache")))

    done = nbformat.read(notebook, as_version=4)
    setup = done.cells[[c.cell_type for c in done.cells].index("code")]
    assert "installing it from " + str(source) in "".join(o.get("text", "") for o in setup.outputs)
    errors = [o for c in done.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors, errors
    assert any("image/png" in o.get("data", {}) for c in done.cells for o in c.get("outputs", []))
    _check_installed(python, venv, tmp_path / "cache")


EXECUTE = """
import sys
import nbformat
from nbclient import NotebookClient
path = sys.argv[1]
nb = nbformat.read(path, as_version=4)
NotebookClient(nb, timeout=600, kernel_name="python3").execute()
nbformat.write(nb, path)
"""


@pytest.mark.install
def test_citation_cff_is_valid(tmp_path):
    python = ih.make_venv(tmp_path / "venv")
    ih.run([python, "-m", "pip", "install", "--quiet", "cffconvert==2.0.0"])
    out = ih.run([tmp_path / "venv" / "bin" / "cffconvert", "--validate", "-i", ih.ROOT / "CITATION.cff"])
    assert "valid according to schema version 1.2.0" in out
