"""Record the per-epoch table of one model's training, for notebook 01.

Retrains ``NAME`` by its chapter recipe with ``course_utils.train.train_mnist`` (nothing is
saved over the shipped weights), checks that the result IS the shipped network (largest
weight difference, 0 when the run reproduces it), and writes the table -- train error,
train loss, test error, test loss per epoch -- with the chapter's own table beside it, to
the record ``training_NAME``: the user's own (``config.user_dir()/results``), or with
``--shipped`` the one shipped with the course (``course_utils/assets/results/``; a checkout
only, and ``--force`` to replace it)::

    python tools/record_training.py dnn2                          # your run
    python tools/record_training.py dnn2 --shipped --force        # re-record the course's

Notebook 01 prints the recorded table and recomputes its first row live.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from course_utils import records  # noqa: E402
from course_utils.models import load_model  # noqa: E402
from course_utils.train import RECIPES, train_mnist  # noqa: E402

CHAPTER_TABLES = {
    # Chapter 3, "Some example networks": train err, train loss, test err, test loss per epoch.
    "dnn2": [[0.134117, 0.517457, 0.081000, 0.287926], [0.075600, 0.265121, 0.064000, 0.221744],
             [0.059050, 0.209306, 0.051100, 0.182845], [0.048983, 0.172932, 0.047100, 0.157879],
             [0.041817, 0.146712, 0.039800, 0.136122], [0.036300, 0.126980, 0.036100, 0.123078],
             [0.031217, 0.112031, 0.034500, 0.115798], [0.028333, 0.100209, 0.031500, 0.106236],
             [0.025267, 0.090479, 0.030300, 0.099550], [0.023033, 0.082725, 0.028500, 0.093490]],
}


def record(name: str) -> dict:
    """Train ``name`` by its recipe on the CPU and return the record (see module docstring)."""
    lines: list[str] = []
    model, _ = train_mnist(name, device=torch.device("cpu"), log=lines.append)
    rows = [[float(v) for v in line.split()[2:]] for line in lines[1:]]
    shipped = load_model(name, device="cpu")
    gap = max((a - b).abs().max().item() for a, b in
              zip(model.state_dict().values(), shipped.state_dict().values()))
    return {"model": name, "recipe": vars(RECIPES[name]),
            "columns": ["train_err", "train_loss", "test_err", "test_loss"], "rows": rows,
            "chapter": CHAPTER_TABLES.get(name), "max_weight_difference_from_shipped": gap,
            "command": f"python tools/record_training.py {name}",
            "torch": torch.__version__, "threads": torch.get_num_threads()}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name", choices=sorted(RECIPES))
    parser.add_argument("--shipped", action="store_true", help="re-record the course's record (a checkout only)")
    parser.add_argument("--force", action="store_true", help="replace the record if it exists")
    args = parser.parse_args(argv)
    try:  # checked before training
        path = records.record_path(f"training_{args.name}", shipped=args.shipped)
        path.parent.mkdir(parents=True, exist_ok=True)
        records.check_output(path, "the record")
    except (RuntimeError, ValueError, OSError) as exc:
        parser.error(str(exc))
    if path.exists() and not args.force:
        parser.error(f"{path} exists; --force replaces it")
    entry = record(args.name)
    text = json.dumps(entry, indent=2)
    text = re.sub(r"\[\s+([-0-9.e]+),\s+([-0-9.e]+),\s+([-0-9.e]+),\s+([-0-9.e]+)\s+\]",
                  r"[\1, \2, \3, \4]", text)  # one table row per line
    records.atomic_write(path, text + "\n")
    print(f"{path}: {len(entry['rows'])} epochs; "
          f"largest weight difference from the shipped file {entry['max_weight_difference_from_shipped']:g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
