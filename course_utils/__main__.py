"""``python -m course_utils COMMAND``: see :mod:`course_utils.cli`."""

import sys

from .cli import main

sys.exit(main())
