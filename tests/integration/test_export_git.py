"""``cambrian export-git``: the lineage as a git repository that git's own tools read."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys

import pytest

from cambrian.runview import RunView
from tests.integration.test_cli import cambrian

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def git(repo, *args) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def exported(toy_run, tmp_path_factory):
    dest = tmp_path_factory.mktemp("git") / "lineage"
    done = cambrian("export-git", toy_run, dest)
    assert done.returncode == 0, done.stderr
    return dest


def test_every_program_is_a_commit_on_its_parent(toy_run, exported):
    conn = sqlite3.connect(toy_run / "cambrian.db")
    programs = {pid: (parent, json.loads(insp), op) for pid, parent, insp, op in
                conn.execute("SELECT id, parent_id, inspirations, operator FROM programs")}
    commits = {}
    for line in git(exported, "log", "--all", "--format=%H %P%x00%B%x01").split("\x01"):
        if not line.strip():
            continue
        head, body = line.strip().split("\x00", 1)
        sha, *parents = head.split()
        pid = next(l.split(": ")[1] for l in body.splitlines() if l.startswith("program: "))
        commits[pid] = (sha, parents)
    assert set(commits) == set(programs)  # every program, each reachable from a ref
    sha_of = {pid: sha for pid, (sha, _) in commits.items()}
    merges = 0
    for pid, (sha, parents) in commits.items():
        parent, inspirations, operator = programs[pid]
        expected = [sha_of[parent]] if parent else []
        if parent and operator.endswith("crossover"):
            expected += [sha_of[i] for i in inspirations if i != parent]
            merges += len(expected) > 1
        assert parents == expected, (pid, operator)
    assert merges >= 1  # crossover children are merge commits
    best = RunView(toy_run).top(1)[0]
    assert git(exported, "show", "main:program.py") == conn.execute("SELECT code FROM programs WHERE id = ?",
                                                                    (best["id"],)).fetchone()[0]
    message = git(exported, "log", "-1", "--format=%B", "main")
    assert f"score: {best['score']!r}" in message and "metric mse: " in message
    assert json.loads(git(exported, "show", "main:metrics.json"))["score"] == best["score"]
    graph = git(exported, "log", "--graph", "--oneline", "--all")
    assert "*" in graph and ("|\\" in graph or "|/" in graph or "\\" in graph)
    diff = git(exported, "diff", "main~1", "main", "--", "program.py")
    assert diff.count("\n+ ") + diff.count("\n-    ") >= 1 and "@@" in diff
    assert git(exported, "status", "--porcelain") == ""
    subprocess.run(["git", "-C", str(exported), "fsck", "--strict"], check=True, capture_output=True)


def test_same_run_same_hashes(toy_run, exported, tmp_path):
    again = tmp_path / "again"
    assert cambrian("export-git", toy_run, again).returncode == 0
    assert git(again, "for-each-ref", "--format=%(refname) %(objectname)") == \
        git(exported, "for-each-ref", "--format=%(refname) %(objectname)")


def test_bisect_finds_the_first_program_past_a_score(toy_run, exported, tmp_path):
    chain = RunView(toy_run).lineage(RunView(toy_run).top(1)[0]["id"])
    scores = [p["score"] for p in chain]
    assert len(chain) >= 3
    threshold = (scores[0] + scores[-1]) / 2
    expected = next(p["id"] for p in chain if p["score"] >= threshold)
    repo = tmp_path / "bisect"
    shutil.copytree(exported, repo)
    check = tmp_path / "check.py"
    check.write_text("import json, sys\n"
                     f"sys.exit(1 if json.load(open('metrics.json'))['score'] >= {threshold!r} else 0)\n")
    root = git(repo, "rev-list", "--max-parents=0", "main").split()[0]
    git(repo, "bisect", "start", "main", root)
    out = git(repo, "bisect", "run", sys.executable, str(check))
    assert f"program: {expected}" in out, out
    git(repo, "bisect", "reset")


def test_misuse_is_one_line(toy_run, exported, tmp_path):
    busy = cambrian("export-git", toy_run, exported)
    assert busy.returncode == 2 and "is a directory that is not empty" in busy.stderr and "Traceback" not in busy.stderr
    a_file = tmp_path / "notes.txt"
    a_file.write_text("keep me\n")
    onto_file = cambrian("export-git", toy_run, a_file)
    assert onto_file.returncode == 2 and "is a file" in onto_file.stderr and "not empty" not in onto_file.stderr
    assert a_file.read_text() == "keep me\n"
    missing = cambrian("export-git", tmp_path / "nothing", tmp_path / "out")
    assert missing.returncode == 2 and "no store" in missing.stderr


def test_a_run_without_a_valid_program_has_no_best(failed_initial_run, tmp_path):
    done = cambrian("export-git", failed_initial_run, tmp_path / "lineage")
    assert done.returncode == 0, done.stderr
    assert "best program" not in done.stdout and "no valid program" in done.stdout, done.stdout
    assert "(error)" in git(tmp_path / "lineage", "log", "-1", "--format=%s", "main")
