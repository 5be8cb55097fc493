"""Same seed, same worker count, same operator replies: the same store, whatever the latencies.

Random delays are injected into the model's replies and into every evaluation, and two
runs are compared on what they store: every attempt, every program's status and score,
and the archive's contents at the end."""

import json
import os
import random
import sqlite3
import subprocess
import sys

from tests.conftest import LOADER, write_problem
from tests.fake_llm import FakeLLM, nudging_model

PROGRAM = """
def solve():
    # EVOLVE-BLOCK-START
    x = 1.0
    y = -2.0
    return x, y
    # EVOLVE-BLOCK-END
"""

JITTERY_EVALUATOR = LOADER + """
import random, time
def evaluate(path):
    time.sleep(random.SystemRandom().uniform(0.0, 0.08))   # a latency no seed controls
    x, y = load(path).solve()
    d = (x - 3.0) ** 2 + (y - 0.5) ** 2
    return {"combined_score": 1.0 / (1.0 + d), "d": d}
"""


def _jittery(model):
    chance = random.SystemRandom()

    def respond(request):
        return {**model(request), "sleep": chance.uniform(0.0, 0.15)}
    return respond


def _snapshot(db):
    conn = sqlite3.connect(db)
    try:
        attempts = conn.execute("SELECT seq, island, parent_id, inspirations, operator, program_id, outcome, reason,"
                                " cost, model FROM attempts ORDER BY seq").fetchall()
        programs = conn.execute("SELECT id, seq, parent_id, operator, generation, island, status, reason, score,"
                                " metrics FROM programs ORDER BY seq").fetchall()
        state = json.loads(conn.execute("SELECT value FROM meta WHERE key = 'state'").fetchone()[0])
        return attempts, programs, state["archive"]
    finally:
        conn.close()


def test_latencies_do_not_change_the_store(tmp_path):
    problem = write_problem(tmp_path / "p", PROGRAM, JITTERY_EVALUATOR,
                            "budget: 60\nworkers: 4\nseed: 11\nislands: {count: 2, migration_interval: 10}\n"
                            "archive: {features: [{name: d, bins: 4, min: 0, max: 20}]}\n"
                            "llm: {share: 0.8}\noperator_choice: weights\n")
    snapshots = []
    with FakeLLM(default=_jittery(nudging_model(step=0.5))) as server:
        for run in ("a", "b"):
            proc = subprocess.run(
                [sys.executable, "-m", "cambrian.cli", "run", str(problem), "--run-dir", str(tmp_path / run),
                 "--model", f"openai:nudge@{server.url}", "--quiet"],
                env={**os.environ, "OPENAI_API_KEY": "sk-fake"}, capture_output=True, text=True, timeout=300)
            assert proc.returncode == 0, proc.stderr
            snapshots.append(_snapshot(tmp_path / run / "cambrian.db"))
    (attempts_a, programs_a, archive_a), (attempts_b, programs_b, archive_b) = snapshots
    assert len(attempts_a) == 61
    outcomes = {row[6] for row in attempts_a}
    assert "duplicate" in outcomes, "the test must exercise identical candidates"
    assert any(row[4].startswith("llm:") for row in attempts_a) and any(row[4] == "perturb" for row in attempts_a)
    assert attempts_a == attempts_b
    assert programs_a == programs_b
    assert archive_a == archive_b and sum(map(len, archive_a)) > 2
