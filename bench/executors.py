"""Candidates per second with an instant evaluator and instant (built-in) operators:
the local executor against a 2-node Ray cluster on loopback, and what the driver
spends per candidate (its own CPU time: bookkeeping, store, strategy and, on Ray, task
submission; evaluations run elsewhere). Also the round trip of one task, no-op and
a whole sandboxed evaluation, one at a time.

Throughput is measured between the first and the last candidate told (start-up, the
initial program and Ray's connection excluded). Run with nice on a shared machine:

    nice -n 10 python bench/executors.py [--budget 400] [--round-trips 200]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _machine import header  # noqa: E402

EVALUATOR = '''
from cambrian.candidate import load

def evaluate(path):
    x, y = load(path).solve()
    return {"combined_score": 1.0 / (1.0 + (x - 3.0) ** 2 + (y - 0.5) ** 2)}
'''


def problem_dir(root: Path) -> Path:
    from tests.conftest import QUADRATIC_PROGRAM, write_problem

    return write_problem(root / "instant", QUADRATIC_PROGRAM, EVALUATOR)


def run(problem: Path, run_dir: Path, overrides: dict) -> dict:
    """One run; (candidates/s, driver CPU ms per candidate) between the first and last tell."""
    from cambrian.session import execute, prepare

    marks: list[tuple[float, float, int]] = []

    def progress(stats) -> None:
        marks.append((time.perf_counter(), time.process_time(), stats.candidates))

    prob, config, store, path = prepare(problem, overrides=overrides, run_dir=run_dir)
    result = asyncio.run(execute(prob, config, store, path, on_progress=progress))
    (t0, c0, n0), (t1, c1, n1) = marks[0], marks[-1]
    info = store.meta("executor") or {}
    store.close()
    return {"candidates": n1 - n0, "per_s": (n1 - n0) / (t1 - t0), "cpu_ms": 1000 * (c1 - c0) / (n1 - n0),
            "in_flight": info.get("in_flight_mean"), "slots": info.get("capacity", info.get("slots")),
            "valid": result.stats.valid}


def round_trips(problem: Path, n: int) -> dict:
    """Sequential round trips on the cluster the driver is connected to: a no-op task, then
    one sandboxed evaluation of the initial program through the executor."""
    import ray

    from cambrian import config as config_mod
    from cambrian.problem import Problem
    from cambrian.session import build_spec
    from cambrian.executors.ray import RayExecutor

    prob = Problem.load(problem)
    cfg = config_mod.build({}, {"executor.kind": "ray"})
    executor = RayExecutor.connect(build_spec(prob, cfg), problem_dir=prob.root, config=cfg.executor)
    noop = ray.remote(lambda: None)
    ray.get(noop.remote())
    start = time.perf_counter()
    for _ in range(n):
        ray.get(noop.remote())
    noop_ms = 1000 * (time.perf_counter() - start) / n

    async def evaluations() -> float:
        await executor.run(prob.initial_code)   # warm: runtime env and pool started
        begin = time.perf_counter()
        for _ in range(n):
            await executor.run(prob.initial_code)
        return 1000 * (time.perf_counter() - begin) / n

    eval_ms = asyncio.run(evaluations())
    asyncio.run(executor.close())
    return {"noop_ms": noop_ms, "eval_ms": eval_ms}


def local_round_trip(problem: Path, n: int) -> float:
    from cambrian import config as config_mod
    from cambrian.executors import make_executor
    from cambrian.problem import Problem
    from cambrian.session import build_spec

    prob = Problem.load(problem)
    cfg = config_mod.build({})

    async def go() -> float:
        executor = make_executor(build_spec(prob, cfg), config=cfg, problem_dir=prob.root)
        await executor.run(prob.initial_code)
        begin = time.perf_counter()
        for _ in range(n):
            await executor.run(prob.initial_code)
        await executor.close()
        return 1000 * (time.perf_counter() - begin) / n

    return asyncio.run(go())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=int, default=400, help="candidates per run (default 400)")
    parser.add_argument("--round-trips", type=int, default=200,
                        help="sequential round trips timed per row of the second table (default 200)")
    args = parser.parse_args()
    from tests.ray_cluster import LoopbackCluster

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        problem = problem_dir(root)
        base = {"budget": args.budget, "seed": 1}
        load0 = os.getloadavg()[0]
        local_rt = local_round_trip(problem, args.round_trips)
        for workers in (2, 4):
            rows.append(("local executor", workers, run(problem, root / f"local-{workers}", {**base, "workers": workers})))
        with LoopbackCluster(head_cpus=2, worker_cpus=2, log_dir=root) as cluster:
            os.environ.update({k: v for k, v in cluster.env.items() if k.startswith("RAY_")})
            for workers in (4, 8):
                rows.append(("ray, 2 nodes on loopback", workers,
                             run(problem, root / f"ray-{workers}", {**base, "workers": workers,
                                                                    "executor.kind": "ray",
                                                                    "executor.address": cluster.address})))
            import ray

            ray.shutdown()
            trips = round_trips(problem, args.round_trips)
        load1 = os.getloadavg()[0]

    print(header("Executors: candidates per second, instant evaluator and operators"))
    print(f"load average {load0:.1f} before, {load1:.1f} after; budget {args.budget} candidates per run; "
          f"Ray: head 2 CPUs + worker 2 CPUs, 1 CPU per evaluation, both nodes on these 2 cores\n")
    print("| executor | workers | evaluation slots | mean in flight | candidates/s | driver CPU ms / candidate |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, workers, r in rows:
        print(f"| {name} | {workers} | {r['slots']} | {r['in_flight']} | {r['per_s']:.1f} | {r['cpu_ms']:.2f} |")
    print()
    print("| round trip, one at a time | ms |")
    print("|---|---:|")
    print(f"| no-op Ray task | {trips['noop_ms']:.2f} |")
    print(f"| one sandboxed evaluation, Ray executor (task + node's warm pool) | {trips['eval_ms']:.2f} |")
    print(f"| one sandboxed evaluation, local executor | {local_rt:.2f} |")


if __name__ == "__main__":
    main()
