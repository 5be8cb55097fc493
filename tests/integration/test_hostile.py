"""Hostile candidates against the limits in force today: each is recorded with the
right status and reason, and leaves no process behind. (Privilege separation and the
remaining cases of issue 5 are not built yet.)"""

import asyncio
import socket
import threading

import pytest

from cambrian.evaluation import ERROR, OK, TIMEOUT, ProcessEvaluator
from cambrian.evaluation.evaluator import Limits
from tests.integration.test_evaluation import EVALUATOR


def _evaluate(tmp_path, body, *, timeout=20.0, **limits):
    evaluator = tmp_path / "evaluate.py"
    evaluator.write_text(EVALUATOR)
    code = "import os, sys, time, socket\n\ndef run():\n" + "".join(
        f"    {line}\n" for line in body.strip().splitlines())
    ev = ProcessEvaluator(evaluator, objective="combined_score", timeout=timeout,
                          limits=Limits(**{"cpu_seconds": 2, **limits}))
    return asyncio.run(ev.evaluate(code))


def test_cpu_limit_stops_a_busy_loop_before_the_wall_clock(tmp_path):
    r = _evaluate(tmp_path, "while True:\n    pass", timeout=60.0)
    assert r.status == TIMEOUT and "CPU time limit" in r.reason
    assert r.seconds < 30


def test_memory_bomb_is_an_error(tmp_path):
    r = _evaluate(tmp_path, "x = bytearray(8 * 1024**3)\nreturn {'combined_score': 1.0}", memory_mb=1024)
    assert r.status == ERROR and "MemoryError" in r.reason


def test_deep_recursion_is_an_error(tmp_path):
    body = "def f(n):\n    return f(n + 1) + 1\nreturn {'combined_score': f(0)}"
    r = _evaluate(tmp_path, body)
    assert r.status == ERROR and "RecursionError" in r.reason


def test_unbounded_recursion_limit_crash_is_an_error(tmp_path):
    body = ("sys.setrecursionlimit(10**9)\n"
            "def f(n):\n    return f(n + 1) + 1\nreturn {'combined_score': f(0)}")
    r = _evaluate(tmp_path, body, memory_mb=1024)
    # Python 3.11+ keeps Python frames off the C stack: this ends at the memory or CPU limit.
    assert r.status in (ERROR, TIMEOUT) and r.reason


def test_huge_file_is_stopped_at_the_file_size_limit(tmp_path):
    body = "open('big', 'wb').write(b'x' * (64 * 1024**2))\nreturn {'combined_score': 1.0}"
    r = _evaluate(tmp_path, body, file_mb=8)
    assert r.status == ERROR
    assert "File too large" in r.reason or "signal 25" in r.reason


def test_no_network(tmp_path):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    accepted = []
    thread = threading.Thread(target=lambda: accepted.append(server.accept()), daemon=True)
    thread.start()
    try:
        body = f"socket.create_connection(('127.0.0.1', {port}), timeout=2)\nreturn {{'combined_score': 1.0}}"
        r = _evaluate(tmp_path, body)
        if "no_network" not in _evaluate(tmp_path, "return {'combined_score': 1.0}").protections:
            pytest.skip("this kernel refuses network namespaces to this user")
        assert r.status == ERROR and ("unreachable" in r.reason or "refused" in r.reason)
        assert not accepted
        allowed = _evaluate(tmp_path, body, no_network=False)
        assert allowed.status == OK
    finally:
        server.close()


def test_protections_are_reported(tmp_path):
    r = _evaluate(tmp_path, "return {'combined_score': 1.0}")
    assert r.status == OK
    assert {"RLIMIT_CPU", "RLIMIT_AS", "RLIMIT_NOFILE", "RLIMIT_FSIZE", "RLIMIT_CORE"} <= set(r.protections)
