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


def marked(marker: str) -> set[int]:
    """Live processes (as the machine sees them) whose command line holds ``marker``:
    a candidate's children are found this way whatever namespace they run in."""
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    if marker.encode() in f.read() and _alive(int(entry)):
                        found.add(int(entry))
            except OSError:
                pass
    return found


def _gone(marker: str) -> bool:
    deadline = time.monotonic() + 10
    while marked(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not marked(marker)


SLEEPER = "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)  # {marker}']{extra})\n"
CHECK_STARTED = "assert p.poll() is None\n"


@pytest.mark.parametrize("detach", [False, True], ids=["child", "setsid-child"])
def test_timeout_kills_the_candidate_and_its_children(tmp_path, kind, detach):
    marker = f"cambrian-test-{os.getpid()}-{time.monotonic_ns()}"
    extra = ", start_new_session=True" if detach else ""
    body = SLEEPER.format(marker=marker, extra=extra) + "print('started', flush=True)\ntime.sleep(600)"
    r = evaluate_body(tmp_path, body, kind, timeout=1.5)
    assert r.status == TIMEOUT and "1.5 s timeout" in r.reason, r
    assert "started" in r.feedback.get("stdout", ""), r
    assert _gone(marker)


@pytest.mark.parametrize("detach", [False, True], ids=["child", "setsid-child"])
def test_background_child_of_a_finished_candidate_is_killed(tmp_path, kind, detach):
    marker = f"cambrian-test-{os.getpid()}-{time.monotonic_ns()}"
    extra = ", start_new_session=True" if detach else ""
    body = SLEEPER.format(marker=marker, extra=extra) + "time.sleep(0.2)\nreturn {'combined_score': float(p.poll() is None)}"
    r = evaluate_body(tmp_path, body, kind)
    assert r.status == OK and r.score == 1.0  # the child was running when the candidate returned
    assert _gone(marker)


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
