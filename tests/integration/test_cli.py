"""The `cambrian` command as a user meets it: bad input is one line and a non-zero exit."""

import os
import sqlite3
import subprocess
import sys

import pytest

from tests.conftest import QUADRATIC_EVALUATOR, QUADRATIC_PROGRAM, write_problem


def cambrian(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "cambrian.cli", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=180)


def _one_line_error(proc, fragment):
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("cambrian: error:") and fragment in lines[0], lines[0]


def _bad_problems(tmp_path):
    good_program, good_eval = QUADRATIC_PROGRAM, QUADRATIC_EVALUATOR
    return {
        "missing directory": (tmp_path / "nope", "not found"),
        "no evaluate.py": (write_problem(tmp_path / "a", good_program, good_eval), "missing evaluate.py"),
        "no region": (write_problem(tmp_path / "b", "x = 1\n", good_eval), "no evolve region"),
        "unbalanced": (write_problem(tmp_path / "c", "# EVOLVE-BLOCK-START\nx = 1\n", good_eval), "never closed"),
        "no evaluate()": (write_problem(tmp_path / "d", good_program, "def score(p):\n    return {}\n"),
                          "defines no evaluate"),
        "config error": (write_problem(tmp_path / "f", good_program, good_eval, "budgett: 3\n"),
                         "budgett: unknown key"),
        "syntax error": (write_problem(tmp_path / "g", "# EVOLVE-BLOCK-START\nx = (\n# EVOLVE-BLOCK-END\n",
                                       good_eval), "syntax error"),
    }


@pytest.mark.parametrize("case", ["missing directory", "no evaluate.py", "no region", "unbalanced",
                                  "no evaluate()", "config error", "syntax error"])
def test_bad_problem_is_one_line(tmp_path, case):
    problem, fragment = _bad_problems(tmp_path)[case]
    if case == "no evaluate.py":
        (problem / "evaluate.py").unlink()
    _one_line_error(cambrian("run", problem, "--run-dir", tmp_path / "run", "--budget", 3), fragment)


def test_bad_resume_targets(tmp_path):
    _one_line_error(cambrian("run", "--resume", tmp_path / "missing"), "no store")
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    (corrupt / "cambrian.db").write_bytes(b"garbage" * 1000)
    _one_line_error(cambrian("run", "--resume", corrupt), "not a Cambrian store")
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    sqlite3.connect(foreign / "cambrian.db").execute("CREATE TABLE x (y)")
    _one_line_error(cambrian("run", "--resume", foreign), "not a Cambrian store")


def test_bad_flags(tmp_path, quadratic):
    _one_line_error(cambrian("run", quadratic, "--set", "novalue", "--run-dir", tmp_path / "r"), "KEY=VALUE")
    _one_line_error(cambrian("run", quadratic, "--islands", "many", "--run-dir", tmp_path / "r"), "--islands")
    _one_line_error(cambrian("run", quadratic, "--budget", "-4", "--run-dir", tmp_path / "r"), "budget")
    _one_line_error(cambrian("run"), "problem directory")


def test_unwritable_run_dir_and_bad_sandbox_uids(tmp_path, quadratic):
    (tmp_path / "file").write_text("x")
    _one_line_error(cambrian("run", quadratic, "--run-dir", tmp_path / "file" / "run"), "file")
    _one_line_error(cambrian("run", quadratic, "--run-dir", tmp_path / "r",
                             "--set", "evaluation.sandbox_uids=[5000, 10]"), "evaluation.sandbox_uids")
    assert not (tmp_path / "r").exists(), "a run directory was made for a config that cannot run"


def test_existing_run_dir_is_refused(tmp_path, quadratic):
    assert cambrian("run", quadratic, "--run-dir", tmp_path / "r", "--budget", 2, "--quiet").returncode == 0
    _one_line_error(cambrian("run", quadratic, "--run-dir", tmp_path / "r"), "already exists")


def test_init_run_status_best(tmp_path):
    made = cambrian("init", "myproblem", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    run = cambrian("run", "myproblem", "--budget", 40, "--seed", 2, "--run-dir", "out", "--quiet", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "best score:" in run.stdout and "out/best/program.py" in run.stdout
    status = cambrian("status", "out", cwd=tmp_path)
    assert status.returncode == 0 and "lineage depth" in status.stdout and "perturb" in status.stdout
    assert "coverage), QD-score" in status.stdout and "islands used: " in status.stdout
    best = cambrian("best", "out", "-o", "best.py", cwd=tmp_path)
    assert best.returncode == 0
    assert (tmp_path / "best.py").read_text() == (tmp_path / "out" / "best" / "program.py").read_text()
    _one_line_error(cambrian("init", "myproblem", cwd=tmp_path), "not an empty directory")
    (tmp_path / "afile").write_text("x")
    _one_line_error(cambrian("init", "afile", cwd=tmp_path), "not an empty directory")


def test_resume_with_a_larger_budget_continues(tmp_path, quadratic):
    assert cambrian("run", quadratic, "--run-dir", tmp_path / "r", "--budget", 10, "--quiet").returncode == 0
    more = cambrian("run", "--resume", tmp_path / "r", "--budget", 25, "--quiet")
    assert more.returncode == 0, more.stderr
    assert "after 25 candidates" in more.stdout


def test_help_is_light():
    code = ("import sys, cambrian.cli as c\n"
            "try:\n    c.main(['--help'])\nexcept SystemExit:\n    pass\n"
            "heavy = [m for m in ('numpy', 'pydantic', 'rich', 'openai', 'anthropic', 'ray', 'yaml',"
            " 'starlette', 'uvicorn', 'sqlite3')"
            " if m in sys.modules]\nprint(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout
    assert out.strip().endswith("[]")


def test_doctor_reports_protections():
    out = cambrian("doctor")
    assert out.returncode == 0, out.stderr
    assert "CPU-time limit" in out.stdout and "warm pool" in out.stdout
    assert "PID namespace" in out.stdout and "cgroup v2" in out.stdout


def test_doctor_says_why_each_missing_protection_is_missing():
    from cambrian.doctor import probe

    result = probe(samples=2)
    assert not result.notes, result.notes
    rows = result.rows()
    assert {"pid_namespace", "private_filesystem", "cgroup_limits", "no_network"} <= {n for n, _, _ in rows}
    for name, active, why in rows:
        assert active or why, f"{name} is missing without a reason"
