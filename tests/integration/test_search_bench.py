"""The search benchmark's parts: the weak scripted model, the landscapes, and a smoke run."""

import json
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "search"
sys.path.insert(0, str(BENCH))

import weak_llm  # noqa: E402
from cambrian.landscapes import score  # noqa: E402

from cambrian.edits import apply_rewrite, apply_search_replace  # noqa: E402
from cambrian.program import Program  # noqa: E402
from cambrian.prompt import build_messages, load_templates  # noqa: E402

LANDSCAPES = ("smooth", "rugged", "rotated", "trap", "plateau", "needle", "mixed", "noisy")


def _request(kind, others=(), seed=0):
    code = (BENCH / "landscapes" / "trap" / "initial_program.py").read_text()
    parent = Program("p", code, None, "initial", 0, 0, "ok", score=0.2)
    shown = [Program(f"o{i}", other, None, "x", 0, 1, "ok", score=0.3) for i, other in enumerate(others)]
    messages = build_messages(kind, templates=load_templates(), task="", objective="combined_score",
                              direction="maximize", parent=parent, inspirations=shown)
    return code, {"messages": messages, "seed": seed}


def test_weak_model_is_deterministic_and_answers_in_the_format_asked():
    code, request = _request("diff")
    assert weak_llm.reply(request) == weak_llm.reply(request)
    applied = 0
    for seed in range(60):
        _, request = _request("diff", seed=seed)
        child = apply_search_replace(code, weak_llm.reply(request))
        applied += isinstance(child, str) and child != code
        _, request = _request("rewrite", seed=seed)
        child = apply_rewrite(code, weak_llm.reply(request))
        applied += isinstance(child, str) and child != code
    assert 80 <= applied < 120  # mostly usable edits, and some that are not


def test_weak_model_copies_values_from_programs_shown():
    code, _ = _request("diff")
    other = code.replace("c = 0.500", "c = 0.917").replace("d = 0.500", "d = 0.883")
    copied = 0
    for seed in range(60):
        _, request = _request("rewrite", others=[other], seed=seed)
        text = weak_llm.reply(request)
        copied += "0.917" in text or "0.883" in text
    assert copied >= 10


def test_weak_model_serves_openai_chat_over_http():
    import openai

    with weak_llm.WeakLLM() as model:
        client = openai.OpenAI(base_url=model.url, api_key="unused")
        _, request = _request("diff")
        out = client.chat.completions.create(model="weak", messages=request["messages"], seed=0)
        assert out.choices[0].message.content == weak_llm.reply(request)
        assert model.calls == 1


@pytest.mark.parametrize("name", LANDSCAPES)
def test_landscapes_score_in_range_with_an_optimum_of_one(name):
    start = [2.0] + [0.5] * 7 if name == "mixed" else [0.5] * 8
    observed, true = score(name, start, "text")
    assert 0 <= true < 0.5
    if name == "noisy":
        assert observed != true and score(name, start, "text") == (observed, true)


def test_trap_basins_hold_a_climber():
    """Three basins (1.0, 0.75, 0.5), all within reach of the start, the tallest pulling least
    there, none reachable from the top of another by the weak model's moves (up to three
    values, each nudged by up to 0.45 or set to a round guess in [0, 1])."""
    import math
    import random

    from cambrian import landscapes

    assert score("trap", [0.5] * 8)[1] == pytest.approx(0.25)
    pulls = [h * math.exp(-sum((0.5 - c) ** 2 for c in centre) / w) for h, centre, w in landscapes._BASINS]
    assert pulls[0] < min(pulls[1:])  # from the start the tallest pulls a little less than the others
    rng = random.Random(0)
    for height, centre, _ in landscapes._BASINS:
        assert score("trap", centre)[1] == pytest.approx(height)
        best_move = 0.0
        for _ in range(3000):
            x = list(centre)
            guess = rng.random() < 0.3
            for j in rng.sample(range(8), rng.randint(1, 3)):
                x[j] = rng.randrange(21) / 20 if guess else x[j] + rng.uniform(-0.45, 0.45)
            best_move = max(best_move, score("trap", x)[1])
        assert best_move <= height  # no jump into a taller basin from the top of this one
    starts = [[0.5 + 0.1 * s for s in signs] for signs in landscapes._CORNERS]  # a step towards each
    assert all(score("trap", x)[1] > 0.25 for x in starts)


@pytest.mark.parametrize("name", LANDSCAPES)
def test_each_landscapes_task_says_what_its_program_says(name):
    """task.md (shown to the model in the system prompt) and the initial program's docstring
    describe the same landscape: a redesigned landscape cannot keep a stale task."""
    here = BENCH / "landscapes" / name
    task = (here / "task.md").read_text().strip()
    doc = (here / "initial_program.py").read_text().splitlines()[0]
    assert task.split("(1.0 is optimal): ", 1)[1] == doc.split(f"'{name}': ", 1)[1].removesuffix(' Tune the constants."""')


def test_smoke_run_of_the_search_bench(tmp_path):
    sys.path.insert(0, str(BENCH))
    import run

    out = tmp_path / "bench"
    assert run.main(["--seeds", "2", "--first-seed", "5", "--budget", "10", "--landscapes", "trap",
                     "--systems", "cambrian,greedy", "--jobs", "1", "--out", str(out)]) == 0
    data = json.loads((out / "results.json").read_text())
    assert len(data["runs"]) == 4 and {r["seed"] for r in data["runs"]} == {5, 6}  # seeds 5-6, another sitting's
    assert "--first-seed 5" in (out / "results.md").read_text()
    for r in data["runs"]:
        assert r["calls"] <= 10 and r["candidates"] >= 1 and r["best"] > 0.2
    assert "| trap |" in (out / "results.md").read_text()


def test_combine_merges_seeds_and_refuses_disagreeing_runs(tmp_path, monkeypatch, capsys):
    import combine

    from cambrian import benchmark

    def part(name, seeds, best=0.5):
        runs = [benchmark.RunResult(problem="trap", system=system, seed=s, best=best + 0.01 * s, best_score=0.5,
                                    candidates=9, calls=10, seconds=0.1)
                for system in ("cambrian", "greedy") for s in seeds]
        benchmark.write(runs, tmp_path / name, title="t")
        return str(tmp_path / name / "results.json")

    a, b, clash = part("a", range(0, 3)), part("b", range(3, 6)), part("c", range(2, 4), best=0.9)
    monkeypatch.setattr(sys, "argv", ["combine.py", a, b, "--out", str(tmp_path / "ab")])
    combine.main()
    data = json.loads((tmp_path / "ab" / "results.json").read_text())
    assert sorted(data["summary"]["trap"]["cambrian"]["best_per_seed"]) == pytest.approx([0.5 + 0.01 * s for s in range(6)])
    assert "## cambrian against the best baseline" in capsys.readouterr().out
    monkeypatch.setattr(sys, "argv", ["combine.py", a, clash, "--out", str(tmp_path / "x")])
    with pytest.raises(SystemExit, match="another file says"):
        combine.main()
    # A landscape re-run replaces its old runs: drop it from the old file, then merge the new one.
    monkeypatch.setattr(sys, "argv", ["combine.py", clash, "--landscapes", "smooth", "--out", str(tmp_path / "y")])
    with pytest.raises(SystemExit, match="no runs left"):
        combine.main()
    monkeypatch.setattr(sys, "argv", ["combine.py", a, "--landscapes", "trap", "--systems", "greedy",
                                      "--out", str(tmp_path / "z")])
    combine.main()
    kept = json.loads((tmp_path / "z" / "results.json").read_text())["runs"]
    assert {(r["problem"], r["system"]) for r in kept} == {("trap", "greedy")} and len(kept) == 3


def _simulate(tmp_path, *args, landscapes="smooth", systems="cambrian,greedy"):
    import simulate

    out = tmp_path / "sim"
    return simulate.main(["--seeds", "1", "--landscapes", landscapes, "--systems", systems, "--jobs", "1",
                          "--out", str(out), *args]), out


BEFORE = ["--set", "search.min_gain=0", "--set", "search.drift_evidence=0"]   # the default before 1cf3baf


@pytest.mark.parametrize("table, settings", [("replica40", []), ("replica40_before", BEFORE)])
def test_the_replica_reproduces_the_published_table_from_this_checkout(tmp_path, table, settings):
    """Seed 0 of the README's search table (results/replica40.json), run again: the same scores,
    so the published figures come from the code as it is (re-run the bench when this fails);
    the previous default's table too, with the settings its header names."""
    # Every landscape (a changed one fails too), and lineages, the best baseline on trap.
    _simulate(tmp_path, *settings, landscapes=",".join(LANDSCAPES), systems="cambrian,greedy,lineages")
    published = json.loads((BENCH / "results" / f"{table}.json").read_text())["summary"]
    again = json.loads((tmp_path / "sim" / "results.json").read_text())["summary"]
    for name in LANDSCAPES:
        for system in ("cambrian", "greedy", "lineages"):
            assert again[name][system]["best_per_seed"] == published[name][system]["best_per_seed"][:1], (name, system)
    assert "--systems cambrian,greedy,lineages" in (tmp_path / "sim" / "results.md").read_text()  # the command as run


@pytest.mark.parametrize("table, settings", [
    ("replica1000_20", []),
    ("replica1000_20_before", BEFORE),
    ("replica1000_20_drift_evidence", ["--set", "search.drift_evidence=0.1", "--set", "search.min_gain=0"]),
    ("replica1000_20_no_drift", ["--set", "archive.replace_equal=false", "--set", "search.min_gain=0"]),
    ("replica1000_20_min_gain_0.0003", ["--set", "search.min_gain=0.0003"]),
])
def test_the_replica_reproduces_the_published_1000_call_tables_from_this_checkout(tmp_path, table, settings):
    """Seed 0 of rugged in the 1000-call tables, where the README says the previous default fell
    behind greedy and drift_evidence recovered most of it: the same scores from this checkout
    (the earlier tables with the settings their headers name)."""
    _simulate(tmp_path, "--budget", "1000", *settings, landscapes="rugged", systems="cambrian,greedy")
    published = json.loads((BENCH / "results" / f"{table}.json").read_text())["summary"]["rugged"]
    again = json.loads((tmp_path / "sim" / "results.json").read_text())["summary"]["rugged"]
    assert "cambrian" in published  # a table with the default's row (greedy's where it was run)
    for system in ("cambrian", "greedy"):
        if system in published:
            assert again[system]["best_per_seed"] == published[system]["best_per_seed"][:1], system


def test_drift_census_counts_equal_scoring_children_that_replace_the_best():
    import drift_census
    import simulate

    from cambrian.adaptive import Adaptive

    evaluate, tell = simulate.evaluate, Adaptive.tell
    drift, outside = drift_census.census("plateau", seeds=1, budget=60)
    assert drift > 0 and 0 <= outside <= drift   # plateau: equal scores are most children
    # The same run without drift: an improvement, or an equal-scoring child that did not take the
    # best's place, is not counted.
    assert drift_census.census("plateau", seeds=1, budget=60, overrides={"archive.replace_equal": False}) == (0, 0)
    assert (simulate.evaluate, Adaptive.tell) == (evaluate, tell)   # the counting hooks are undone
    with pytest.raises(FileNotFoundError):
        drift_census.census("no-such-landscape", seeds=1, budget=10)
    assert (simulate.evaluate, Adaptive.tell) == (evaluate, tell)   # ... when a run fails too
    for bad in (["plateau", "--seeds", "0"], ["plateau", "--budget", "0"]):
        with pytest.raises(SystemExit) as exit_:
            drift_census.main(bad)
        assert exit_.value.code == 2


@pytest.mark.parametrize("table", ["replica40", "heldout40_59", "pooled60", "real10", "replica1000_20",
                                   "replica40_before", "heldout40_59_before", "pooled60_before", "real10_before",
                                   "replica1000_20_before", "heldout60_79", "pooled80", "pooled80_before",
                                   "heldout1000_20_39", "replica40_drift_evidence",
                                   "heldout40_59_drift_evidence", "replica1000_20_drift_evidence"])
def test_no_fixed_baseline_wins_every_landscape_in_the_published_tables(table):
    """The landscapes are designed so that no single fixed search wins them all (the README says
    so of these tables): the best baseline by median is not the same on every landscape."""
    summary = json.loads((BENCH / "results" / f"{table}.json").read_text())["summary"]
    assert set(summary) == set(LANDSCAPES)
    baselines = ("greedy", "lineages", "best_of_n", "random_parent")
    best = {max((s for s in baselines if s in runs), key=lambda s: runs[s]["median"]) for runs in summary.values()}
    assert len(best) > 1, best


@pytest.mark.parametrize("args, said", [
    (["--landscapes", "smooth,bogus"], "unknown landscape bogus"),
    (["--systems", "cambrian,bogus"], "unknown system bogus"),
    (["--seeds", "0"], "--seeds must be at least 1"),
    (["--jobs", "0"], "--jobs must be at least 1"),
    (["--first-seed", "-1"], "--first-seed must be at least 0"),
    (["--set", "nonsense"], "--set nonsense: expected KEY=VALUE"),
    (["--set", "search.explore_share=2"], "search.explore_share"),
    (["--set", "search.drift_evidence=2"], "search.drift_evidence"),
])
def test_the_replica_refuses_bad_arguments_in_one_line(tmp_path, capsys, args, said):
    with pytest.raises(SystemExit) as exit_:
        _simulate(tmp_path, *args)
    assert exit_.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert said in error and "Traceback" not in capsys.readouterr().err
    assert not (tmp_path / "sim").exists()


@pytest.mark.parametrize("args, said", [
    (["--landscapes", "trap,bogus"], "unknown landscape bogus"),
    (["--systems", "bogus"], "unknown system bogus"),
    (["--systems", ","], "unknown system (none given)"),
    (["--budget", "0"], "--budget must be at least 1"),
    (["--first-seed", "-1"], "--first-seed must be at least 0"),
])
def test_the_real_benchmark_refuses_bad_arguments_before_any_run(tmp_path, capsys, args, said):
    sys.path.insert(0, str(BENCH.parent))
    import run as real  # bench/search/run.py

    with pytest.raises(SystemExit) as exit_:
        real.main([*args, "--out", str(tmp_path / "real")])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert said in err.strip().splitlines()[-1] and "Traceback" not in err
    assert not (tmp_path / "real").exists()


def test_shortfall_compares_by_median_and_by_mean_each_against_its_own_best_baseline(tmp_path, capsys):
    """A lottery baseline (half its seeds at 1.0) is best by median but not by mean: each
    statistic names its own best baseline, and a shortfall is positive when ours is below."""
    import shortfall

    runs = ([{"problem": "needle", "system": "cambrian", "seed": s, "best": 0.6} for s in range(4)]
            + [{"problem": "needle", "system": "best_of_n", "seed": s, "best": v} for s, v in enumerate((1, 1, 1, 0.1))]
            + [{"problem": "needle", "system": "greedy", "seed": s, "best": 0.61} for s in range(4)]
            + [{"problem": "smooth", "system": "cambrian", "seed": 0, "best": None}]   # a failed run is left out
            + [{"problem": "smooth", "system": s, "seed": 1, "best": 0.5} for s in ("cambrian", "greedy")])
    table = shortfall.shortfalls(runs)
    assert table["needle"]["median"] == ("best_of_n", pytest.approx(0.4))
    assert table["needle"]["mean"][0] == "best_of_n" and table["needle"]["mean"][1] == pytest.approx(1 - 0.6 / 0.775)
    assert table["smooth"]["median"] == ("greedy", 0.0)
    path = tmp_path / "results.json"
    path.write_text(json.dumps({"runs": runs}))
    shortfall.main([str(path)])
    out = capsys.readouterr().out
    assert "| needle | best_of_n | +40.00% | best_of_n | +22.58% |" in out and "| *worst* | needle |" in out


def test_shortfall_follows_a_minimized_problems_direction_and_leaves_out_nan():
    """`cambrian bench` problems may minimize (a run's ``maximize``): the best baseline is the
    lowest, a shortfall is positive when ours is higher; a NaN best is a failed run."""
    import shortfall

    runs = ([{"problem": "erdos", "system": system, "seed": s, "best": v, "maximize": False}
             for system, v in (("cambrian", 0.44), ("greedy", 0.40), ("best_of_n", 0.49)) for s in range(3)]
            + [{"problem": "erdos", "system": "greedy", "seed": 3, "best": float("nan"), "maximize": False}])
    table = shortfall.shortfalls(runs)
    assert table["erdos"]["median"] == ("greedy", pytest.approx(0.1))
    assert table["erdos"]["mean"] == ("greedy", pytest.approx(0.1))


def test_shortfall_against_a_baseline_at_zero_is_not_a_number_unless_level():
    import shortfall

    runs = [{"problem": p, "system": s, "seed": 0, "best": v, "maximize": False}
            for p, ours in (("bins", 0.5), ("level", 0.0)) for s, v in (("cambrian", ours), ("greedy", 0.0))]
    table = shortfall.shortfalls(runs)
    assert table["bins"]["median"][1] != table["bins"]["median"][1] and table["level"]["median"] == ("greedy", 0.0)
    text = shortfall.markdown(Path("r.json"), table)
    assert "| bins | greedy | n/a | greedy | n/a |" in text and "| *worst* | level | +0.00% | level | +0.00% |" in text


@pytest.mark.parametrize("content, said", [(None, "not a results.json (FileNotFoundError"),
                                           ("{}", "not a results.json (KeyError"),
                                           ('{"runs": [{}]}', "not a results.json (KeyError"),
                                           ('{"runs": 5}', "not a results.json (TypeError"),
                                           ('{"runs": [{"problem": "a", "system": "cambrian", "best": "x"},'
                                            ' {"problem": "a", "system": "greedy", "best": 1}]}', "not a results.json"),
                                           ('{"runs": []}', "no landscape with both")])
def test_shortfall_refuses_what_is_not_a_results_file_in_one_line(tmp_path, capsys, content, said):
    import shortfall

    path = tmp_path / "results.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(SystemExit) as exit_:
        shortfall.main([str(path)])
    assert exit_.value.code == 2 and said in capsys.readouterr().err


def test_the_readme_shortfall_table_is_what_shortfall_prints_for_the_published_results():
    import shortfall

    path = BENCH / "results" / "pooled80.json"
    printed = shortfall.markdown(path, shortfall.shortfalls(json.loads(path.read_text())["runs"])).splitlines()
    rows = [line for line in printed if line.startswith("| ") and not line.startswith(("| landscape", "| *worst*"))]
    readme = [line.strip() for line in (BENCH.parents[1] / "README.md").read_text().splitlines()]
    assert len(rows) == 8 and all(row in readme for row in rows), rows


def test_the_trap_variant_with_traps_own_basins_reproduces_the_published_trap_runs(monkeypatch):
    """trap_variant.py's basins at their defaults are the benchmark's trap: the same scores,
    seed for seed, as the published 40-seed table (so a variant differs only by its basins)."""
    import trap_variant

    monkeypatch.setattr(trap_variant.simulate, "score", trap_variant.simulate.score)   # restored afterwards
    trap_variant._init(trap_variant.landscapes.basins([1.0, 0.75, 0.5], [0.2, 0.25, 0.25], [0.3, 0.3, 0.3]))
    published = {(r["system"], r["seed"]): r["best"]
                 for r in json.loads((BENCH / "results" / "replica40.json").read_text())["runs"] if r["problem"] == "trap"}
    for system in ("cambrian", "lineages"):
        assert trap_variant._one((system, 3, 300)) == (system, pytest.approx(published[system, 3], abs=1e-12))
    for x in ([0.8] * 4 + [0.2] * 4, [0.5] * 8, [0.1, 0.9] * 4):
        assert trap_variant._score("trap", x) == score("trap", x)


@pytest.mark.parametrize("args, said", [
    (["--heights", "1,0.5"], "expected three positive numbers"),
    (["--pulls", "a,b,c"], "expected three numbers"),
    (["--heights", "0.5,1,0.4"], "heights tallest first"),
    (["--pulls", "0.2,0.8,0.3"], "each pull below its height"),
    (["--systems", "cambrian,bogus"], "unknown system bogus"),
    (["--seeds", "0"], "must name or count at least one"),
])
def test_the_trap_variant_refuses_bad_arguments_in_one_line(capsys, args, said):
    import trap_variant

    with pytest.raises(SystemExit) as exit_:
        trap_variant.main(args)
    assert exit_.value.code == 2 and said in capsys.readouterr().err
