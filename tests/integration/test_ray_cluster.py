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
              # a hang guard, not a timing condition: a loaded machine starts the cluster slowly
              pytest.mark.timeout(900),
              pytest.mark.skipif(not ray_available(), reason="Ray is not installed (pip install -e '.[ray]')")]

# The evaluations themselves set the scene, with no clock: each leaves a marker named
# after its node (Ray's working dir lies under that node's temp dir). After its first
# (it may be the initial program's, alone in flight), the head node's evaluations wait
# until the worker node has finished one (so both nodes evaluate);
# once it has, every later evaluation on the worker node never ends (it is in flight
# there whenever the test kills the node). The test kills the worker node only once a
# worker answer is in the store (it reached the driver) and one such evaluation has
# started. It also reports whether the cluster's secret is visible to it (the sandbox
# removes it).
EVALUATOR = """
import os, time, uuid
from pathlib import Path
from cambrian.candidate import load

DROP = Path("{drop}")

def evaluate(path):
    worker = "/w/session" in os.path.abspath(__file__)
    node = "worker" if worker else "head"
    if worker and any(DROP.glob("worker-*.end")):
        Path(DROP / f"held-{{uuid.uuid4().hex}}").write_text("")
        while True:                      # in flight on the worker node until the node is killed
            time.sleep(1)
    while not worker and any(DROP.glob("head-*.end")) and not any(DROP.glob("worker-*.end")):
        time.sleep(0.05)
    x, y = load(path).solve()
    d = (x - 3.0) ** 2 + (y - 0.5) ** 2
    Path(DROP / f"{{node}}-{{uuid.uuid4().hex}}.end").write_text("")
    return {{"combined_score": 1.0 / (1.0 + d), "token_visible": float("RAY_AUTH_TOKEN" in os.environ),
            "on_worker": float(worker)}}
"""


def _worker_busy(drop: Path, db: Path) -> bool:
    """A worker node's answer is in the store (it reached the driver) and an evaluation
    that never ends has started on that node."""
    return (any(drop.glob("held-*"))
            and _count(db, "SELECT COUNT(*) FROM programs WHERE json_extract(metrics, '$.on_worker') = 1") > 0)


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
                             "--ray-address", cluster.address, "--set", f"evaluation.writable=[{drop_dir}]",
                             # room for the head's evaluations to wait for the worker's first answer
                             "--set", "evaluation.timeout=900"],
                            env=cluster.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        db = run / "cambrian.db"
        hang = time.monotonic() + 900                # a guard against a hang, not a timing condition
        while not _worker_busy(drop_dir, db):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < hang, "the worker node never answered, or never took a second evaluation"
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


def test_a_wrong_auth_token_is_one_line_and_exit_2(cluster, tmp_path):
    """Ray's client retries for a while and logs a warning each time: none of it shows;
    the one line says what to set."""
    from tests.runs import TOY

    env = {**cluster.env, "RAY_AUTH_TOKEN": "0" * 32}
    out = _cambrian("run", str(TOY), "--run-dir", str(tmp_path / "r"), "--budget", "2", "--quiet",
                    "--ray-address", cluster.address, env=env)
    assert out.returncode == 2, out.stderr[-3000:]
    assert out.stderr.strip().splitlines() == [
        f"cambrian: error: executor ray: the cluster at {cluster.address} refused this process's auth token: "
        "set RAY_AUTH_MODE=token and the cluster's RAY_AUTH_TOKEN in this environment"], out.stderr[-3000:]


# A hostile program, evaluated by a Ray task on a node: it looks everywhere it can for
# the cluster's token and for the driver's store and other candidates' code (markers
# the test plants), and reports what it found and how much it could look at.
HOSTILE = """
import os

SECRETS = [bytes.fromhex(s).decode() for s in {secrets!r}]   # not in this file as they are

def solve():
    # EVOLVE-BLOCK-START
    found, looked = [], 0
    # EVOLVE-BLOCK-END
    def check(where, data):
        for s in SECRETS:
            if s.encode() in data:
                found.append(where)
    check("environ", "\\\\n".join(f"{{k}}={{v}}" for k, v in os.environ.items()).encode())
    for pid in os.listdir("/proc"):
        for part in ("environ", "cmdline"):
            try:
                with open(f"/proc/{{pid}}/{{part}}", "rb") as f:
                    check(f"/proc/{{pid}}/{{part}}", f.read())
                    looked += 1
            except OSError:
                pass
    for root in ["/tmp", "/var/tmp", "/dev/shm", "/run", os.getcwd(), *{dirs!r}]:
        for here, subdirs, files in os.walk(root):
            # Other checkouts' libraries and histories hold no secret of this run, and reading
            # them (a CI clone's virtualenv in /tmp: ~1 GB) outlasts the evaluation's timeout.
            subdirs[:] = [d for d in subdirs if d not in (".git", "site-packages", "node_modules")]
            for name in files:
                try:
                    with open(os.path.join(here, name), "rb") as f:
                        check(os.path.join(here, name), f.read(1 << 20))
                        looked += 1
                except OSError:
                    pass
    return found, looked
"""

HOSTILE_EVALUATOR = """
from cambrian.candidate import load

def evaluate(path):
    found, looked = load(path).solve()
    if found:
        raise RuntimeError(f"the candidate read: {found}")
    return {"combined_score": 1.0, "looked": float(looked)}
"""


def test_a_hostile_candidate_on_a_node_reads_no_token_no_store_no_other_candidate(cluster, tmp_path):
    other = tmp_path / "other-candidate.py"             # another candidate's code, as a pool would hold it
    other.write_text("OTHER_CANDIDATE_MARKER_5b1f")
    run = tmp_path / "run"
    secrets = [cluster.token, "OTHER_CANDIDATE_MARKER_5b1f", "STORE_MARKER_9c2e"]
    program = HOSTILE.format(secrets=[s.encode().hex() for s in secrets], dirs=[str(run), str(tmp_path), str(Path.home() / ".ray"),
                                                    str(cluster.temp)])
    problem = write_problem(tmp_path / "p", program, HOSTILE_EVALUATOR)
    run.mkdir(mode=0o700)
    (run / "planted.txt").write_text("STORE_MARKER_9c2e")   # beside the store, as readable as it
    out = _cambrian("run", str(problem), "--run-dir", str(run), "--budget", "1", "--quiet",
                    "--ray-address", cluster.address, "--set", "evaluation.timeout=300", env=cluster.env)
    assert out.returncode == 0, out.stderr[-3000:]
    conn = sqlite3.connect(run / "cambrian.db")
    (status, reason, metrics), = conn.execute("SELECT status, reason, metrics FROM programs WHERE seq = 0")
    conn.close()
    assert status == "ok", reason                   # nothing found
    assert json.loads(metrics)["looked"] > 0        # it could look at something (its own /proc, its /tmp)
