"""A run, read: the one query layer behind ``cambrian ui``, ``cambrian report`` and
``cambrian export-git``.

It opens the store read-only (SQLite ``mode=ro``), so nothing that looks at a run
can change it, and it can look while the run is going. Every answer is plain JSON-able
data, aggregated here (curves reduced to their steps and a bounded sample, trees
pruned to the ancestry of the best programs, lists paged), so a view of a run with
100,000 programs moves as little data as one with 100. Schema knowledge lives here
and in ``store.py`` only.
"""

from __future__ import annotations

import difflib
import json
import math
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, Iterable
from urllib.parse import quote

from . import texts
from .errors import StoreError
from .stats import failure_kind
from .store import APP, SCHEMA_VERSION, Store

CROSSOVER = "crossover"


def is_crossover(operator: str) -> bool:
    return operator == CROSSOVER or operator.endswith(":" + CROSSOVER)


def find_runs(root: Path, depth: int = 4) -> list[Path]:
    """Run directories at ``root``: itself if it holds a store, else those below it, up to
    ``depth`` levels down (``cambrian bench`` writes OUT/problem/system/seed-N)."""
    root = Path(root)
    if (root / Store.FILE).is_file():
        return [root]
    found: list[Path] = []
    level = [root] if root.is_dir() else []
    for _ in range(depth):
        below = []
        for folder in level:
            try:
                children = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
            except OSError:
                continue
            for child in children:
                (found if (child / Store.FILE).is_file() else below).append(child)
        level = below
    return sorted(found, key=lambda p: p.relative_to(root).as_posix())


def run_name(root: Path, run: Path) -> str:
    """How a run is named under ``root``: its path below it (its own name if it is the root)."""
    return run.name if run == Path(root) else run.relative_to(root).as_posix()


class RunView:
    """Read-only queries over one run directory (or its ``cambrian.db``)."""

    def __init__(self, path: str | Path):
        path = Path(path)
        if path.is_dir():
            path = path / Store.FILE
        if not path.is_file():
            raise StoreError(f"no store at {path}")
        self.path = path
        self.run_dir = path.parent
        try:
            self.conn: sqlite3.Connection | None = self._connect()
            meta = dict(self.conn.execute("SELECT key, value FROM meta").fetchall())
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{path}: not a Cambrian store ({exc})") from None
        if meta.get("app") != APP:
            raise StoreError(f"{path}: not a Cambrian store")
        if meta.get("schema") != str(SCHEMA_VERSION):
            raise StoreError(f"{path}: store schema {meta.get('schema')}, this Cambrian reads {SCHEMA_VERSION}")
        self._lock = threading.Lock()
        self._cache: dict[tuple, Any] = {}

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(f"file:{quote(str(self.path.resolve()))}?mode=ro", uri=True, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout=5000")
        return conn

    @property
    def is_open(self) -> bool:
        return self.conn is not None

    def close(self) -> None:
        """Close the connection (the next query opens it again: a UI over many runs keeps
        only the most recently used ones open)."""
        with self._lock:
            if self.conn is not None:
                self.conn.close()
                self.conn = None

    # -- plumbing --------------------------------------------------------------
    def _execute(self, sql: str, args: tuple) -> sqlite3.Cursor:
        if self.conn is None:
            self.conn = self._connect()
        return self.conn.execute(sql, args)

    def _rows(self, sql: str, *args: Any) -> list[tuple]:
        with self._lock:
            return self._execute(sql, args).fetchall()

    def _one(self, sql: str, *args: Any) -> Any:
        rows = self._rows(sql, *args)
        return rows[0][0] if rows else None

    def _dicts(self, sql: str, *args: Any) -> list[dict[str, Any]]:
        with self._lock:
            cursor = self._execute(sql, args)
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row)) for row in cursor.fetchall()]

    def version(self) -> str:
        """Changes whenever the run writes anything a view shows (cheap: four index lookups)."""
        parts = self._rows(
            "SELECT (SELECT COALESCE(MAX(seq), -1) FROM attempts), (SELECT COUNT(*) FROM programs),"
            " (SELECT COALESCE(MAX(id), 0) FROM llm_calls), (SELECT COALESCE(MAX(id), 0) FROM events)")[0]
        return "-".join(str(p) for p in parts)

    def _cached(self, key: tuple, compute) -> Any:
        """``compute()``, again only when the run has changed, and for an aggregate that is
        slow to compute (a large run being written), at most every five times its cost:
        a view of a live 100,000-program run must not take the CPU from the run."""
        version = self.version()
        hit = self._cache.get(key)
        now = time.monotonic()
        if hit is not None and (hit[0] == version or now < hit[2]):
            return hit[1]
        value = compute()
        cost = time.monotonic() - now
        if len(self._cache) > 64:
            self._cache.clear()
        self._cache[key] = (version, value, now + 5 * cost if cost > 0.02 else now)
        return value

    # -- the run -----------------------------------------------------------------
    def meta(self, key: str, default: Any = None) -> Any:
        raw = self._one("SELECT value FROM meta WHERE key = ?", key)
        if raw is None:
            return default
        try:
            return json.loads(raw)
        except ValueError:
            return raw

    def config(self) -> dict[str, Any]:
        config = self.meta("config")
        return config if isinstance(config, dict) else {}

    @property
    def maximize(self) -> bool:
        return self.config().get("direction", "maximize") != "minimize"

    def better(self):
        """``better(a, b)``: is score ``a`` better than ``b`` (None: no score yet)? Reads the direction once."""
        if self.maximize:
            return lambda a, b: b is None or a > b
        return lambda a, b: b is None or a < b

    def events(self, kinds: Iterable[str] | None = None, limit: int = 50) -> list[dict[str, Any]]:
        where, args = "", ()
        if kinds:
            kinds = list(kinds)
            where, args = f"WHERE kind IN ({', '.join('?' * len(kinds))})", tuple(kinds)
        rows = self._rows(f"SELECT t, kind, data FROM events {where} ORDER BY id DESC LIMIT ?", *args, limit)
        return [{"t": t, "kind": kind, **_json(data, {})} for t, kind, data in rows]

    IDLE = 120.0  # seconds without a write after which an unfinished session is "no activity"

    def summary(self) -> dict[str, Any]:
        """What a person wants to know first: is it running, how far, how good, how costly."""
        return with_state(self.raw_summary(), self.IDLE)

    def raw_summary(self) -> dict[str, Any]:
        """``summary()`` without its state, which depends on when it is asked (cached)."""
        return self._cached(("summary",), self._summary)

    def _summary(self) -> dict[str, Any]:
        config = self.config()
        counts = dict(self._rows("SELECT outcome, COUNT(*) FROM attempts WHERE seq > 0 GROUP BY outcome"))
        candidates = sum(counts.values())
        statuses = dict(self._rows("SELECT p.status, COUNT(*) FROM attempts a JOIN programs p ON p.id = a.program_id"
                                   " WHERE a.seq > 0 AND a.outcome = 'new' GROUP BY p.status"))
        evaluated = sum(n for s, n in statuses.items() if s != "rejected")
        best = self.top(1)
        initial = self._dicts("SELECT id, score, status, reason FROM programs WHERE seq = 0 LIMIT 1")
        first = self._one("SELECT MIN(created) FROM attempts")
        last = max(self._one("SELECT MAX(created) FROM attempts") or 0,
                   self._one("SELECT MAX(t) FROM events") or 0) or None
        started = self.events(["started"], limit=1)
        stopped = self.events(["stopped"], limit=1)
        sessions = self._one("SELECT COUNT(*) FROM events WHERE kind = 'started'") or 0
        ended = bool(started) and bool(stopped) and self._one(
            "SELECT MAX(id) FROM events WHERE kind = 'stopped'") > self._one(
            "SELECT MAX(id) FROM events WHERE kind = 'started'")
        stop_reason = stopped[0].get("reason") if ended else None
        spent = self._one("SELECT COALESCE(SUM(cost), 0) FROM llm_calls WHERE replayed = 0") or 0.0
        problem = self.meta("problem") or ""
        return {
            "run": self.run_dir.name,
            "problem": Path(str(problem)).name,
            "problem_dir": problem,
            "ended": ended,
            "stop_reason": stop_reason,
            "sessions": sessions,
            "objective": config.get("objective", "combined_score"),
            "direction": config.get("direction", "maximize"),
            "budget": config.get("budget"),
            "islands": (started[0].get("islands") if started else None) or _island_count(config),
            "candidates": candidates,
            "evaluated": evaluated,
            "valid": statuses.get("ok", 0),
            "statuses": statuses,
            "duplicates": counts.get("duplicate", 0),
            "equivalent": counts.get("equivalent", 0),
            "no_candidate": counts.get("failed", 0),
            "best": best[0] if best else None,
            "initial": initial[0] if initial else None,
            "spent": spent,
            "llm_calls": self._one("SELECT COUNT(*) FROM llm_calls") or 0,
            "first": first,
            "last": last,
        }

    # -- programs ----------------------------------------------------------------
    def top(self, n: int = 10) -> list[dict[str, Any]]:
        order = "DESC" if self.maximize else "ASC"
        return self._dicts(
            "SELECT id, seq, score, operator, model, island, generation, status FROM programs"
            f" WHERE status = 'ok' AND score IS NOT NULL ORDER BY score {order}, seq ASC LIMIT ?", n)

    SORTS = {"seq": "seq", "-seq": "seq DESC", "score": "score IS NULL, score", "-score": "score IS NULL, score DESC",
             "generation": "generation", "-generation": "generation DESC"}

    def programs(self, *, offset: int = 0, limit: int = 50, sort: str = "-seq", status: str | None = None,
                 island: int | None = None, operator: str | None = None, parent: str | None = None
                 ) -> dict[str, Any]:
        """One page of programs (no code), with the total that matched."""
        where, args = [], []
        for column, value in (("status", status), ("island", island), ("operator", operator),
                              ("parent_id", parent)):
            if value is not None and value != "":
                where.append(f"{column} = ?")
                args.append(value)
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        order = self.SORTS.get(sort)
        if order is None:
            raise ValueError(f"sort: expected one of {', '.join(self.SORTS)}, got {sort!r}")
        limit = max(1, min(int(limit), 500))
        total = self._one(f"SELECT COUNT(*) FROM programs {clause}", *args)
        rows = self._dicts(
            "SELECT id, seq, parent_id, operator, model, island, generation, status, reason, score, eval_seconds"
            f" FROM programs {clause} ORDER BY {order}, seq LIMIT ? OFFSET ?", *args, limit, max(0, int(offset)))
        return {"total": total, "offset": offset, "limit": limit, "rows": rows}

    def program(self, program_id: str) -> dict[str, Any] | None:
        """Everything about one program: code, diff against its parent, metrics, feedback,
        how it was made (operator, model, the LLM exchanges) and what it cost."""
        rows = self._dicts("SELECT * FROM programs WHERE id = ?", program_id)
        if not rows:
            return None
        p = rows[0]
        p["metrics"] = _json(p["metrics"], {})
        p["feedback"] = _json(p["feedback"], {})
        p["inspirations"] = _json(p["inspirations"], [])
        parent = None
        if p["parent_id"]:
            found = self._dicts("SELECT id, code, score, status FROM programs WHERE id = ?", p["parent_id"])
            parent = found[0] if found else None
        p["parent"] = None if parent is None else {k: parent[k] for k in ("id", "score", "status")}
        p["diff"] = diff(parent["code"] if parent else "", p["code"], "parent", "program") if parent else ""
        attempt = self._dicts("SELECT seq, outcome, reason, seconds, cost, model FROM attempts WHERE seq = ?", p["seq"])
        p["attempt"] = attempt[0] if attempt else None
        p["cost"] = attempt[0]["cost"] if attempt else 0.0
        counts = self._counts()
        p["made_again"] = counts["made_again"].get(program_id, 0)
        p["children"] = counts["children"].get(program_id, 0)
        p["tried_from"] = self._one("SELECT COUNT(*) FROM attempts WHERE parent_id = ?", program_id)
        p["llm_calls"] = self.llm_calls(p["seq"]) if p["seq"] > 0 else []
        if parent is not None and parent["score"] is not None and p["score"] is not None:
            p["gain"] = p["score"] - parent["score"]
        else:
            p["gain"] = None
        return p

    def _counts(self) -> dict[str, dict[str, int]]:
        """Children per program and duplicates per program, for every program at once: the
        store has no index for either, and one scan serves every program view."""
        def compute() -> dict[str, dict[str, int]]:
            return {"children": dict(self._rows("SELECT parent_id, COUNT(*) FROM programs"
                                                " WHERE parent_id IS NOT NULL GROUP BY parent_id")),
                    "made_again": dict(self._rows("SELECT program_id, COUNT(*) FROM attempts"
                                                  " WHERE outcome = 'duplicate' GROUP BY program_id"))}
        return self._cached(("counts",), compute)

    def all_programs(self) -> list[dict[str, Any]]:
        """Every program with its code and raw JSON columns, in candidate order (for exports)."""
        return self._dicts("SELECT id, seq, code, parent_id, inspirations, operator, model, island, generation,"
                           " status, reason, score, metrics, feedback, eval_seconds, created FROM programs"
                           " ORDER BY seq, id")

    def llm_calls(self, seq: int) -> list[dict[str, Any]]:
        """The prompts and replies that made candidate ``seq``, in order."""
        calls = self._dicts(
            "SELECT attempt, model, request, reply, finish, error, tokens_in, tokens_out, cost, latency, replayed"
            " FROM llm_calls WHERE seq = ? ORDER BY id", seq)
        for call in calls:
            try:
                with self._lock:
                    self._execute("SELECT 1", ())  # (re)opens the connection
                    call["request"], call["reply"] = texts.decode(self.conn, call["request"], call["reply"])
            except (ValueError, KeyError, TypeError, sqlite3.Error) as exc:  # shown as stored, with why
                call["error"] = "; ".join(filter(None, [f"this exchange cannot be read from the store ({exc})",
                                                        call["error"]]))
        return calls

    def lineage(self, program_id: str) -> list[dict[str, Any]]:
        """The program and its ancestors, oldest first, each with its diff against its parent."""
        chain, seen, current = [], set(), program_id
        while current and current not in seen:
            seen.add(current)
            rows = self._dicts("SELECT id, seq, code, parent_id, operator, model, island, generation, status, score"
                               " FROM programs WHERE id = ?", current)
            if not rows:
                break
            chain.append(rows[0])
            current = rows[0]["parent_id"]
        chain.reverse()
        for before, after in zip([None] + chain[:-1], chain):
            after["diff"] = diff(before["code"], after["code"], before["id"], after["id"]) if before else ""
        return chain

    # -- aggregates ----------------------------------------------------------------
    def curve(self, max_points: int = 1500) -> dict[str, Any]:
        """Best score so far over candidates and over time, overall and per island (the
        steps only), and a bounded sample of every valid score (each bin's extremes)."""
        return self._cached(("curve", max_points), lambda: self._curve(max_points))

    def _curve(self, max_points: int) -> dict[str, Any]:
        rows = self._rows("SELECT seq, island, score, created FROM programs"
                          " WHERE status = 'ok' AND score IS NOT NULL ORDER BY seq")
        last_seq = self._one("SELECT COALESCE(MAX(seq), 0) FROM attempts") or 0
        first_t = self._one("SELECT MIN(created) FROM attempts") or (rows[0][3] if rows else 0)
        last_t = max(self._one("SELECT MAX(created) FROM attempts") or 0, first_t)
        better = self.better()
        overall: list[list[float]] = []
        islands: dict[int, list[list[float]]] = {}
        best: float | None = None
        island_best: dict[int, float] = {}
        initial = None
        for seq, island, score, created in rows:
            t = created - first_t
            if seq == 0:
                initial = score
            if better(score, best):
                best = score
                overall.append([seq, t, score])
            targets = [island] if seq > 0 else []
            for i in targets:
                if i not in island_best and initial is not None:
                    island_best[i] = initial
                    islands.setdefault(i, []).append([0, 0.0, initial])
                if better(score, island_best.get(i)):
                    island_best[i] = score
                    islands.setdefault(i, []).append([seq, t, score])
        sample = _sample(rows, first_t, max_points)
        return {"overall": overall, "islands": {str(k): v for k, v in sorted(islands.items())},
                "sample": sample, "last_seq": last_seq, "last_t": last_t - first_t if rows else 0.0,
                "best": best, "initial": initial, "maximize": self.maximize, "valid": len(rows)}

    def tree(self, top: int = 30) -> dict[str, Any]:
        """The ancestry of the ``top`` best programs (their union: a tree of a few hundred
        nodes at most, whatever the run's size), laid out as a phylogram."""
        return self._cached(("tree", top), lambda: self._tree(top))

    def _tree(self, top: int) -> dict[str, Any]:
        parents = dict(self._rows("SELECT id, parent_id FROM programs"))
        best = [r["id"] for r in self.top(top)]
        keep: dict[str, None] = {}
        for pid in best:
            while pid and pid not in keep:
                keep[pid] = None
                pid = parents.get(pid)
        if not keep:
            return {"nodes": [], "best_path": []}
        ids = list(keep)
        nodes: dict[str, dict[str, Any]] = {}
        for chunk in range(0, len(ids), 500):
            part = ids[chunk:chunk + 500]
            for row in self._dicts("SELECT id, seq, parent_id, operator, model, island, generation, status, score"
                                   f" FROM programs WHERE id IN ({', '.join('?' * len(part))})", *part):
                nodes[row["id"]] = row
        best_path = []
        pid = best[0] if best else None
        while pid and pid in nodes and pid not in best_path:
            best_path.append(pid)
            pid = nodes[pid]["parent_id"]
        children: dict[str | None, list[str]] = {}
        for node in sorted(nodes.values(), key=lambda n: n["seq"]):
            parent = node["parent_id"] if node["parent_id"] in nodes else None
            children.setdefault(parent, []).append(node["id"])
        # A long run makes long single-child chains; past a depth a person can read, they are
        # drawn as one edge (``skipped`` generations) between the programs where the tree
        # branches, the roots, the leaves and the best programs.
        depth_of: dict[str, int] = {}
        for node in sorted(nodes.values(), key=lambda n: n["seq"]):
            parent = node["parent_id"] if node["parent_id"] in nodes else None
            depth_of[node["id"]] = depth_of.get(parent, -1) + 1 if parent else 0
        compress = max(depth_of.values()) > 40
        keep_ids = set(best)
        shown: dict[str | None, list[str]] = {}
        stack = [(root, None, 0) for root in reversed(children.get(None, []))]
        while stack:
            pid, above, skipped = stack.pop()
            kids = children.get(pid, [])
            node = nodes[pid]
            visible = not compress or above is None or len(kids) != 1 or pid in keep_ids
            if visible:
                node["shown_parent"], node["skipped"] = above, skipped
                shown.setdefault(above, []).append(pid)
                stack.extend((k, pid, 0) for k in reversed(kids))
            else:
                stack.extend((k, above, skipped + 1) for k in reversed(kids))
        # Leaves get rows in depth-first order; a parent sits midway between its first and last child.
        row = 0
        order: list[tuple[str, int]] = []
        stack2 = [(root, 0) for root in reversed(shown.get(None, []))]
        while stack2:
            pid, depth = stack2.pop()
            order.append((pid, depth))
            stack2.extend((k, depth + 1) for k in reversed(shown.get(pid, [])))
        # The best program, whose score is labelled to its right, gets a row of its own (above
        # its children), so that no child of it sits under its label.
        labelled = best[0] if best else None
        for pid, depth in order:
            nodes[pid]["depth"] = depth
            if not shown.get(pid) or pid == labelled:
                nodes[pid]["row"] = float(row)
                row += 1
        for pid, depth in reversed(order):
            kids = shown.get(pid)
            if kids and pid != labelled:
                nodes[pid]["row"] = (nodes[kids[0]]["row"] + nodes[kids[-1]]["row"]) / 2
        nodes = {pid: nodes[pid] for pid, _ in order}
        best_path = [pid for pid in best_path if pid in nodes]
        return {"nodes": sorted(nodes.values(), key=lambda n: n["seq"]), "best_path": best_path[::-1],
                "rows": row, "top": best, "compressed": compress,
                "generations": max(depth_of.values())}

    def features(self) -> list[dict[str, Any]]:
        return list((self.config().get("archive") or {}).get("features") or [])

    def grid(self, x: str | None = None, y: str | None = None) -> dict[str, Any]:
        """The MAP-Elites grid over two of the configured features (or one): each cell's
        best score, its program and how many valid programs fell in it."""
        return self._cached(("grid", x, y), lambda: self._grid(x, y))

    def _grid(self, x: str | None, y: str | None) -> dict[str, Any]:
        features = {f["name"]: f for f in self.features()}
        if not features:
            return {"features": [], "axes": [], "cells": []}
        names = list(features)
        axes = [features.get(x) or features[names[0]]]
        if len(names) > 1:
            second = features.get(y) or next(features[n] for n in names if n != axes[0]["name"])
            if second["name"] != axes[0]["name"]:
                axes.append(second)
        # A feature's name is data, never SQL: bound as a JSON path, or (a name with a double
        # quote, which a JSON path cannot hold) as a key looked up with json_each.
        columns, column_args = [], []
        for f in axes:
            name = str(f["name"])
            if name == "code_length":
                columns.append("length(code)")
            elif '"' not in name:
                columns.append("json_extract(metrics, ?)")
                column_args.append(f'$."{name}"')
            else:
                columns.append("(SELECT value FROM json_each(metrics) WHERE key = ?)")
                column_args.append(name)
        # Binned and reduced in SQLite (bare columns with MAX/MIN take the best row's id):
        # one pass in C over every valid program.
        bins, args = [], []
        for k, f in enumerate(axes):
            low, high, n = float(f["min"]), float(f["max"]), int(f["bins"])
            span = high - low if high > low else 1.0
            bins.append(f"CASE WHEN typeof(v{k}) IN ('integer', 'real') THEN"
                        f" MIN(?, MAX(0, CAST((v{k} - ?) / ? * ? AS INTEGER))) ELSE 0 END")
            args += [n - 1, low, span, n]
        pick = "MAX" if self.maximize else "MIN"
        inner = ", ".join(f"{c} AS v{k}" for k, c in enumerate(columns))
        rows = self._rows(
            f"SELECT {', '.join(f'{b} AS b{k}' for k, b in enumerate(bins))}, {pick}(score), id, COUNT(*)"
            f" FROM (SELECT id, score, {inner} FROM programs WHERE status = 'ok' AND score IS NOT NULL)"
            f" GROUP BY {', '.join(f'b{k}' for k in range(len(bins)))}", *args, *column_args)
        n_axes = len(axes)
        cells = {tuple(r[:n_axes]): {"cell": list(r[:n_axes]), "best": r[n_axes], "id": r[n_axes + 1],
                                     "count": r[n_axes + 2]} for r in rows}
        return {"features": names, "axes": axes, "cells": sorted(cells.values(), key=lambda c: c["cell"]),
                "maximize": self.maximize}

    def arms(self) -> list[dict[str, Any]]:
        """Per operator (bandit arm): what it was asked for, what came of it, what it cost,
        and its bandit reward (the same scaling the bandit uses)."""
        return self._cached(("arms",), self._arms)

    def _arms(self) -> list[dict[str, Any]]:
        sign = 1.0 if self.maximize else -1.0
        rows = self._rows(
            "SELECT a.seq, a.operator, a.model, a.outcome, a.cost, a.seconds, p.status, p.score, parent.score"
            " FROM attempts a LEFT JOIN programs p ON p.id = a.program_id AND a.outcome = 'new'"
            " LEFT JOIN programs parent ON parent.id = a.parent_id WHERE a.seq > 0 ORDER BY a.seq")
        initial = self._one("SELECT score FROM programs WHERE seq = 0")
        best = initial
        best_gain = 0.0
        better = self.better()
        arms: dict[str, dict[str, Any]] = {}
        for seq, operator, model, outcome, cost, seconds, status, score, parent_score in rows:
            arm = arms.setdefault(operator, {"arm": operator, "candidates": 0, "no_candidate": 0, "duplicates": 0,
                                             "valid": 0, "improved": 0, "new_best": 0, "cost": 0.0,
                                             "seconds": 0.0, "reward": 0.0})
            arm["candidates"] += 1
            arm["cost"] += cost or 0.0
            arm["seconds"] += seconds or 0.0
            if outcome == "failed":
                arm["no_candidate"] += 1
            elif outcome == "duplicate":
                arm["duplicates"] += 1
            if status == "ok" and score is not None:
                arm["valid"] += 1
                if parent_score is not None:
                    gain = sign * (score - parent_score)
                    if gain > 0:
                        arm["improved"] += 1
                        best_gain = max(best_gain, gain)
                        arm["reward"] += min(1.0, gain / best_gain)
                if better(score, best):
                    best = score
                    arm["new_best"] += 1
        out = []
        for arm in arms.values():
            n = arm["candidates"]
            arm["success_rate"] = arm["improved"] / n if n else 0.0
            arm["valid_rate"] = arm["valid"] / n if n else 0.0
            arm["mean_reward"] = arm["reward"] / n if n else 0.0
            arm["cost_per_improvement"] = arm["cost"] / arm["improved"] if arm["improved"] else None
            out.append(arm)
        return sorted(out, key=lambda a: a["arm"])

    def models(self) -> list[dict[str, Any]]:
        """Per model: requests, failures, tokens, dollars, and what the dollars bought."""
        rows = self._dicts(
            "SELECT model, COUNT(*) AS requests, SUM(error != '') AS failed, SUM(tokens_in) AS tokens_in,"
            " SUM(tokens_out) AS tokens_out, SUM(CASE WHEN replayed = 0 THEN cost ELSE 0 END) AS cost,"
            " AVG(latency) AS latency FROM llm_calls GROUP BY model ORDER BY model")
        by_model: dict[str, dict[str, int]] = {}
        for arm in self.arms():
            if arm["arm"].startswith("llm:"):
                label = arm["arm"][4:].rsplit(":", 1)[0]
                totals = by_model.setdefault(label, {"improved": 0, "valid": 0, "candidates": 0})
                for key in totals:
                    totals[key] += arm[key]
        for row in rows:
            totals = by_model.get(row["model"], {"improved": 0, "valid": 0, "candidates": 0})
            row.update(totals)
            row["cost_per_improvement"] = row["cost"] / totals["improved"] if totals["improved"] else None
        return rows

    def failures(self) -> list[dict[str, Any]]:
        """Candidates that gave no valid program, grouped by kind (status and the reason's
        head), most frequent first, each with an example and its share of the candidates.
        The initial program is not a candidate: its failure is the summary's state."""
        return self._cached(("failures",), self._failures)

    def _failures(self) -> list[dict[str, Any]]:
        rows = self._rows(
            "SELECT 'no candidate', a.reason, COUNT(*), MIN(a.seq), NULL FROM attempts a"
            " WHERE a.outcome = 'failed' GROUP BY a.reason"
            " UNION ALL SELECT p.status, p.reason, COUNT(*), MIN(p.seq), MIN(p.id) FROM programs p"
            " WHERE p.status != 'ok' AND p.seq > 0 GROUP BY p.status, p.reason")
        kinds: dict[str, dict[str, Any]] = {}
        for status, reason, count, seq, pid in rows:
            kind = _kind(status, reason or "")
            entry = kinds.setdefault(kind, {"kind": kind, "status": status, "count": 0, "example": reason,
                                            "example_seq": seq, "example_id": pid})
            entry["count"] += count
            if seq < entry["example_seq"]:
                entry.update(example=reason, example_seq=seq, example_id=pid)
        total = self._one("SELECT COUNT(*) FROM attempts WHERE seq > 0") or 0
        out = sorted(kinds.values(), key=lambda k: (-k["count"], k["kind"]))
        for entry in out:
            entry["share"] = entry["count"] / total if total else 0.0
        return out


def with_state(raw: dict[str, Any], idle: float = RunView.IDLE, now: float | None = None) -> dict[str, Any]:
    """A summary with its state: stopped, running, no activity, not started, or the
    initial program's failure (a run whose initial program fails makes no candidate)."""
    s = dict(raw)
    now = time.time() if now is None else now
    initial = s.get("initial") or {}
    ended = s.pop("ended")
    if initial and initial.get("status") != "ok" and not s["candidates"]:
        reason = " ".join(str(initial.get("reason") or initial.get("status")).split())
        s["state"] = f"initial program failed: {reason[:200]}"
    elif ended:
        s["state"] = "stopped"
    elif s["sessions"] or s["candidates"]:
        # A session that started and never wrote "stopped": running while it writes (a
        # run killed with SIGKILL leaves no record, only silence).
        s["state"] = "running" if now - (s["last"] or 0) < idle else "no activity"
    else:
        s["state"] = "not started"
    return {**s, "now": now}


def _kind(status: str, reason: str) -> str:
    """``failure_kind``, looking through the wrapper an exception of the candidate comes in."""
    for wrapper in ("evaluate() raised CandidateError: ", "evaluate() raised "):
        if reason.startswith(wrapper):
            inner = reason[len(wrapper):].split(":", 1)[0].strip()
            if inner and " " not in inner:
                return f"{status}: {inner}"[:60]
    return failure_kind(status, reason)


def _island_count(config: dict[str, Any]) -> int | None:
    count = (config.get("islands") or {}).get("count")
    return count if isinstance(count, int) else None


def _json(text: Any, default: Any) -> Any:
    if not isinstance(text, str):
        return default
    try:
        return json.loads(text)
    except ValueError:
        return default


def _bin(feature: dict[str, Any], value: Any) -> int:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return 0
    low, high, bins = float(feature["min"]), float(feature["max"]), int(feature["bins"])
    if math.isnan(value) or high <= low:
        return 0
    return min(bins - 1, max(0, int((value - low) / (high - low) * bins)))


def _sample(rows: list[tuple], first_t: float, max_points: int) -> list[list[float]]:
    """At most about ``max_points`` of (seq, t, score, island): in each of max_points/2
    bins along the candidates, the lowest and the highest score."""
    if len(rows) <= max_points:
        return [[seq, created - first_t, score, island] for seq, island, score, created in rows]
    bins = max(1, max_points // 2)
    last = rows[-1][0] or 1
    chosen: dict[int, list[tuple]] = {}
    for row in rows:
        b = min(bins - 1, int(row[0] / (last + 1) * bins))
        pair = chosen.get(b)
        if pair is None:
            chosen[b] = [row, row]
        else:
            if row[2] < pair[0][2]:
                pair[0] = row
            if row[2] > pair[1][2]:
                pair[1] = row
    out = []
    for b in sorted(chosen):
        for seq, island, score, created in dict.fromkeys(chosen[b]):
            out.append([seq, created - first_t, score, island])
    return out


def diff(before: str, after: str, a: str = "a", b: str = "b", context: int = 3) -> str:
    """A unified diff of two program texts."""
    return "".join(difflib.unified_diff(before.splitlines(keepends=True), after.splitlines(keepends=True),
                                        fromfile=a, tofile=b, n=context))
