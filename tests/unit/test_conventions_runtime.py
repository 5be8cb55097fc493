"""The peers' calling contracts, as the sandboxed worker runs them (no sandbox here: pure calls)."""

import json
import sys
import types
from dataclasses import dataclass, field

from cambrian.conventions import SHIMS, runtime


@dataclass
class EvaluationResult:  # any class of this shape: openevolve need not be installed
    metrics: dict
    artifacts: dict = field(default_factory=dict)


def same(value, depth=0):
    return value


def test_evaluation_result_becomes_metrics_plus_artifacts_in_every_convention():
    out = runtime.plain(EvaluationResult({"combined_score": 0.5}, {"log": b"text", "bin": b"\xff", "n": 3}))
    assert out == {"combined_score": 0.5, "artifacts": {"log": "text", "bin": "<1 bytes of binary data>", "n": "3"}}
    assert runtime.plain({"combined_score": 1.0}) == {"combined_score": 1.0}
    assert runtime.plain(EvaluationResult({"combined_score": 0.5})) == {"combined_score": 0.5}
    assert runtime.plain(None) is None


def test_openevolve_threshold_rule():
    assert runtime.passes({"combined_score": 0.6, "other": 0.0}, 0.5)
    assert not runtime.passes({"combined_score": 0.4, "other": 9.0}, 0.5)
    assert runtime.passes({"a": 0.4, "b": 0.8, "error": -100.0}, 0.5)    # mean of numerics but 'error'
    assert not runtime.passes({}, 0.0) and not runtime.passes({"note": "x"}, 0.0)


def _evaluator(**functions):
    module = types.SimpleNamespace(**functions)
    module.calls = []
    for name, f in functions.items():
        setattr(module, name, (lambda f, name: lambda p: (module.calls.append(name), f(p))[1])(f, name))
    return module


def test_openevolve_stages_merge_stop_and_never_call_evaluate():
    ev = _evaluator(evaluate_stage1=lambda p: {"combined_score": 0.6, "s1": 1.0, "error": 0.0},
                    evaluate_stage2=lambda p: EvaluationResult({"combined_score": 0.8, "s2": 2.0}, {"a": "x"}),
                    evaluate_stage3=lambda p: {"combined_score": 0.9, "s3": 3.0},
                    evaluate=lambda p: {"combined_score": 99.0})
    job = {"program": "p.py", "convention": "openevolve",
           "stages": [{"name": "evaluate_stage1", "threshold": 0.5}, {"name": "evaluate_stage2", "threshold": 0.85},
                      {"name": "evaluate_stage3", "threshold": None}]}
    out = runtime.run_job(ev, job, same)
    assert ev.calls == ["evaluate_stage1", "evaluate_stage2"]             # stopped below 0.85; no evaluate
    assert out["result"] == {"combined_score": 0.8, "s1": 1.0, "s2": 2.0, "artifacts": {"a": "x"},
                             "cascade": "stopped after evaluate_stage2: below its threshold 0.85"}
    job["stages"][1]["threshold"] = 0.5
    ev.calls.clear()
    out = runtime.run_job(ev, job, same)
    assert ev.calls == ["evaluate_stage1", "evaluate_stage2", "evaluate_stage3"]
    assert out["result"]["combined_score"] == 0.9 and "cascade" not in out["result"]
    ev.calls.clear()
    assert runtime.run_job(ev, {**job, "stages": []}, same)["result"] == {"combined_score": 99.0}
    assert ev.calls == ["evaluate"]


def test_openevolve_stage_that_says_invalid_ends_the_cascade():
    ev = _evaluator(evaluate_stage1=lambda p: {"combined_score": 0.9, "invalid": "too slow"},
                    evaluate_stage2=lambda p: {"combined_score": 0.95})
    job = {"program": "p.py", "convention": "openevolve",
           "stages": [{"name": "evaluate_stage1", "threshold": 0.5}, {"name": "evaluate_stage2", "threshold": None}]}
    out = runtime.run_job(ev, job, same)["result"]
    assert ev.calls == ["evaluate_stage1"] and out["invalid"] == "too slow"
    assert out["cascade"] == "stopped after evaluate_stage1: it says the program is invalid"


def _shinka(tmp_path, monkeypatch, metrics, correct):
    def main(program_path, results_dir):
        if metrics is not None:
            (tmp_path / "results" / "metrics.json").write_text(json.dumps(metrics))
        if correct is not None:
            (tmp_path / "results" / "correct.json").write_text(json.dumps(correct))

    monkeypatch.chdir(tmp_path)
    return runtime.run_job(types.SimpleNamespace(main=main), {"program": "p.py", "convention": "shinka"}, same)["result"]


def test_shinka_correct_json_decides(tmp_path, monkeypatch):
    metrics = {"combined_score": 0.934, "public": {"n": 26, "note": "hi"}, "private": {"holdout": 0.9},
               "text_feedback": "circle 3 is outside"}
    ok = _shinka(tmp_path, monkeypatch, metrics, {"correct": True, "error": None})
    assert ok == {"combined_score": 0.934, "n": 26, "note": "hi", "private_holdout": 0.9,
                  "text_feedback": "circle 3 is outside"}
    bad = _shinka(tmp_path, monkeypatch, metrics, {"correct": False, "error": "circle 3 is outside"})
    assert bad["invalid"] == "correct.json: circle 3 is outside" and "combined_score" not in bad
    assert bad["metrics_json_not_counted"] == {"combined_score": 0.934, "n": 26}
    assert not any(k.startswith("private") for k in bad)
    assert _shinka(tmp_path, monkeypatch, metrics, {"correct": "yes"})["invalid"] == \
        "correct.json: correct.json has no true/false 'correct' field"
    assert _shinka(tmp_path, monkeypatch, [1, 2], {"correct": True})["invalid"] == "metrics.json holds list, not an object"


def test_stand_ins_come_after_installed_packages():
    before = list(sys.path)
    try:
        runtime.prepare({"convention": "shinka"})
        assert sys.path[-1] == str(SHIMS) and sys.path[:-1] == before
        runtime.prepare({"convention": "openevolve"})
        assert sys.path.count(str(SHIMS)) == 1
    finally:
        sys.path[:] = before


def test_openevolve_fitness_without_combined_score_is_the_mean_of_numeric_metrics():
    ev = _evaluator(evaluate=lambda p: {"overall_score": 0.5, "lag": 1.5, "ok": True, "error": "text"})
    out = runtime.run_job(ev, {"program": "p.py", "convention": "openevolve", "objective": "combined_score"},
                          same)["result"]
    assert out["combined_score"] == 1.0 and out["fitness"].startswith("combined_score is the mean of the 2")
    other = runtime.run_job(ev, {"program": "p.py", "convention": "openevolve", "objective": "overall_score"},
                            same)["result"]
    assert "combined_score" not in other                    # a chosen objective is left alone
    said = _evaluator(evaluate=lambda p: {"invalid": "no", "x": 1.0})
    assert "combined_score" not in runtime.run_job(said, {"program": "p", "convention": "openevolve"}, same)["result"]
