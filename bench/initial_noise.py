"""How much a noisy evaluator flatters a best: an example's initial program, unchanged,
evaluated afresh in sets of N (a run's budget); each set's best is what a search that
never improved the program would report.

    python bench/initial_noise.py bin_packing --evaluations 150 --sets 10
    python bench/initial_noise.py symbolic_regression --evaluations 11 --sets 10

The value is the metric the example's benchmark.yaml names (the problems table's column),
else combined_score; its direction is the example's cambrian.yaml ``direction``. Every
evaluation of bin packing and symbolic regression draws fresh data from a secret seed, so
two invocations differ.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cambrian import benchmark  # noqa: E402
from cambrian.config import read_yaml  # noqa: E402


def evaluator(problem: str):
    """An example's evaluate.py, loaded as a module."""
    spec = importlib.util.spec_from_file_location(f"ev_{problem}", ROOT / "examples" / problem / "evaluate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def measure(problem: str, evaluations: int, sets: int) -> dict:
    """The metric, its direction, the single values and each set's best."""
    directory = ROOT / "examples" / problem
    module = evaluator(problem)
    metric = benchmark.Reference.load(directory).metric or "combined_score"
    maximize = read_yaml(directory / "cambrian.yaml").get("direction", "maximize") == "maximize"
    program = str(directory / "initial_program.py")
    values = [float(module.evaluate(program)[metric]) for _ in range(evaluations * sets)]
    pick = max if maximize else min
    bests = [pick(values[i:i + evaluations]) for i in range(0, len(values), evaluations)]
    return {"metric": metric, "maximize": maximize, "values": values, "bests": bests}


def report(problem: str, evaluations: int, found: dict) -> str:
    values, bests = found["values"], found["bests"]
    return "\n".join([
        f"{problem}: the initial program, {len(values)} fresh evaluations of {found['metric']} "
        f"({'maximize' if found['maximize'] else 'minimize'})",
        f"single evaluations: min {min(values):.4g}, median {statistics.median(values):.4g}, max {max(values):.4g}",
        f"best of each set of {evaluations}: {min(bests):.4g}-{max(bests):.4g} "
        f"(median {statistics.median(bests):.4g}; {' '.join(f'{b:.4g}' for b in sorted(bests))})",
        f"median of each set of {evaluations}: "
        + " ".join(f"{statistics.median(values[i:i + evaluations]):.4g}" for i in range(0, len(values), evaluations)),
    ])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("problem", help="an example under examples/ with an evaluate.py")
    parser.add_argument("--evaluations", type=int, default=150, help="evaluations per set (default 150)")
    parser.add_argument("--sets", type=int, default=10, help="sets (default 10)")
    args = parser.parse_args(argv)
    for name in ("evaluate.py", "initial_program.py"):   # a Python evaluator of a Python program
        if not (ROOT / "examples" / args.problem / name).is_file():
            parser.error(f"{args.problem}: no examples/{args.problem}/{name}")
    if args.evaluations < 1 or args.sets < 1:
        parser.error(f"--evaluations and --sets must be at least 1, got {args.evaluations} and {args.sets}")
    try:
        found = measure(args.problem, args.evaluations, args.sets)
    except (KeyError, TypeError, ValueError) as exc:
        parser.error(f"{args.problem}: its evaluation has no usable value ({exc.__class__.__name__}: {exc})")
    except Exception as exc:  # the example's own evaluator failed (a peer's package missing, say)
        parser.error(f"{args.problem}: its evaluator failed ({exc.__class__.__name__}: {exc})")
    print(report(args.problem, args.evaluations, found))


if __name__ == "__main__":
    main()
