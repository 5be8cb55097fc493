"""``cambrian export-git``: a run's lineage as a git repository.

Each program is a commit whose first parent is its parent program's commit (a
crossover child is a merge commit whose other parents are its inspirations); the
tree holds ``program.py`` (``program.c``, or the tree ``program/``, for other programs) and ``metrics.json``, and the message carries the score,
status, operator and metrics. Author, committer and dates come from the run (the
time each program was stored), so exporting the same run twice gives the same
commit hashes. ``main`` points at the best program, ``island-N`` at each island's
best, and every program without children has a ref under ``refs/leaves/`` so that
no commit is unreachable. Written with ``git fast-import``: one process, one pack.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any, BinaryIO

from . import tree
from .errors import CambrianError
from .runview import RunView, is_crossover

AUTHOR = b"cambrian <cambrian@localhost>"


def _data(out: BinaryIO, payload: bytes) -> None:
    out.write(b"data %d\n" % len(payload))
    out.write(payload)
    out.write(b"\n")


def message(p: dict[str, Any], objective: str) -> str:
    score = "no score" if p["score"] is None else f"{objective} {p['score']:.10g}"
    head = f"#{p['seq']} {p['operator']}: {score} ({p['status']})"
    lines = [head, "", f"program: {p['id']}", f"parent: {p['parent_id'] or '-'}"]
    inspirations = json.loads(p["inspirations"] or "[]")
    if inspirations:
        lines.append(f"inspirations: {', '.join(inspirations)}")
    lines += [f"operator: {p['operator']}", f"model: {p['model'] or '-'}", f"island: {p['island']}",
              f"generation: {p['generation']}", f"status: {p['status']}"]
    if p["reason"]:
        lines.append("reason: " + p["reason"].splitlines()[0][:300])
    lines.append(f"score: {'-' if p['score'] is None else repr(p['score'])}")
    metrics = json.loads(p["metrics"] or "{}")
    for key in sorted(metrics):
        lines.append(f"metric {key}: {metrics[key]!r}")
    lines.append(f"eval seconds: {p['eval_seconds']:.3f}")
    return "\n".join(lines) + "\n"


def program_files(code: str) -> list[tuple[str, str]]:
    """The files a program's commit holds: program.py, program.c, or program/<each file>."""
    if not tree.is_bundle(code):
        return [("program.py", code)]
    files, name = tree.unpack(code), tree.program_name(code)
    if name != "program":
        return [(name, files[0].text)]
    return [(f"program/{f.path}", f.text) for f in files]


def export(run_dir: Path, dest: Path) -> dict[str, Any]:
    """Write the repository at ``dest`` (new or empty directory); return what was written."""
    git = shutil.which("git")
    if git is None:
        raise CambrianError("export-git needs the git command, which is not on PATH")
    dest = Path(dest)
    if dest.exists() and not dest.is_dir():
        raise CambrianError(f"{dest} is a file: give a new or empty directory")
    if dest.exists() and any(dest.iterdir()):
        raise CambrianError(f"{dest} is a directory that is not empty: give a new or empty directory")
    view = RunView(run_dir)
    try:
        return _export(view, dest, git)
    finally:
        view.close()


def _export(view: RunView, dest: Path, git: str) -> dict[str, Any]:
    objective = view.config().get("objective", "combined_score")
    programs = view.all_programs()
    if not programs:
        raise CambrianError(f"{view.run_dir}: no program to export")
    by_id = {p["id"]: p for p in programs}
    order = _parents_first(programs, by_id)
    dest.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}
    subprocess.run([git, "init", "-q", "-b", "main", str(dest)], check=True, env=env, capture_output=True)
    mark = {p["id"]: i + 1 for i, p in enumerate(order)}
    has_child = {p["parent_id"] for p in programs if p["parent_id"]}
    proc = subprocess.Popen([git, "fast-import", "--quiet", "--done"], cwd=dest, stdin=subprocess.PIPE,
                            env=env, stderr=subprocess.PIPE)
    assert proc.stdin is not None
    out = proc.stdin
    merges = 0
    try:
        for p in order:
            when = int(p["created"])
            parents = [p["parent_id"]] if p["parent_id"] in mark else []
            if not parents:
                out.write(b"reset refs/cambrian/import\n\n")  # a root: no parent commit
            out.write(b"commit refs/cambrian/import\n")
            out.write(b"mark :%d\n" % mark[p["id"]])
            out.write(b"author %s %d +0000\n" % (AUTHOR, when))
            out.write(b"committer %s %d +0000\n" % (AUTHOR, when))
            _data(out, message(p, objective).encode("utf-8"))
            if is_crossover(p["operator"]) and parents:
                extra = [i for i in json.loads(p["inspirations"] or "[]") if i in mark and i not in parents]
                parents += extra
                merges += bool(extra)
            if parents:
                out.write(b"from :%d\n" % mark[parents[0]])
                for other in parents[1:]:
                    out.write(b"merge :%d\n" % mark[other])
            out.write(b"deleteall\n")
            for path, text in program_files(p["code"]):
                out.write(b"M 100644 inline %s\n" % path.encode("utf-8"))
                _data(out, text.encode("utf-8"))
            out.write(b"M 100644 inline metrics.json\n")
            _data(out, (json.dumps(_metrics_file(p), indent=2, sort_keys=True) + "\n").encode("utf-8"))
            out.write(b"\n")
        refs = _refs(view, programs, has_child)
        for ref, pid in refs.items():
            out.write(b"reset %s\nfrom :%d\n\n" % (ref.encode(), mark[pid]))
        out.write(b"done\n")
        out.close()
    except BrokenPipeError:
        pass
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.wait() != 0:
        raise CambrianError(f"git fast-import failed: {err.strip()[:500]}")
    subprocess.run([git, "update-ref", "-d", "refs/cambrian/import"], cwd=dest, check=True, env=env,
                   capture_output=True)
    subprocess.run([git, "pack-refs", "--all"], cwd=dest, check=True, env=env, capture_output=True)
    subprocess.run([git, "checkout", "-q", "main"], cwd=dest, check=True, env=env, capture_output=True)
    # With no valid program, main is the initial program's commit, which is not a "best".
    valid = bool(view.top(1))
    return {"commits": len(order), "merges": merges, "refs": len(refs),
            "best": refs.get("refs/heads/main") if valid else None, "main": refs.get("refs/heads/main"),
            "dest": str(dest)}


def _metrics_file(p: dict[str, Any]) -> dict[str, Any]:
    return {"id": p["id"], "score": p["score"], "status": p["status"], "reason": p["reason"],
            "metrics": json.loads(p["metrics"] or "{}"), "operator": p["operator"], "model": p["model"],
            "island": p["island"], "generation": p["generation"]}


def _parents_first(programs: list[dict[str, Any]], by_id: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Programs in candidate order, except that a parent (or inspiration) always comes first."""
    done: set[str] = set()
    order: list[dict[str, Any]] = []
    for start in programs:
        stack = [(start, False)]
        while stack:
            p, expanded = stack.pop()
            if p["id"] in done:
                continue
            if expanded:
                done.add(p["id"])
                order.append(p)
                continue
            stack.append((p, True))
            deps = [p["parent_id"]] + (json.loads(p["inspirations"] or "[]") if is_crossover(p["operator"]) else [])
            for dep in reversed(deps):
                if dep in by_id and dep not in done and dep != p["id"]:
                    stack.append((by_id[dep], False))
    return order


def _refs(view: RunView, programs: list[dict[str, Any]], has_child: set[str]) -> dict[str, str]:
    refs: dict[str, str] = {}
    top = view.top(1)
    refs["refs/heads/main"] = top[0]["id"] if top else programs[0]["id"]
    best: dict[int, dict[str, Any]] = {}
    better = view.better()
    for p in programs:
        if p["status"] == "ok" and p["score"] is not None and p["seq"] > 0:
            held = best.get(p["island"])
            if held is None or better(p["score"], held["score"]):
                best[p["island"]] = p
    for island, p in sorted(best.items()):
        refs[f"refs/heads/island-{island}"] = p["id"]
    for p in programs:
        if p["id"] not in has_child:
            refs[f"refs/leaves/{p['seq']:06d}-{p['id']}"] = p["id"]
    return refs
