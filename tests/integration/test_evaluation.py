"""The process evaluator on real processes: every failure becomes a status with a reason."""

import asyncio
import os
import time
from pathlib import Path

import pytest

from cambrian.evaluation import ERROR, INVALID, OK, TIMEOUT, Limits, PoolEvaluator, ProcessEvaluator, Spec
from tests.conftest import LOADER

EVALUATOR = LOADER + """
def evaluate(path):
    return load(path).run()
"""


KINDS = {"pool": PoolEvaluator, "fresh": ProcessEvaluator}


@pytest.fixture(params=sorted(KINDS))
def kind(request):
    return request.param


def candidate(body: str) -> str:
    return "import os, sys, time, subprocess, socket\n\ndef run():\n" + "".join(
        f"    {line}\n" for line in body.strip().splitlines())


def evaluate_body(tmp_path: Path, body: str, kind: str = "pool", timeout: float = 5.0, **limits):
    evaluator = tmp_path / "evaluate.py"
    evaluator.write_text(EVALUATOR)
    spec = Spec(evaluator, timeout=timeout, limits=Limits(**{"cpu_seconds": timeout, **limits}))

    async def go():
        ev = KINDS[kind](spec)
        try:
            return await ev.evaluate(candidate(body))
        finally:
            await ev.close()

    return asyncio.run(go())


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purposes.
    with open(f"/proc/{pid}/stat") as f:
        return f.read().split(")")[-1].split()[0] != "Z"


def test_ok(tmp_path, kind):
    r = evaluate_body(tmp_path, "return {'combined_score': 1.5, 'note': 'hi'}", kind)
    assert r.status == OK and r.score == 1.5 and r.feedback["note"] == "hi"


def test_exception_is_error_with_traceback(tmp_path, kind):
    r = evaluate_body(tmp_path, "raise ValueError('bad idea')", kind)
    assert r.status == ERROR and "ValueError: bad idea" in r.reason
    assert "Traceback" in r.feedback["traceback"]


@pytest.mark.parametrize("body", ["sys.exit(3)", "os._exit(0)"])
def test_exits_are_errors(tmp_path, kind, body):
    r = evaluate_body(tmp_path, body, kind)
    assert r.status == ERROR
    assert "SystemExit" in r.reason or "without a result" in r.reason


def test_segfault_is_error(tmp_path, kind):
    r = evaluate_body(tmp_path, "import ctypes\nctypes.string_at(0)", kind)
    assert r.status == ERROR and "signal 11" in r.reason


def test_timeout_kills_the_candidate_and_its_children(tmp_path, kind, drop_dir):
    pidfile = drop_dir / "child.pid"
    body = f"""
p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])
open({str(pidfile)!r}, 'w').write(str(p.pid))
time.sleep(600)
"""
    r = evaluate_body(tmp_path, body, kind, timeout=1.0)
    assert r.status == TIMEOUT and "1 s timeout" in r.reason
    child = int(pidfile.read_text())
    deadline = time.monotonic() + 5
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child)


def test_background_child_of_a_finished_candidate_is_killed(tmp_path, kind, drop_dir):
    pidfile = drop_dir / "child.pid"
    body = f"""
p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])
open({str(pidfile)!r}, 'w').write(str(p.pid))
return {{'combined_score': 1.0}}
"""
    r = evaluate_body(tmp_path, body, kind)
    assert r.status == OK
    child = int(pidfile.read_text())
    deadline = time.monotonic() + 5
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child)


@pytest.mark.parametrize("body, fragment", [
    ("return {'combined_score': float('nan')}", "nan"),
    ("return {'combined_score': float('inf')}", "inf"),
    ("return {'combined_score': 1j}", "complex"),
    ("return {'combined_score': list(range(10**6))}", "sequence"),
    ("return {'other': 1.0}", "missing"),
    ("return 3", "expected a dict"),
])
def test_garbage_scores_are_invalid(tmp_path, kind, body, fragment):
    r = evaluate_body(tmp_path, body, kind)
    assert r.status == INVALID and fragment in r.reason


def test_output_flood_is_capped(tmp_path, kind):
    r = evaluate_body(tmp_path, "sys.stdout.write('x' * 50_000_000)\nreturn {'combined_score': 1.0}", kind)
    assert r.status == OK
    assert len(r.feedback["stdout"]) <= 2000


def test_environment_is_scrubbed(tmp_path, kind, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret")
    r = evaluate_body(tmp_path, "return {'combined_score': 1.0, 'seen': os.environ.get('OPENAI_API_KEY', '')}", kind)
    assert r.status == OK and r.feedback["seen"] == ""
