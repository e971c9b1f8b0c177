"""Shared test configuration.

Every run gets a fresh user folder (``COURSE_USER_DIR``) and reads the shipped records
(``COURSE_RECORDS=shipped``), whatever the developer's shell says.

Property tests (Hypothesis) draw the same examples on every run and every machine: a
failure seen in CI reproduces in a fresh clone. ``HYPOTHESIS_PROFILE=explore`` draws new
random examples instead, for a deeper local search.
"""

import os
import shutil
import tempfile

import pytest
from hypothesis import settings

settings.register_profile("course", derandomize=True, database=None, deadline=None,
                          print_blob=True)
settings.register_profile("explore", derandomize=False, database=None, deadline=None,
                          print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "course"))


def pytest_configure(config):
    """The user's folder (``course_utils.config.user_dir``) is a fresh temporary folder for
    the whole run, notebook kernels and subprocesses included, and the records read are the
    shipped ones: no test depends on a developer's own runs, or writes among them."""
    folder = tempfile.mkdtemp(prefix="course-user-")
    config.course_user_dir = folder
    os.environ["COURSE_USER_DIR"] = folder
    os.environ["COURSE_RECORDS"] = "shipped"


def pytest_unconfigure(config):
    folder = getattr(config, "course_user_dir", None)
    if folder:
        shutil.rmtree(folder, ignore_errors=True)


def pytest_collection_modifyitems(config, items):
    """Tests marked ``slow`` run only when asked for by name (``-m slow``, ``make test-slow``):
    whatever other ``-m`` expression a command line gives, they stay out of it."""
    if "slow" in (config.getoption("markexpr") or ""):
        return
    skip = pytest.mark.skip(reason="slow: select with -m slow (make test-slow)")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def test_images():
    """The first 100 MNIST test images and labels."""
    from course_utils.data import eval_subset
    return eval_subset(100)


@pytest.fixture(scope="session")
def zoo():
    """The trained MNIST networks by name, on the CPU."""
    from course_utils.models import load_model
    return {name: load_model(name, device="cpu") for name in ("small", "dnn2", "dnn4", "cnn")}
