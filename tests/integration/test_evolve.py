"""Real small evolutions, end to end, in temporary directories."""

import json
import sqlite3

import pytest

import cambrian
from cambrian.errors import InitialProgramError
from tests.conftest import EXAMPLES, LOADER, write_problem


def _sequence(run_dir):
    conn = sqlite3.connect(run_dir / "cambrian.db")
    return conn.execute("SELECT a.seq, a.operator, a.program_id, a.outcome, p.score FROM attempts a"
                        " LEFT JOIN programs p ON p.id = a.program_id ORDER BY a.seq").fetchall()


def test_quadratic_improves_and_lineage_is_stored(quadratic, tmp_path):
    result = cambrian.evolve(quadratic, run_dir=tmp_path / "run", budget=80, seed=1)
    assert result.score > result.stats.initial_score
    assert result.stats.candidates == 80
    chain = result.store.lineage(result.best.id)
    assert chain[-1].operator == "initial" and len(chain) >= 2
    for child, parent in zip(chain, chain[1:]):
        assert child.parent_id == parent.id and child.generation == parent.generation + 1
    assert (tmp_path / "run" / "best" / "program.py").read_text() == result.best.code
    assert json.loads((tmp_path / "run" / "best" / "metrics.json").read_text())["score"] == result.score
    assert (tmp_path / "run" / "config.resolved.yaml").is_file()
    kinds = [json.loads(line)["kind"] for line in (tmp_path / "run" / "events.jsonl").read_text().splitlines()]
    assert kinds[0] == "started" and kinds[-1] == "stopped" and "new_best" in kinds


def test_toy_example_improves(tmp_path):
    result = cambrian.evolve(EXAMPLES / "toy", run_dir=tmp_path / "run", budget=150)
    assert result.score > result.stats.initial_score + 0.05


@pytest.mark.parametrize("workers", [1, 3])
def test_same_seed_same_sequence(quadratic, tmp_path, workers):
    a = cambrian.evolve(quadratic, run_dir=tmp_path / "a", budget=40, seed=5, workers=workers)
    b = cambrian.evolve(quadratic, run_dir=tmp_path / "b", budget=40, seed=5, workers=workers)
    assert _sequence(a.run_dir) == _sequence(b.run_dir)
    c = cambrian.evolve(quadratic, run_dir=tmp_path / "c", budget=40, seed=6, workers=workers)
    assert _sequence(a.run_dir) != _sequence(c.run_dir)


def test_no_program_is_evaluated_twice(quadratic, tmp_path):
    result = cambrian.evolve(quadratic, run_dir=tmp_path / "run", budget=60, workers=4)
    conn = sqlite3.connect(result.run_dir / "cambrian.db")
    new = conn.execute("SELECT program_id FROM attempts WHERE outcome = 'new'").fetchall()
    assert len(new) == len(set(new)) == conn.execute("SELECT COUNT(*) FROM programs").fetchone()[0]
    dup = conn.execute("SELECT COUNT(*) FROM attempts WHERE outcome = 'duplicate'"
                       " AND program_id NOT IN (SELECT id FROM programs)").fetchone()[0]
    assert dup == 0


def test_bad_candidates_are_data_and_the_run_goes_on(tmp_path):
    program = """
    def f():
        # EVOLVE-BLOCK-START
        x = 0.05
        return x
        # EVOLVE-BLOCK-END
    """
    evaluator = LOADER + """
import time
def evaluate(path):
    x = load(path).f()
    kind = int(x * 10) % 4
    if kind == 1:
        raise RuntimeError("kind one explodes")
    if kind == 2:
        time.sleep(60)
    if kind == 3:
        return {"combined_score": float("nan")}
    return {"combined_score": x}
"""
    problem = write_problem(tmp_path / "p", program, evaluator)
    result = cambrian.evolve(problem, run_dir=tmp_path / "run", budget=40, workers=4,
                             evaluation__timeout=1.0, operators__structural__weight=0.0,
                             operators__perturb__sigma=2.0)
    by_status = {}
    for p in result.programs():
        by_status.setdefault(p.status, []).append(p)
    assert {"ok", "error", "timeout", "invalid"} <= set(by_status)
    assert "kind one explodes" in by_status["error"][0].reason
    assert "timeout" in by_status["timeout"][0].reason
    assert "nan" in by_status["invalid"][0].reason
    assert result.stats.candidates == 40
    assert result.score > result.stats.initial_score


def test_target_and_patience_stop_early(quadratic, tmp_path):
    r = cambrian.evolve(quadratic, run_dir=tmp_path / "a", budget=500, target=0.2)
    assert r.stats.stop_reason.startswith("target") and r.stats.candidates < 500
    r = cambrian.evolve(quadratic, run_dir=tmp_path / "b", budget=500, patience=5)
    assert r.stats.stop_reason.startswith("no improvement") and r.stats.candidates < 500


def test_map_elites_features_and_islands(quadratic, tmp_path):
    r = cambrian.evolve(quadratic, run_dir=tmp_path / "run", budget=60, islands__count=3, search__policy="islands",
                        islands__migration_interval=10,
                        archive__features=[{"name": "distance", "bins": 5, "min": 0, "max": 20}])
    assert {p.island for p in r.programs()} == {0, 1, 2}
    assert r.score > r.stats.initial_score


def test_initial_program_failure_stops_with_its_error(tmp_path):
    problem = write_problem(tmp_path / "p", "# EVOLVE-BLOCK-START\nx = 1\n# EVOLVE-BLOCK-END\n",
                            "def evaluate(path):\n    raise KeyError('no such thing')\n")
    with pytest.raises(InitialProgramError, match="KeyError"):
        cambrian.evolve(problem, run_dir=tmp_path / "run", budget=5)
