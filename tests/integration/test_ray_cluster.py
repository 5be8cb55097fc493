"""A real 2-node Ray cluster on this machine (head 127.0.0.2, worker 127.0.0.3), started
once for the module and ended by PID in teardown, whatever happens.

A `cambrian run --executor ray` evaluates on both nodes with the sandbox on the node;
the worker node is killed mid-run; the store must then hold exactly one result per
candidate, none of them a failure caused by the lost node."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import QUADRATIC_PROGRAM, write_problem
from tests.ray_cluster import LoopbackCluster, ray_available

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not ray_available(), reason="Ray is not installed (pip install -e '.[ray]')")]

# One second per evaluation; it leaves a marker when it starts and when it ends, named
# after its node (Ray's working dir lies under that node's temp dir), so the test kills
# the worker node only once it has answered and while it has evaluations in flight. It
# reports whether the cluster's secret is visible to it (the sandbox removes it).
EVALUATOR = """
import os, time, uuid
from pathlib import Path
from cambrian.candidate import load

DROP = Path("{drop}")

def evaluate(path):
    node = "worker" if "/w/session" in os.path.abspath(__file__) else "head"
    mark = DROP / f"{{node}}-{{uuid.uuid4().hex}}"
    Path(f"{{mark}}.start").write_text("")
    time.sleep(1.0)
    x, y = load(path).solve()
    d = (x - 3.0) ** 2 + (y - 0.5) ** 2
    Path(f"{{mark}}.end").write_text("")
    return {{"combined_score": 1.0 / (1.0 + d), "token_visible": float("RAY_AUTH_TOKEN" in os.environ)}}
"""


def _worker_busy(drop: Path) -> bool:
    """The worker node answered an evaluation a while ago (its answer has arrived) and has
    one in flight now."""
    started = {p.stem for p in drop.glob("worker-*.start")}
    ended = {p.stem: p.stat().st_mtime for p in drop.glob("worker-*.end")}
    return any(t < time.time() - 1.0 for t in ended.values()) and bool(started - set(ended))


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    c = LoopbackCluster(head_cpus=1, worker_cpus=2, log_dir=tmp_path_factory.mktemp("ray-logs"))
    with c:
        yield c


def _cambrian(*args: str, env: dict, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cambrian.cli", *args], capture_output=True, text=True, env=env,
                          timeout=timeout)


def _count(db: Path, sql: str) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            return conn.execute(sql).fetchone()[0]
    except sqlite3.Error:
        return 0


def test_a_killed_node_loses_no_candidate(cluster, tmp_path, drop_dir):
    problem = write_problem(tmp_path / "p", QUADRATIC_PROGRAM, EVALUATOR.format(drop=drop_dir))
    run = tmp_path / "run"
    budget = 30
    proc = subprocess.Popen([sys.executable, "-m", "cambrian.cli", "run", str(problem), "--run-dir", str(run),
                             "--budget", str(budget), "--workers", "3", "--seed", "3", "--quiet",
                             "--ray-address", cluster.address, "--set", f"evaluation.writable=[{drop_dir}]"],
                            env=cluster.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        db = run / "cambrian.db"
        end = time.monotonic() + 300
        while not _worker_busy(drop_dir):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < end, "the worker node never evaluated"
            time.sleep(0.05)
        cluster.kill("worker")                       # mid-run, with evaluations in flight on it
        out, err = proc.communicate(timeout=600)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err[-3000:]

    conn = sqlite3.connect(db)
    seqs = [s for (s,) in conn.execute("SELECT seq FROM attempts WHERE seq > 0 ORDER BY seq")]
    assert seqs == list(range(1, budget + 1)), seqs  # every candidate, each exactly once
    assert _count(db, "SELECT COUNT(*) FROM attempts WHERE seq > 0") == budget
    reasons = [r for (r,) in conn.execute("SELECT reason FROM attempts WHERE reason != ''")]
    assert not [r for r in reasons if "infrastructure" in r or "lost" in r], reasons
    new = conn.execute("SELECT COUNT(*) FROM attempts WHERE seq > 0 AND outcome = 'new'").fetchone()[0]
    programs = conn.execute("SELECT COUNT(*) FROM programs WHERE seq > 0").fetchone()[0]
    assert new == programs                           # one stored result per evaluated candidate
    visible = [json.loads(m).get("token_visible") for (m,) in conn.execute(
        "SELECT metrics FROM programs WHERE status = 'ok'")]
    assert visible and set(visible) == {0.0}         # evaluated in the sandbox: the env is scrubbed
    info = json.loads(conn.execute("SELECT value FROM meta WHERE key = 'executor'").fetchone()[0])
    conn.close()
    assert info["kind"] == "ray" and info["nodes_answered"] == 2, info   # both nodes evaluated
    assert info["resubmitted"] >= 1, info            # the worker's in-flight evaluations, again
    assert 1 <= info["in_flight_max"] <= 3, info     # never more than the cluster's 3 CPUs hold

    status = _cambrian("status", str(run), env=cluster.env)
    assert status.returncode == 0, status.stderr
    assert f"executor: ray at {cluster.address}" in status.stdout
    assert f"resubmitted after a lost node {info['resubmitted']}" in status.stdout


@pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler on this machine")
def test_a_multi_file_c_program_with_a_command_evaluator_runs_on_the_cluster(cluster, tmp_path):
    """A tree of files and a command evaluator that is a symlink out of the problem
    directory: Ray ships its target, and the node's sandbox compiles and scores."""
    from tests.conftest import EXAMPLES

    run = tmp_path / "run"
    out = _cambrian("run", str(EXAMPLES / "multi_file_c"), "--run-dir", str(run), "--budget", "4", "--quiet",
                    "--ray-address", cluster.address, env=cluster.env)
    assert out.returncode == 0, out.stderr
    conn = sqlite3.connect(run / "cambrian.db")
    statuses = dict(conn.execute("SELECT status, COUNT(*) FROM programs GROUP BY status").fetchall())
    conn.close()
    assert statuses.get("ok", 0) >= 1 and "infrastructure" not in statuses, statuses
