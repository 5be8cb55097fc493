"""Bookkeeping cost per candidate as the store grows: no operator work, no evaluation.

Per candidate: ask (parent + inspiration selection), parent and inspiration reads,
the duplicate check, the store insert (one transaction) and tell (archive insert).
This is everything the runner does around the operator and the evaluator.

Each candidate is timed twice: CPU time of this thread (``time.thread_time``: what the
bookkeeping costs, little moved by other processes on a shared machine) and wall time
(``time.perf_counter``: what a run waits, which includes the store's write system calls
and any time the scheduler gives another process).

    python bench/bookkeeping.py [--sizes 1000 10000 100000 1000000] [--samples 2000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import commit, header, load  # noqa: E402

from cambrian import config  # noqa: E402
from cambrian.program import Program, program_id  # noqa: E402
from cambrian.store import NEW, Attempt, Store  # noqa: E402
from cambrian.strategy import Outcome, Strategy  # noqa: E402

CODE = "def f():\n    # EVOLVE-BLOCK-START\n    x = {i}\n    return x\n    # EVOLVE-BLOCK-END\n"


def fill(store: Store, strategy: Strategy, n: int) -> None:
    """n programs in the store, told to the strategy, written in bulk."""
    rows = []
    for i in range(n):
        code = CODE.format(i=i) + "#" * (i % 50)
        rows.append((program_id(code), i, code, (i * 7919 % 1000) / 1000))
    with store.conn:
        store.conn.execute("BEGIN")
        store.conn.executemany(
            "INSERT INTO programs (id, seq, code, parent_id, operator, generation, island, status,"
            " score, created) VALUES (?, ?, ?, NULL, 'bench', 0, 0, 'ok', ?, 0)", rows)
        store.conn.executemany("INSERT INTO attempts (seq, island, operator, program_id, outcome, created)"
                               " VALUES (?, 0, 'bench', ?, 'new', 0)", ((i, pid) for pid, i, _, _ in rows))
    rows = [(pid, score) for pid, _, _, score in rows]
    strategy.seed(rows[0][0], rows[0][1], features(rows[0][1], 60))
    for seq, (pid, score) in enumerate(rows[1:], start=1):
        strategy.tell(strategy.ask(seq), Outcome(pid, score, features(score, 60 + seq % 50)))


def features(score: float, length: int) -> dict[str, float]:
    return {"combined_score": score, "code_length": float(length)}


def measure(n: int, samples: int, cfg: config.Config) -> tuple[list[float], list[float]]:
    """(CPU seconds, wall seconds) of each of ``samples`` candidates after ``n`` programs."""
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.create(Path(tmp) / "cambrian.db", {"config": cfg.to_dict()})
        strategy = Strategy(cfg, mate_operators=frozenset({"crossover"}))
        fill(store, strategy, n)
        cpu, wall = [], []
        for k in range(samples):
            seq = n + k
            start, start_cpu = time.perf_counter(), time.thread_time()
            proposal = strategy.ask(seq)
            parent = store.program(proposal.parent_id)
            _ = [store.program(i) for i in proposal.inspiration_ids]
            code = CODE.format(i=seq) + "# child"
            pid = program_id(code)
            if not store.has_program(pid):
                score = (seq * 7919 % 1000) / 1000
                program = Program(pid, code, parent.id, proposal.operator, parent.generation + 1,
                                  proposal.island, "ok", score=score, seq=seq)
                store.record(Attempt(seq, proposal.island, parent.id, proposal.inspiration_ids,
                                     proposal.operator, pid, NEW), program)
                strategy.tell(proposal, Outcome(pid, score, features(score, len(code) + seq % 100)))
            cpu.append(time.thread_time() - start_cpu)
            wall.append(time.perf_counter() - start)
        store.close()
        return cpu, wall


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000, 1000000],
                        help="programs in the store before the timed candidates")
    parser.add_argument("--samples", type=int, default=2000, help="timed candidates per row")
    args = parser.parse_args()
    setups = {
        "defaults (1 island x 40)": config.build({"budget": 200}),
        "5 islands, 10x10 MAP-Elites": config.build({
            "islands": {"count": 5},
            "archive": {"features": [{"name": "code_length", "bins": 10, "min": 0, "max": 200},
                                     {"name": "combined_score", "bins": 10, "min": 0, "max": 1}]},
        }),
    }
    print(header("Bookkeeping per candidate (ask + reads + dedupe + store insert + tell)"))
    print(f"{commit()} · {load()} at the start\n")
    print("| setup | programs in store | median CPU ms | median wall ms | p95 wall ms | candidates/s (wall) |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, cfg in setups.items():
        for n in args.sizes:
            cpu, wall = measure(n, args.samples, cfg)
            wall.sort()
            med = statistics.median(wall) * 1e3
            p95 = wall[int(0.95 * len(wall))] * 1e3
            print(f"| {name} | {n:,} | {statistics.median(cpu) * 1e3:.3f} | {med:.3f} | {p95:.3f} |"
                  f" {1e3 / med:,.0f} |", flush=True)
    print(f"\n{load()} at the end")


if __name__ == "__main__":
    main()
