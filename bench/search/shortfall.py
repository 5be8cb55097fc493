"""How far the default falls short of the best baseline on each landscape, by median and by mean.

The benchmark's verdict (``cambrian/benchmark.py``, ``verdict``) compares medians over
seeds. Where a baseline wins by a lottery (best-of-N hits needle's spike in about half
the seeds: its median is 1.0 or 0.12 by the seed set), the median and the mean tell
different stories; this prints both, each against the baseline best by that statistic,
and the worst shortfall over the landscapes (a positive shortfall: ours is worse; a run's
``maximize`` gives the direction).

    python bench/search/shortfall.py bench/search/results/pooled80.json [more results.json ...]

Each file is read on its own (merge seed sets with ``combine.py`` first).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from cambrian.benchmark import BASELINES  # noqa: E402

STATISTICS = {"median": statistics.median, "mean": statistics.fmean}


def shortfalls(runs: list[dict], ours: str = "cambrian") -> dict[str, dict[str, tuple[str, float]]]:
    """landscape -> statistic -> (the baseline best by it, our shortfall as a fraction of its value).

    A run's ``maximize`` gives the direction (the search benchmark's landscapes all maximize;
    ``cambrian bench`` problems may minimize), as in ``verdict``; failed runs (no best, or
    NaN) are left out, and so is a landscape without our runs or without any baseline's.
    Against a baseline whose value is 0 the shortfall is NaN (no scale to divide by)."""
    scores: dict[str, dict[str, list[float]]] = {}
    sign: dict[str, float] = {}
    for run in runs:
        if run["best"] is not None and run["best"] == run["best"]:
            sign[run["problem"]] = 1.0 if run.get("maximize", True) else -1.0
            scores.setdefault(run["problem"], {}).setdefault(run["system"], []).append(run["best"])
    table = {}
    for problem, by_system in scores.items():
        present = [s for s in BASELINES if s in by_system]
        if ours not in by_system or not present:
            continue
        row = {}
        for name, stat in STATISTICS.items():
            best = max(present, key=lambda s: sign[problem] * stat(by_system[s]))
            theirs = stat(by_system[best])
            gap = sign[problem] * (theirs - stat(by_system[ours])) + 0.0   # > 0: ours is worse (+ 0.0: no -0.0)
            row[name] = (best, gap / abs(theirs) if theirs else (0.0 if gap == 0 else math.nan))
        table[problem] = row
    return table


def markdown(path: Path, table: dict[str, dict[str, tuple[str, float]]]) -> str:
    lines = [f"{path}: our shortfall against the best baseline (positive: ours is worse)", "",
             "| landscape | best by median | shortfall | best by mean | shortfall |", "|---|---|---|---|---|"]
    for problem, row in table.items():
        (bm, sm), (bn, sn) = row["median"], row["mean"]
        lines.append(f"| {problem} | {bm} | {percent(sm)} | {bn} | {percent(sn)} |")
    worst = {name: max((p for p in table if table[p][name][1] == table[p][name][1]),
                       key=lambda p: table[p][name][1], default=None) for name in STATISTICS}
    cells = [f"{p} | {percent(table[p][name][1])}" if p else "n/a | n/a" for name, p in worst.items()]
    if table:
        lines.append(f"| *worst* | {' | '.join(cells)} |")
    return "\n".join(lines)


def percent(fraction: float) -> str:
    return "n/a" if fraction != fraction else f"{100 * fraction:+.2f}%"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", nargs="+", type=Path, help="results.json of simulate.py, run.py or combine.py")
    args = parser.parse_args(argv)
    for path in args.results:
        try:   # a run without a problem, system or numeric best is as much "not a results.json"
            table = shortfalls(json.loads(path.read_text())["runs"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            parser.error(f"{path}: not a results.json ({exc.__class__.__name__}: {exc})")
        if not table:
            parser.error(f"{path}: no landscape with both cambrian's and a baseline's runs")
        print(markdown(path, table), end="\n\n")


if __name__ == "__main__":
    main()
