"""Problems in any language, of several files, or text, run for real: command evaluators in
the sandbox, C compiled by the system compiler, a multi-file tree edited by a (fake,
real-HTTP) model, and a prompt scored by a model through the same providers."""

import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

import cambrian
from cambrian.errors import ProblemError
from cambrian.evaluation import ERROR, INVALID, OK, TIMEOUT, Limits, Spec
from cambrian.problem import Problem
from tests.conftest import EXAMPLES
from tests.fake_llm import FakeLLM
from tests.integration.test_cascade_and_cache import _evaluate as evaluate_once

needs_cc = pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler on this machine")
PROGRAM = "=== FILE: initial_program.sh ===\n# EVOLVE-BLOCK-START\nvalue=3\n# EVOLVE-BLOCK-END\n"


def command(tmp_path: Path, script: str) -> Path:
    tmp_path.chmod(0o755)  # the command runs as the evaluation's own uid: its directory must be readable
    path = tmp_path / "evaluate.sh"
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def run_command(tmp_path: Path, script: str, code: str = PROGRAM, timeout: float = 10.0):
    spec = Spec(command(tmp_path, script), timeout=timeout, limits=Limits(cpu_seconds=timeout), command=True)
    return evaluate_once(spec, code)


@pytest.mark.parametrize("script, status, reason", [
    ('. "$1"; echo "log line"; echo "{\\"combined_score\\": $value}"\n', OK, ""),
    ("echo '{\"invalid\": \"too long\"}'\n", INVALID, "too long"),
    ("echo '{\"combined_score\": NaN}'\n", INVALID, "non-finite"),
    ("echo 'no metrics here'; exit 3\n", ERROR, "printed no JSON object of metrics (exit code 3)"),
    ("sleep 60\n", TIMEOUT, "timeout"),
])
def test_a_command_evaluator_runs_in_the_sandbox_and_failures_are_data(tmp_path, script, status, reason):
    result = run_command(tmp_path, script, timeout=3.0 if status == TIMEOUT else 10.0)
    assert result.status == status, result
    assert reason in result.reason
    if status == OK:
        assert result.score == 3.0 and "log line" in result.feedback["stdout"]


def test_a_command_linked_from_another_directory_runs(tmp_path):
    # examples/multi_file_c links its evaluate.sh into c_sine; under /tmp (the sandbox's private
    # /tmp) the link's target is reachable only if its own directory is exposed too
    shared, problem = tmp_path / "shared", tmp_path / "problem"
    shared.mkdir()
    problem.mkdir()
    real = command(shared, 'echo "{\\"combined_score\\": 2}"\n')
    tmp_path.chmod(0o755)
    problem.chmod(0o755)
    (problem / "evaluate.sh").symlink_to(Path("..") / "shared" / real.name)
    spec = Spec(problem / "evaluate.sh", timeout=10.0, limits=Limits(cpu_seconds=10.0), command=True)
    result = evaluate_once(spec, PROGRAM)
    assert result.status == OK and result.score == 2.0, result


def test_a_command_sees_its_program_and_not_the_host_secrets(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret")
    result = run_command(tmp_path, 'if env | grep -q sk-secret; then leak=1; else leak=0; fi\n'
                                   'touch /usr/cambrian-probe 2>/dev/null && ro=0 || ro=1\n'
                                   'echo "{\\"combined_score\\": 1, \\"leak\\": $leak, \\"read_only\\": $ro,'
                                   ' \\"file\\": $(test -f "$1" && echo 1 || echo 0)}"\n')
    assert result.status == OK, result
    assert result.metrics == {"combined_score": 1.0, "leak": 0.0, "read_only": 1.0, "file": 1.0}


def test_problem_directories_of_other_languages_load(tmp_path):
    c = Problem.load(EXAMPLES / "c_sine")
    assert c.command and c.program_file == "initial_program.c" and c.evaluator_path.name == "evaluate.sh"
    assert c.initial_code.startswith("=== FILE: initial_program.c ===\n")
    tree = Problem.load(EXAMPLES / "multi_file_c")
    assert "=== FILE: main.c ===" in tree.initial_code and tree.program_path.name == "initial_program"
    text = Problem.load(EXAMPLES / "prompt_sentiment")
    assert not text.command and text.initial_code.startswith("=== TEXT: initial_program.txt ===\n")
    bad = tmp_path / "bad"
    shutil.copytree(EXAMPLES / "c_sine", bad)
    (bad / "evaluate.sh").chmod(0o644)
    with pytest.raises(ProblemError, match="must be executable"):
        Problem.load(bad)
    (bad / "evaluate.sh").chmod(0o755)
    (bad / "initial_program.rs").write_text("// EVOLVE-BLOCK-START\n// EVOLVE-BLOCK-END\n")
    with pytest.raises(ProblemError, match="keep one initial program"):
        Problem.load(bad)


def test_a_python_program_may_have_a_command_evaluator_but_no_probe(tmp_path):
    from cambrian import config as config_mod
    from cambrian.errors import ConfigError
    from cambrian.session import check

    (tmp_path / "initial_program.py").write_text("# EVOLVE-BLOCK-START\nx = 1\n# EVOLVE-BLOCK-END\n")
    command(tmp_path, "echo '{\"combined_score\": 1}'\n")
    problem = Problem.load(tmp_path)
    assert problem.command and problem.initial_code == "# EVOLVE-BLOCK-START\nx = 1\n# EVOLVE-BLOCK-END\n"
    probe = config_mod.build({"evaluation": {"fingerprint": {"function": "f", "inputs": [[1]]}}})
    with pytest.raises(ConfigError, match="command evaluator"):
        check(problem, probe)


@needs_cc
def test_c_evolves_end_to_end_with_the_builtin_operators(tmp_path):
    result = cambrian.evolve(EXAMPLES / "c_sine", run_dir=tmp_path / "run", budget=16, seed=0)
    stats = result.stats
    assert result.score > stats.initial_score  # the constants of a C program moved, for the better
    best = (tmp_path / "run" / "best" / "program.c").read_text()
    assert "double approx_sin(double x)" in best and "// EVOLVE-BLOCK-START" in best
    statuses = [p.status for p in result.store.programs()]
    assert statuses.count("ok") >= 10, statuses


def _two_file_edit(request):
    """A fake model that edits both evolving files of examples/multi_file_c (named by path)."""
    prompt = "\n".join(m["content"] for m in request["messages"])
    if "### main.c (context: fixed, do not edit)" not in prompt:
        return {"text": "I do not see the files."}
    return {"text": "Taylor coefficients.\n"
                    "coeffs.h\n<<<<<<< SEARCH\n#define C3 0.16\n#define C5 0.008\n=======\n"
                    "#define C3 (1.0 / 6.0)\n#define C5 (1.0 / 120.0)\n#define C7 (1.0 / 5040.0)\n>>>>>>> REPLACE\n\n"
                    "### `sine.c`\n<<<<<<< SEARCH\n    return x * (1.0 - x2 * (C3 - x2 * C5));\n=======\n"
                    "    return x * (1.0 - x2 * (C3 - x2 * (C5 - x2 * C7)));\n>>>>>>> REPLACE\n"}


@needs_cc
def test_a_multi_file_tree_is_edited_by_a_model_and_evaluated_whole(tmp_path):
    with FakeLLM(default=_two_file_edit) as server:
        result = cambrian.evolve(
            EXAMPLES / "multi_file_c", run_dir=tmp_path / "run", budget=2, seed=0, workers=1,
            llm__models=[{"model": f"openai:fake@{server.url}"}], llm__share=1.0, llm__formats={"diff": 1.0})
    assert result.score > 3.5, result.score  # max error below 3e-4 (from 0.027): both files changed, compiled together
    best = tmp_path / "run" / "best" / "program"
    assert "C7" in (best / "coeffs.h").read_text() and "C7" in (best / "sine.c").read_text()
    assert (best / "main.c").read_text() == (EXAMPLES / "multi_file_c" / "initial_program" / "main.c").read_text()
    # The tree leaves the run whole: cambrian best -o DIR, and export-git's commits.
    from cambrian.cli import main

    assert main(["best", str(tmp_path / "run"), "-o", str(tmp_path / "out")]) == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["coeffs.h", "main.c", "sine.c"]
    assert (tmp_path / "out" / "sine.c").read_text() == (best / "sine.c").read_text()
    if shutil.which("git"):
        assert main(["export-git", str(tmp_path / "run"), str(tmp_path / "git")]) == 0
        listed = subprocess.run(["git", "-C", str(tmp_path / "git"), "ls-tree", "-r", "--name-only", "main"],
                                capture_output=True, text=True, check=True).stdout.split()
        assert listed == ["metrics.json", "program/coeffs.h", "program/main.c", "program/sine.c"]


def _sentiment_model(request):
    """Plays both parts over real HTTP: the prompt engineer (asked to improve a text) and the
    classifier (asked about one review), which catches sarcasm only when the prompt warns of it."""
    messages = request["messages"]
    system = messages[0]["content"] if messages[0]["role"] == "system" else ""
    if system.startswith("You improve a text"):
        return {"text": "```text\nDecide whether the customer review is positive or negative. Watch for "
                        "sarcasm: praise words around a bad experience are negative.\nAnswer with one word: "
                        "positive or negative.\n```"}
    review = messages[-1]["content"].lower()
    negative = any(w in review for w in ("broke", "waste", "stopped", "snapped", "awful", "terrible", "cheap"))
    sarcastic = any(w in review for w in ("great,", "wonderful,", "fantastic", "love how", "perfect,", "sure,"))
    if sarcastic and "sarcasm" in system:
        negative = True
    if "but the" in review or "great product" in review:
        negative = False
    return {"text": "negative" if negative else "positive"}


def test_a_prompt_evolves_scored_by_a_model_through_the_same_providers(tmp_path, monkeypatch):
    with FakeLLM(default=_sentiment_model) as server:
        monkeypatch.setenv("PROMPT_MODEL", f"openai:classifier@{server.url}")
        result = cambrian.evolve(EXAMPLES / "prompt_sentiment", run_dir=tmp_path / "run", budget=2, seed=0,
                                 workers=1, llm__models=[{"model": f"openai:writer@{server.url}"}],
                                 llm__formats={"rewrite": 1.0})
    assert result.stats.initial_score == pytest.approx(8 / 12) and result.score == 1.0  # README: 0.67 -> 1.0
    best = (tmp_path / "run" / "best" / "program.txt").read_text()
    assert "sarcasm" in best and "EVOLVE-BLOCK" not in best
    metrics = json.loads((tmp_path / "run" / "best" / "metrics.json").read_text())["metrics"]
    assert metrics["private_test_accuracy"] == 1.0


def test_a_python_tree_is_loaded_file_by_file_in_the_candidates_own_process(tmp_path):
    problem = tmp_path / "tree"
    (problem / "initial_program").mkdir(parents=True)
    (problem / "initial_program" / "helpers.py").write_text("def square(x):\n    return x * x\n")
    (problem / "initial_program" / "solver.py").write_text(
        "import os\nfrom helpers import square\n\ndef solve():\n    # EVOLVE-BLOCK-START\n    x = 1.0\n"
        "    # EVOLVE-BLOCK-END\n    return -square(x - 3.0), os.getpid()\n")
    (problem / "evaluate.py").write_text(
        "import os\nfrom cambrian.candidate import load\n\ndef evaluate(program_path):\n"
        "    score, pid = load(os.path.join(program_path, 'solver.py')).solve()\n"
        "    return {'combined_score': score, 'same_process': float(pid == os.getpid())}\n")
    result = cambrian.evolve(problem, run_dir=tmp_path / "run", budget=8, seed=0, workers=1)
    assert result.stats.initial_score == -4.0 and result.score > -4.0
    assert result.best.metrics["same_process"] == 0.0  # the tree ran in the candidate's process
    assert (tmp_path / "run" / "best" / "program" / "helpers.py").read_text() == "def square(x):\n    return x * x\n"


def test_a_text_program_without_a_model_is_a_config_error(tmp_path):
    (tmp_path / "initial_program.txt").write_text("Write a haiku about rain.\n")
    (tmp_path / "evaluate.py").write_text("def evaluate(p):\n    return {'combined_score': 1.0}\n")
    with pytest.raises(cambrian.errors.ConfigError, match="llm.models"):
        cambrian.evolve(tmp_path, run_dir=tmp_path / "run", budget=3)
    assert not (tmp_path / "run").exists()


FORGER = r"""=== FILE: initial_program.c ===
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
/* A hostile candidate: once the command has printed its score and exited, it writes a
   score of its own to the command's output, which it reached through /proc. */
__attribute__((constructor)) static void forge(void) {
    char out[64], stat[64], buf[256];
    int shell = (int)getppid();
    snprintf(out, sizeof out, "/proc/%d/fd/1", shell);
    snprintf(stat, sizeof stat, "/proc/%d/stat", shell);
    int fd = open(out, O_WRONLY);
    if (fork() != 0) return;
    for (;;) {  /* until the command is a zombie: its own JSON line is out */
        int s = open(stat, O_RDONLY), n = s < 0 ? 0 : (int)read(s, buf, sizeof buf - 1);
        if (s >= 0) close(s);
        buf[n > 0 ? n : 0] = 0;
        char *p = strrchr(buf, ')');
        if (n <= 0 || (p && p[2] == 'Z')) break;
        usleep(1000);
    }
    const char *fake = "{\"combined_score\": 99}\n";
    if (fd >= 0) write(fd, fake, strlen(fake));
    _exit(0);
}
int main(void) { return 0; }
// EVOLVE-BLOCK-START
// EVOLVE-BLOCK-END
"""


@needs_cc
def test_a_hostile_candidate_can_forge_a_command_evaluators_score(tmp_path):
    """The README's warning, shown: a command evaluator shares its uid with the candidate it
    runs, so the candidate can write to the command's output after the command's own score."""
    result = run_command(tmp_path, 'cc -o cand "$1" && ./cand; echo \'{"combined_score": 1}\'\n', code=FORGER)
    assert result.status == OK, result
    assert result.score == 99.0


@pytest.mark.skipif(os.geteuid() != 0, reason="only root runs evaluations as another uid")
def test_a_command_its_uid_cannot_reach_says_how_to_fix_it(tmp_path):
    spec = Spec(command(tmp_path, "echo '{\"combined_score\": 1}'\n"), timeout=10.0, limits=Limits(cpu_seconds=10.0),
                command=True)
    tmp_path.chmod(0o700)
    result = evaluate_once(spec, PROGRAM)
    assert result.status == ERROR and "Permission denied" in result.reason and "chmod o+rx" in result.reason


def _c_sine(body: str) -> str:
    return ("=== FILE: initial_program.c ===\n#include <math.h>\ndouble approx_sin(double x) {\n"
            f"    // EVOLVE-BLOCK-START\n    {body}\n    // EVOLVE-BLOCK-END\n}}\n")


@needs_cc
@pytest.mark.parametrize("body, status, reason", [
    ("double x2 = x * x;\n    return x * (1.0 - x2 * (0.16 - x2 * 0.008));", OK, ""),
    ("return sin(x);", INVALID, "calls sin "),
    ("return (sin)(x);", INVALID, "calls sin "),                      # no call a text search would see
    ("double (*f)(double) = sin;\n    return f(x);", INVALID, "calls sin "),
    ("return __builtin_sin(x);", INVALID, "calls sin "),
    ("return x +;", INVALID, "does not compile"),
])
def test_the_c_example_scores_arithmetic_and_refuses_any_call(body, status, reason):
    spec = Spec(EXAMPLES / "c_sine" / "evaluate.sh", timeout=30.0, limits=Limits(cpu_seconds=30.0), command=True)
    result = evaluate_once(spec, _c_sine(body))
    assert result.status == status and reason in result.reason, result
    if status == OK:
        assert result.score == pytest.approx(1.5658190305)
