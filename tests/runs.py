"""Runs to look at, for the UI, report and export tests: a real small one and a large synthetic one."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cambrian.program import Program, program_id
from cambrian.store import DUPLICATE, FAILED, NEW, Attempt, Store

TOY = Path(__file__).resolve().parents[1] / "examples" / "toy"
FEATURES = [{"name": "mse", "bins": 8, "min": 0.0, "max": 0.05},
            {"name": "code_length", "bins": 6, "min": 150, "max": 260}]


def real_run(run_dir: Path, *, budget: int = 60, llm_url: str | None = None) -> Path:
    """A real evolution of examples/toy: two islands, a MAP-Elites grid, and (with ``llm_url``,
    a fake OpenAI-compatible server) LLM operators whose prompts, replies and cost are recorded."""
    import cambrian

    overrides = dict(budget=budget, seed=1, islands__count=2, search__policy="islands", archive__features=FEATURES,
                     workers=2)
    if llm_url is not None:
        overrides.update(llm__models=[{"model": f"openai:nudge@{llm_url}", "price_in": 1.0, "price_out": 4.0}],
                         llm__share=0.5, operator_choice="weights")
    cambrian.evolve(TOY, run_dir=run_dir, **overrides)
    return run_dir


def synthetic_run(run_dir: Path, n: int = 10_000, *, seed: int = 0, features: list | None = None) -> Path:
    """A store of ``n`` candidates written through ``Store.record`` (so it follows the
    schema): 4 islands, two features, failures of several kinds, duplicates, LLM calls."""
    rng = np.random.default_rng(seed)
    config = {"objective": "combined_score", "direction": "maximize", "budget": n, "islands": {"count": 4},
              "archive": {"features": features or [{"name": "x", "bins": 10, "min": 0.0, "max": 1.0},
                                                   {"name": "code_length", "bins": 10, "min": 0, "max": 200}]}}
    store = Store.create(run_dir / Store.FILE, {"problem": "/synthetic/problem", "config": config})
    store.conn.execute("PRAGMA synchronous=OFF")  # test data: durability is not the point
    store.event("started", budget=n, workers=4, islands=4)
    root = _code(0)
    store.record(Attempt(0, 0, None, (), "initial", program_id(root), NEW),
                 Program(program_id(root), root, None, "initial", 0, 0, "ok", score=0.1,
                         metrics={"combined_score": 0.1, "x": 0.5}, seq=0))
    valid: list[tuple[str, float, int]] = [(program_id(root), 0.1, 0)]
    for seq in range(1, n + 1):
        island = seq % 4
        parent_id, parent_score, generation = valid[int(rng.integers(max(0, len(valid) - 50), len(valid)))]
        operator = ["perturb", "structural", "crossover", "llm:openai:m1:diff"][seq % 4]
        model = "openai:m1" if operator.startswith("llm:") else None
        cost = 0.001 if model else 0.0
        if model:
            store.record_call(seq=seq, attempt=0, model=model, request='[{"role": "user", "content": "improve"}]',
                              request_hash=str(seq), reply="<<<<<<< SEARCH", tokens_in=100, tokens_out=50, cost=cost)
        roll = rng.random()
        if roll < 0.05:
            store.record(Attempt(seq, island, parent_id, (), operator, None, FAILED, "edit did not apply: no match",
                                 cost=cost, model=model))
            continue
        if roll < 0.08:
            store.record(Attempt(seq, island, parent_id, (), operator, parent_id, DUPLICATE,
                                 "same code as a stored program", cost=cost, model=model))
            continue
        code = _code(seq)
        pid = program_id(code)
        if roll < 0.15:
            status, reason, score = "error", "evaluate() raised CandidateError: ZeroDivisionError: division by zero", None
        elif roll < 0.18:
            status, reason, score = "timeout", "timeout: wall clock 10 s", None
        else:
            status, reason = "ok", ""
            score = parent_score + float(rng.normal(0, 0.01))
        metrics = {"combined_score": score, "x": float(rng.random())} if score is not None else {}
        inspirations = (valid[-1][0],) if operator == "crossover" else ()
        store.record(Attempt(seq, island, parent_id, inspirations, operator, pid, NEW, reason, 0.01, cost, model),
                     Program(pid, code, parent_id, operator, generation + 1, island, status, reason, score,
                             metrics, {"stdout": "x"}, seq=seq, eval_seconds=0.01))
        if score is not None:
            valid.append((pid, score, generation + 1))
    store.event("stopped", reason="budget")
    store.close()
    return run_dir


def _code(seq: int) -> str:
    return f"def f():\n    # EVOLVE-BLOCK-START\n    return {seq}\n    # EVOLVE-BLOCK-END\n"
