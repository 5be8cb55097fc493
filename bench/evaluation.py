"""Candidates per second through the evaluator, warm pool against a fresh interpreter.

Every protection on (limits; as root also the private mount namespace, no network
and the unprivileged user), two candidates in flight (this machine has 2 cores).

    python bench/evaluation.py [--n 400]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import header  # noqa: E402

import cambrian  # noqa: E402
from cambrian.evaluation import Limits, PoolEvaluator, ProcessEvaluator, Spec  # noqa: E402

LOAD = """
import importlib.util

def load(path):
    spec = importlib.util.spec_from_file_location("candidate", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
"""
EVALUATORS = {
    "trivial": LOAD + "def evaluate(path):\n    return {'combined_score': load(path).f()}\n",
    "trivial, candidate in its own process (cambrian.candidate.load)":
        "from cambrian.candidate import load\n\n"
        "def evaluate(path):\n    return {'combined_score': load(path).f()}\n",
    "imports numpy + scipy": "import numpy\nimport scipy.optimize\nimport scipy.spatial\n" + LOAD +
                             "def evaluate(path):\n    return {'combined_score': float(numpy.sum(load(path).f()))}\n",
}
PROGRAM = "def f():\n    # EVOLVE-BLOCK-START\n    x = {i}.0\n    return x\n    # EVOLVE-BLOCK-END\n"


async def throughput(kind, spec: Spec, n: int, workers: int = 2) -> float:
    ev = kind(spec)
    limit = asyncio.Semaphore(workers)

    async def one(i: int) -> None:
        async with limit:
            r = await ev.evaluate(PROGRAM.format(i=i))
            if not r.ok:
                raise SystemExit(f"benchmark candidate failed: {r.reason}")

    try:
        await one(-1)  # warm-up: starts the pool server
        start = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(n)))
        return n / (time.perf_counter() - start)
    finally:
        await ev.close()


def end_to_end(tmp: Path, budget: int) -> float:
    problem = tmp / "e2e"
    problem.mkdir()
    (problem / "initial_program.py").write_text(PROGRAM.format(i=1))
    (problem / "evaluate.py").write_text(EVALUATORS["trivial"])
    result = cambrian.evolve(problem, run_dir=tmp / "run", budget=budget, workers=2)
    return result.stats.rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--n", type=int, default=400,
                        help="candidates per warm-pool measurement (a tenth, at least 20, for the fresh interpreter)")
    parser.add_argument("--repeats", type=int, default=3, help="measurements per row; the table shows the median")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="cambrian-bench-"))
    tmp.chmod(0o755)
    try:
        protections = None
        print(header("Evaluation throughput, 2 candidates in flight, every protection on"))
        print("| evaluator | isolation | candidates/s (median of runs) |")
        print("|---|---|---:|")
        for name, source in EVALUATORS.items():
            path = tmp / f"evaluator{len(name)}.py"
            path.write_text(source)
            spec = Spec(path, timeout=30, limits=Limits(cpu_seconds=30))
            for label, kind, n in (("warm pool (fork per candidate)", PoolEvaluator, args.n),
                                   ("fresh interpreter per candidate", ProcessEvaluator, max(20, args.n // 10))):
                rates = [asyncio.run(throughput(kind, spec, n)) for _ in range(args.repeats)]
                print(f"| {name} | {label} | {statistics.median(rates):,.0f} |", flush=True)
            if protections is None:
                ev = PoolEvaluator(spec)
                protections = asyncio.run(_protections(ev))
        rates = []
        for i in range(args.repeats):
            (tmp / f"e{i}").mkdir()
            rates.append(end_to_end(tmp / f"e{i}", 1000))
        rate = statistics.median(rates)
        print(f"| trivial | whole loop: `cambrian.evolve`, built-in operators, store, 1,000 candidates | {rate:,.0f} |")
        print(f"\nprotections in force: {', '.join(protections)}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


async def _protections(ev) -> tuple[str, ...]:
    try:
        return (await ev.evaluate(PROGRAM.format(i=0))).protections
    finally:
        await ev.close()


if __name__ == "__main__":
    main()
