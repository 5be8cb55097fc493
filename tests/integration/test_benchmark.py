"""The benchmark harness: real runs of a small problem over seeds and systems."""

import json

from cambrian import benchmark
from cambrian.cli import main
from tests.conftest import QUADRATIC_EVALUATOR, QUADRATIC_PROGRAM, write_problem


def test_bench_runs_every_system_and_seed_and_writes_tables(tmp_path, capsys):
    problem = write_problem(tmp_path / "quadratic", QUADRATIC_PROGRAM, QUADRATIC_EVALUATOR,
                            "operators:\n  perturb: {sigma: 0.5}\n")
    (problem / "benchmark.yaml").write_text("reference: 1.0\n")
    out = tmp_path / "bench"
    code = main(["bench", str(problem), "--budget", "12", "--seeds", "2", "--systems", "cambrian,greedy,best_of_n",
                 "--out", str(out), "--set", "workers=1"])
    assert code == 0
    data = json.loads((out / "results.json").read_text())
    runs = data["runs"]
    assert sorted((r["system"], r["seed"]) for r in runs) == [
        ("best_of_n", 0), ("best_of_n", 1), ("cambrian", 0), ("cambrian", 1), ("greedy", 0), ("greedy", 1)]
    initial = 1.0 / (1.0 + (1.0 - 3.0) ** 2 + (-2.0 - 0.5) ** 2)
    for r in runs:
        assert r["candidates"] == 12 and r["calls"] == 0
        assert r["best"] >= initial
        # The best of a seed is the best valid program of its run.
        from cambrian.store import Store
        store = Store.open(tmp_path / "bench" / "quadratic" / r["system"] / f"seed-{r['seed']}")
        assert r["best"] == max(p.score for p in store.programs("ok"))
        reached = r["to_reach"]["0.99"]
        assert reached is None or store.scalar("SELECT MAX(score) FROM programs WHERE seq <= ?", reached) >= 0.99
    # --resume keeps the finished runs: nothing runs again, the tables come out the same.
    log = (out / "runs.jsonl").read_text()
    assert main(["bench", str(problem), "--budget", "12", "--seeds", "2", "--systems", "cambrian,greedy,best_of_n",
                 "--out", str(out), "--set", "workers=1", "--resume"]) == 0
    assert (out / "runs.jsonl").read_text() == log
    assert json.loads((out / "results.json").read_text())["summary"] == data["summary"]
    summary = data["summary"]["quadratic"]["greedy"]
    assert summary["seeds"] == 2 and summary["q1"] <= summary["median"] <= summary["q3"]
    table = (out / "results.md").read_text()
    assert "| quadratic |" in table and "greedy" in table and "cores" in table
    # Different policies, same seed: different searches.
    by = {(r["system"], r["seed"]): r for r in runs}
    assert by[("best_of_n", 0)]["best"] != by[("greedy", 0)]["best"] or \
        by[("best_of_n", 1)]["best"] != by[("greedy", 1)]["best"]


def test_reached_counts_in_the_objectives_direction():
    assert benchmark.reached(0.995, 1.0, 0.99, maximize=True)
    assert not benchmark.reached(0.985, 1.0, 0.99, maximize=True)
    assert benchmark.reached(2.01, 2.0, 0.99, maximize=False)
    assert not benchmark.reached(2.03, 2.0, 0.99, maximize=False)


def test_bad_input_is_one_line(tmp_path, capsys):
    problem = write_problem(tmp_path / "q", QUADRATIC_PROGRAM, QUADRATIC_EVALUATOR)
    assert main(["bench", str(problem), "--budget", "5", "--systems", "greedy,nope", "--out", str(tmp_path / "o")]) == 2
    assert "unknown system 'nope'" in capsys.readouterr().err
    (problem / "benchmark.yaml").write_text("referense: 1\n")
    assert main(["bench", str(problem), "--budget", "5", "--out", str(tmp_path / "o")]) == 2
    assert "unknown key 'referense'" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_scores_keep_significant_digits():
    assert benchmark._num(0.0158627226) == "0.0158627"
    assert benchmark._num(12.88923791) == "12.8892"
    assert benchmark._num(None) == "—" and benchmark._num(float("nan")) == "—"
    assert benchmark._num(41.0, 0) == "41"
