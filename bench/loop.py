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
* resume: a run of N candidates (a real run of 1,000, extended by its own strategy
  writing straight into the store) is resumed with a budget of N + 1, so every stored
  attempt is replayed and one is made, then again with N + 2, from the snapshot the
  first resume left; the time to open the store and ``cambrian status`` takes.

    python bench/loop.py [--throughput 300] [--resume 10000 100000 1000000] [--in-flight 1 8 32]
                         [--keep DIR]
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


LOOP_FILL = 1_000   # candidates made by the real loop before a store is extended directly


def extend(run_dir: Path, n: int) -> float:
    """Grow a real run (made by the loop) to ``n`` candidates without the loop's operators
    and asyncio: the run's own strategy (rebuilt from its config and shape, told what is
    stored) asks for each next candidate; the child is a new program (the parent's code
    and a line naming the candidate), scored like ``InstantExecutor``, written with the
    attempt in the store's schema, and told. Rows as a run writes them, at a fraction of
    the loop's cost. Returns the seconds it took."""
    from cambrian.config import build
    from cambrian.program import Program, program_id
    from cambrian.resume import RunShape
    from cambrian.store import NEW, Store
    from cambrian.strategy import Outcome, Proposal, Strategy

    start = time.perf_counter()
    store = Store.open(run_dir)
    cfg = build(store.meta("config"))
    strategy = Strategy(cfg, shape=RunShape.from_dict(store.meta("run_shape")))
    code: dict[str, str] = {}
    sql = ("SELECT a.seq, a.island, a.parent_id, a.inspirations, a.operator, a.program_id, a.outcome, p.status,"
           " p.score, p.metrics, p.code FROM attempts a LEFT JOIN programs p ON p.id = a.program_id ORDER BY a.seq")
    import json

    for seq, island, parent, insp, op, pid, outcome, status, score, metrics, text in store.rows(sql):
        if text is not None:
            code[pid] = text
        features = {**json.loads(metrics or "{}"), "code_length": float(len(text or ""))}
        if seq == 0:
            strategy.seed(pid, score, features)
            continue
        ok = outcome == NEW and status == "ok"
        strategy.tell(Proposal(seq, island, parent, tuple(json.loads(insp)), op),
                      Outcome(pid if ok else None, score if ok else None, features))
    last = store.scalar("SELECT MAX(seq) FROM attempts")
    now = time.time()
    programs, attempts = [], []
    for seq in range(last + 1, n + 1):
        proposal = strategy.ask(seq)
        child = code[proposal.parent_id].rstrip("\n") + f"\n# candidate {seq}\n"
        result = _instant(child)
        pid = program_id(child)
        code[pid] = child
        metrics = result.metrics
        programs.append((pid, seq, child, proposal.parent_id, json.dumps(list(proposal.inspiration_ids)),
                         proposal.operator, 1, proposal.island, OK, "", result.score, json.dumps(metrics), "{}",
                         0.0, None, None, now))
        attempts.append((seq, proposal.island, proposal.parent_id, json.dumps(list(proposal.inspiration_ids)),
                         proposal.operator, pid, NEW, "", 0.0, 0.0, None, now))
        strategy.tell(proposal, Outcome(pid, result.score, {**metrics, "code_length": float(len(child))}))
        if len(attempts) == 10_000 or seq == n:
            with store.conn:
                store.conn.execute("BEGIN")
                store.conn.executemany(f"INSERT INTO programs VALUES ({', '.join('?' * 17)})", programs)
                store.conn.executemany(f"INSERT INTO attempts VALUES ({', '.join('?' * 12)})", attempts)
            programs, attempts = [], []
    store.conn.execute("DELETE FROM snapshots")  # the loop's, of the first candidates only
    store.close()
    return time.perf_counter() - start


def _instant(code: str) -> EvalResult:
    score = int(hashlib.sha256(code.encode()).hexdigest()[:8], 16) / 2**32
    return EvalResult(OK, score=score, metrics={"combined_score": score, "mse": 1 - score})


def _timed(step):
    """(wall s, CPU s of this process and its children) of ``step()``."""
    import resource

    def cpu() -> float:
        own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime

    start, before = time.perf_counter(), cpu()
    step()
    return time.perf_counter() - start, cpu() - before


def resume(sizes: list[int], keep: Path | None) -> None:
    print("\n### Resume and status\n")
    print(f"Each store: a real run of {LOOP_FILL:,} candidates (built-in operators, 8 in flight, evaluation "
          "instant), extended to N candidates by the run's own strategy writing straight into the store "
          "(`extend()`: no operators, no asyncio). Then: `Store.open`; `cambrian status` (a new process, "
          "which folds every row: no run has saved its fold yet); "
          "a resume with a budget of N + 1 that replays all N (no snapshot yet; it saves one every 1,000 "
          "tells); a second resume (N + 2) that starts from the snapshot taken when its last candidate was "
          "asked; `cambrian status` again (the fold the resumes saved, and the few candidates after it). "
          "Wall seconds, CPU seconds (this process and its children) in brackets.\n")
    print("| attempts | fill (s) | store MB | Store.open | `cambrian status`, no fold saved | "
          "`cambrian status` after the resumes | resume, full replay | full replay per attempt (ms CPU) | "
          "resume from a snapshot |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    from cambrian.store import Store

    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            run_dir = Path(keep or tmp) / f"run-{n}"
            if (run_dir / "cambrian.db").exists():  # kept from an earlier --keep run: measured afresh
                fill = float("nan")  # not timed
                reused = Store.open(run_dir)
                last = reused.scalar("SELECT MAX(seq) FROM attempts")
                reused.conn.execute("DELETE FROM attempts WHERE seq > ?", (n,))
                reused.conn.execute("DELETE FROM programs WHERE seq > ?", (n,))
                reused.conn.execute("DELETE FROM snapshots")
                reused.conn.execute("DELETE FROM meta WHERE key = 'summary'")
                reused.close()
                if last < n:  # an extension cut short: go on with it
                    fill = extend(run_dir, n)
            else:
                _, fill, _ = run(run_dir, min(n, LOOP_FILL), 8, None)
                if n > LOOP_FILL:
                    fill += extend(run_dir, n)
            size = sum(f.stat().st_size for f in run_dir.glob("cambrian.db*")) / 2**20
            opened = _timed(lambda: Store.open(run_dir).close())
            status = _timed(lambda: subprocess.run(
                [str(Path(sys.executable).parent / "cambrian"), "status", str(run_dir)],
                capture_output=True, check=True, timeout=3600))

            def again(budget: int) -> None:
                problem, config, store, path = session.prepare(resume=run_dir, overrides={"budget": budget})
                result = asyncio.run(session.execute(problem, config, store, path))
                result.store.close()
                assert result.stats.session_candidates == 1, "the resume did not replay the stored attempts"

            full = _timed(lambda: again(n + 1))
            snap = _timed(lambda: again(n + 2))
            folded = _timed(lambda: subprocess.run(
                [str(Path(sys.executable).parent / "cambrian"), "status", str(run_dir)],
                capture_output=True, check=True, timeout=3600))
            print(f"| {n:,} | {fill:.0f} | {size:.0f} | {opened[0]:.2f} ({opened[1]:.2f}) | {status[0]:.2f} "
                  f"({status[1]:.2f}) | {folded[0]:.2f} ({folded[1]:.2f}) | {full[0]:.1f} ({full[1]:.1f}) | "
                  f"{full[1] / n * 1e3:.3f} | {snap[0]:.2f} ({snap[1]:.2f}) |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--throughput", type=int, default=300, help="candidates per throughput run (0: skip)")
    parser.add_argument("--keep", type=Path, help="keep the resume runs in this directory (run-N); a run "
                        "already there is reused (cut back to N candidates, its snapshots and fold dropped)")
    parser.add_argument("--in-flight", type=int, nargs="+", default=[1, 8, 32], help="proposals in flight")
    parser.add_argument("--resume", type=int, nargs="*", default=[10_000, 100_000, 1_000_000],
                        help="attempts in the resumed runs (none: skip)")
    args = parser.parse_args()
    print(header("The loop's own cost (evaluation instant)"))
    print(f"{commit()} · {load()} at the start\n")
    if args.throughput:
        throughput(args.throughput, args.in_flight)
    if args.resume:
        resume(args.resume, args.keep)
    print(f"\n{load()} at the end")


if __name__ == "__main__":
    main()
