"""Runs shared by the UI, report and export tests (built once per session)."""

from __future__ import annotations

import pytest

from tests.fake_llm import FakeLLM, nudging_model
from tests.runs import real_run, synthetic_run


@pytest.fixture(scope="session")
def toy_run(tmp_path_factory):
    """A real small evolution of examples/toy, half of it by a (fake, real-HTTP) LLM."""
    with FakeLLM(default=nudging_model()) as server:
        return real_run(tmp_path_factory.mktemp("ui") / "toy", budget=60, llm_url=server.url)


@pytest.fixture(scope="session")
def big_run(tmp_path_factory):
    """A synthetic store of 10,000 candidates."""
    return synthetic_run(tmp_path_factory.mktemp("ui") / "big", 10_000)


@pytest.fixture(scope="session")
def failed_initial_run(tmp_path_factory):
    """A real run (``cambrian run``) of examples/toy whose initial program raises: no candidate."""
    import shutil
    import subprocess
    import sys

    from tests.runs import TOY

    base = tmp_path_factory.mktemp("failed-initial")
    problem = base / "toy"
    shutil.copytree(TOY, problem)
    code = (problem / "initial_program.py").read_text()
    (problem / "initial_program.py").write_text(code.replace("    a0 = 0.0\n", "    a0 = 1 / 0\n", 1))
    done = subprocess.run([sys.executable, "-m", "cambrian.cli", "run", str(problem), "--budget", "5",
                           "--run-dir", str(base / "run")], capture_output=True, text=True, timeout=300)
    assert done.returncode != 0 and "initial program" in done.stderr, done.stderr
    return base / "run"
