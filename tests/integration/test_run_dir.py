"""A run directory users can trust, from the command line: resume under any change is
defined, best/ never regresses, failures are explained, damage is one line, waste is
warned about, progress shows from the first second."""

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import LOADER, QUADRATIC_EVALUATOR, QUADRATIC_PROGRAM, write_problem
from tests.integration.test_cli import _one_line_error, cambrian


def _state(run_dir):
    """Everything a refused command must leave as it was: the store's content, the files."""
    conn = sqlite3.connect(run_dir / "cambrian.db")
    try:
        dump = "\n".join(conn.iterdump())
    finally:
        conn.close()
    files = {p.name: p.read_bytes() for p in sorted(run_dir.rglob("*")) if p.is_file() and "cambrian.db" not in p.name}
    return hashlib.sha256(dump.encode()).hexdigest(), files


def _meta(run_dir, key):
    conn = sqlite3.connect(run_dir / "cambrian.db")
    try:
        row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])
    finally:
        conn.close()


def _rows(run_dir, sql):
    conn = sqlite3.connect(run_dir / "cambrian.db")
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def _islands_per_session(run_dir):
    return [json.loads(d)["islands"] for (d,) in _rows(run_dir, "SELECT data FROM events WHERE kind = 'started'"
                                                                 " ORDER BY id")]


# -- 1. resume is defined for every change --------------------------------------
def test_auto_islands_stay_when_a_resume_shrinks_the_budget(tmp_path, quadratic):
    run = tmp_path / "r"
    first = cambrian("run", quadratic, "--run-dir", run, "--budget", 100000, "--max-time", 2, "--quiet",
                     "--set", "search.policy=islands")  # the fixed-island search: 'auto' follows the budget
    assert first.returncode == 0, first.stderr
    assert _meta(run, "run_shape")["islands"] == 5
    done = _rows(run, "SELECT MAX(seq) FROM attempts")[0][0]
    again = cambrian("run", "--resume", run, "--budget", done + 30, "--quiet")
    assert again.returncode == 0, again.stderr
    assert "Traceback" not in again.stderr
    assert _islands_per_session(run) == [5, 5]
    assert _meta(run, "config")["budget"] == done + 30 and _meta(run, "run_shape")["islands"] == 5
    plain = cambrian("run", "--resume", run, "--budget", done + 40, "--quiet")
    assert plain.returncode == 0, plain.stderr


def test_a_larger_budget_does_not_add_islands(tmp_path, quadratic):
    run = tmp_path / "r"
    assert cambrian("run", quadratic, "--run-dir", run, "--budget", 20, "--quiet").returncode == 0
    more = cambrian("run", "--resume", run, "--budget", 1500, "--patience", 5, "--quiet")
    assert more.returncode == 0, more.stderr
    assert _islands_per_session(run) == [1, 1]


@pytest.fixture(scope="module")
def base_run(tmp_path_factory):
    """One finished run of 20 candidates; each test takes a copy of it and of its problem."""
    root = tmp_path_factory.mktemp("base")
    problem = write_problem(root / "quadratic", QUADRATIC_PROGRAM, QUADRATIC_EVALUATOR)
    done = cambrian("run", problem, "--run-dir", root / "r", "--budget", 20, "--quiet")
    assert done.returncode == 0, done.stderr
    return root


def _copy_of(base, tmp_path):
    shutil.copytree(base / "quadratic", tmp_path / "quadratic")
    shutil.copytree(base / "r", tmp_path / "r")
    return tmp_path / "quadratic", tmp_path / "r"


@pytest.mark.parametrize("change, fragment", [
    (["--set", "objective=distance"], "objective changed"),
    (["--set", "direction=minimize"], "direction changed"),
    (["--set", "archive.features=[{name: distance, bins: 4, min: 0, max: 10}]"], "archive.features changed"),
    (["--islands", "3"], "islands.count 3"),
    (["--seed", "9"], "seed changed"),
    (["--set", "archive.population_size=10"], "archive.population_size changed"),
    (["--set", "archive.cell_size=2"], "archive.cell_size changed"),
    (["--set", "evaluation.objective_range=[0, 2]"], "evaluation.objective_range changed"),
    (["--set", "evaluation.fingerprint={function: solve, inputs: [[]]}"], "evaluation.fingerprint changed"),
    (["--set", "search.policy=greedy"], "search.policy changed"),
    (["--set", "search.min_gain=0"], "search.min_gain changed (0.001 -> 0.0)"),
    (["--set", "search.drift_evidence=0.5"], "search.drift_evidence changed"),
    (["--set", "archive.replace_equal=false"], "archive.replace_equal changed"),
    *[(["--set", f"search.{key}={value}"], f"search.{key} changed") for key, value in (
        ("lineages", 5), ("patience", 9), ("min_patience", 40), ("explore_share", 0.5), ("adapt", "false"),
        ("cross_inspirations", "false"), ("resets", "false"))],
    ("evaluator", "evaluate.py changed"),
    ("helper", "helper.py changed"),
    ("program", "initial_program.py changed"),
    (["--budget", "10"], "below the 20 candidates"),
])
def test_refused_resume_names_the_setting_and_changes_nothing(tmp_path, base_run, change, fragment):
    problem, run = _copy_of(base_run, tmp_path)
    before = _state(run)
    args = ["--budget", "40"]
    if change == "evaluator":
        (problem / "evaluate.py").write_text(QUADRATIC_EVALUATOR.replace("3.0", "4.0"))
    elif change == "helper":  # a module the evaluator could import: it changes scores as surely
        (problem / "helper.py").write_text("SCALE = 100\n")
    elif change == "program":
        (problem / "initial_program.py").write_text(QUADRATIC_PROGRAM.replace("1.0", "1.5"))
    else:
        args = change if "--budget" in change else args + change
    refused = cambrian("run", problem, "--resume", run, *args)
    _one_line_error(refused, fragment)
    if fragment != "below the 20 candidates":
        assert "cambrian run --from" in refused.stderr
    assert _state(run) == before, "a refused resume changed the run"


def test_the_readme_names_every_setting_a_resume_refuses_to_change():
    """The README's "What a resume may change" table lists every key of resume.FIXED, so a user
    learns before a resume that e.g. search.min_gain is fixed for a run."""
    from cambrian.resume import FIXED

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    table = readme[readme.index("**What a resume may change**"):]
    refused = next(line for line in table.splitlines() if line.startswith("| `convention`"))
    assert [key for key in FIXED if f"`{key}`" not in refused] == []


def test_config_file_on_resume_is_refused_not_ignored(tmp_path, base_run):
    """`--resume RUN --config FILE` ignored FILE without a word (its objective, its budget)."""
    problem, run = _copy_of(base_run, tmp_path)
    before = _state(run)
    (tmp_path / "other.yaml").write_text("budget: 40\nobjective: distance\n")
    refused = cambrian("run", "--resume", run, "--config", tmp_path / "other.yaml")
    _one_line_error(refused, "--config is for a new run")
    assert _state(run) == before


def test_the_run_resumes_after_a_refused_resume(tmp_path, base_run):
    problem, run = _copy_of(base_run, tmp_path)
    assert cambrian("run", problem, "--resume", run, "--set", "objective=distance").returncode == 2
    ok = cambrian("run", problem, "--resume", run, "--budget", 30, "--quiet")
    assert ok.returncode == 0, ok.stderr
    assert "after 30 candidates" in ok.stdout


def test_a_run_saved_before_a_search_setting_existed_resumes_as_it_ran(tmp_path, base_run):
    """A run made before search.min_gain / drift_evidence existed ran as if both were 0: it
    resumes with those values (not the new defaults), and says nothing about them."""
    problem, run = _copy_of(base_run, tmp_path)
    saved = _meta(run, "config")
    for key in ("min_gain", "drift_evidence"):
        del saved["search"][key]
    conn = sqlite3.connect(run / "cambrian.db")
    with conn:
        conn.execute("UPDATE meta SET value = ? WHERE key = 'config'", (json.dumps(saved),))
    conn.close()
    resumed = cambrian("run", problem, "--resume", run, "--budget", 30, "--quiet")
    assert resumed.returncode == 0, resumed.stderr
    search = _meta(run, "config")["search"]
    assert (search["min_gain"], search["drift_evidence"]) == (0.0, 0.0)


def test_budget_at_the_work_done_says_so_and_changes_nothing(tmp_path, base_run):
    problem, run = _copy_of(base_run, tmp_path)
    before = _state(run)
    same = cambrian("run", problem, "--resume", run)
    assert same.returncode == 0 and "Traceback" not in same.stderr
    assert "has done its budget of 20 candidates" in same.stderr
    assert _state(run) == before


def test_budget_at_the_last_candidate_still_runs_one_cancelled_in_flight(tmp_path, base_run):
    """Results are stored as they finish, so a stop that cancels in-flight candidates can
    leave a gap (candidate 15 cancelled, 16 stored). `--budget 16` said "has done its budget
    of 16 candidates; nothing changed", and candidate 15 was never run."""
    problem, run = _copy_of(base_run, tmp_path)
    conn = sqlite3.connect(run / "cambrian.db")
    with conn:
        conn.execute("DELETE FROM attempts WHERE seq = 15")
    conn.close()
    resumed = cambrian("run", "--resume", run, "--budget", 20, "--quiet")
    assert resumed.returncode == 0, resumed.stderr
    assert "nothing changed" not in resumed.stderr
    assert _rows(run, "SELECT COUNT(*), MAX(seq) FROM attempts") == [(21, 20)]


def test_from_seeds_a_new_run_with_the_old_programs_re_evaluated(tmp_path, quadratic):
    old = tmp_path / "old"
    assert cambrian("run", quadratic, "--run-dir", old, "--budget", 30, "--quiet").returncode == 0
    new = tmp_path / "new"
    made = cambrian("run", "--from", old, "--run-dir", new, "--budget", 50, "--set", "objective=distance",
                    "--set", "direction=minimize")
    assert made.returncode == 0, made.stderr
    assert "seeded with" in made.stderr
    seeded = _rows(new, "SELECT p.code, p.score, p.metrics FROM attempts a JOIN programs p ON p.id = a.program_id"
                        " WHERE a.operator = 'seed'")
    old_codes = {code for (code,) in _rows(old, "SELECT code FROM programs WHERE status = 'ok' AND seq > 0")}
    assert seeded and {code for code, _, _ in seeded} <= old_codes
    for _, score, metrics in seeded:  # scored by the new objective, not copied
        assert score == json.loads(metrics)["distance"]
    assert _meta(new, "config")["direction"] == "minimize"
    best = cambrian("best", new).stdout
    assert best == (new / "best" / "program.py").read_text()
    # The seeds are not the built-in operators' work: neither in the share nor in the model table.
    seeds = len(seeded)
    share = f"from built-in operators: {100 * (50 - seeds) / 50:.0f}%"
    status = cambrian("status", new).stdout
    assert share in made.stdout and share in status, (share, made.stdout)
    assert "│ seeds " in status and "(--from)" in status   # its own row of the model table (wrapped at 80)


FAILING_EVALUATOR = "def evaluate(path):\n    raise RuntimeError('boom')\n"


def test_from_into_its_own_directory_is_refused_and_loses_nothing(tmp_path, quadratic):
    old = tmp_path / "old"   # a run that never got past its initial program: the case a new run replaces
    good = (quadratic / "evaluate.py").read_text()
    (quadratic / "evaluate.py").write_text(FAILING_EVALUATOR)
    assert cambrian("run", quadratic, "--run-dir", old, "--budget", 5, "--quiet").returncode == 2
    (quadratic / "evaluate.py").write_text(good)
    before = {p.name: p.read_bytes() for p in old.iterdir() if p.is_file()}
    refused = cambrian("run", "--from", old, "--run-dir", tmp_path / "." / "old", "--budget", 20)
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines()[-1].startswith("cambrian: error: --run-dir")
    assert {p.name: p.read_bytes() for p in old.iterdir() if p.is_file()} == before


def test_failed_initial_evaluation_can_start_again_in_the_same_directory(tmp_path, quadratic):
    run = tmp_path / "r"
    good = (quadratic / "evaluate.py").read_text()
    (quadratic / "evaluate.py").write_text(FAILING_EVALUATOR)
    failed = cambrian("run", quadratic, "--run-dir", run, "--budget", 5)
    assert failed.returncode == 2
    lines = failed.stderr.strip().splitlines()
    assert lines[-1].startswith("cambrian: error: the initial program does not evaluate") and "boom" in lines[-1]
    # shown in full, with the user's own file and line, and none of Cambrian's frames
    assert f'File "{quadratic / "evaluate.py"}", line 2, in evaluate' in failed.stderr
    assert "cambrian/evaluation" not in failed.stderr
    status = cambrian("status", run)
    assert status.returncode == 0 and "the initial program did not evaluate (error)" in status.stdout
    assert "boom" in status.stdout and f"cambrian show {run} " in status.stdout
    (quadratic / "evaluate.py").write_text(good)
    again = cambrian("run", quadratic, "--run-dir", run, "--budget", 5, "--quiet")
    assert again.returncode == 0, again.stderr
    assert "after 5 candidates" in again.stdout


def test_failed_initial_evaluation_resumes_with_a_changed_objective(tmp_path, quadratic):
    run = tmp_path / "r"
    bad = cambrian("run", quadratic, "--run-dir", run, "--budget", 5, "--set", "objective=nope")
    assert bad.returncode == 2 and "objective" in bad.stderr
    fixed = cambrian("run", "--resume", run, "--set", "objective=distance", "--set", "direction=minimize", "--quiet")
    assert fixed.returncode == 0, fixed.stderr
    assert _meta(run, "config")["objective"] == "distance"
    (score,) = _rows(run, "SELECT score FROM programs WHERE seq = 0")[0]
    assert score == pytest.approx(4 + 2.5 ** 2)


# -- 2. best/ is the run's best ---------------------------------------------------
def test_best_dir_is_the_runs_best_after_every_resume(tmp_path, quadratic):
    run = tmp_path / "r"
    assert cambrian("run", quadratic, "--run-dir", run, "--budget", 40, "--quiet").returncode == 0
    assert cambrian("run", "--resume", run, "--budget", 30).returncode == 2
    assert cambrian("run", "--resume", run, "--budget", 60, "--quiet").returncode == 0
    best_score = max(s for (s,) in _rows(run, "SELECT score FROM programs WHERE status = 'ok'"))
    saved = json.loads((run / "best" / "metrics.json").read_text())
    assert saved["score"] == best_score
    assert (run / "best" / "program.py").read_text() == cambrian("best", run).stdout
    assert f"best {best_score:.10g}" in cambrian("status", run).stdout
    assert sorted(p.name for p in (run / "best").iterdir()) == ["metrics.json", "program.py"]  # no temp files


# -- 3. failures explained --------------------------------------------------------
MODES_PROGRAM = """
import os


def act(a, b, c):
    if a < 5:
        if a > 50:
            z = 1
        return z
    if b < 5:
        import nonexistent_module_xyz
    if c < 5:
        os._exit(3)
    return (a + b + c) / 100


def solve():
    # EVOLVE-BLOCK-START
    a = 5
    b = 5
    c = 5
    # EVOLVE-BLOCK-END
    return act(a, b, c)
"""

MODES_EVALUATOR = """
from cambrian.candidate import load

def evaluate(path):
    return {"combined_score": load(path).solve()}
"""


def test_status_groups_failures_and_show_prints_a_program_in_full(tmp_path):
    problem = write_problem(tmp_path / "modes", MODES_PROGRAM, MODES_EVALUATOR,
                            "operators: {perturb: {weight: 1.0}, crossover: {weight: 0}, "
                            "structural: {weight: 0}}\n")
    run = tmp_path / "r"
    assert cambrian("run", problem, "--run-dir", run, "--budget", 40, "--quiet").returncode == 0
    reasons = dict(_rows(run, "SELECT id, reason FROM programs WHERE status != 'ok'"))
    joined = "\n".join(reasons.values())
    assert "UnboundLocalError" in joined and "CandidateError" not in joined
    assert "No module named 'nonexistent_module_xyz'" in joined
    assert "exit code 3" in joined
    status = cambrian("status", run).stdout
    assert "failures" in status
    for kind in ("evaluate() raised UnboundLocalError", "evaluate() raised ModuleNotFoundError"):
        assert kind in status
        n = sum(kind in r for r in reasons.values())
        assert any(line.strip().startswith(f"{n}  error: {kind}") for line in status.splitlines()), status
    assert "'nonexistent_module_xyz' (in the candidate)" in status, "a reason was cut"
    pid = next(i for i, r in reasons.items() if "nonexistent_module_xyz" in r)
    shown = cambrian("show", run, pid[:6])
    assert shown.returncode == 0, shown.stderr
    out = shown.stdout
    assert f"program {pid}" in out and "status     error" in out
    assert "diff from parent:" in out and "+    b = " in out
    assert "line 11, in act" in out and "import nonexistent_module_xyz" in out  # the user's line
    assert "cambrian/candidate.py" not in out and "importlib" not in out
    assert "code:" in out and out.rstrip().endswith("return act(a, b, c)")
    _one_line_error(cambrian("show", run, "ffffffffffff"), "no program")
    _one_line_error(cambrian("show", run, "zz"), "not a program id")
    _one_line_error(cambrian("show", run, ""), "not a program id")


# -- 4. one line, never a traceback -------------------------------------------------
def test_damaged_store_is_one_line(tmp_path, quadratic):
    run = tmp_path / "r"
    assert cambrian("run", quadratic, "--run-dir", run, "--budget", 10, "--quiet").returncode == 0
    dropped = tmp_path / "dropped"
    shutil.copytree(run, dropped)
    conn = sqlite3.connect(dropped / "cambrian.db")
    conn.execute("DROP TABLE llm_calls")
    conn.commit()
    conn.close()
    _one_line_error(cambrian("status", dropped), "table llm_calls is missing")
    _one_line_error(cambrian("run", "--resume", dropped, "--budget", 20), "table llm_calls is missing")
    corrupt = tmp_path / "corrupt"
    shutil.copytree(run, corrupt)
    conn = sqlite3.connect(corrupt / "cambrian.db")
    conn.execute("UPDATE programs SET metrics = '{not json' WHERE seq = (SELECT MAX(seq) FROM programs)")
    conn.commit()
    conn.close()
    _one_line_error(cambrian("status", corrupt), "not valid JSON")
    _one_line_error(cambrian("run", "--resume", corrupt, "--budget", 20, "--quiet"), "not valid JSON")


def test_closed_pipe_is_not_an_error(tmp_path, quadratic):
    run = tmp_path / "r"
    piped = subprocess.run(
        f"{sys.executable} -m cambrian.cli run {quadratic} --run-dir {run} --budget 15 --quiet | head -1;"
        f" echo \"exit=${{PIPESTATUS[0]}}\"; {sys.executable} -m cambrian.cli status {run} | head -1;"
        f" echo \"exit=${{PIPESTATUS[0]}}\"",
        shell=True, executable="/bin/bash", capture_output=True, text=True, timeout=120)
    assert "Traceback" not in piped.stderr and "Broken pipe" not in piped.stderr, piped.stderr
    assert piped.stdout.count("exit=0") == 2, piped.stdout
    assert cambrian("run", "--resume", run, "--budget", 20, "--quiet").returncode == 0


def _can_mount_tmpfs():
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-m", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"],
                           capture_output=True)
    return probe.returncode == 0


@pytest.mark.skipif(not _can_mount_tmpfs(), reason="needs root and mount namespaces for a small tmpfs")
def test_full_disk_is_one_line_and_the_run_resumes(tmp_path, quadratic):
    disk = tmp_path / "disk"
    disk.mkdir()
    run = disk / "r"
    cli = f"{sys.executable} -m cambrian.cli"
    script = (f"mount -t tmpfs -o size=160k tmpfs {disk} && {cli} run {quadratic} --run-dir {run} --budget 3000"
              f" --quiet; echo \"exit=$?\"; cp -r {run} {tmp_path / 'copy'}")
    full = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True, timeout=300)
    assert "exit=2" in full.stdout, (full.stdout, full.stderr)
    lines = [line for line in full.stderr.splitlines() if line.strip()]
    # Which write meets the full disk first (SQLite or a file beside it) depends on the search's path.
    assert len(lines) == 1 and ("database or disk is full" in lines[0] or "No space left on device" in lines[0]) \
        and "--resume" in lines[0], full.stderr
    copy = tmp_path / "copy"  # the store as the full disk left it, now on a disk with room
    assert _rows(copy, "PRAGMA integrity_check") == [("ok",)]
    done = _rows(copy, "SELECT COUNT(*) FROM attempts")[0][0]
    resumed = cambrian("run", "--resume", copy, "--budget", done + 20, "--quiet")
    assert resumed.returncode == 0, resumed.stderr


# -- 5. no silent waste --------------------------------------------------------------
def test_an_operator_that_produces_nothing_is_warned_about(tmp_path):
    program = "def solve():\n    # EVOLVE-BLOCK-START\n    return abs(-len('ab'))\n    # EVOLVE-BLOCK-END\n"
    problem = write_problem(tmp_path / "p", program,
                            MODES_EVALUATOR, "operators: {perturb: {weight: 1.0}, crossover: {weight: 0}, "
                                             "structural: {weight: 0.0001}}\n")
    run = tmp_path / "r"
    done = cambrian("run", problem, "--run-dir", run, "--budget", 30, "--quiet")
    assert done.returncode == 0, done.stderr
    warning = "operator perturb produced nothing in"
    assert warning in done.stdout and "no numeric constants inside the evolve regions" in done.stdout
    assert warning in cambrian("status", run).stdout


ONLY_PERTURB = "operators: {perturb: {weight: 1.0}, crossover: {weight: 0}, structural: {weight: 0}}\n"


def _warnings_in_run_and_status(problem, run):
    done = cambrian("run", problem, "--run-dir", run, "--budget", 40, "--quiet")
    assert done.returncode == 0, done.stderr
    return done.stdout, cambrian("status", run).stdout


def test_duplicates_over_a_quarter_of_the_budget_are_warned_about(tmp_path):
    program = "def solve():\n    # EVOLVE-BLOCK-START\n    return 2\n    # EVOLVE-BLOCK-END\n"
    evaluator = ("from cambrian.candidate import load\n"
                 "def evaluate(path):\n    return {'combined_score': -abs(load(path).solve() - 4)}\n")
    problem = write_problem(tmp_path / "p", program, evaluator, ONLY_PERTURB)
    for text in _warnings_in_run_and_status(problem, tmp_path / "r"):
        assert "exact duplicates took" in text and "over 25%" in text


def test_most_candidates_failing_for_one_reason_is_warned_about(tmp_path):
    program = "def solve():\n    # EVOLVE-BLOCK-START\n    return 2.0\n    # EVOLVE-BLOCK-END\n"
    evaluator = ("from cambrian.candidate import load\n"
                 "def evaluate(path):\n    v = load(path).solve()\n"
                 "    if v != 2.0:\n        raise ValueError('only two will do')\n"
                 "    return {'combined_score': 1.0}\n")
    problem = write_problem(tmp_path / "p", program, evaluator, ONLY_PERTURB)
    for text in _warnings_in_run_and_status(problem, tmp_path / "r"):
        assert "failed for one reason: error: evaluate() raised ValueError" in text
        assert "only two will do" in text


def test_a_feature_the_initial_program_lacks_is_one_line_before_the_run(tmp_path, quadratic):
    run = tmp_path / "r"
    typo = "archive.features=[{name: distanse, bins: 4, min: 0, max: 10}]"
    _one_line_error(cambrian("run", quadratic, "--run-dir", run, "--set", typo, "--budget", 5, "--quiet"),
                    "'distanse'")
    right = "archive.features=[{name: distance, bins: 4, min: 0, max: 10}]"
    fixed = cambrian("run", quadratic, "--run-dir", run, "--set", right, "--budget", 5, "--quiet")
    assert fixed.returncode == 0, fixed.stderr


def test_a_later_candidate_missing_a_feature_is_invalid(tmp_path, quadratic):
    (quadratic / "evaluate.py").write_text(LOADER + """
def evaluate(path):
    x, y = load(path).solve()
    d = (x - 3.0) ** 2 + (y - 0.5) ** 2
    out = {"combined_score": 1.0 / (1.0 + d)}
    if x == 1.0:
        out["distance"] = d
    return out
""")
    run = tmp_path / "r"
    done = cambrian("run", quadratic, "--run-dir", run, "--budget", 20, "--quiet",
                    "--set", "archive.features=[{name: distance, bins: 4, min: 0, max: 10}]")
    assert done.returncode == 0, done.stderr
    invalid = _rows(run, "SELECT reason FROM programs WHERE status = 'invalid'")
    assert invalid and all("'distance' missing" in r for (r,) in invalid)


# -- 6. progress from the first second -------------------------------------------------
def test_progress_says_what_is_being_set_up_then_time_and_eta(tmp_path, quadratic):
    run = tmp_path / "r"
    done = cambrian("run", quadratic, "--run-dir", run, "--budget", 30)
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert lines[0] == f"cambrian: new run in {run}"
    assert lines[1].startswith("cambrian: evaluating the initial program")
    assert lines[2].startswith("cambrian: initial program: score 0.08")
    progress = [line for line in lines[3:] if "candidates" in line]
    assert progress and all("elapsed" in line and "ETA" in line for line in progress)
    assert "ETA 0s (budget)" in progress[-1]
    resumed = cambrian("run", "--resume", run, "--budget", 40, "--max-time", 600)
    assert f"cambrian: resuming {run} at candidate 31 of 40" in resumed.stderr


# -- one session per run ----------------------------------------------------------------
SLOW_EVALUATOR = "import time\n" + QUADRATIC_EVALUATOR.replace(  # the initial program (x = 1.0) takes 4 s
    "    x, y = load(path).solve()\n", "    x, y = load(path).solve()\n    time.sleep(4 if x == 1.0 else 1.0)\n")


def _wait_for(predicate, seconds=60):
    import time

    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("timed out")


def test_a_second_session_on_a_live_run_is_refused_and_harms_nothing(tmp_path):
    """Two resumes of one run at once interleaved their candidates, and both rewrote best/
    through one temporary name: one of them (the live run, as often as not) died with
    'No such file or directory: RUN/best/.program.py.tmp'. A second `cambrian run` on a
    run directory whose initial program was still being evaluated removed the store."""
    problem = write_problem(tmp_path / "slow", QUADRATIC_PROGRAM, SLOW_EVALUATOR)
    run = tmp_path / "r"
    first = subprocess.Popen([sys.executable, "-m", "cambrian.cli", "run", str(problem), "--run-dir", str(run),
                              "--budget", "12", "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(lambda: (run / "cambrian.db").exists())
        again = cambrian("run", problem, "--run-dir", run, "--budget", 12, "--quiet")  # during its initial program
        _one_line_error(again, "in use by another cambrian run")
        _wait_for(lambda: (run / "best" / "program.py").exists())
        resumed = cambrian("run", "--resume", run, "--budget", 40, "--quiet")
        _one_line_error(resumed, "in use by another cambrian run")
        out, err = first.communicate(timeout=120)
    finally:
        first.kill()
    assert first.returncode == 0, err
    assert "Traceback" not in err
    assert _rows(run, "SELECT COUNT(*), MAX(seq) FROM attempts") == [(13, 12)]
    assert _meta(run, "config")["budget"] == 12
    assert sorted(p.name for p in (run / "best").iterdir()) == ["metrics.json", "program.py"]
    assert cambrian("run", "--resume", run, "--budget", 15, "--quiet").returncode == 0  # once it has stopped


def test_best_dir_follows_the_run_so_a_killed_run_leaves_a_current_copy(tmp_path):
    """The README: best/ is rewritten whenever the best changes during the run. No test
    failed with that writer switched off (best/ was written only at the end)."""
    import signal
    import time

    evaluator = "import time\n" + QUADRATIC_EVALUATOR.replace(
        "    x, y = load(path).solve()\n", "    x, y = load(path).solve()\n    time.sleep(0.1)\n")
    problem = write_problem(tmp_path / "slowish", QUADRATIC_PROGRAM, evaluator)
    run = tmp_path / "r"
    proc = subprocess.Popen([sys.executable, "-m", "cambrian.cli", "run", str(problem), "--run-dir", str(run),
                             "--budget", "2000", "--quiet"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        initial = 1.0 / (1.0 + 4 + 2.5 ** 2)
        better = f"SELECT COUNT(*) FROM attempts a JOIN programs p ON p.id = a.program_id WHERE p.score > {initial}"
        def improved():
            try:
                return (run / "cambrian.db").exists() and _rows(run, better)[0][0] >= 3
            except sqlite3.Error:  # not created yet
                return False
        _wait_for(improved, seconds=120)
        time.sleep(1.0)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        proc.kill()
    saved = json.loads((run / "best" / "metrics.json").read_text())
    assert saved["score"] > initial
    conn = sqlite3.connect(run / "cambrian.db")
    try:
        row = conn.execute("SELECT status, score, code FROM programs WHERE id = ?", (saved["id"],)).fetchone()
    finally:
        conn.close()
    assert row == ("ok", saved["score"], (run / "best" / "program.py").read_text())


def test_a_run_saved_with_a_feature_given_twice_resumes_as_it_ran(tmp_path):
    """A new config may not name a MAP-Elites feature twice, but a run saved with one
    (before that was refused) resumes and replays with the grid it has, as it ran; a
    saved target of inf (no target) resumes too."""
    feature = "{name: distance, min: 0, max: 20, bins: 4}"
    problem = write_problem(tmp_path / "q", QUADRATIC_PROGRAM, QUADRATIC_EVALUATOR,
                            f"budget: 4\nworkers: 1\narchive:\n  features:\n    - {feature}\n")
    run = tmp_path / "run"
    made = cambrian("run", problem, "--run-dir", run, "--quiet", "--target", "inf")
    assert made.returncode == 0, made.stderr
    saved = _meta(run, "config")
    saved["archive"]["features"] *= 2   # as a version that took it saved it
    conn = sqlite3.connect(run / "cambrian.db")
    with conn:
        conn.execute("UPDATE meta SET value = ? WHERE key = 'config'", (json.dumps(saved),))
    conn.close()
    resumed = cambrian("run", "--resume", run, "--budget", "6", "--quiet")
    assert resumed.returncode == 0, resumed.stderr
    assert len(_meta(run, "config")["archive"]["features"]) == 2
    assert _rows(run, "SELECT COUNT(*) FROM attempts WHERE seq > 0") == [(6,)]
    replay = cambrian("replay", run, "--run-dir", tmp_path / "replay", "--quiet")
    assert replay.returncode == 0, replay.stderr
    (problem / "cambrian.yaml").write_text(f"archive:\n  features:\n    - {feature}\n    - {feature}\n")
    _one_line_error(cambrian("run", problem, "--run-dir", tmp_path / "new"), "'distance' is given twice")
