"""A whole run fed hostile candidates: every one is recorded with a status and a
reason, the run finishes its budget, the store stays intact, nothing is left running."""

import asyncio
import json
import shutil
import sqlite3
import tempfile
from pathlib import Path

from cambrian.operators import Candidate
from cambrian.session import build_runner, prepare
from tests.conftest import write_problem
from tests.integration.test_hostile import left_behind

PROGRAM = """
def run():
    # EVOLVE-BLOCK-START
    return {"combined_score": 1.0}
    # EVOLVE-BLOCK-END
"""
EVALUATOR = """
from cambrian.candidate import load

def evaluate(path):
    return load(path).run()
"""
ATTACKS = {
    "loop": "    while True:\n        pass\n",
    "fork bomb": "    import os\n    while True:\n        os.fork()\n",
    "memory bomb": "    x = bytearray(8 * 1024**3)\n",
    "segfault": "    import ctypes\n    ctypes.string_at(0)\n",
    "exit": "    import os\n    os._exit(3)\n",
    "kill parent": "    import os\n    os.kill(os.getppid(), 9)\n",
    "flood": "    import sys\n    sys.stdout.write('x' * (1 << 28))\n",
    "nan": "    return {'combined_score': float('nan')}\n",
    "socket": "    import socket\n    socket.create_connection(('127.0.0.1', 9), timeout=1)\n",
    "fine": "    return {'combined_score': 2.0}\n",
}


class Hostile:
    name = "hostile"
    needs_mate = False

    def __init__(self):
        self.turn = 0

    async def propose(self, parent, inspirations, context, rng):
        body = list(ATTACKS.values())[self.turn % len(ATTACKS)]
        self.turn += 1
        start = parent.code.index("# EVOLVE-BLOCK-START\n") + len("# EVOLVE-BLOCK-START\n")
        end = parent.code.index("    # EVOLVE-BLOCK-END")
        return Candidate(parent.code[:start] + body + f"    # {self.turn}\n" + parent.code[end:])


def test_a_run_of_hostile_candidates(tmp_path):
    problem = write_problem(tmp_path / "p", PROGRAM, EVALUATOR,
                            "evaluation:\n  timeout: 3\n  memory_mb: 1024\n  processes: 64\n")
    problem, config, store, run_path = prepare(problem, overrides={"budget": 2 * len(ATTACKS), "workers": 2},
                                               run_dir=tmp_path / "run")
    runner = build_runner(problem, config, store, run_path)
    hostile = Hostile()
    runner.operators = {name: hostile for name in runner.operators}

    async def go():
        try:
            return await runner.run(problem.initial_code), left_behind(runner.executor.evaluator.uids)
        finally:
            await runner.executor.close()

    stats, left = asyncio.run(go())
    assert not left, f"processes left behind: {left}"
    assert stats.candidates == 2 * len(ATTACKS)
    programs = [p for p in store.programs() if p.operator != "initial"]
    assert len(programs) == 2 * len(ATTACKS)
    assert all(p.status and (p.status == "ok" or p.reason) for p in programs)
    assert {p.status for p in programs} >= {"ok", "error", "timeout", "invalid"}
    assert stats.best_score == 2.0
    conn = sqlite3.connect(run_path / "cambrian.db")
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_a_candidate_cannot_read_the_runs_database(tmp_path):
    """Through ``cambrian run``: the run directory is 0700 and the store 0600, so the
    candidate (another uid) finds every other candidate's code and score out of reach."""
    import os
    import subprocess
    import sys

    import pytest

    if os.geteuid() != 0:
        pytest.skip("without root the candidate runs as the invoking user, who owns the run")
    # Not under /tmp, /var/tmp or /dev/shm, which are private in the sandbox (the file would be
    # missing, not refused): a directory the candidate's view shares and other users may traverse.
    def shared(path):
        private = ("/tmp", "/var/tmp", "/dev/shm")
        return (not any(str(path) == d or str(path).startswith(d + "/") for d in private)
                and all(p.stat().st_mode & 0o001 for p in (path, *path.parents)))

    places = [Path(__file__).resolve().parents[2], Path("/var/lib"), Path("/opt")]
    here = next((p for p in places if p.is_dir() and shared(p)), None)
    if here is None:
        pytest.skip("no directory outside the sandbox's private ones that other users can traverse")
    base = Path(tempfile.mkdtemp(prefix=".test-run-", dir=here))
    base.chmod(0o755)
    try:
        _unreadable_run_db(tmp_path, base / "run")
    finally:
        shutil.rmtree(base)


def _unreadable_run_db(tmp_path, run):
    import subprocess
    import sys

    program = f"""
def run():
    # EVOLVE-BLOCK-START
    try:
        open({str(run / 'cambrian.db')!r}, 'rb').read(16)
        return {{"combined_score": 1.0, "denied": 0.0}}
    except PermissionError:
        return {{"combined_score": 1.0, "denied": 1.0}}
    # EVOLVE-BLOCK-END
"""
    problem = write_problem(tmp_path / "p", program, EVALUATOR)
    done = subprocess.run([sys.executable, "-m", "cambrian.cli", "run", str(problem), "--run-dir", str(run),
                           "--budget", "1", "--quiet"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert oct(run.stat().st_mode & 0o777) == "0o700"
    assert all(oct(f.stat().st_mode & 0o777) == "0o600" for f in run.glob("cambrian.db*"))
    conn = sqlite3.connect(run / "cambrian.db")
    (seed,) = conn.execute("SELECT metrics FROM programs ORDER BY seq LIMIT 1").fetchone()
    assert json.loads(seed)["denied"] == 1.0, seed
