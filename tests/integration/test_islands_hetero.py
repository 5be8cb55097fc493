"""Heterogeneous islands end to end: two model families (real HTTP to the fake server),
one per island, each with its own prompt instructions; elites migrate; status shows
each island's and each model's contribution."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import cambrian
from tests.fake_llm import FakeLLM, nudging_model
from tests.runs import TOY


@pytest.mark.slow
def test_islands_keep_their_models_and_prompts_and_still_migrate(tmp_path):
    run = tmp_path / "run"
    with FakeLLM(default=nudging_model()) as server:
        result = cambrian.evolve(
            TOY, run_dir=run, budget=40, seed=2, workers=2, search__policy="islands", islands__count=2,
            islands__migration_interval=8,
            llm__models=[{"model": f"openai:alpha@{server.url}"}, {"model": f"openai:beta@{server.url}"}],
            islands__profiles=[{"models": ["openai:alpha"], "builtin": False, "instructions": "ALPHA-NOTE"},
                               {"models": ["openai:beta"], "formats": ["diff"], "instructions": "BETA-NOTE"}])
        requests = list(server.requests)
    store = result.store
    pairs = set(store.rows("SELECT island, model FROM attempts WHERE seq > 0 AND model IS NOT NULL"))
    assert pairs == {(0, "openai:alpha"), (1, "openai:beta")}
    operators = {op for (op,) in store.rows("SELECT operator FROM attempts WHERE seq > 0 AND island = 0")}
    assert operators <= {"llm:openai:alpha:diff", "llm:openai:alpha:rewrite", "llm:openai:alpha:crossover"}
    for request in requests:
        text = json.dumps(request["messages"])
        mine, other = ("ALPHA-NOTE", "BETA-NOTE") if request["model"] == "alpha" else ("BETA-NOTE", "ALPHA-NOTE")
        assert mine in text and other not in text
    archive = store.meta("state")["archive"]
    born = {pid: island for pid, island in store.rows("SELECT id, island FROM programs")}
    migrants = [(i, pid) for i, elites in enumerate(archive) for pid in elites if born[pid] != i and
                store.scalar("SELECT seq FROM programs WHERE id = ?", pid) > 0]
    assert migrants, "no elite born on one island sits in the other's archive"

    out = subprocess.run([sys.executable, "-m", "cambrian.cli", "status", str(run)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    for text in ("contribution by island", "contribution by model", "island 1", "openai:alpha", "openai:beta",
                 "built-in operators", "archive share"):
        assert text in out.stdout, out.stdout
