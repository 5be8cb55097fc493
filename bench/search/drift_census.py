"""How many equal-scoring children took their island's best's place (drift), and how many of
them had a constant outside [0, 1], the range the landscapes' evaluators read (they clip; on
mixed the first constant is an integer mode, so there every program counts as outside).

Runs the replica (``simulate.py``) with the default search and counts, in ``Adaptive.tell``,
the children that replaced the island's current program without a higher score.

    python bench/search/drift_census.py rugged --seeds 5 --budget 1000
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))
sys.path.insert(0, str(HERE))

import simulate  # noqa: E402

from cambrian import adaptive, benchmark  # noqa: E402
from cambrian.program import program_id  # noqa: E402


def census(landscape: str, seeds: int, budget: int) -> tuple[int, int]:
    """(drift replacements, of which with a constant outside [0, 1]) over seeds 0..seeds-1."""
    constants: dict[str, list[float]] = {}
    counts = [0, 0]
    evaluate, tell = simulate.evaluate, adaptive.Adaptive.tell

    def recording_evaluate(name: str, code: str):  # noqa: ANN202
        result = evaluate(name, code)
        if result is not None:
            namespace: dict = {}
            exec(compile(code, "<candidate>", "exec"), namespace)
            constants[program_id(code)] = [float(v) for v in namespace["params"]()]
        return result

    def counting_tell(self, island, pid, fitness, features):  # noqa: ANN001, ANN202
        before = self.islands[island].current
        told = tell(self, island, pid, fitness, features)
        if pid is not None and fitness == before.fitness and self.islands[island].current.program_id == pid:
            counts[0] += 1
            counts[1] += any(not 0 <= v <= 1 for v in constants.get(pid, ()))
        return told

    simulate.evaluate, adaptive.Adaptive.tell = recording_evaluate, counting_tell
    try:
        for seed in range(seeds):
            simulate.simulate(landscape, benchmark.SYSTEMS["cambrian"], seed, budget=budget)
    finally:
        simulate.evaluate, adaptive.Adaptive.tell = evaluate, tell
    return counts[0], counts[1]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("landscape", choices=simulate.LANDSCAPES)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--budget", type=int, default=300)
    args = parser.parse_args(argv)
    drift, outside = census(args.landscape, args.seeds, args.budget)
    print(f"{args.landscape}, seeds 0-{args.seeds - 1}, {args.budget} calls: {drift} drift replacements, "
          f"{outside} with a constant outside [0, 1]")


if __name__ == "__main__":
    main()
