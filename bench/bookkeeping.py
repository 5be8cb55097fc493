"""Bookkeeping cost per candidate as the store grows: no operator work, no evaluation.

Per candidate: ask (parent + inspiration selection), parent and inspiration reads,
the duplicate check (content hash, then the store's set of ids), the store insert (one
write of the candidate's rows to the store's pending log, and its share of the fold
that moves every 1,000 candidates into SQLite in one transaction) and tell (archive
insert). The loop never waits here, so the store folds by count (a run folds whenever
it waits for a result as well). This is everything the runner does around the
operator and the evaluator. The child's code (the operator's product) is made before
the clock starts.

The clocks are read once per batch of candidates (``--batch``, 100) and divided, so
reading a clock (``time.thread_time`` is a system call, 1-200 us on a loaded VM) stays
out of the figure: per batch, CPU time of this thread (what the bookkeeping costs,
little moved by other processes on a shared machine) and wall time (what a run waits:
the store's write system calls and its WAL checkpoints, and any time the scheduler
gives another process); the median batch leaves the folds out (one batch in ten holds
one), the mean CPU per candidate counts them. Before the first batch, the duplicate check's first call
reads the stored ids into a set (what a resumed session pays once): its seconds and the
set's size are the last column. A batch that holds a WAL checkpoint (every 4,000 pages
written) is slower: the median batch says what a candidate usually costs, the mean
what a run of many candidates pays. The split by phase (each phase's mean wall time per
candidate, in us, folds included) reads ``time.perf_counter`` (no system call)
around each phase. A last table times the store's SQL alone: committed per candidate (a
transaction per candidate, as the store did before its pending log) and per 1,000
candidates (a fold).

    python bench/bookkeeping.py [--sizes 1000 10000 100000 1000000] [--samples 5000] [--batch 100]
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
from cambrian.store import FOLD_EVERY, NEW, Attempt, Store  # noqa: E402
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


PHASES = ("ask", "reads", "dedupe", "insert", "tell")


def measure(n: int, samples: int, batch: int, cfg: config.Config) -> dict[str, list[float]]:
    """Per batch of ``batch`` candidates after ``n`` programs, each figure divided by ``batch``:
    CPU seconds of this thread, wall seconds, and the wall seconds of each phase."""
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.create(Path(tmp) / "cambrian.db", {"config": cfg.to_dict()})
        strategy = Strategy(cfg, mate_operators=frozenset({"crossover"}))
        fill(store, strategy, n)
        # The duplicate check's first call reads the stored ids (once per session, e.g. on resume).
        start = time.perf_counter()
        store.has_program("")
        stored = getattr(store, "_ids", None) or {}  # (a store that keeps no ids: none)
        ids = [time.perf_counter() - start, (sys.getsizeof(stored) + sum(map(sys.getsizeof, stored))) / 2**20]
        out: dict[str, list[float]] = {"cpu": [], "wall": [], "ids": ids, **{p: [] for p in PHASES}}
        clock = time.perf_counter
        for first in range(n, n + samples - samples % batch, batch):
            # The operator's product (the child's code) is made before the clock starts.
            codes = [CODE.format(i=seq) + "# child" for seq in range(first, first + batch)]
            stamps = []   # per candidate, the clock before each phase and after the last one
            start, start_cpu = clock(), time.thread_time()
            for seq, code in zip(range(first, first + batch), codes):
                t0 = clock()
                proposal = strategy.ask(seq)
                t1 = clock()
                parent = store.program(proposal.parent_id)
                _ = [store.program(i) for i in proposal.inspiration_ids]
                t2 = clock()
                pid = program_id(code)
                known = store.has_program(pid)
                t3 = clock()
                if not known:
                    score = (seq * 7919 % 1000) / 1000
                    program = Program(pid, code, parent.id, proposal.operator, parent.generation + 1,
                                      proposal.island, "ok", score=score, seq=seq)
                    store.record(Attempt(seq, proposal.island, parent.id, proposal.inspiration_ids,
                                         proposal.operator, pid, NEW), program)
                    t4 = clock()
                    strategy.tell(proposal, Outcome(pid, score, features(score, len(code) + seq % 100)))
                else:
                    t4 = clock()
                stamps.append((t0, t1, t2, t3, t4, clock()))
            out["cpu"].append((time.thread_time() - start_cpu) / batch)
            out["wall"].append((clock() - start) / batch)
            for i, phase in enumerate(PHASES):
                out[phase].append(sum(t[i + 1] - t[i] for t in stamps) / batch)
        store.close()
        return out


def bare_sql(n: int, samples: int, batch: int, per_commit: int) -> tuple[float, float, float, float]:
    """The store's statements alone (the two INSERTs of a candidate, and a COMMIT every
    ``per_commit`` candidates) after ``n`` programs: (median CPU s, mean CPU s, median wall s,
    mean wall s) per candidate over batches."""
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.create(Path(tmp) / "cambrian.db", {})
        conn = store.conn

        def rows(seq: int) -> tuple[tuple, tuple]:
            code = CODE.format(i=seq)
            pid, parent = program_id(code), program_id(CODE.format(i=seq // 3))
            return ((pid, seq, code, parent, "[]", "bench", 1, 0, "ok", "", (seq * 7919 % 1000) / 1000, "{}", "{}",
                     0.0, None, None, 0.0), (seq, 0, parent, "[]", "bench", pid, "new", "", 0.0, 0.0, None, 0.0))

        programs = f"INSERT INTO programs VALUES ({', '.join('?' * 17)})"
        attempts = f"INSERT INTO attempts VALUES ({', '.join('?' * 12)})"
        with conn:
            conn.execute("BEGIN")
            for seq in range(n):
                program, attempt = rows(seq)
                conn.execute(programs, program)
                conn.execute(attempts, attempt)
        cpu, wall = [], []
        last = n + samples - samples % batch - 1
        for first in range(n, last + 1, batch):
            made = [rows(seq) for seq in range(first, first + batch)]
            start, start_cpu = time.perf_counter(), time.thread_time()
            for seq, (program, attempt) in zip(range(first, first + batch), made):
                if (seq - n) % per_commit == 0:
                    conn.execute("BEGIN")
                conn.execute(programs, program)
                conn.execute(attempts, attempt)
                if (seq - n) % per_commit == per_commit - 1 or seq == last:
                    conn.execute("COMMIT")
            cpu.append((time.thread_time() - start_cpu) / batch)
            wall.append((time.perf_counter() - start) / batch)
        store.close()
        return statistics.median(cpu), statistics.mean(cpu), statistics.median(wall), statistics.mean(wall)


def _count(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=_count, nargs="+", default=[1000, 10000, 100000, 1000000],
                        help="programs in the store before the timed candidates")
    parser.add_argument("--samples", type=_count, default=5000, help="timed candidates per row")
    parser.add_argument("--batch", type=_count, default=100, help="candidates per clock reading")
    args = parser.parse_args()
    if args.samples < args.batch:
        parser.error(f"--samples {args.samples} is less than one clocked batch (--batch {args.batch})")
    setups = {
        "defaults (1 island x 40)": config.build({"budget": 200}),
        "5 islands, 10x10 MAP-Elites": config.build({
            "islands": {"count": 5},
            "archive": {"features": [{"name": "code_length", "bins": 10, "min": 0, "max": 200},
                                     {"name": "combined_score", "bins": 10, "min": 0, "max": 1}]},
        }),
    }
    print(header("Bookkeeping per candidate (ask + reads + dedupe + store insert + tell)"))
    print(f"{commit()} · {load()} at the start · {args.samples:,} candidates per row, clocked per batch of "
          f"{args.batch}\n")
    print("| setup | programs in store | median CPU ms | mean CPU ms | median wall ms | mean wall ms |"
          " slowest batch, wall ms | ask | reads | dedupe | insert | tell | candidates/s (wall) |"
          " reading the ids: s, MB |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, cfg in setups.items():
        for n in args.sizes:
            got = measure(n, args.samples, args.batch, cfg)
            wall = got["wall"]
            split = " | ".join(f"{statistics.mean(got[p]) * 1e6:.0f}" for p in PHASES)
            print(f"| {name} | {n:,} | {statistics.median(got['cpu']) * 1e3:.3f} | {statistics.mean(got['cpu']) * 1e3:.3f}"
                  f" | {statistics.median(wall) * 1e3:.3f}"
                  f" | {statistics.mean(wall) * 1e3:.3f} | {max(wall) * 1e3:.3f} | {split} |"
                  f" {1 / statistics.mean(wall):,.0f} | {got['ids'][0]:.2f}, {got['ids'][1]:.0f} |", flush=True)
    print("\nThe store's SQL alone (a candidate's two INSERTs; a COMMIT per candidate, as the store did before"
          f" its pending log, or per {FOLD_EVERY:,} candidates, a fold), after {args.sizes[0]:,} programs,"
          " ms per candidate:\n")
    print("| COMMIT | median CPU ms | mean CPU ms | median wall ms | mean wall ms |")
    print("|---|---:|---:|---:|---:|")
    for per_commit in (1, FOLD_EVERY):
        cpu, mean_cpu, med, mean = bare_sql(args.sizes[0], max(args.samples, 2 * FOLD_EVERY), args.batch, per_commit)
        label = "per candidate (before)" if per_commit == 1 else f"per {per_commit:,} candidates (a fold)"
        print(f"| {label} | {cpu * 1e3:.3f} | {mean_cpu * 1e3:.3f} | {med * 1e3:.3f} | {mean * 1e3:.3f} |",
              flush=True)
    print(f"\n{load()} at the end")


if __name__ == "__main__":
    main()
