"""Trap with other basins, through the replica: is a trap whose trapping shows in the run one the default escapes?

The benchmark's trap (``cambrian/landscapes.py``) has three basins of heights 1.0, 0.75
and 0.5, equally far from the start (each corner 0.3 from the centre in every
parameter), the tallest pulling a little less from the start. A climber there sees one
basin climbed at smooth's pace, so nothing in a run tells it from smooth. This runs the
same replica (``simulate.py``) on trap's problem directory with the basins given here,
for instance low basins close to the start (climbed early, then a stall) and the tallest
far away, the kind of trap the issue measured (a greedy climber stuck in every seed):

    python bench/search/trap_variant.py --heights 1.0,0.45,0.4 --pulls 0.2,0.3,0.3 \\
        --spreads 0.35,0.12,0.12 --seeds 80

Prints, per system: the median and mean best score, the interquartile range, and in how
many seeds it ended above the second basin's height (in the tallest basin). Not part
of the benchmark's eight landscapes; for the decision the search issue asks of its author.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
from multiprocessing import Pool
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import simulate  # noqa: E402
from cambrian import landscapes  # noqa: E402
from cambrian.benchmark import SYSTEMS  # noqa: E402

_BASINS: list = []


def _score(name, values, text=""):  # noqa: ANN001, ANN202  (simulate.score's signature)
    if name != "trap":
        return landscapes.score(name, values, text)
    v = landscapes.basins_value(landscapes._clip(values), _BASINS)
    return v, v


def _init(chosen: list) -> None:
    _BASINS[:] = chosen
    simulate.score = _score


def _one(job: tuple) -> tuple[str, float]:
    system, seed, budget = job
    return system, simulate.simulate("trap", dict(SYSTEMS[system]), seed, budget).best


def _floats(parser: argparse.ArgumentParser, flag: str, text: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        parser.error(f"{flag} {text}: expected three numbers, comma-separated")
    if len(values) != 3 or not all(math.isfinite(v) and v > 0 for v in values):
        parser.error(f"{flag} {text}: expected three positive numbers, comma-separated")
    return values


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--heights", default=",".join(map(str, landscapes.HEIGHTS)), help="the basins' heights, tallest first")
    parser.add_argument("--pulls", default=",".join(map(str, landscapes.PULLS)), help="what each basin scores at the start")
    parser.add_argument("--spreads", default=",".join(map(str, landscapes.SPREADS)), help="each corner's distance from the centre, per parameter")
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--budget", type=int, default=300, help="LLM calls per run")
    parser.add_argument("--systems", default="cambrian,greedy,lineages,best_of_n,no-adaptation")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)
    heights = _floats(parser, "--heights", args.heights)
    pulls = _floats(parser, "--pulls", args.pulls)
    spreads = _floats(parser, "--spreads", args.spreads)
    if not heights[0] >= heights[1] >= heights[2] or any(p >= h for p, h in zip(pulls, heights)) \
            or any(s > 0.5 for s in spreads):
        parser.error("heights tallest first, each pull below its height, spreads at most 0.5")
    systems = [s for s in args.systems.split(",") if s]
    unknown = [s for s in systems if s not in SYSTEMS]
    if unknown or not systems or args.seeds < 1 or args.budget < 1 or args.jobs < 1:
        parser.error(f"unknown system {', '.join(unknown)}" if unknown else
                     "--systems, --seeds, --budget and --jobs must name or count at least one")
    chosen = landscapes.basins(heights, pulls, spreads)
    jobs = [(s, seed, args.budget) for s in systems for seed in range(args.seeds)]
    with Pool(args.jobs, initializer=_init, initargs=(chosen,)) as pool:
        results = pool.map(_one, jobs, chunksize=1)
    print(f"trap variant: heights {heights}, pulls {pulls}, spreads {spreads}; "
          f"{args.seeds} seeds, {args.budget} calls ({simulate.commit()})\n")
    print("| system | median | mean | interquartile range | in the tallest basin |\n|---|---|---|---|---|")
    for system in systems:
        best = sorted(b for s, b in results if s == system)
        q1, _, q3 = statistics.quantiles(best, n=4) if len(best) > 1 else (best[0], 0, best[0])
        tallest = sum(b > heights[1] + 0.01 for b in best)
        print(f"| {system} | {statistics.median(best):.4f} | {statistics.fmean(best):.4f} | "
              f"[{q1:.3f}, {q3:.3f}] | {tallest}/{len(best)} |")


if __name__ == "__main__":
    main()
