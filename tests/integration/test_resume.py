"""Kill a run mid-flight (SIGKILL, then SIGINT), resume it, and check nothing was lost or redone."""

import os
import signal
import sqlite3
import subprocess
import sys
import time

from cambrian.store import Store
from tests.conftest import LOADER, QUADRATIC_PROGRAM, write_problem

SLOW_EVALUATOR = LOADER + """
import hashlib, os, time
def evaluate(path):
    code = open(path, encoding="utf-8").read()
    x, y = load(path).solve()
    time.sleep(0.15)
    with open(os.environ["CAMBRIAN_TEST_LOG"], "a") as log:
        log.write(hashlib.sha256(code.encode()).hexdigest()[:16] + "\\n")
    d = (x - 3.0) ** 2 + (y - 0.5) ** 2
    return {"combined_score": 1.0 / (1.0 + d)}
"""


# `cambrian` with resume snapshots every {} candidates.
_SNAPSHOTS_EVERY = ("import sys; import cambrian.snapshot as s; s.EVERY = {}; from cambrian.cli import main;"
                    " sys.exit(main())")


def _cambrian(*args, log, snapshots_every=None):
    env = {**os.environ, "CAMBRIAN_TEST_LOG": str(log)}
    entry = ["-m", "cambrian.cli"] if snapshots_every is None else ["-c", _SNAPSHOTS_EVERY.format(snapshots_every)]
    return subprocess.Popen([sys.executable, *entry, *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _problem(tmp_path, log_dir):
    problem = write_problem(tmp_path / "slow", QUADRATIC_PROGRAM, SLOW_EVALUATOR,
                            "budget: 30\nworkers: 2\nseed: 3\n"
                            f"evaluation:\n  pass_env: [CAMBRIAN_TEST_LOG]\n  writable: [{log_dir}]\n")
    return problem


def _attempts(db):
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT a.seq, a.operator, a.program_id, a.outcome, p.score FROM attempts a"
                            " LEFT JOIN programs p ON p.id = a.program_id ORDER BY a.seq").fetchall()
    finally:
        conn.close()


def _wait_for_attempts(db, n, proc, limit=60.0):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"run ended early: {proc.communicate()}")
        if db.exists():
            try:
                if len(_attempts(db)) >= n:
                    return
            except sqlite3.OperationalError:
                pass
        time.sleep(0.05)
    raise AssertionError("run made no progress")


def _start_run(tmp_path, drop_dir, n, **kwargs):
    """`cambrian run` of the slow problem into tmp_path/run, once n attempts are stored:
    the process, its run directory and its evaluation log."""
    problem = _problem(tmp_path, drop_dir)
    log = drop_dir / "eval.log"
    run_dir = tmp_path / "run"
    proc = _cambrian("run", str(problem), "--run-dir", str(run_dir), "--quiet", log=log, **kwargs)
    _wait_for_attempts(run_dir / "cambrian.db", n, proc)
    return proc, run_dir, log


def test_sigkill_then_resume_loses_nothing_and_redoes_nothing(tmp_path, drop_dir):
    problem = _problem(tmp_path, drop_dir)
    reference_log = drop_dir / "reference.log"
    ref = _cambrian("run", str(problem), "--run-dir", str(tmp_path / "ref"), "--quiet", log=reference_log)
    assert ref.wait(timeout=120) == 0, ref.communicate()
    reference = _attempts(tmp_path / "ref" / "cambrian.db")
    assert len(reference) == 31

    proc, run_dir, log = _start_run(tmp_path, drop_dir, 12)
    db = run_dir / "cambrian.db"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    time.sleep(0.5)  # let orphaned in-flight candidates finish writing their log lines
    Store.open(db).close()  # takes up the killed run's pending log: every candidate it recorded
    before = _attempts(db)
    stored_before = {row[2] for row in before if row[3] == "new"}
    log_before = log.read_text().split()
    assert 12 <= len(before) < 31

    resumed = _cambrian("run", "--resume", str(run_dir), "--quiet", log=log)
    out, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err
    after = _attempts(db)
    evaluated_after = log.read_text().split()[len(log_before):]

    assert [row[0] for row in after] == list(range(31))
    assert set(before) <= set(after), "something stored before the kill was lost"
    assert not stored_before & set(evaluated_after), "a stored program was evaluated again"
    assert after == reference, "the resumed run differs from an uninterrupted one"
    pending = db.with_name("cambrian.db-pending")
    assert not pending.exists() or pending.stat().st_size == 0, "the ended run left candidates unfolded"
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_ctrl_c_stops_gracefully_and_resume_finishes(tmp_path, drop_dir):
    proc, run_dir, log = _start_run(tmp_path, drop_dir, 6)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err   # a graceful stop, exit code as a shell expects of an interrupt
    assert "stopped: interrupted" in out
    n = len(_attempts(run_dir / "cambrian.db"))
    assert n < 31
    resumed = _cambrian("run", "--resume", str(run_dir), "--quiet", log=log)
    out, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err
    assert len(_attempts(run_dir / "cambrian.db")) == 31
    codes = log.read_text().split()
    assert len(codes) == len(set(codes)), "a program was evaluated twice"


BLOCKING_EVALUATOR = LOADER + """
import os, time
def evaluate(path):
    x, y = load(path).solve()
    log = os.environ["CAMBRIAN_TEST_LOG"]
    with open(log, "a") as out:
        out.write("x\\n")
    if sum(1 for _ in open(log)) == 6:  # the sixth evaluation waits until the test lets it go
        while not os.path.exists(log + ".go"):
            time.sleep(0.05)
    return {"combined_score": 1.0 / (1.0 + (x - 3.0) ** 2 + (y - 0.5) ** 2)}
"""


def test_a_reader_sees_every_recorded_candidate_while_the_run_waits(tmp_path, drop_dir):
    """The README's reader lag: nothing while the run waits for an evaluation (it folds its
    pending log into the database when it starts waiting)."""
    problem = write_problem(tmp_path / "blocking", QUADRATIC_PROGRAM, BLOCKING_EVALUATOR,
                            "budget: 8\nworkers: 1\nseed: 3\n"  # a timeout longer than the wait below:
                            f"evaluation:\n  timeout: 600\n  pass_env: [CAMBRIAN_TEST_LOG]\n  writable: [{drop_dir}]\n")
    log = drop_dir / "blocking.log"
    proc = _cambrian("run", str(problem), "--run-dir", str(tmp_path / "run"), "--quiet", log=log)
    try:
        # five evaluations recorded (the initial program and four candidates), the sixth waiting
        _wait_for_attempts(tmp_path / "run" / "cambrian.db", 5, proc)
    finally:
        (drop_dir / "blocking.log.go").write_text("")
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
