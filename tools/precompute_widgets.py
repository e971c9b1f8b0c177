"""Precompute the slow numbers of the course's widgets (``course_utils.widget_tables``).

    python tools/precompute_widgets.py                 # both tables
    python tools/precompute_widgets.py bounds          # bound_comparison_widget's (notebooks 07, 08)
    python tools/precompute_widgets.py certified       # certified_widget's (notebook 09)

Writes ``course_utils/assets/tables/<name>.json`` after every entry (an interrupted run resumes),
with this command, the grid, the seconds of solving and fingerprints of the weights and
test images it used. Rerun it after retraining a model, and with ``--fresh`` after changing
``verify``/``certified``: a widget ignores a table made for other weights, and says so.
Runs on one core (about an hour on the course's 2-core machine for both tables).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from course_utils import widget_tables as wt  # noqa: E402
from course_utils.data import eval_subset  # noqa: E402
from course_utils.models import load_model  # noqa: E402


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tables", nargs="*", help="bounds and/or certified (default: both)")
    parser.add_argument("--fresh", action="store_true", help="recompute every entry (default: keep those of a "
                        "saved table made for the same grid, weights and images)")
    args = parser.parse_args(argv)
    unknown = set(args.tables) - {"bounds", "certified"}
    if unknown:
        parser.error(f"tables must be 'bounds' and/or 'certified', got {sorted(unknown)}")
    torch.set_num_threads(1)
    X, y = eval_subset(100)
    for name in args.tables or ["bounds", "certified"]:
        grid = wt.BOUND_GRID if name == "bounds" else wt.CERTIFIED_GRID
        models = {m: load_model(m, device="cpu") for m in grid["models"]}
        command = f"python tools/precompute_widgets.py {name}"
        table = wt.build_table(name, models, X, y, command, resume=not args.fresh,
                               log=lambda line: print(line, flush=True))
        print(f"{wt.table_path(name)}: {len(table['entries'])} entries, {table['seconds']:.0f} s of solving",
              flush=True)


if __name__ == "__main__":
    main()
