"""Stops are honoured wherever the run is, stalled proposals included: --max-time,
--target and --max-cost cut in-flight work after a short grace period; SIGTERM stops
gracefully like a first Ctrl-C, a second signal ends the run at once; the store stays
consistent either way (real processes, real HTTP)."""

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

import cambrian
from cambrian.operators import Candidate
from cambrian.session import build_runner, prepare
from cambrian.store import Store
from tests.conftest import QUADRATIC_EVALUATOR, QUADRATIC_PROGRAM, write_problem
from tests.fake_llm import FakeLLM

STALL = {"sleep": 120, "text": "too late"}


class StallFirst:
    """Candidate 1 never comes back; every other one moves the program to the optimum."""

    name = "stall"
    needs_mate = False

    async def propose(self, parent, inspirations, context, rng):
        if context.seq == 1:
            await asyncio.sleep(3600)
        return Candidate(parent.code.replace("x = 1.0", "x = 3.0").replace("y = -2.0", f"y = 0.5  # {context.seq}"))


def _runner(tmp_path, **overrides):
    problem = write_problem(tmp_path / "quad", QUADRATIC_PROGRAM, QUADRATIC_EVALUATOR)
    problem, config, store, run_path = prepare(problem, overrides={"budget": 20, "workers": 3, **overrides},
                                               run_dir=tmp_path / "run")
    runner = build_runner(problem, config, store, run_path)
    runner.stop_grace = 1.0
    return problem, store, runner


def _run(problem, runner):
    async def go():
        try:
            return await runner.run(problem.initial_code)
        finally:
            await runner.close()

    return asyncio.run(go())


def _consistent(db):
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    # Every attempt of a new program has its program row.
    orphans = conn.execute("SELECT a.seq FROM attempts a LEFT JOIN programs p ON p.id = a.program_id "
                           "WHERE a.outcome = 'new' AND p.id IS NULL").fetchall()
    assert orphans == []


def test_target_reached_while_a_proposal_is_stalled(tmp_path):
    problem, store, runner = _runner(tmp_path, target=0.99)
    runner.operators = {name: StallFirst() for name in runner.operators}
    stats = _run(problem, runner)
    assert stats.stop_reason.startswith("target 0.99 reached") and "cancelled" in stats.stop_reason
    assert stats.best_score == 1.0
    assert store.attempt(1) is None  # cut, not recorded: a resume runs it
    _consistent(tmp_path / "run" / "cambrian.db")


def test_max_time_while_proposals_are_stalled(tmp_path):
    with FakeLLM(default=STALL) as server:
        problem, store, runner = _runner(
            tmp_path, max_time=1.0, operator_choice="weights", **{"llm.share": 1.0,
                                                                  "llm.models": [{"model": f"openai:s@{server.url}"}]})
        stats = _run(problem, runner)
    assert stats.stop_reason.startswith("max time 1 s reached") and "cancelled" in stats.stop_reason
    assert stats.candidates == 0
    _consistent(tmp_path / "run" / "cambrian.db")


def test_max_cost_while_proposals_are_stalled(tmp_path):
    # The first reply is expensive (100,000 output tokens at $1,000 per million); every
    # later request stalls. The run stops on what was spent, not on the next tell.
    calls = []

    def respond(request):
        calls.append(1)
        return {"text": "x " * 100_000} if len(calls) == 1 else STALL

    with FakeLLM(default=respond) as server:
        model = {"model": f"openai:c@{server.url}", "price_in": 0.0, "price_out": 1000.0, "max_tokens": 8000}
        problem, store, runner = _runner(tmp_path, max_cost=40.0, operator_choice="weights", workers=2,
                                         **{"llm.share": 1.0, "llm.models": [model], "llm.retry_with_error": False})
        stats = _run(problem, runner)
    assert stats.stop_reason.startswith("max cost $40") and "cancelled" in stats.stop_reason, stats.stop_reason
    assert store.spent() >= 40
    _consistent(tmp_path / "run" / "cambrian.db")


def _start_cli(tmp_path, server):
    problem = write_problem(tmp_path / "quad", QUADRATIC_PROGRAM, QUADRATIC_EVALUATOR)
    proc = subprocess.Popen(
        [sys.executable, "-m", "cambrian.cli", "run", str(problem), "--run-dir", str(tmp_path / "run"),
         "--quiet", "--budget", "50", "--workers", "2", "--model", f"openai:s@{server.url}"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": os.getcwd()})
    deadline = time.monotonic() + 120
    while not server.requests and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert proc.poll() is None, proc.communicate()
    return proc


def test_sigterm_is_a_graceful_stop(tmp_path):
    with FakeLLM(default=STALL) as server:
        proc = _start_cli(tmp_path, server)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err   # 128 + SIGTERM: a caller's `&&` does not go on
    assert "stopped: interrupted (SIGTERM)" in out and "cancelled after the 10 s grace" in out
    _consistent(tmp_path / "run" / "cambrian.db")
    events = Store.open(tmp_path / "run" / "cambrian.db").rows("SELECT kind FROM events")
    assert [e[0] for e in events][-1] == "stopped"


def test_ctrl_c_is_a_graceful_stop_that_exits_130(tmp_path):
    with FakeLLM(default=STALL) as server:
        proc = _start_cli(tmp_path, server)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "stopped: interrupted (SIGINT)" in out and "run directory:" in out
    _consistent(tmp_path / "run" / "cambrian.db")


@pytest.mark.parametrize("reason, code", [("interrupted (SIGINT)", 130), ("interrupted (SIGTERM); 2 cancelled", 143),
                                          ("budget", 0), ("max cost $40", 0), ("target reached", 0)])
def test_only_an_interrupt_exits_non_zero_after_a_graceful_stop(reason, code):
    from cambrian.cli import interrupted_exit_code

    assert interrupted_exit_code(reason) == code


def test_a_second_signal_ends_the_run_at_once(tmp_path):
    with FakeLLM(default=STALL) as server:
        proc = _start_cli(tmp_path, server)
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, (out, err)
    assert "the store is consistent" in err
    _consistent(tmp_path / "run" / "cambrian.db")
