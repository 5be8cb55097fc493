"""One throughput measurement in a process of its own, for whichever ``cambrian`` is
first on PYTHONPATH (bench/sandbox.py runs it against two checkouts)."""

import asyncio
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

from cambrian.evaluation import Limits, PoolEvaluator, Spec

EVALUATOR = ("import importlib.util\n\ndef evaluate(path):\n"
             "    spec = importlib.util.spec_from_file_location('c', path)\n"
             "    m = importlib.util.module_from_spec(spec)\n    spec.loader.exec_module(m)\n"
             "    return {'combined_score': m.f()}\n")
PROGRAM = "def f():\n    # EVOLVE-BLOCK-START\n    return {i}.0\n    # EVOLVE-BLOCK-END\n"


async def measure(n: int, workers: int) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="cambrian-rate-"))
    tmp.chmod(0o755)
    (tmp / "evaluate.py").write_text(EVALUATOR)
    ev = PoolEvaluator(Spec(tmp / "evaluate.py", timeout=30, limits=Limits(cpu_seconds=30)))
    limit = asyncio.Semaphore(workers)
    bad = []

    async def one(i: int) -> None:
        async with limit:
            r = await ev.evaluate(PROGRAM.format(i=i))
            if not r.ok or r.score != float(i):
                bad.append(r.reason)

    def cpu() -> float:
        return sum(getattr(resource.getrusage(who), f) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
                   for f in ("ru_utime", "ru_stime"))

    await one(0)
    protections = (await ev.evaluate(PROGRAM.format(i=0))).protections
    await ev.close()  # the warm-up's server is reaped: its CPU is not counted below
    ev = PoolEvaluator(Spec(tmp / "evaluate.py", timeout=30, limits=Limits(cpu_seconds=30)))
    try:
        await one(0)
        cpu_start, start = cpu(), time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(1, n + 1)))
        rate = n / (time.perf_counter() - start)
    finally:
        await ev.close()
    # CPU of this process and of the pool server with every job it reaped (all children
    # are reaped by now); on a loaded machine this, unlike the wall-clock rate, is stable.
    # It includes the warm-up job and the server's start, spread over n.
    cpu_ms = (cpu() - cpu_start) / n * 1e3
    return {"rate": rate, "cpu_ms": cpu_ms, "failed": len(bad), "protections": list(protections)}


if __name__ == "__main__":
    print(json.dumps(asyncio.run(measure(int(sys.argv[1]), int(sys.argv[2])))))
