"""OpenEvolve and ShinkaEvolve problem directories run with `cambrian run DIR`, unchanged.

The directories are written for these tests in each peer's format (examples/openevolve_minimize,
examples/shinka_packing, and small ones below); every run is a real `cambrian run` with the
built-in operators, checked in the store it leaves.
"""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from cambrian.conventions import OPENEVOLVE, SHINKA, detect
from cambrian.conventions.translation import configure
from cambrian.errors import ProblemError
from cambrian.problem import Problem
from cambrian.store import Store

ROOT = Path(__file__).resolve().parents[2]
OE_EXAMPLE = ROOT / "examples" / "openevolve_minimize"
SHINKA_EXAMPLE = ROOT / "examples" / "shinka_packing"
NO_KEYS = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}


def run(*args, env=None):
    proc = subprocess.run([sys.executable, "-m", "cambrian.cli", "run", *map(str, args)], capture_output=True,
                          text=True, timeout=300, env=env or NO_KEYS)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def programs(run_dir):
    store = Store.open(Path(run_dir) / Store.FILE)
    try:
        return store.programs()
    finally:
        store.close()


def write(root, files):
    root.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (root / name).write_text(text)
    return root


PROGRAM = textwrap.dedent("""\
    # EVOLVE-BLOCK-START
    def solve():
        x = 1.0
        y = -2.0
        return x, y
    # EVOLVE-BLOCK-END
    """)
LOAD = textwrap.dedent("""\
    import importlib.util

    def _load(path):
        spec = importlib.util.spec_from_file_location("program", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    def _score(path):
        x, y = _load(path).solve()
        return 1.0 / (1.0 + (x - 3.0) ** 2 + (y - 0.5) ** 2)
    """)


# --- which convention -------------------------------------------------------------------

def test_detected_from_file_names_and_forced_by_flag_or_config(tmp_path):
    oe = write(tmp_path / "oe", {"initial_program.py": PROGRAM, "evaluator.py": LOAD + "def evaluate(p):\n    return {}\n"})
    sh = write(tmp_path / "sh", {"initial.py": PROGRAM, "evaluate.py": "def main(p, d):\n    pass\n"})
    assert detect(oe) == OPENEVOLVE and detect(sh) == SHINKA
    assert Problem.load(oe).convention == OPENEVOLVE and Problem.load(oe).evaluator_path.name == "evaluator.py"
    assert Problem.load(sh).program_path.name == "initial.py"
    with pytest.raises(ProblemError, match="missing evaluate.py.*convention cambrian"):
        Problem.load(oe, convention="cambrian")
    with pytest.raises(ProblemError, match="unknown convention 'peer'"):
        Problem.load(oe, convention="peer")
    (sh / "cambrian.yaml").write_text("convention: openevolve\n")
    with pytest.raises(ProblemError, match="missing initial_program.py"):
        Problem.load(sh)
    with pytest.raises(ProblemError, match=r"defines no main\(program_path, results_dir\)"):
        Problem.load(write(tmp_path / "bad", {"initial.py": PROGRAM, "evaluate.py": "def run(p):\n    pass\n"}))
    with pytest.raises(ProblemError, match="initial_program.py \\+ evaluator.py \\(OpenEvolve\\)"):
        Problem.load(write(tmp_path / "empty", {"notes.txt": "nothing"}))


# --- config translation -----------------------------------------------------------------

def test_openevolve_config_every_key_mapped_or_ignored_with_a_reason():
    problem = Problem.load(OE_EXAMPLE)
    data, task, lines = configure(problem, problem.config_path, env={})
    assert data["budget"] == 40 and data["seed"] == 7 and data["workers"] == 2
    assert data["evaluation"] == {"timeout": 30, "cascade": {"evaluate_stage1": 0.3}}
    assert data["islands"] == {"count": 2, "migration_interval": 20, "migrants": 2}
    assert "llm" not in data or "models" not in data["llm"]          # no key in the environment
    assert task.startswith("Improve search_algorithm")
    import yaml

    from cambrian.conventions.translation import walk

    report = "\n".join(lines)
    for key, _ in walk(yaml.safe_load(problem.config_path.read_text())):
        assert key.split(".")[-1] in report, f"{key} missing from the report"
    assert "ignored  llm.primary_model: gpt-4o-mini (OPENAI_API_KEY is not set" in report
    with_key, _, _ = configure(problem, problem.config_path, env={"OPENAI_API_KEY": "x"})
    assert [m["model"] for m in with_key["llm"]["models"]] == ["openai:gpt-4o-mini", "openai:gpt-4o"]
    assert with_key["llm"]["models"][0]["temperature"] == 0.7


def test_openevolve_defaults_apply_without_a_config_file(tmp_path):
    root = write(tmp_path / "oe", {"initial_program.py": PROGRAM, "evaluator.py": LOAD + textwrap.dedent("""
        def evaluate_stage1(p):
            return {"combined_score": _score(p)}
        def evaluate_stage2(p):
            return {"combined_score": _score(p)}
        def evaluate_stage3(p):
            return {"combined_score": _score(p)}
        """)})
    problem = Problem.load(root)
    data, _, lines = configure(problem, None, env={})
    # OpenEvolve's defaults: cascade on, thresholds 0.5 and 0.75 gate stages 2 and 3
    assert data["evaluation"]["cascade"] == {"evaluate_stage1": 0.5, "evaluate_stage2": 0.75}
    assert any("0.9" in line and "no stage follows" in line for line in lines)
    off = write(tmp_path / "off", {**{n: (root / n).read_text() for n in ("initial_program.py", "evaluator.py")},
                                   "config.yaml": "evaluator:\n  cascade_evaluation: false\n"})
    problem = Problem.load(off)
    assert configure(problem, problem.config_path, env={})[0]["evaluation"] == {"cascade_stages": False}


def test_shinka_config_and_task_from_the_launch_script():
    problem = Problem.load(SHINKA_EXAMPLE)
    assert problem.config_path.name == "shinka.yaml"
    data, task, lines = configure(problem, problem.config_path, env={})
    assert data["budget"] == 40 and data["max_cost"] == 2.0 and data["workers"] == 2
    assert data["selection"] == {"method": "weighted", "weighted_lambda": 10, "inspirations": 2}
    assert data["llm"] == {"formats": {"diff": 0.6, "rewrite": 0.3, "crossover": 0.1}}
    assert task.startswith("Place 6 circles")
    assert any("ignored  max_proposal_jobs" in line for line in lines)
    with_key = configure(problem, problem.config_path, env={"OPENAI_API_KEY": "x"})[0]
    assert with_key["llm"]["models"] == [{"model": "openai:gpt-4.1-mini", "temperature": 0.5, "max_tokens": 8192}]


# --- end to end ---------------------------------------------------------------------------

def test_openevolve_example_runs_unchanged(tmp_path):
    proc = run(OE_EXAMPLE, "--budget", 10, "--run-dir", tmp_path / "run")
    assert "config.yaml (OpenEvolve):" in proc.stderr and "ignored  checkpoint_interval" in proc.stderr
    assert (tmp_path / "run" / "config.translation.txt").read_text().startswith("config.yaml (OpenEvolve)")
    found = programs(tmp_path / "run")
    initial = next(p for p in found if p.generation == 0)
    assert initial.status == "ok" and 0 < initial.score <= 1
    # EvaluationResult's artifacts are feedback; stage 2 is the full evaluation (its metrics
    # are the result), merged over stage 1's
    assert initial.feedback["artifacts"]["stage"] == "stage2: 5 seeds"
    assert [s["stage"] for s in initial.feedback["stages"]] == ["evaluate_stage1", "evaluate_stage2"]
    assert initial.score == initial.feedback["stages"][1]["result"]["combined_score"]
    resolved = (tmp_path / "run" / "config.resolved.yaml").read_text()
    assert "convention: openevolve" in resolved and "budget: 10" in resolved


CASCADE = LOAD + textwrap.dedent("""
    def evaluate_stage1(path):
        return {"combined_score": _score(path), "stage1_only": 1.0, "error": 0.0}

    def evaluate_stage2(path):
        return {"combined_score": _score(path), "stage2_only": 2.0}

    def evaluate(path):
        return {"combined_score": 99.0, "evaluate_called": 1.0}
    """)


def test_openevolve_cascade_last_stage_is_the_full_evaluation(tmp_path):
    root = write(tmp_path / "cascade", {"initial_program.py": PROGRAM, "evaluator.py": CASCADE,
                                        "config.yaml": "evaluator:\n  cascade_thresholds: [0.2]\n"})
    run(root, "--budget", 8, "--run-dir", tmp_path / "run", "--quiet")
    found = [p for p in programs(tmp_path / "run") if p.status == "ok"]
    assert len(found) >= 2
    for p in found:
        assert "evaluate_called" not in p.metrics and p.score < 1.0    # evaluate() never ran
        assert "error" not in p.metrics                                 # dropped, as OpenEvolve does
        if p.metrics["combined_score"] >= 0.2:                         # past the threshold: both stages
            assert p.metrics["stage1_only"] == 1.0 and p.metrics["stage2_only"] == 2.0
        else:                                                          # stopped: stage 1's result stands
            assert "stage2_only" not in p.metrics and p.feedback["cascade"].startswith("stopped after")
    initial = next(p for p in found if p.generation == 0)
    assert initial.score == pytest.approx(1 / (1 + 4 + 6.25))           # 0.0889: below 0.2, stage 1 only
    assert "stage2_only" not in initial.metrics


ARTIFACTS = LOAD + textwrap.dedent("""
    from openevolve.evaluation_result import EvaluationResult

    def evaluate(path):
        score = _score(path)
        return EvaluationResult(metrics={"combined_score": score, "distance": 1 / score - 1},
                                artifacts={"note": "closer to (3, 0.5) is better", "log": b"bytes ok",
                                           "blob": bytes([255, 0, 1])})
    """)


def test_openevolve_evaluation_result_with_artifacts_without_openevolve(tmp_path):
    import importlib.util

    assert importlib.util.find_spec("openevolve") is None  # the stand-in is the sandbox's, not ours
    root = write(tmp_path / "artifacts", {"initial_program.py": PROGRAM, "evaluator.py": ARTIFACTS})
    run(root, "--budget", 6, "--run-dir", tmp_path / "run", "--quiet")
    found = [p for p in programs(tmp_path / "run") if p.status == "ok"]
    assert len(found) >= 2
    for p in found:
        assert p.metrics["distance"] == pytest.approx(1 / p.score - 1)
        assert p.feedback["artifacts"] == {"note": "closer to (3, 0.5) is better", "log": "bytes ok",
                                           "blob": "<3 bytes of binary data>"}


def test_openevolve_program_without_markers_evolves_as_a_whole(tmp_path):
    bare = PROGRAM.replace("# EVOLVE-BLOCK-START\n", "").replace("# EVOLVE-BLOCK-END\n", "")
    root = write(tmp_path / "bare", {"initial_program.py": bare,
                                     "evaluator.py": LOAD + "\ndef evaluate(path):\n"
                                                    "    return {'combined_score': _score(path)}\n"})
    assert Problem.load(root).initial_code == f"# EVOLVE-BLOCK-START\n{bare}# EVOLVE-BLOCK-END\n"
    run(root, "--budget", 6, "--run-dir", tmp_path / "run", "--quiet")
    assert sum(p.status == "ok" for p in programs(tmp_path / "run")) >= 2
    (root / "evaluator.py").rename(root / "evaluate.py")  # Cambrian's own convention still asks for markers
    with pytest.raises(ProblemError, match="no evolve region"):
        Problem.load(root)


def test_shinka_example_incorrect_programs_are_invalid_whatever_metrics_json_says(tmp_path):
    proc = run(SHINKA_EXAMPLE, "--budget", 16, "--seed", 3, "--run-dir", tmp_path / "run")
    assert "shinka.yaml (ShinkaEvolve):" in proc.stderr
    found = programs(tmp_path / "run")
    from cambrian.conventions import SHIMS

    sys.path[:0] = [str(SHINKA_EXAMPLE), str(SHIMS)]
    try:
        import evaluate as shinka_evaluate  # the example's own validation, to check the verdicts
    finally:
        del sys.path[:2]
        for name in ("evaluate", "shinka", "shinka.core"):
            sys.modules.pop(name, None)
    invalid = [p for p in found if p.status == "invalid"]
    assert invalid, "the built-in operators make overlapping packings: some must be invalid"
    for p in invalid:
        assert p.score is None and p.reason.startswith("the evaluator says: correct.json: Validation failed:")
        assert p.feedback["metrics_json_not_counted"]["combined_score"] > 0   # metrics.json kept a score
        assert "combined_score" not in p.metrics
    for p in found:
        if p.status == "ok":
            ns = {}
            exec(compile(p.code, "program", "exec"), ns)
            assert shinka_evaluate.validate(ns["run_packing"]())[0]
            # public metrics are metrics, private ones private_*, text_feedback feedback
            assert p.metrics["num_circles"] == 6 and p.metrics["private_reported_sum"] == pytest.approx(p.score)
            assert p.feedback["text_feedback"].startswith("sum of radii")
    best = max((p for p in found if p.status == "ok"), key=lambda p: p.score)
    assert best.score >= 0.97


def test_shinka_results_files_missing_or_malformed_are_reasons(tmp_path):
    base = {"initial.py": PROGRAM}
    cases = {
        "nothing": "def main(program_path, results_dir):\n    pass\n",
        "raises": "def main(program_path, results_dir):\n    raise ValueError('boom')\n",
        "no_correct": textwrap.dedent("""\
            import json, os
            def main(program_path, results_dir):
                json.dump({"combined_score": 1.0}, open(os.path.join(results_dir, "metrics.json"), "w"))
            """),
    }
    reasons = {}
    for name, evaluator in cases.items():
        root = write(tmp_path / name, {**base, "evaluate.py": evaluator})
        proc = subprocess.run([sys.executable, "-m", "cambrian.cli", "run", root, "--budget", "1", "--run-dir",
                               tmp_path / f"run-{name}", "--quiet"], capture_output=True, text=True, timeout=300)
        assert proc.returncode != 0  # an initial program that does not evaluate stops the run, saying why
        reasons[name] = proc.stderr.strip()
    assert "(invalid): the evaluator says: main() wrote no metrics.json;" in reasons["nothing"]
    assert "(error): main() raised ValueError: boom" in reasons["raises"]
    assert "(invalid): the evaluator says: correct.json: main() wrote no correct.json;" in reasons["no_correct"]


BOTH = textwrap.dedent("""\
    import json, os
    import importlib.util

    def _score(path):
        spec = importlib.util.spec_from_file_location("program", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        x, y = module.solve()
        return 1.0 / (1.0 + (x - 3.0) ** 2 + (y - 0.5) ** 2)

    def evaluate(path):
        return {"combined_score": 0.001, "called": "evaluate"}

    def main(program_path, results_dir):
        json.dump({"combined_score": _score(program_path), "text_feedback": "called main"},
                  open(os.path.join(results_dir, "metrics.json"), "w"))
        json.dump({"correct": True, "error": None}, open(os.path.join(results_dir, "correct.json"), "w"))
    """)


def test_convention_forced_by_flag_or_config_key_and_kept_on_resume(tmp_path):
    root = write(tmp_path / "both", {"initial_program.py": PROGRAM, "initial.py": PROGRAM, "evaluate.py": BOTH})
    run(root, "--budget", 2, "--run-dir", tmp_path / "auto", "--quiet")
    assert {p.score for p in programs(tmp_path / "auto") if p.generation == 0} == {0.001}   # detected: Cambrian
    run(root, "--budget", 2, "--run-dir", tmp_path / "flag", "--quiet", "--convention", "shinka")
    initial = next(p for p in programs(tmp_path / "flag") if p.generation == 0)
    assert initial.score == pytest.approx(1 / 11.25) and initial.feedback["text_feedback"] == "called main"
    run("--resume", tmp_path / "flag", "--budget", 4, "--quiet")         # the saved convention holds
    assert len(programs(tmp_path / "flag")) > 2
    assert all(p.score != 0.001 for p in programs(tmp_path / "flag"))
    (root / "cambrian.yaml").write_text("convention: shinka\nbudget: 2\n")
    run(root, "--run-dir", tmp_path / "key", "--quiet")
    assert next(p for p in programs(tmp_path / "key") if p.generation == 0).score == pytest.approx(1 / 11.25)


def test_shinka_stand_in_follows_run_shinka_eval_contract(tmp_path, monkeypatch):
    from cambrian.conventions import SHIMS

    monkeypatch.syspath_prepend(str(SHIMS))
    from shinka.core import run_shinka_eval

    program = tmp_path / "program.py"
    program.write_text("def run(seed):\n    return {'x': seed * 1.0}\n")
    results = tmp_path / "results"
    metrics, correct, error = run_shinka_eval(
        str(program), str(results), "run", 3, validate_fn=lambda r: (r["x"] != 2.0, "x is 2"),
        aggregate_metrics_fn=lambda rs: {"combined_score": sum(r["x"] for r in rs), "extra_data": [1, 2]})
    assert metrics["combined_score"] == 6.0 and (metrics["num_valid_runs"], metrics["num_invalid_runs"]) == (2, 1)
    assert correct is False and error == "Validation failed: x is 2"
    assert json.loads((results / "correct.json").read_text()) == {"correct": False, "error": "Validation failed: x is 2"}
    assert "extra_data" not in json.loads((results / "metrics.json").read_text())
    assert (results / "extra.pkl").is_file()
    metrics, correct, error = run_shinka_eval(str(program), str(results), "missing", 1)
    assert correct is False and "missing" in error and metrics["combined_score"] == 0.0
    from shinka.core.wrap_eval import run_shinka_eval as documented  # ShinkaEvolve's API reference path

    assert documented is run_shinka_eval
    for name in ("shinka", "shinka.core", "shinka.core.wrap_eval"):
        sys.modules.pop(name, None)


def test_private_metrics_and_feedback_never_reach_a_prompt():
    from cambrian.program import Program
    from cambrian.prompt import describe_program

    p = Program("a" * 16, "x = 1\n", None, "initial", 0, 0, "ok", score=1.0,
                metrics={"combined_score": 1.0, "private_holdout": 0.5, "shown": 2.0},
                feedback={"private_note": "secret", "private": {"k": "secret"}, "text_feedback": "visible"})
    text = describe_program(p, title="t", objective="combined_score")
    assert "secret" not in text and "private" not in text and "visible" in text and "shown" in text


def test_cambrian_yaml_beside_a_peer_config_wins_and_says_so(tmp_path):
    import shutil

    root = tmp_path / "oe"
    shutil.copytree(OE_EXAMPLE, root)
    (root / "cambrian.yaml").write_text("budget: 3\n")
    problem = Problem.load(root)
    assert problem.convention == OPENEVOLVE and problem.config_path.name == "cambrian.yaml"
    data, task, lines = configure(problem, problem.config_path, env={})
    assert data == {"budget": 3} and task is None
    assert lines == ["cambrian.yaml read as Cambrian's config; config.yaml (OpenEvolve) not read"]
    (root / "cambrian.yaml").unlink()
    (root / "config.yaml").write_text("llm:\n  primary_model: m\n  api_base: http://127.0.0.1:9/v1\n")
    data, _, _ = configure(Problem.load(root), root / "config.yaml", env={})   # 'llm' alone: still OpenEvolve's
    assert data["llm"]["models"] == [{"model": "openai:m@http://127.0.0.1:9/v1"}]


SHINKA_C = {
    "initial.c": textwrap.dedent("""\
        #include <stdio.h>
        // EVOLVE-BLOCK-START
        double guess(void) { return 1.0; }
        // EVOLVE-BLOCK-END
        int main(void) { printf("%.10f\\n", guess()); return 0; }
        """),
    "evaluate.py": textwrap.dedent("""\
        import json, os, subprocess, tempfile

        def main(program_path, results_dir):
            binary = os.path.join(tempfile.mkdtemp(), "program")
            subprocess.run(["cc", "-O0", "-o", binary, program_path], check=True)
            x = float(subprocess.run([binary], capture_output=True, text=True, check=True).stdout)
            metrics = {"combined_score": 1.0 / (1.0 + (x - 2.5) ** 2), "public": {"x": x}}
            correct = {"correct": x <= 3.0, "error": None if x <= 3.0 else f"x = {x} is above 3"}
            for name, value in (("metrics.json", metrics), ("correct.json", correct)):
                with open(os.path.join(results_dir, name), "w") as f:
                    json.dump(value, f)
        """),
}


def test_shinka_program_in_another_language(tmp_path):
    root = write(tmp_path / "c", SHINKA_C)
    problem = Problem.load(root)
    assert problem.convention == SHINKA and problem.program_path.name == "initial.c"
    run(root, "--budget", 10, "--seed", 1, "--run-dir", tmp_path / "run", "--quiet")
    found = programs(tmp_path / "run")
    initial = next(p for p in found if p.generation == 0)
    assert initial.status == "ok" and initial.metrics["x"] == 1.0 and initial.score == pytest.approx(1 / 3.25)
    for p in found:
        assert (p.status == "ok") == (p.metrics.get("x", 99.0) <= 3.0) or p.status not in ("ok", "invalid")
        if p.status == "invalid":
            assert "is above 3" in p.reason
    assert max(p.score for p in found if p.status == "ok") > initial.score   # the C literal was tuned


def test_every_key_of_a_peer_config_is_in_the_report_when_models_are_used(tmp_path):
    """With the API keys set, keys absorbed into the model entries (a model's weight, the shared
    temperature, a Shinka reasoning_efforts list) are still reported, never dropped silently."""
    from cambrian.conventions.translation import translate

    oe = {"llm": {"models": [{"name": "gpt-4o-mini", "weight": 0.8}, {"name": "o3-mini", "weight": 0.2,
                                                                      "max_tokens": 999}],
                  "api_base": "https://api.openai.com/v1", "temperature": 0.7, "max_tokens": 4096}}
    t = translate(OPENEVOLVE, oe, file=None, root=tmp_path, stages=(), env={"OPENAI_API_KEY": "x"})
    report = "\n".join(t.lines())
    for key in ("llm.models[0].weight: 0.8", "llm.models[1].weight: 0.2", "llm.temperature: 0.7",
                "llm.max_tokens: 4096", "llm.api_base"):
        assert key in report, f"{key} missing from:\n{report}"
    assert t.config["llm"]["models"][1] == {"model": "openai:o3-mini", "temperature": 0.7, "max_tokens": 999}

    sh = {"evo_config": {"llm_models": ["gemini-2.5-flash", "local/qwen@http://127.0.0.1:8000/v1", "gpt-4.1"],
                         "llm_kwargs": {"temperatures": [0.0, 1.0], "reasoning_efforts": ["low", "high"]}}}
    t = translate(SHINKA, sh, file=None, root=tmp_path, stages=(), env={"GEMINI_API_KEY": "g"})
    report = "\n".join(t.lines())
    assert "evo_config.llm_kwargs.reasoning_efforts" in report
    # ShinkaEvolve routes models by name: Gemini to Google's endpoint with GEMINI_API_KEY, local/ to its URL
    assert t.config["llm"]["models"] == [
        {"model": "openai:gemini-2.5-flash@https://generativelanguage.googleapis.com/v1beta/openai/",
         "temperature": 0.5, "api_key_env": "GEMINI_API_KEY"},
        {"model": "openai:qwen@http://127.0.0.1:8000/v1", "temperature": 0.5}]
    assert "ignored  evo_config.llm_models[2]: gpt-4.1 (OPENAI_API_KEY is not set" in report


def test_resume_survives_edits_to_the_peer_config_but_not_to_the_evaluator(tmp_path):
    """A peer's config file and launch script are read for settings and task text, like
    cambrian.yaml and task.md: editing them (more iterations) does not refuse a resume; editing
    the evaluator or a file beside it still does."""
    from cambrian.conventions import not_scoring
    from cambrian.resume import changed_files, evaluator_digests

    root = write(tmp_path / "oe", {"initial_program.py": PROGRAM, "config.yaml": "max_iterations: 2\n",
                                   "evaluator.py": LOAD + "def evaluate(p):\n    return {'combined_score': _score(p)}\n"})
    quiet = run(root, "--run-dir", tmp_path / "run", "--quiet")
    assert "setting(s) mapped" not in quiet.stderr + quiet.stdout     # with --quiet, the report is only saved
    assert "max_iterations: 2 -> budget: 2" in (tmp_path / "run" / "config.translation.txt").read_text()
    (root / "config.yaml").write_text("max_iterations: 4\n")
    run("--resume", tmp_path / "run", "--budget", 4, "--quiet")
    (root / "evaluator.py").write_text((root / "evaluator.py").read_text() + "# edited\n")
    proc = subprocess.run([sys.executable, "-m", "cambrian.cli", "run", "--resume", str(tmp_path / "run"),
                           "--budget", "6", "--quiet"], capture_output=True, text=True, env=NO_KEYS)
    assert proc.returncode == 2 and "evaluator.py changed since this run started" in proc.stderr

    sh = write(tmp_path / "sh", {"initial.py": PROGRAM, "evaluate.py": "def main(p, d):\n    pass\n",
                                 "shinka_small.yaml": "evo_config: {}\n", "run_evo.py": "x = 1\n", "data.txt": "1"})
    skip = not_scoring(sh, SHINKA, "initial.py")
    before = evaluator_digests(sh, skip)
    assert set(before) == {"evaluate.py", "data.txt"}
    for name in ("shinka_small.yaml", "run_evo.py", "initial.py"):
        (sh / name).write_text("changed\n")
    assert changed_files(before, sh, sh / "evaluate.py", skip) == []
    (sh / "data.txt").write_text("2")
    assert changed_files(before, sh, sh / "evaluate.py", skip) == ["data.txt"]


def test_an_exception_names_the_stage_that_raised(tmp_path):
    """OpenEvolve never calls evaluate when stages exist: an exception in a stage is reported
    as that stage's, not as evaluate()'s."""
    root = write(tmp_path / "oe", {"initial_program.py": PROGRAM, "evaluator.py": LOAD + textwrap.dedent("""
        def evaluate_stage1(path):
            return {"combined_score": _score(path)}

        def evaluate_stage2(path):
            raise RuntimeError("stage 2 broke")

        def evaluate(path):
            return {"combined_score": 1.0}
        """), "config.yaml": "evaluator:\n  cascade_thresholds: [0.0]\n"})
    proc = subprocess.run([sys.executable, "-m", "cambrian.cli", "run", str(root), "--budget", "1", "--quiet",
                           "--run-dir", str(tmp_path / "run")], capture_output=True, text=True, env=NO_KEYS)
    assert proc.returncode == 2
    assert "evaluate_stage2() raised RuntimeError: stage 2 broke" in proc.stderr, proc.stderr[-2000:]


def test_openevolve_program_in_another_language(tmp_path):
    """OpenEvolve's examples in Rust or R keep initial_program.<ext> beside evaluator.py, whose
    evaluate compiles and runs it; the same directory in C runs unchanged."""
    evaluator = textwrap.dedent("""\
        import os, subprocess, tempfile
        from openevolve.evaluation_result import EvaluationResult

        def evaluate(program_path):
            binary = os.path.join(tempfile.mkdtemp(), "program")
            subprocess.run(["cc", "-O0", "-o", binary, program_path], check=True)
            x = float(subprocess.run([binary], capture_output=True, text=True, check=True).stdout)
            return EvaluationResult(metrics={"combined_score": 1.0 / (1.0 + (x - 2.5) ** 2), "x": x},
                                    artifacts={"suffix": os.path.splitext(program_path)[1]})
        """)
    root = write(tmp_path / "c", {"initial_program.c": SHINKA_C["initial.c"], "evaluator.py": evaluator,
                                  "config.yaml": "max_iterations: 8\nlanguage: c\n"})
    problem = Problem.load(root)
    assert problem.convention == OPENEVOLVE and problem.program_path.name == "initial_program.c"
    run(root, "--seed", 1, "--run-dir", tmp_path / "run", "--quiet")
    initial = next(p for p in programs(tmp_path / "run") if p.generation == 0)
    assert initial.status == "ok" and initial.metrics["x"] == 1.0 and initial.feedback["artifacts"]["suffix"] == ".c"


def test_a_key_written_in_the_peer_config_never_reaches_the_report(tmp_path):
    from cambrian.conventions.translation import translate

    data = {"llm": {"primary_model": "gpt-4o", "api_key": "sk-SECRET-1234",
                    "models": [{"name": "o3", "api_key": "sk-OTHER-5678"}]}}
    report = "\n".join(translate(OPENEVOLVE, data, file=None, root=tmp_path, stages=(), env={}).lines())
    assert "SECRET" not in report and "OTHER" not in report and "llm.models[0].api_key" in report
    by_reference = {"llm": {"primary_model": "gpt-4o", "api_key": "${MY_KEY}"}}
    t = translate(OPENEVOLVE, by_reference, file=None, root=tmp_path, stages=(), env={"MY_KEY": "k"})
    assert t.config["llm"]["models"] == [{"model": "openai:gpt-4o", "api_key_env": "MY_KEY"}]
    assert "  mapped   llm.api_key: ${MY_KEY} -> each model's api_key_env: MY_KEY" in t.lines()


def test_shinka_config_is_the_one_its_launch_script_reads_by_default(tmp_path):
    """ShinkaEvolve's circle_packing ships shinka_large/medium/small.yaml and its run_evo.py
    reads shinka_small.yaml unless told otherwise: so does Cambrian (not the first by name)."""
    files = {"initial.py": PROGRAM, "evaluate.py": "def main(p, d):\n    pass\n",
             "shinka_large.yaml": "max_evaluation_jobs: 20\n", "shinka_small.yaml": "max_evaluation_jobs: 2\n"}
    root = write(tmp_path / "sh", files)
    assert Problem.load(root).config_path.name == "shinka_large.yaml"       # no launch script: the first by name
    (root / "shinka.yaml").write_text("max_evaluation_jobs: 3\n")
    assert Problem.load(root).config_path.name == "shinka.yaml"
    (root / "run_evo.py").write_text(textwrap.dedent("""\
        import argparse
        if __name__ == "__main__":
            parser = argparse.ArgumentParser()
            parser.add_argument("--config_path", type=str, default="shinka_small.yaml")
        """))
    problem = Problem.load(root)
    assert problem.config_path.name == "shinka_small.yaml"
    data, _, lines = configure(problem, problem.config_path, env={})
    assert data["workers"] == 2
    assert lines[0].startswith("shinka_small.yaml (ShinkaEvolve); run_evo.py's default; not read: shinka.yaml, shinka_large.yaml")


def test_resume_with_another_convention_or_cascade_is_refused(tmp_path):
    """A directory both conventions can read (evaluate and main) scores differently under each:
    a resume that switches would mix the two, so it is refused like a changed objective."""
    both = textwrap.dedent("""\
        import json, os
        def evaluate(path):
            return {"combined_score": 0.001}
        def main(path, results_dir):
            for name, value in (("metrics.json", {"combined_score": 5.0}), ("correct.json", {"correct": True})):
                with open(os.path.join(results_dir, name), "w") as f:
                    json.dump(value, f)
        """)
    root = write(tmp_path / "both", {"initial_program.py": PROGRAM, "initial.py": PROGRAM, "evaluate.py": both})
    run(root, "--budget", 2, "--run-dir", tmp_path / "run", "--quiet")
    for extra in (["--convention", "shinka"], ["--set", "evaluation.cascade_stages=false"]):
        proc = subprocess.run([sys.executable, "-m", "cambrian.cli", "run", "--resume", str(tmp_path / "run"),
                               "--budget", "4", "--quiet", *extra], capture_output=True, text=True, env=NO_KEYS)
        assert proc.returncode == 2 and "cannot resume with" in proc.stderr, proc.stderr[-1500:]
    assert {p.score for p in programs(tmp_path / "run")} == {0.001}


def test_openevolve_stages_without_evaluate_and_the_cascade_off_is_a_config_error(tmp_path):
    root = write(tmp_path / "oe", {"initial_program.py": PROGRAM, "config.yaml": "evaluator:\n  cascade_evaluation: false\n",
                                   "evaluator.py": LOAD + "def evaluate_stage1(p):\n    return {'combined_score': _score(p)}\n"})
    proc = subprocess.run([sys.executable, "-m", "cambrian.cli", "run", str(root), "--budget", "2", "--quiet",
                           "--run-dir", str(tmp_path / "run")], capture_output=True, text=True, env=NO_KEYS)
    assert proc.returncode == 2
    assert "evaluator.py defines no evaluate(program_path), and cascade_evaluation: false" in proc.stderr
    assert not (tmp_path / "run" / "cambrian.db").exists()
