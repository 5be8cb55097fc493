"""One real `cambrian run` per shipped benchmark problem, with a tiny budget: the
evaluator works under the sandbox (the candidate in its own process) and the run
stores the initial program with the value its README states."""

import json
import sqlite3
import subprocess
import sys

import pytest

from tests.conftest import EXAMPLES
from tests.examples.helpers import INITIAL


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
    assert initial[2] == pytest.approx(INITIAL[name], rel=1e-12)
    metrics = json.loads(initial[3])
    assert metrics["record"] == 0.0 and metrics["score_raw"] == initial[2]
    statuses = {row[0] for row in db.execute("SELECT status FROM programs")}
    assert statuses <= {"ok", "invalid"}, statuses
