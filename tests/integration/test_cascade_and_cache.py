"""Cascade stages, the functional-equivalence cache and declared objective ranges, end to end."""

import asyncio
import sqlite3

import pytest

import cambrian
from cambrian.evaluation import INVALID, OK, Limits, PoolEvaluator, Spec
from tests.conftest import LOADER, write_problem
from tests.integration.test_cli import _one_line_error, cambrian as cli

PROGRAM = """
def f(t):
    # EVOLVE-BLOCK-START
    unused = 1.0
    scale = 0.3
    return scale * t
    # EVOLVE-BLOCK-END
"""

CASCADE_EVALUATOR = LOADER + """
import os

def evaluate_stage1(path):
    return {"combined_score": load(path).f(1.0), "stage": "cheap"}

def evaluate(path):
    with open(os.environ["CAMBRIAN_TEST_LOG"], "a") as log:
        log.write("full\\n")
    return {"combined_score": load(path).f(1.0) * 10}
"""


def _spec(path, **kw):
    return Spec(path, timeout=10, **kw)


def _evaluate(spec, code):
    async def go():
        ev = PoolEvaluator(spec)
        try:
            return await ev.evaluate(code)
        finally:
            await ev.close()
    return asyncio.run(go())


def test_cascade_stops_cheap_failures_before_the_full_evaluation(tmp_path, drop_dir, monkeypatch):
    monkeypatch.setenv("CAMBRIAN_TEST_LOG", str(drop_dir / "log"))
    problem = write_problem(tmp_path / "p", PROGRAM, CASCADE_EVALUATOR)
    spec = _spec(problem / "evaluate.py", stages=(("evaluate_stage1", 0.5),), allow_env=("CAMBRIAN_TEST_LOG",),
                 limits=Limits(writable=(str(drop_dir),)))
    low = _evaluate(spec, PROGRAM)
    assert low.status == INVALID and "cascade: stopped at evaluate_stage1" in low.reason
    assert "threshold 0.5" in low.reason
    assert low.feedback["stages"][0]["result"]["stage"] == "cheap"
    assert not (drop_dir / "log").exists(), "the full evaluation ran after a failed stage"
    high = _evaluate(spec, PROGRAM.replace("scale = 0.3", "scale = 0.7"))
    assert high.status == OK and high.score == 7.0
    assert high.feedback["stages"][0]["result"]["combined_score"] == 0.7
    assert (drop_dir / "log").read_text() == "full\n"


def test_a_stage_that_says_invalid_ends_the_cascade_with_its_reason(tmp_path, drop_dir, monkeypatch):
    """"invalid, because X" holds in a stage too, with or without a threshold: the evaluator's
    reason is the program's, and evaluate (the full evaluation) never scores it."""
    monkeypatch.setenv("CAMBRIAN_TEST_LOG", str(drop_dir / "log"))
    evaluator = CASCADE_EVALUATOR.replace('"stage": "cheap"}', '"stage": "cheap", "invalid": "too slow"}')
    problem = write_problem(tmp_path / "p", PROGRAM, evaluator)
    for threshold in (None, 0.5):
        spec = _spec(problem / "evaluate.py", stages=(("evaluate_stage1", threshold),),
                     allow_env=("CAMBRIAN_TEST_LOG",), limits=Limits(writable=(str(drop_dir),)))
        result = _evaluate(spec, PROGRAM.replace("scale = 0.3", "scale = 0.7"))
        assert result.status == INVALID and result.reason == "the evaluator says: too slow"
    assert not (drop_dir / "log").exists(), "the full evaluation ran after a stage said invalid"


@pytest.fixture
def log_env(drop_dir, monkeypatch):
    """The evaluator logs each full evaluation to a file the sandbox user may write."""
    monkeypatch.setenv("CAMBRIAN_TEST_LOG", str(drop_dir / "log"))
    return drop_dir / "log"


def test_cascade_in_a_run_and_config_errors(tmp_path, log_env):
    problem = write_problem(tmp_path / "p", PROGRAM.replace("scale = 0.3", "scale = 0.6"), CASCADE_EVALUATOR,
                            "budget: 30\nevaluation:\n  pass_env: [CAMBRIAN_TEST_LOG]\n"
                            f"  writable: [{log_env.parent}]\n"
                            "  cascade: {evaluate_stage1: 0.55}\n")
    result = cambrian.evolve(problem, run_dir=tmp_path / "run")
    reasons = [p.reason for p in result.programs() if p.status == INVALID]
    assert any(r.startswith("cascade: stopped at evaluate_stage1") for r in reasons)
    full_runs = log_env.read_text().count("full")
    passed = sum(1 for p in result.programs() if p.status == OK)
    assert full_runs == passed
    bad = write_problem(tmp_path / "bad", PROGRAM, CASCADE_EVALUATOR, "evaluation:\n  cascade: {evaluate_stage7: 1}\n")
    _one_line_error(cli("run", bad, "--run-dir", tmp_path / "r2"), "evaluate_stage7 not defined")


FINGERPRINT_EVALUATOR = LOADER + """
import os

def evaluate(path):
    with open(os.environ["CAMBRIAN_TEST_LOG"], "a") as log:
        log.write("eval\\n")
    f = load(path).f
    return {"combined_score": -abs(f(2.0) - 1.5)}
"""


def _equivalence_run(tmp_path, log, evaluator, extra_config=""):
    problem = write_problem(tmp_path / "p", PROGRAM, evaluator,
                            "budget: 40\nseed: 2\nevaluation:\n  pass_env: [CAMBRIAN_TEST_LOG]\n"
                            f"  writable: [{log.parent}]\n" + extra_config +
                            "operators:\n  structural: {weight: 0}\n  crossover: {weight: 0}\n"
                            "  perturb: {max_constants: 1}\n")
    result = cambrian.evolve(problem, run_dir=tmp_path / "run")
    conn = sqlite3.connect(result.run_dir / "cambrian.db")
    outcomes = dict(conn.execute("SELECT outcome, COUNT(*) FROM attempts GROUP BY outcome").fetchall())
    evaluations = log.read_text().count("eval")
    return result, outcomes, evaluations


def test_probe_fingerprints_skip_equivalent_programs(tmp_path, log_env):
    result, outcomes, evaluations = _equivalence_run(
        tmp_path, log_env, FINGERPRINT_EVALUATOR,
        "  fingerprint: {function: f, inputs: [[0.5], [1.0], [2.0]]}\n")
    # Changing `unused` changes the code but not what f computes.
    assert outcomes.get("equivalent", 0) > 0
    assert evaluations == outcomes["new"], "an equivalent program was evaluated"
    twins = [p for p in result.programs() if p.reason.startswith("functionally equivalent to")]
    assert twins and all(p.fingerprint for p in twins)
    initial = result.programs()[0]
    assert initial.operator == "initial" and initial.fingerprint
    assert any(p.reason.endswith(initial.id) for p in twins)
    status = cli("status", result.run_dir)
    assert "evaluations saved by the fingerprint cache" in status.stdout


def test_fingerprint_hook_in_evaluate_py(tmp_path, log_env):
    hook = FINGERPRINT_EVALUATOR + """

def fingerprint(path):
    f = load(path).f
    return [round(f(t), 9) for t in (0.5, 1.0, 2.0)]
"""
    _, outcomes, evaluations = _equivalence_run(tmp_path, log_env, hook)
    assert outcomes.get("equivalent", 0) > 0
    assert evaluations == outcomes["new"]


def test_objective_outside_declared_range_is_invalid(tmp_path):
    problem = write_problem(tmp_path / "p", PROGRAM, LOADER + "def evaluate(path):\n    return {'combined_score': 4.01}\n")
    r = _evaluate(_spec(problem / "evaluate.py", objective_range=(0.0, 2.7)), PROGRAM)
    assert r.status == INVALID and "outside the declared range [0, 2.7]" in r.reason
