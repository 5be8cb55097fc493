"""How fast a run's store grows: bytes per candidate with every proposal from an LLM.

A real run (``cambrian.evolve``, LLM share 1.0) against an instant fake
OpenAI-compatible server on 127.0.0.1 that answers each prompt with a SEARCH/REPLACE
edit of a constant of the program it was shown, plus a paragraph of explanation. Two
problems: a small prompt (examples/toy, 11 lines) and a realistic one
(examples/circle_packing, 67 lines). For each: the store's size per candidate (after a
WAL checkpoint), and what the LLM exchanges take as stored (content-addressed,
compressed parts) against the same exchanges kept whole.

    python bench/store_size.py [--budget 300] [--workers 4]
"""

from __future__ import annotations

import argparse
import json
import re
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _machine import commit, header, load  # noqa: E402

from tests.fake_llm import FakeLLM  # noqa: E402

PROBLEMS = {"small prompt (examples/toy)": ROOT / "examples" / "toy",
            "realistic prompt (examples/circle_packing)": ROOT / "examples" / "circle_packing"}

EXPLANATION = ("The current value looks slightly off its optimum, so this edit nudges one constant; "
               "a small step keeps the rest of the program's behaviour and makes the effect of the "
               "change easy to read in the score.\n\n")
NUMBER = re.compile(r"(?<![\w.])(\d+\.\d+|\d+)(?![\w.])")


def edit(request: dict) -> dict:
    """A SEARCH/REPLACE that changes one number inside the shown program's evolve block."""
    user = next((m["content"] for m in request["messages"] if m["role"] == "user"), "")
    code = re.search(r"```python\n(.*?)```", user, re.S)
    if code is None:
        return {"text": "no idea"}
    block = code.group(1).split("EVOLVE-BLOCK-START", 1)[-1].split("EVOLVE-BLOCK-END", 1)[0]
    lines = [line for line in block.splitlines() if NUMBER.search(line) and "EVOLVE" not in line]
    if not lines:
        return {"text": "no idea"}
    digest = sum(map(ord, user))
    line = lines[digest % len(lines)]
    step = 1 + (digest % 7) / 100
    new = NUMBER.sub(lambda m: repr(round(float(m.group(1)) * step, 6)), line, count=1)
    return {"text": f"{EXPLANATION}<<<<<<< SEARCH\n{line}\n=======\n{new}\n>>>>>>> REPLACE\n"}


def measure(problem: Path, budget: int, workers: int) -> dict[str, float]:
    import cambrian

    with FakeLLM(default=edit) as llm, tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "run"
        start = time.perf_counter()
        cambrian.evolve(problem, run_dir=run, budget=budget, seed=0, workers=workers,
                        llm__models=[{"model": f"openai:bench@{llm.url}"}], llm__share=1.0,
                        operator_choice="weights")
        seconds = time.perf_counter() - start
        db = run / "cambrian.db"
        conn = sqlite3.connect(db)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        candidates = conn.execute("SELECT COUNT(*) FROM attempts WHERE seq > 0").fetchone()[0]
        calls = conn.execute("SELECT COUNT(*) FROM llm_calls").fetchone()[0]
        stored = conn.execute("SELECT COALESCE(SUM(LENGTH(request) + LENGTH(reply)), 0) FROM llm_calls").fetchone()[0]
        stored += conn.execute("SELECT COALESCE(SUM(LENGTH(body) + LENGTH(hash)), 0) FROM texts").fetchone()[0]
        conn.close()
        from cambrian.store import Store

        store = Store.open(db)
        whole = 0
        for seq, attempt in store.rows("SELECT seq, attempt FROM llm_calls"):
            call = store.recorded_call(seq, attempt)
            whole += len(call["request"].encode()) + len(call["reply"].encode())
        prompt = json.loads(store.recorded_call(*store.rows("SELECT seq, attempt FROM llm_calls LIMIT 1")[0])["request"])
        store.close()
        return {"candidates": candidates, "calls": calls, "file": db.stat().st_size, "stored": stored,
                "whole": whole, "prompt": sum(len(m["content"]) for m in prompt), "seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--budget", type=int, default=300, help="candidates per run")
    parser.add_argument("--workers", type=int, default=4, help="proposals in flight")
    args = parser.parse_args()
    print(header("Store growth per candidate, every proposal from an LLM"))
    print(f"{commit()} · {load()} at the start\n")
    print("| problem | prompt chars | candidates | LLM calls | store bytes / candidate |"
          " exchange bytes / call, stored | same, kept whole | ratio |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, problem in PROBLEMS.items():
        m = measure(problem, args.budget, args.workers)
        print(f"| {name} | {m['prompt']:,} | {m['candidates']:,} | {m['calls']:,} |"
              f" {m['file'] / max(1, m['candidates']):,.0f} | {m['stored'] / max(1, m['calls']):,.0f} |"
              f" {m['whole'] / max(1, m['calls']):,.0f} | {m['whole'] / max(1, m['stored']):.1f}x |", flush=True)
    print(f"\n{load()} at the end")


if __name__ == "__main__":
    main()
