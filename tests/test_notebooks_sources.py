"""Every notebook is built from its percent-format source, committed with outputs."""

import importlib.util
import json

import pytest

from course_utils import config

_spec = importlib.util.spec_from_file_location("nbtool", config.ROOT / "tools" / "notebooks.py")
nbtool = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(nbtool)

NB_DIR = config.ROOT / "notebooks"


def test_notebooks_agree_with_their_sources():
    assert nbtool.mismatches() == []


@pytest.mark.parametrize("path", sorted(NB_DIR.glob("*.ipynb")), ids=lambda p: p.name)
def test_notebook_committed_with_outputs_and_no_errors(path):
    nb = json.loads(path.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert code and all(c.get("execution_count") for c in code), "notebook not executed in order"
    counts = [c["execution_count"] for c in code]
    assert counts == list(range(1, len(code) + 1)), "cells were not run top to bottom"
    assert not [o for c in code for o in c["outputs"] if o["output_type"] == "error"]


def test_notebooks_are_numbered_in_order():
    names = sorted(p.name for p in NB_DIR.glob("*.ipynb"))
    assert names and [n[:2] for n in names] == [f"{i:02d}" for i in range(1, len(names) + 1)]
