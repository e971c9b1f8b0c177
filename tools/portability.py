"""Measure how much the notebooks' live figures move between CPU kernels and thread counts.

Runs the notebook suite (nbval, strict, as `make test` does) once per configuration --
PyTorch's native kernels and its portable ``default`` ones (and ``avx2`` where the CPU has
more), one and two threads -- with ``COURSE_CHECK_LOG`` set, so that every
``checks.check_close`` in the notebooks logs its live value. Prints, per figure, the values
seen, their spread and the tolerance the notebook allows, and whether every configuration
passed nbval.

    python tools/portability.py                      # all configurations, every notebook
    python tools/portability.py --notebooks notebooks/03_pgd.ipynb --configs native-2 default-1
    python tools/portability.py --markdown benchmarks/portability.md
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = {
    "native-2": {"OMP_NUM_THREADS": "2"},
    "native-1": {"OMP_NUM_THREADS": "1"},
    "avx2-2": {"ATEN_CPU_CAPABILITY": "avx2", "OMP_NUM_THREADS": "2"},
    "default-2": {"ATEN_CPU_CAPABILITY": "default", "OMP_NUM_THREADS": "2"},
    "default-1": {"ATEN_CPU_CAPABILITY": "default", "OMP_NUM_THREADS": "1"},
}
NBVAL = ["-m", "pytest", "-p", "no:cacheprovider", "-q", "--nbval", "--nbval-current-env",
         "--nbval-sanitize-with", "tests/nbval_sanitize.cfg", "--nbval-cell-timeout=600"]


def run(config: str, notebooks: list[str], log: Path) -> tuple[bool, float, str]:
    env = dict(os.environ, COURSE_N_EVAL="1000", COURSE_DEVICE="cpu", PYTHONHASHSEED="0",
               COURSE_CHECK_LOG=str(log), **CONFIGS[config])
    env["MKL_NUM_THREADS"] = env["OMP_NUM_THREADS"]
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, *NBVAL, *notebooks], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    summary = (proc.stdout.strip().splitlines() or ["(no output)"])[-1]
    return proc.returncode == 0, time.perf_counter() - start, summary


def spread_table(logs: dict[str, Path]) -> list[dict]:
    figures: dict[str, dict] = {}
    for config, log in logs.items():
        if not log.is_file():
            continue
        for line in log.read_text().splitlines():
            row = json.loads(line)
            entry = figures.setdefault(row["what"], {"recorded": row["recorded"], "tol": row["tol"], "values": {}})
            entry["values"][config] = row["value"]
    rows = []
    for what, e in figures.items():
        values = list(e["values"].values())
        deviation = max(abs(v - e["recorded"]) for v in values)
        rows.append({"what": what, "recorded": e["recorded"], "tol": e["tol"], "min": min(values),
                     "max": max(values), "spread": max(values) - min(values), "deviation": deviation,
                     "configs": len(values)})
    return rows


def markdown(results: dict, rows: list[dict], command: str) -> str:
    lines = [f"Command: `{command}`", "", "| configuration | nbval | seconds |", "| --- | --- | ---: |"]
    lines += [f"| {c} | {'passed' if ok else 'FAILED'}: {summary} | {sec:.0f} |"
              for c, (ok, sec, summary) in results.items()]
    lines += ["", "| figure | recorded | tolerance | min seen | max seen | spread | largest deviation |",
              "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    lines += [f"| {r['what']} | {r['recorded']:g} | {r['tol']:g} | {r['min']:.4g} | {r['max']:.4g} | "
              f"{r['spread']:.3g} | {r['deviation']:.3g} |" for r in rows]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument("--notebooks", nargs="+", default=["notebooks"])
    parser.add_argument("--markdown", type=Path, help="also write the tables to this file")
    args = parser.parse_args(argv)
    command = "python tools/portability.py " + " ".join((argv if argv is not None else sys.argv[1:]))
    results, logs = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for config in args.configs:
            logs[config] = Path(tmp) / f"{config}.jsonl"
            results[config] = run(config, args.notebooks, logs[config])
            ok, seconds, summary = results[config]
            print(f"{config:10s} {'passed' if ok else 'FAILED'} in {seconds:.0f} s: {summary}", flush=True)
        rows = spread_table(logs)
    text = markdown(results, rows, command.strip())
    print(text)
    if args.markdown:
        args.markdown.write_text(text)
    return 0 if all(ok for ok, _, _ in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
