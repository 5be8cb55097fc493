"""Bookkeeping cost per candidate as the store grows: no operator work, no evaluation.

Per candidate: ask (parent + inspiration selection), parent and inspiration reads,
the duplicate check, the store insert (one transaction) and tell (archive insert).
This is everything the runner does around the operator and the evaluator.

    python bench/bookkeeping.py [--sizes 1000 10000 100000] [--samples 2000]
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

from _machine import header  # noqa: E402

from cambrian import config  # noqa: E402
from cambrian.program import Program, program_id  # noqa: E402
from cambrian.store import NEW, Attempt, Store  # noqa: E402
from cambrian.strategy import Outcome, Strategy  # noqa: E402

CODE = "def f():\n    # EVOLVE-BLOCK-START\n    x = {i}\n    return x\n    # EVOLVE-BLOCK-END\n"


def fill(store: Store, strategy: Strategy, n: int) -> None:
    """n programs in the store, told to the strategy, written in bulk."""
    rows = []
    with store.conn:
        store.conn.execute("BEGIN")
        for i in range(n):
            code = CODE.format(i=i) + "#" * (i % 50)
            pid = program_id(code)
            score = (i * 7919 % 1000) / 1000
            store.conn.execute(
                "INSERT INTO programs (id, seq, code, parent_id, operator, generation, island, status,"
                " score, created) VALUES (?, ?, ?, NULL, 'bench', 0, 0, 'ok', ?, 0)",
                (pid, i, code, score))
            store.conn.execute("INSERT INTO attempts (seq, island, operator, program_id, outcome, created)"
                               " VALUES (?, 0, 'bench', ?, 'new', 0)", (i, pid))
            rows.append((pid, score))
    strategy.seed(rows[0][0], rows[0][1], features(rows[0][1], 60))
    for seq, (pid, score) in enumerate(rows[1:], start=1):
        strategy.tell(strategy.ask(seq), Outcome(pid, score, features(score, 60 + seq % 50)))


def features(score: float, length: int) -> dict[str, float]:
    return {"combined_score": score, "code_length": float(length)}


def measure(n: int, samples: int, cfg: config.Config) -> list[float]:
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.create(Path(tmp) / "cambrian.db", {"config": cfg.to_dict()})
        strategy = Strategy(cfg, mate_operators=frozenset({"crossover"}))
        fill(store, strategy, n)
        times = []
        for k in range(samples):
            seq = n + k
            start = time.perf_counter()
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
            times.append(time.perf_counter() - start)
        store.close()
        return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--samples", type=int, default=2000)
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
    print("| setup | programs in store | median ms | p95 ms | candidates/s |")
    print("|---|---:|---:|---:|---:|")
    for name, cfg in setups.items():
        for n in args.sizes:
            times = sorted(measure(n, args.samples, cfg))
            med = statistics.median(times) * 1e3
            p95 = times[int(0.95 * len(times))] * 1e3
            print(f"| {name} | {n:,} | {med:.3f} | {p95:.3f} | {1e3 / med:,.0f} |", flush=True)


if __name__ == "__main__":
    main()
