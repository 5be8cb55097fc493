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
