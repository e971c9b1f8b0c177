"""The CNN's 10-restart PGD error on the full test set, in chunks that survive interruption.

On this 2-core CPU the full run (40 steps x 10 restarts x 10 000 images) takes about an
hour, more than a working session can spare in one piece. This script runs it 1000 images
at a time and records each finished chunk in the record ``cnn_restarts_chunks``; when
all ten chunks are there it writes the full-test-set figure into
the ``attack_errors`` record (the entry notebook 03 prints), exactly like
``python -m course_utils evaluate --models cnn --attacks pgd_linf_rand --clamp off`` would.
Both records are the user's own (``config.user_dir()/results``, see ``course_utils.records``);
with ``--shipped`` (a maintainer, in a checkout) the course's, in ``course_utils/assets/results/``.
A chunk or a full-set entry that exists is replaced only with ``--force``.

Chunk ``c`` holds test images ``1000c .. 1000c + 999``; its random restarts are drawn
from ``torch.Generator().manual_seed(c)``, batches of 500, so chunk 0 is the same run as
the recorded first-1000 figure (``--n 1000``, seed 0) and is taken from it.

    .venv/bin/python benchmarks/cnn_restarts_chunks.py [--clamp off] [--chunks 1 2 3 ...] [--shipped] [--force]

Without ``--chunks`` it runs every missing chunk, in order. With a GPU the whole run is
a minute: ``python -m course_utils evaluate --models cnn --attacks pgd_linf_rand --clamp off``.
"""

from __future__ import annotations

import argparse
import time

import torch

from course_utils import config, records
from course_utils.data import eval_subset
from course_utils.evaluate import CHAPTER_SETTINGS, epoch_adversarial, tensor_loader
from course_utils.models import load_model

CHUNK, NUM_CHUNKS = 1000, config.FULL_TEST_SET // 1000


def load_chunks(where: str) -> dict:
    return records.read_from("cnn_restarts_chunks", where)


def save_chunks(chunks: dict, where: str) -> None:
    records.write("cnn_restarts_chunks", chunks, shipped=where == "shipped")


def seed_from_recorded(chunks: dict, clamp: bool, where: str) -> None:
    """Chunk 0 is the recorded first-1000 run (same images, seed and batches)."""
    entry = records.attack_error("pgd_linf_rand", "cnn", clamp, source=where)
    side = chunks.setdefault(f"clamp_{'on' if clamp else 'off'}", {})
    if entry and entry["n"] == CHUNK and "0" not in side:
        side["0"] = {"errors": round(entry["error"] * CHUNK), "n": CHUNK, "loss_sum": entry["loss"] * CHUNK,
                     "seconds": entry["seconds"], "seed": 0, "from": entry["command"]}


def merge(chunks: dict, clamp: bool, where: str) -> None:
    """Write the full-test-set entry once every chunk is recorded."""
    side = chunks.get(f"clamp_{'on' if clamp else 'off'}", {})
    if len(side) < NUM_CHUNKS:
        print(f"{len(side)} of {NUM_CHUNKS} chunks recorded; the full-set figure waits for the rest")
        return
    n = sum(c["n"] for c in side.values())
    err = sum(c["errors"] for c in side.values()) / n
    loss = sum(c["loss_sum"] for c in side.values()) / n
    published = records.PUBLISHED_ATTACK_ERRORS["pgd_linf_rand"]["cnn"]
    results = records.read_from("attack_errors", where)
    results[records.attack_key("pgd_linf_rand", "cnn", clamp)] = {
        "attack": "pgd_linf_rand", "model": "cnn", "args": list(CHAPTER_SETTINGS["pgd_linf_rand"][1]),
        "clamp": clamp, "n": n, "error": round(err, 4), "loss": round(loss, 4),
        "published": published, "seconds": round(sum(c["seconds"] for c in side.values()), 1),
        "command": f"python benchmarks/cnn_restarts_chunks.py --clamp {'on' if clamp else 'off'} "
                   "(10 chunks of 1000 images, restart seed = chunk index)",
        "torch": torch.__version__, "threads": torch.get_num_threads()}
    path = records.write("attack_errors", results, shipped=where == "shipped")
    print(f"full test set: error {err:.4f} (chapter {published}), written to {path}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--clamp", choices=["off", "on"], default="off")
    parser.add_argument("--chunks", type=int, nargs="*", default=None)
    parser.add_argument("--shipped", action="store_true", help="the course's records (a checkout only)")
    parser.add_argument("--force", action="store_true", help="recompute chunks, replace the full-set entry")
    args = parser.parse_args()
    clamp, where = args.clamp == "on", "shipped" if args.shipped else "user"
    try:
        records.record_path("attack_errors", shipped=args.shipped)
    except RuntimeError as exc:
        parser.error(str(exc))
    key = records.attack_key("pgd_linf_rand", "cnn", clamp)
    if key in records.read_from("attack_errors", where) and not args.force:
        parser.error(f"the {where} record attack_errors holds {key} already; --force replaces it")
    chunks = load_chunks(where)
    seed_from_recorded(chunks, clamp, where)
    save_chunks(chunks, where)
    side = chunks[f"clamp_{args.clamp}"]
    todo = args.chunks if args.chunks is not None else [c for c in range(NUM_CHUNKS) if str(c) not in side]
    if any(str(c) in side for c in todo) and not args.force:
        parser.error(f"chunks {sorted(c for c in todo if str(c) in side)} are recorded already; --force recomputes them")
    X, y = eval_subset(config.FULL_TEST_SET)
    model = load_model("cnn")
    attack, attack_args = CHAPTER_SETTINGS["pgd_linf_rand"]
    for c in todo:
        Xc, yc = X[c * CHUNK:(c + 1) * CHUNK], y[c * CHUNK:(c + 1) * CHUNK]
        start = time.perf_counter()
        err, loss = epoch_adversarial(model, tensor_loader(Xc, yc, 500), attack, *attack_args, progress=False,
                                      clamp=clamp, generator=torch.Generator().manual_seed(c))
        seconds = time.perf_counter() - start
        chunks = load_chunks(where)                 # re-read: keep what another run wrote
        chunks.setdefault(f"clamp_{args.clamp}", {})[str(c)] = {
            "errors": round(err * len(yc)), "n": len(yc), "loss_sum": loss * len(yc), "seconds": round(seconds, 1),
            "seed": c}
        save_chunks(chunks, where)
        print(f"chunk {c} (images {c * CHUNK}-{(c + 1) * CHUNK - 1}): error {err:.4f}, {seconds:.0f} s", flush=True)
    merge(load_chunks(where), clamp, where)


if __name__ == "__main__":
    main()
