"""The loop's own cost, evaluation left out: LLM path throughput and resume time.

The real run (``cambrian.evolve``: strategy, operators, LLM clients, store, events)
on examples/toy, with the evaluator replaced by an instant one (the score is a hash of
the code), so what is timed is Cambrian's own work per candidate.

* throughput: candidates per second with the built-in operators and with every
  proposal from an LLM (an instant OpenAI-compatible server on 127.0.0.1, in its own
  process, answering a SEARCH/REPLACE edit), at 1, 8 and 32 proposals in flight; CPU
  milliseconds of this process per candidate beside the wall-clock rate (the machine
  is shared: CPU time is what the loop costs, wall time what a run waits); and where
  the CPU time of the LLM path goes (a profile, by area).
* resume: a run of N candidates (built-in operators) is resumed with a budget of N + 1,
  so every stored attempt is replayed and one is made; the time to open the store,
  the time ``cambrian status`` takes, and the whole resume.

    python bench/loop.py [--throughput 300] [--resume 10000 100000] [--in-flight 1 8 32]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import hashlib
import multiprocessing
import pstats
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _machine import commit, header, load  # noqa: E402
from store_size import edit  # noqa: E402

import cambrian  # noqa: E402
from cambrian import session  # noqa: E402
from cambrian.evaluation import EvalResult  # noqa: E402
from cambrian.evaluation.result import OK  # noqa: E402

TOY = ROOT / "examples" / "toy"


class InstantExecutor:
    """Scores a program by a hash of its code, at once: the evaluation costs nothing."""

    slots = 64

    async def run(self, code: str) -> EvalResult:
        score = int(hashlib.sha256(code.encode()).hexdigest()[:8], 16) / 2**32
        return EvalResult(OK, score=score, metrics={"combined_score": score, "mse": 1 - score})

    async def fingerprint(self, code: str) -> str:
        return hashlib.sha256(code.encode()).hexdigest()[:16]

    def describe(self) -> dict:
        return {"kind": "instant (bench)"}

    async def close(self) -> None:
        pass


session.make_executor = lambda spec, *, config, problem_dir: InstantExecutor()


def _serve(port_queue) -> None:
    from tests.fake_llm import FakeLLM

    with FakeLLM(default=edit) as llm:
        port_queue.put(llm.url)
        while True:
            time.sleep(3600)


def fake_server() -> tuple[multiprocessing.Process, str]:
    queue: multiprocessing.Queue = multiprocessing.Queue()
    proc = multiprocessing.get_context("fork").Process(target=_serve, args=(queue,), daemon=True)
    proc.start()
    return proc, queue.get(timeout=60)


def run(run_dir: Path, budget: int, workers: int, url: str | None, profile: cProfile.Profile | None = None):
    overrides = dict(budget=budget, seed=0, workers=workers)
    if url is not None:
        overrides.update(llm__models=[{"model": f"openai:bench@{url}"}], llm__share=1.0, operator_choice="weights")
    else:
        overrides.update(llm__models=[])
    start, cpu = time.perf_counter(), time.process_time()
    if profile is not None:
        profile.enable()
    result = cambrian.evolve(TOY, run_dir=run_dir, **overrides)
    if profile is not None:
        profile.disable()
    result.store.close()  # and its claim on the run: a resume takes it next
    return result.stats.candidates, time.perf_counter() - start, time.process_time() - cpu


AREAS = [("prompt building", ("cambrian/prompt", "cambrian/prompts")),
         ("OpenAI SDK and HTTP (openai, httpx, pydantic, the typing introspection they do)",
          ("openai/", "httpx", "httpcore", "anyio", "h11", "/json/", "ssl", "socket", "pydantic", "typing.py",
           "inspect.py", "sniffio", "contextlib", "distro", "_contextvars")),
         ("LLM client and recording", ("cambrian/llm/", "cambrian/texts")),
         ("edit parsing and applying", ("cambrian/edits", "cambrian/operators/")),
         ("store (SQLite)", ("cambrian/store", "sqlite3")),
         ("strategy and archive", ("cambrian/strategy", "cambrian/adaptive", "cambrian/archive", "cambrian/bandit")),
         ("runner and checks", ("cambrian/runner", "cambrian/program", "cambrian/candidate", "cambrian/events",
                                "cambrian/novelty", "cambrian/stats")),
         ("asyncio event loop", ("asyncio/", "selectors", "select.")),
         ]


def areas(profile: cProfile.Profile) -> Counter:
    """Own CPU time (profiler's tottime) by area of the code."""
    stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    out: Counter = Counter()
    for (file, _, name), (_, _, tottime, _, _) in stats.items():
        where = f"{file}:{name}"
        area = next((a for a, keys in AREAS if any(k in where for k in keys)), "other (start-up, config, ...)")
        out[area] += tottime
    return out


def throughput(budget: int, in_flight: list[int]) -> None:
    print("### Throughput, evaluation instant\n")
    print("| proposals from | in flight | candidates | candidates/s (wall) | CPU ms / candidate |")
    print("|---|---:|---:|---:|---:|")
    server, url = fake_server()
    try:
        for label, source in (("built-in operators", None), ("LLM (instant server)", url)):
            for workers in in_flight:
                with tempfile.TemporaryDirectory() as tmp:
                    n, wall, cpu = run(Path(tmp) / "run", budget, workers, source)
                print(f"| {label} | {workers} | {n} | {n / wall:,.0f} | {cpu / n * 1e3:.2f} |", flush=True)
        profile = cProfile.Profile()
        with tempfile.TemporaryDirectory() as tmp:
            n, _, _ = run(Path(tmp) / "run", budget, 8, url, profile)
        split = areas(profile)
        total = sum(split.values())
        print(f"\nWhere the CPU time of the LLM path goes (8 in flight, {n} candidates, cProfile own time,"
              f" inflated by the profiler; shares are what matters):\n")
        print("| area | share |")
        print("|---|---:|")
        for area, seconds in split.most_common():
            print(f"| {area} | {seconds / total:.0%} |")
    finally:
        server.kill()
        server.join()


def resume(sizes: list[int]) -> None:
    print("\n### Resume: every stored attempt replayed, then one made\n")
    print("| attempts | fill (s) | store MB | Store.open (s) | `cambrian status` (s) | resume (s) | "
          "resume per attempt (ms) |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    from cambrian.store import Store

    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            run_dir = Path(tmp) / "run"
            _, fill, _ = run(run_dir, n, 8, None)
            size = sum(f.stat().st_size for f in run_dir.glob("cambrian.db*")) / 2**20
            start = time.perf_counter()
            Store.open(run_dir).close()
            opened = time.perf_counter() - start
            start = time.perf_counter()
            subprocess.run([str(Path(sys.executable).parent / "cambrian"), "status", str(run_dir)],
                           capture_output=True, check=True, timeout=3600)
            status = time.perf_counter() - start
            start = time.perf_counter()
            # One candidate more than stored: a resume with nothing to do is refused.
            problem, config, store, path = session.prepare(resume=run_dir, overrides={"budget": n + 1})
            result = asyncio.run(session.execute(problem, config, store, path))
            took = time.perf_counter() - start
            assert result.stats.session_candidates == 1, "the resume did not replay the stored attempts"
            print(f"| {n:,} | {fill:.0f} | {size:.0f} | {opened:.2f} | {status:.2f} | {took:.1f} |"
                  f" {took / n * 1e3:.2f} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--throughput", type=int, default=300, help="candidates per throughput run (0: skip)")
    parser.add_argument("--in-flight", type=int, nargs="+", default=[1, 8, 32], help="proposals in flight")
    parser.add_argument("--resume", type=int, nargs="*", default=[10_000, 100_000],
                        help="attempts in the resumed runs (none: skip)")
    args = parser.parse_args()
    print(header("The loop's own cost (evaluation instant)"))
    print(f"{commit()} · {load()} at the start\n")
    if args.throughput:
        throughput(args.throughput, args.in_flight)
    if args.resume:
        resume(args.resume)
    print(f"\n{load()} at the end")


if __name__ == "__main__":
    main()
