"""Merge search-benchmark results (``results.json`` of ``simulate.py`` or ``run.py``) into one table.

For more seeds than one sitting allows: run ``simulate.py --first-seed 10 ...`` later and
merge it with the first run. A run (problem, system, seed) present in two files must
agree, or the merge is refused: the files then measure different code.

    python bench/search/combine.py A/results.json B/results.json --out DIR [--systems a,b] [--landscapes x,y]
        [--header TEXT]
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import fields
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from cambrian import benchmark  # noqa: E402


def load(paths: list[Path]) -> tuple[list[benchmark.RunResult], list[dict]]:
    names = {f.name for f in fields(benchmark.RunResult)}
    runs: dict[tuple, benchmark.RunResult] = {}
    metas = []
    for path in paths:
        data = json.loads(path.read_text())
        metas.append(data.get("meta", {}))
        for raw in data["runs"]:
            run = benchmark.RunResult(**{k: v for k, v in raw.items() if k in names})
            key = (run.problem, run.system, run.seed)
            if key in runs and runs[key].best != run.best:
                raise SystemExit(f"error: {path}: {key} scored {run.best}, another file says {runs[key].best}")
            runs[key] = run
    return list(runs.values()), metas


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", nargs="+", type=Path, help="results.json files to merge")
    parser.add_argument("--out", type=Path, required=True, help="directory for the merged results.md and .json")
    parser.add_argument("--title", default="Search benchmark, in-process replica: weak scripted LLM, LLM proposals only",
                        help="the table's title")
    parser.add_argument("--header", default="", help="text under the title (machine, date, commands)")
    parser.add_argument("--systems", help="comma-separated: keep only these systems")
    parser.add_argument("--landscapes", help="comma-separated: keep only these landscapes (problems)")
    args = parser.parse_args()
    missing = [p for p in args.results if not p.is_file()]
    if missing:
        raise SystemExit(f"error: no such file: {missing[0]}")
    runs, metas = load(args.results)
    if args.systems:
        keep = args.systems.split(",")
        runs = sorted((r for r in runs if r.system in keep), key=lambda r: keep.index(r.system))
    if args.landscapes:
        keep = args.landscapes.split(",")
        runs = [r for r in runs if r.problem in keep]
    if not runs:
        raise SystemExit("error: no runs left to merge")
    # Problems and systems keep the first file's order; seeds are sorted by the tables.
    _, md = benchmark.write(runs, args.out, title=args.title, header=args.header,
                            meta={"merged": [str(p) for p in args.results], "parts": metas})
    print(md.read_text())


if __name__ == "__main__":
    main()
