"""Shared test configuration.

Property tests (Hypothesis) draw the same examples on every run and every machine: a
failure seen in CI reproduces in a fresh clone. ``HYPOTHESIS_PROFILE=explore`` draws new
random examples instead, for a deeper local search.
"""

import os

from hypothesis import settings

settings.register_profile("course", derandomize=True, database=None, deadline=None,
                          print_blob=True)
settings.register_profile("explore", derandomize=False, database=None, deadline=None,
                          print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "course"))
