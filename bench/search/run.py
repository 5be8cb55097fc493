"""The search benchmark: Cambrian's default search beside simple baselines, on eight
synthetic landscapes, with the same weak scripted LLM for every system.

Budget in LLM calls: each run stops before its 301st request (``max_calls: 300``,
retries included, as a user pays). The built-in operators are off (LLM proposals
only) unless ``--builtin`` is given.

    python bench/search/run.py [--seeds 10] [--first-seed 0] [--budget 300] [--jobs 2] [--systems ...]
        [--landscapes smooth,trap] [--out runs/bench-search]

Writes runs/bench-search/results.{md,json}; the README quotes results.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from _machine import commit, header  # noqa: E402
from _args import check  # noqa: E402
from weak_llm import WeakLLM  # noqa: E402

from cambrian import benchmark  # noqa: E402

LANDSCAPES = ("smooth", "rugged", "rotated", "trap", "plateau", "needle", "mixed", "noisy")
SYSTEMS = "cambrian,greedy,lineages,best_of_n,random_parent,no-adaptation,no-cross-inspirations,no-resets"
LLM_ONLY = {"operators.perturb.weight": 0, "operators.crossover.weight": 0, "operators.structural.weight": 0}
COMMON = {"workers": 2, "evaluation.slots": 1}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--first-seed", type=int, default=0, help="seeds FIRST .. FIRST+SEEDS-1")
    parser.add_argument("--budget", type=int, default=300, help="LLM calls per run, retries included")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--systems", default=SYSTEMS)
    parser.add_argument("--landscapes", default=",".join(LANDSCAPES))
    parser.add_argument("--builtin", action="store_true", help="keep the built-in operators on")
    parser.add_argument("--out", default="runs/bench-search")
    parser.add_argument("--resume", action="store_true", help="keep runs already in OUT/runs.jsonl")
    args = parser.parse_args(argv)
    import os

    os.environ.setdefault("OPENAI_API_KEY", "unused-by-the-weak-model")
    landscapes, systems = check(parser, args, LANDSCAPES, benchmark.SYSTEMS)
    problems = [HERE / "landscapes" / name for name in landscapes]
    overrides = {**COMMON, "max_calls": args.budget, **({} if args.builtin else LLM_ONLY)}
    out = Path(args.out)
    with WeakLLM() as model:
        # Candidates are not the limit: the calls are (a candidate takes one call, or two when retried).
        seeds = range(args.first_seed, args.first_seed + args.seeds)
        jobs = benchmark.plan(problems, systems=systems, seeds=seeds, budget=3 * args.budget, out=out,
                              models=[f"openai:weak@{model.url}"], overrides=overrides)
        results = benchmark.run(jobs, parallel=args.jobs, log=out / "runs.jsonl", resume=args.resume,
                                on_result=lambda r: print(
            f"{r.problem:8} {r.system:14} seed {r.seed:2}: {r.best:.4f} ({r.calls} calls, {r.seconds:.1f} s)",
            flush=True))
    title = "Search benchmark: weak scripted LLM, " + ("built-in operators on" if args.builtin else "LLM proposals only")
    meta = {"seeds": args.seeds, "first_seed": args.first_seed, "budget": args.budget, "systems": systems, "overrides": overrides}
    js, md = benchmark.write(results, out, title=title, header=header(title).split("\n", 2)[2]
                             + f"\n{commit()}. `python bench/search/run.py --seeds {args.seeds}"
                             + (f" --first-seed {args.first_seed}" if args.first_seed else "") + f" --budget {args.budget}"
                             + (f" --systems {args.systems}" if args.systems != SYSTEMS else "")
                             + (f" --landscapes {args.landscapes}" if args.landscapes != ",".join(LANDSCAPES) else "")
                             + (" --builtin" if args.builtin else "") + f"`; budget {args.budget} LLM calls per run.",
                             meta=meta)
    print(md.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
