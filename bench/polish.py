"""Gains from evolution and from polishing, told apart.

    python bench/polish.py [--runs BENCH_OUT_DIR] [--system cambrian]

For each numeric benchmark problem: the initial program's score, the same after
the opt-in polish (scipy, ``polish()`` in the problem's evaluate.py), and, given the
output directory of a ``cambrian bench`` run, the median over seeds of the best
evolved program's score, raw and polished. Every value comes from the problem's own
certified scoring function. Prints a Markdown table headed by the machine and date.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import time
from pathlib import Path

# One BLAS thread, as in the sandbox (cambrian/evaluation/sandbox.py): SLSQP's result depends on
# the thread count, and this table must show what `cambrian run` with CAMBRIAN_POLISH=1 reports.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from _machine import header  # noqa: E402

NUMERIC = ("circle_packing", "circle_packing_32", "min_max_ratio_16_2d", "min_max_ratio_14_3d",
           "heilbronn_triangle_11", "autocorrelation_c1", "autocorrelation_c2", "erdos_min_overlap")


def load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def raw_and_polished(ev, program_path: Path, tag: str) -> tuple[float, float, float]:
    construction = load(program_path, tag).construct()
    raw = ev.score(construction)
    start = time.perf_counter()
    polished = ev.score(ev.polish(construction))
    seconds = time.perf_counter() - start
    better = max if ev.DIRECTION == "maximize" else min
    return raw, better(raw, polished), seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", help="output directory of a `cambrian bench` run")
    parser.add_argument("--system", default="cambrian")
    args = parser.parse_args()
    print(header("Evolution and polish, told apart"))
    print("| problem | direction | initial | initial, polished | evolved (median of seeds) "
          "| evolved, polished | best known | polish s |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for name in NUMERIC:
        directory = ROOT / "examples" / name
        ev = load(directory / "evaluate.py", f"ev_{name}")
        raw, polished, seconds = raw_and_polished(ev, directory / "initial_program.py", f"init_{name}")
        evolved = evolved_polished = "—"
        if args.runs:
            bests = sorted((Path(args.runs) / name / args.system).glob("seed-*/best/program.py"))
            pairs = [raw_and_polished(ev, p, f"best_{name}_{i}")[:2] for i, p in enumerate(bests)]
            if pairs:
                evolved = f"{statistics.median(a for a, _ in pairs):.7g}"
                evolved_polished = f"{statistics.median(b for _, b in pairs):.7g}"
        print(f"| {name} | {ev.DIRECTION} | {raw:.7g} | {polished:.7g} | {evolved} | {evolved_polished} "
              f"| {ev.BEST_KNOWN:.8g} | {seconds:.1f} |", flush=True)


if __name__ == "__main__":
    main()
