"""The numbers ``cambrian status`` shows, kept as a running fold, so a status of a
million-candidate run reads a few thousand rows, not a million.

Everything status counts is a fold over rows in order: attempts (with their program
and its parent's score) by seq, programs by seq, LLM exchanges by id. The runner
saves the fold (store meta ``summary``) with each resume snapshot, up to the seq the
snapshot covers: every attempt and program up to there is final (a reassignment only
ever moves programs of candidates after the last one told), so the saved part never
goes stale. ``current()`` takes the saved fold and folds what came after it, in
memory; a store with no saved fold (an old run, a branch) is folded from the start.
"""

from __future__ import annotations

import json
from typing import Any

from .stats import failure_kind
from .store import Store

KEY = "summary"
VERSION = 2   # 2: seeds (--from) are neither built-in operators' candidates nor in their row

_ATTEMPTS = ("SELECT a.seq, a.island, a.operator, a.model, a.outcome, a.reason, p.id, p.status, p.reason, p.score,"
             " parent.score FROM attempts a LEFT JOIN programs p ON p.id = a.program_id AND a.outcome = 'new'"
             " LEFT JOIN programs parent ON parent.id = a.parent_id WHERE a.seq > ? AND a.seq <= ? ORDER BY a.seq")


def empty(store: Store) -> dict[str, Any]:
    config = store.meta("config") or {}
    return {"version": VERSION, "seq": 0, "pseq": -1, "calls_id": 0,
            "maximize": config.get("direction", "maximize") == "maximize",
            "features": (config.get("archive") or {}).get("features") or [],
            "counts": dict.fromkeys(("candidates", "evaluated", "valid", "duplicates", "equivalent", "no_candidate",
                                     "builtin"), 0),
            "islands": [], "arms": {}, "ops": {}, "kinds": {}, "best": store.scalar(
                "SELECT score FROM programs WHERE seq = 0"), "by": {"island": {}, "model": {}},
            "statuses": {}, "cells": {}, "worst": None, "models": {}}


def fold(store: Store, state: dict[str, Any], upto: int) -> dict[str, Any]:
    """``state`` advanced over attempts and programs with seq up to ``upto`` and every LLM
    exchange stored (changed in place, and returned)."""
    from .contributions import builtin, source

    sign = 1.0 if state["maximize"] else -1.0
    counts, islands = state["counts"], set(state["islands"])
    for seq, island, operator, model, outcome, reason, pid, status, preason, score, parent in store.rows(
            _ATTEMPTS, state["seq"], upto):
        counts["candidates"] += 1
        counts["builtin"] += builtin(operator)
        islands.add(island)
        arm = state["arms"].setdefault(operator, [0, 0, 0])
        op = state["ops"].setdefault(operator, [0, 0, {}])
        arm[0] += 1
        op[0] += 1
        ok = status == "ok" and score is not None
        improved = ok and parent is not None and sign * (score - parent) > 0
        arm[1] += ok
        arm[2] += improved
        if outcome == "duplicate":
            counts["duplicates"] += 1
        elif outcome == "equivalent":
            counts["equivalent"] += 1
        elif outcome == "failed":
            counts["no_candidate"] += 1
            op[1] += 1
            op[2][reason] = op[2].get(reason, 0) + 1
            _failure(state, "no candidate", reason, f"candidate {seq} ({operator})")
        if pid is not None:
            counts["evaluated"] += status != "rejected"
            counts["valid"] += status == "ok"
            if status != "ok":
                _failure(state, status, preason, pid)
        new_best = ok and (state["best"] is None or sign * (score - state["best"]) > 0)
        if new_best:
            state["best"] = score
        for by, key in (("island", f"island {island}"), ("model", source(operator, model))):
            c = state["by"][by].setdefault(key, [0, 0, 0, 0])
            c[0] += 1
            c[1] += ok
            c[2] += improved
            c[3] += new_best
        state["seq"] = seq
    state["islands"] = sorted(islands)
    _fold_programs(store, state, upto)
    for cid, model, error, tin, tout, cost in store.rows(
            "SELECT id, model, error != '', tokens_in, tokens_out, cost FROM llm_calls WHERE id > ? AND replayed = 0"
            " ORDER BY id", state["calls_id"]):
        m = state["models"].setdefault(model, [0, 0, 0, 0, 0.0])
        m[0] += 1
        m[1] += error
        m[2] += tin or 0
        m[3] += tout or 0
        m[4] += cost or 0.0
        state["calls_id"] = cid
    return state


def _failure(state: dict[str, Any], status: str, reason: str, example: str) -> None:
    """One failed candidate into its group; a group's example is its first in example order."""
    entry = state["kinds"].setdefault(failure_kind(status, reason), [0, example, reason])
    entry[0] += 1
    if example < entry[1]:
        entry[1], entry[2] = example, reason


def _fold_programs(store: Store, state: dict[str, Any], upto: int) -> None:
    from .archive import Feature

    grid = [Feature(f["name"], f.get("bins", 10), f["min"], f["max"]) for f in state["features"]]
    code = "code" if any(f.name == "code_length" for f in grid) else "''"
    for seq, status, score, metrics, text in store.rows(
            f"SELECT seq, status, score, metrics, {code} FROM programs WHERE seq > ? AND seq <= ? ORDER BY seq",
            state["pseq"], upto):
        if seq > 0:
            state["statuses"][status] = state["statuses"].get(status, 0) + 1
        if status == "ok" and score is not None:
            values = {**json.loads(metrics), "code_length": float(len(text))} if grid else {}
            cell = ",".join(str(f.bin(float(values.get(f.name, f.low)))) for f in grid)
            best = state["cells"].get(cell)
            if best is None or (score > best if state["maximize"] else score < best):
                state["cells"][cell] = score
            worst = state["worst"]
            if worst is None or (score < worst if state["maximize"] else score > worst):
                state["worst"] = score
    state["pseq"] = max(state["pseq"], upto)


def _saved(store: Store) -> dict[str, Any]:
    """The saved fold, or an empty one to fold from the start when there is none, it is of
    another version, or it is damaged (a part missing or of another type): it is derived
    from the rows, so folding again is always right."""
    fresh, saved = empty(store), store.meta(KEY)
    if (isinstance(saved, dict) and saved.get("version") == VERSION
            and all(k in saved and _same_kind(v, saved[k]) for k, v in fresh.items())
            and all(k in saved["counts"] for k in fresh["counts"])):
        return saved
    return fresh


def _same_kind(fresh: Any, saved: Any) -> bool:
    numbers = (int, float)
    return (fresh is None or saved is None or isinstance(saved, type(fresh))
            or (isinstance(fresh, numbers) and isinstance(saved, numbers) and not isinstance(saved, bool)))


def save(store: Store, upto: int) -> None:
    """Advance the saved fold to ``upto`` (every candidate up to which is told)."""
    state = _saved(store)
    if state["pseq"] >= upto:  # saved further by an earlier session (what it covers stays final)
        return
    store.set_meta(KEY, fold(store, state, upto))


def current(store: Store) -> dict[str, Any]:
    """The fold over everything stored: the saved part and what came after it."""
    state = _saved(store)
    last = store.scalar("SELECT COALESCE(MAX(seq), 0) FROM attempts")
    return fold(store, state, max(last, store.scalar("SELECT COALESCE(MAX(seq), 0) FROM programs")))
