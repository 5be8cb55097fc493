"""The README's table of the benchmark problems from `cambrian bench` results.

    python bench/problems_table.py BENCH_DIR [TUNE_BENCH_DIR]

Reads results.json of a `cambrian bench` run over examples/ (and optionally of a
second run with `--set operators.tune.weight=...`), re-renders its results.md with
the current number format, and prints one row per problem: the initial value, the
median best over seeds of each system, the best known value and candidates per
second of the default system.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import initial_noise  # noqa: E402
from cambrian import benchmark  # noqa: E402


def rerender(directory: Path) -> dict:
    data = json.loads((directory / "results.json").read_text())
    old = (directory / "results.md").read_text().splitlines()
    title, header = old[0].lstrip("# "), old[2]
    runs = [benchmark.RunResult(**{k: v for k, v in r.items() if k != "rate"}) for r in data["runs"]]
    (directory / "results.md").write_text(benchmark.markdown(runs, title=title, header=header))
    return data


def initial_metric(problem: str, draws: int = 11) -> float:
    """The initial program's value of the metric its benchmark.yaml names, the median of
    ``draws`` evaluations (symbolic regression draws fresh held-out points for each)."""
    return statistics.median(initial_noise.measure(problem, draws, 1)["values"])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("bench_dir", type=Path, help="a `cambrian bench` output directory over examples/")
    parser.add_argument("tune_dir", type=Path, nargs="?", help="the same with operators.tune.weight set")
    args = parser.parse_args(argv)
    try:
        data = rerender(args.bench_dir)
        tune = rerender(args.tune_dir)["summary"] if args.tune_dir else {}
    except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
        parser.error(f"not a `cambrian bench` directory with results.json and results.md "
                     f"({exc.__class__.__name__}: {exc})")
    summary = data["summary"]
    systems = data["meta"]["systems"]
    tuned = [s for s in ("cambrian", "greedy") if any(s in row for row in tune.values())]
    head = ["problem", "initial", *systems, *(f"{s} + tune" for s in tuned), "best known", "cands/s"]
    print(f"Budget {data['meta']['budget']} candidates, {data['meta']['seeds']} seeds; median best [min, max over seeds]")
    print()
    print("| " + " | ".join(head) + " |")
    print("|---|" + "---:|" * (len(head) - 1))
    helpers = importlib.util.spec_from_file_location("h", ROOT / "tests" / "examples" / "helpers.py")
    initial = {}
    try:
        module = importlib.util.module_from_spec(helpers)
        helpers.loader.exec_module(module)
        initial = module.INITIAL
    except Exception:
        pass

    def cell(row):
        if row is None:
            return ""
        values = [b for b in row["best_per_seed"] if b is not None]
        return f"{row['median']:.6g} [{min(values):.6g}, {max(values):.6g}]"

    for problem in sorted(summary, key=lambda n: list(initial).index(n) if n in initial else len(initial)):
        rows = summary[problem]
        ev = initial_noise.evaluator(problem)
        best = ev.BEST_KNOWN
        start = initial.get(problem)
        reference = benchmark.Reference.load(ROOT / "examples" / problem)
        if reference.metric:   # the table reports that metric (symbolic regression's held-out error)
            best, start = reference.value, initial_metric(problem)
        cells = [problem, f"{start:.6g}" if start is not None else "",
                 *(cell(rows.get(s)) for s in systems),
                 *(cell(tune.get(problem, {}).get(s)) if problem in tune else "n/a" for s in tuned),
                 f"{best:.8g}", f"{rows['cambrian']['rate']:.1f}" if "cambrian" in rows else ""]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
