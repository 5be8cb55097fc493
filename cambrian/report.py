"""What a run directory holds, summarized: ``cambrian status`` and ``cambrian best``."""

from __future__ import annotations

import json
from dataclasses import dataclass

from .program import Program
from .runview import RunView
from .store import Store


@dataclass(frozen=True)
class OperatorRow:
    operator: str
    candidates: int
    valid: int
    improved: int  # valid children that beat their parent


@dataclass(frozen=True)
class Status:
    candidates: int
    evaluated: int
    valid: int
    duplicates: int
    equivalent: int
    no_candidate: int
    best: Program | None
    lineage_depth: int
    operators: list[OperatorRow]
    top: list[Program]
    statuses: dict[str, int]
    stop_reason: str | None
    models: list[tuple]          # model, calls, failed calls, tokens in, tokens out, dollars
    spent: float
    calls: int = 0               # LLM requests sent, retries included
    max_calls: int | None = None
    builtin: int = 0             # candidates from built-in operators
    cells: int = 0               # MAP-Elites cells holding a valid program (the whole run)
    total_cells: int = 1         # cells of the feature grid (1 without features)
    qd_score: float = 0.0        # sum over occupied cells of (cell's best - the worst valid score)
    islands: int = 1             # islands that received a proposal

    @property
    def improvements(self) -> int:
        return sum(row.improved for row in self.operators)


def usage_line(calls: int, max_calls: int | None, candidates: int, builtin: int) -> str:
    """What the run used, in the units users pay and count: LLM calls and candidates."""
    limit = f" of {max_calls}" if max_calls is not None else ""
    share = 100.0 * builtin / candidates if candidates else 0.0
    return f"LLM calls: {calls}{limit}; candidates: {candidates}; from built-in operators: {share:.0f}%"


def archive_summary(rows: list[tuple[float, dict]], features: list[dict], *, maximize: bool
                    ) -> tuple[int, int, float]:
    """Pure: (occupied cells, total cells, QD-score) of valid programs given as (score, feature values).

    The QD-score sums each occupied cell's best score minus the worst valid score, so
    every term is >= 0 in either direction (pyribs' offset, taken from the run)."""
    from .archive import Feature

    grid = [Feature(f["name"], f.get("bins", 10), f["min"], f["max"]) for f in features]
    total = 1
    for f in grid:
        total *= f.bins
    best: dict[tuple[int, ...], float] = {}
    for score, values in rows:
        cell = tuple(f.bin(float(values.get(f.name, f.low))) for f in grid)
        if cell not in best or (score > best[cell] if maximize else score < best[cell]):
            best[cell] = score
    if not rows:
        return 0, total, 0.0
    worst = min(r[0] for r in rows) if maximize else max(r[0] for r in rows)
    return len(best), total, sum(abs(b - worst) for b in best.values())


def status(store: Store) -> Status:
    maximize = (store.meta("config") or {}).get("direction", "maximize") == "maximize"
    top = store.top(5, maximize=maximize)
    best = top[0] if top else None
    view = RunView(store.path)  # the same per-operator numbers as `cambrian ui` and `report`
    try:
        arms = view.arms()
    finally:
        view.close()
    last_stop = store.rows("SELECT data FROM events WHERE kind = 'stopped' ORDER BY id DESC LIMIT 1")
    valid = [(score, {**json.loads(metrics), "code_length": float(length)}) for score, metrics, length in store.rows(
        "SELECT score, metrics, length(code) FROM programs WHERE status = 'ok' AND score IS NOT NULL")]
    cells, total_cells, qd_score = archive_summary(
        valid, ((store.meta("config") or {}).get("archive") or {}).get("features") or [], maximize=maximize)

    return Status(
        candidates=store.scalar("SELECT COUNT(*) FROM attempts WHERE seq > 0"),
        evaluated=store.scalar("SELECT COUNT(*) FROM attempts WHERE seq > 0 AND outcome = 'new' AND"
                               " program_id IN (SELECT id FROM programs WHERE status != 'rejected')"),
        valid=store.scalar("SELECT COUNT(*) FROM attempts a JOIN programs p ON p.id = a.program_id"
                           " WHERE a.seq > 0 AND a.outcome = 'new' AND p.status = 'ok'"),
        duplicates=store.scalar("SELECT COUNT(*) FROM attempts WHERE outcome = 'duplicate'"),
        equivalent=store.scalar("SELECT COUNT(*) FROM attempts WHERE outcome = 'equivalent'"),
        no_candidate=store.scalar("SELECT COUNT(*) FROM attempts WHERE outcome = 'failed'"),
        best=best,
        lineage_depth=len(store.lineage(best.id)) - 1 if best else 0,
        operators=[OperatorRow(a["arm"], a["candidates"], a["valid"], a["improved"]) for a in arms],
        top=top,
        statuses=dict(store.rows("SELECT status, COUNT(*) FROM programs WHERE seq > 0 GROUP BY status")),
        stop_reason=json.loads(last_stop[0][0]).get("reason") if last_stop else None,
        models=store.rows("SELECT model, COUNT(*), SUM(error != ''), SUM(tokens_in), SUM(tokens_out), SUM(cost)"
                          " FROM llm_calls WHERE replayed = 0 GROUP BY model ORDER BY model"),
        spent=store.spent(),
        calls=store.calls_sent(),
        max_calls=(store.meta("config") or {}).get("max_calls"),
        builtin=store.scalar("SELECT COUNT(*) FROM attempts WHERE seq > 0 AND operator NOT LIKE 'llm:%'"),
        cells=cells, total_cells=total_cells, qd_score=qd_score,
        islands=max(1, store.scalar("SELECT COUNT(DISTINCT island) FROM attempts WHERE seq > 0") or 0),
    )


def render(st: Status) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    valid = 100.0 * st.valid / st.evaluated if st.evaluated else 0.0
    console.print(f"candidates {st.candidates}  evaluated {st.evaluated}  valid {st.valid} ({valid:.0f}%)"
                  f"  duplicates {st.duplicates}  no candidate {st.no_candidate}")
    console.print(usage_line(st.calls, st.max_calls, st.candidates, st.builtin))
    if st.equivalent:
        console.print(f"functionally equivalent: {st.equivalent} (evaluations saved by the fingerprint cache)")
    if st.statuses:
        console.print("statuses: " + ", ".join(f"{k} {v}" for k, v in sorted(st.statuses.items())))
    if st.best is not None:
        console.print(f"best {st.best.score:.10g}  id {st.best.id}  lineage depth {st.lineage_depth}")
    if st.stop_reason:
        console.print(f"last stop: {st.stop_reason}")
    console.print(f"archive: {st.cells} of {st.total_cells} cells ({100.0 * st.cells / st.total_cells:.0f}% "
                  f"coverage), QD-score {st.qd_score:.6g}; islands used: {st.islands}")
    ops = Table("operator", "candidates", "valid", "improved on parent", "success %", title="operators")
    for row in st.operators:
        rate = 100.0 * row.improved / row.candidates if row.candidates else 0.0
        ops.add_row(row.operator, str(row.candidates), str(row.valid), str(row.improved), f"{rate:.1f}")
    console.print(ops)
    if st.models:
        llm = Table("model", "requests", "failed", "tokens in", "tokens out", "dollars", title="LLM cost")
        for model, calls, failed, tin, tout, cost in st.models:
            llm.add_row(model, str(calls), str(failed or 0), str(tin or 0), str(tout or 0), f"{cost or 0:.4f}")
        console.print(llm)
        per_valid = st.spent / st.valid if st.valid else float("nan")
        per_gain = st.spent / st.improvements if st.improvements else float("nan")
        console.print(f"spent ${st.spent:.4f}: ${per_valid:.4f} per valid program, "
                      f"${per_gain:.4f} per improvement on a parent")
    top = Table("rank", "score", "id", "operator", "generation", "island", title="top 5")
    for i, p in enumerate(st.top, start=1):
        top.add_row(str(i), f"{p.score:.10g}", p.id, p.operator, str(p.generation), str(p.island))
    console.print(top)
