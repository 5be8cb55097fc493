"""One real `cambrian run` per shipped benchmark problem, with a tiny budget: the
evaluator works under the sandbox (the candidate in its own process) and the run
stores the initial program with the value its README states."""

import json
import sqlite3
import subprocess
import sys

import pytest

from tests.conftest import EXAMPLES
from tests.examples.helpers import INITIAL, NOISE


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(INITIAL))
def test_cambrian_run(tmp_path, name):
    run = tmp_path / "run"
    proc = subprocess.run([sys.executable, "-m", "cambrian.cli", "run", str(EXAMPLES / name), "--budget", "3",
                           "--run-dir", str(run), "--quiet", "--workers", "1"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    db = sqlite3.connect(run / "cambrian.db")
    initial = db.execute("SELECT status, reason, score, metrics FROM programs ORDER BY seq LIMIT 1").fetchone()
    assert initial[0] == "ok", initial
    assert initial[2] == pytest.approx(INITIAL[name], rel=1e-12, abs=NOISE.get(name, 0.0))
    metrics = json.loads(initial[3])
    assert metrics["record"] == 0.0 and metrics["score_raw"] == initial[2]
    statuses = {row[0] for row in db.execute("SELECT status FROM programs")}
    assert statuses <= {"ok", "invalid"}, statuses


HOSTILE = {
    "NaN radii": ("r = np.full(26, np.nan)", "non-finite"),
    "a 4.01 packing": ("r = np.full(26, 4.01 / 26)", "overlap"),
    "negative radius": ("r = np.full(26, 0.05); r[0] = -1.0", "negative"),
    "complex radii": ("r = np.full(26, 0.05) + 0j", "complex"),
    "subnormal radii": ("r = np.full(26, 1e-310)", "underflows"),
    "patches the evaluator": ("import sys; m = sys.modules.get('evaluate'); "
                              "setattr(m, 'check', lambda c: (c[0], c[1], 0.0)) if m else None; "
                              "r = np.full(26, 0.2)", "overlap"),
}


@pytest.mark.slow
def test_hostile_circle_packings_are_invalid_in_the_sandbox(tmp_path):
    """Through the real warm pool: each exploit is `invalid` with the evaluator's reason."""
    import asyncio

    from cambrian.evaluation import INVALID, PoolEvaluator, Spec

    spec = Spec(EXAMPLES / "circle_packing" / "evaluate.py", timeout=60,
                objective_range=(0.0, 2.877), preload=("numpy",))

    def program(line):
        return ("import numpy as np\n\ndef construct():\n    # EVOLVE-BLOCK-START\n"
                "    c = np.tile([0.5, 0.5], (26, 1))\n"
                f"    {line}\n    return c, r\n    # EVOLVE-BLOCK-END\n")

    async def go():
        ev = PoolEvaluator(spec)
        try:
            return [await ev.evaluate(program(line)) for line, _ in HOSTILE.values()]
        finally:
            await ev.close()

    for (case, (_, fragment)), result in zip(HOSTILE.items(), asyncio.run(go())):
        assert result.status == INVALID, (case, result)
        assert fragment in result.feedback.get("invalid", ""), (case, result.feedback)
        assert result.score is None


@pytest.mark.slow
def test_polish_end_to_end_is_recorded_apart(tmp_path):
    """The README's opt-in: the environment variable, passed through, and the objective chosen."""
    import os

    run = tmp_path / "run"
    env = {**os.environ, "CAMBRIAN_POLISH": "1"}
    proc = subprocess.run([sys.executable, "-m", "cambrian.cli", "run", str(EXAMPLES / "erdos_min_overlap"),
                           "--budget", "1", "--run-dir", str(run), "--quiet", "--workers", "1",
                           "--set", "evaluation.pass_env=[CAMBRIAN_POLISH]", "--set", "objective=score_polished"],
                          capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stderr
    db = sqlite3.connect(run / "cambrian.db")
    score, metrics = db.execute("SELECT score, metrics FROM programs ORDER BY seq LIMIT 1").fetchone()
    metrics = json.loads(metrics)
    assert metrics["score_raw"] == pytest.approx(0.5) and metrics["combined_score"] == metrics["score_raw"]
    assert score == metrics["score_polished"] < 0.45
    assert metrics["polish_gain"] == pytest.approx(0.5 - score)
