"""What a run directory holds, summarized: ``cambrian status`` and ``cambrian best``."""

from __future__ import annotations

import json
from dataclasses import dataclass

from .contributions import BUILTIN, source
from .program import Program
from .store import Store

# Warning lines, shown by `cambrian status` and at the end of a run.
DUPLICATE_SHARE = 0.25      # exact duplicates above this share of the candidates
ONE_REASON_SHARE = 0.5      # one failure reason above this share of the candidates
MIN_TRIES = 10              # an operator that produced nothing in at least this many tries


@dataclass(frozen=True)
class FailureGroup:
    kind: str                # status and reason head, e.g. "error: evaluate() raised ZeroDivisionError"
    count: int
    example: str             # a program id, or "candidate N (operator)" when no program was made
    reason: str              # that example's full reason


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
    failures: list[FailureGroup]
    warnings: list[str]
    calls: int = 0               # LLM requests sent, retries included
    max_calls: int | None = None
    builtin: int = 0             # candidates from built-in operators
    cells: int = 0               # MAP-Elites cells holding a valid program (the whole run)
    total_cells: int = 1         # cells of the feature grid (1 without features)
    qd_score: float = 0.0        # sum over occupied cells of (cell's best - the worst valid score)
    islands: int = 1             # islands that received a proposal
    initial_failure: Program | None = None   # the initial program, when it did not evaluate
    run_dir: str = "RUN_DIR"
    executor: dict | None = None  # what ran the evaluations, in flight counts (store meta 'executor')
    by_island: list = ()          # contributions.Contribution per island
    by_model: list = ()           # ... per model (built-in operators as one)

    @property
    def improvements(self) -> int:
        return sum(row.improved for row in self.operators)


def usage_line(calls: int, max_calls: int | None, candidates: int, builtin: int) -> str:
    """What the run used, in the units users pay and count: LLM calls and candidates."""
    limit = f" of {max_calls}" if max_calls is not None else ""
    share = 100.0 * builtin / candidates if candidates else 0.0
    return f"LLM calls: {calls}{limit}; candidates: {candidates}; from built-in operators: {share:.0f}%"


def executor_line(info: dict) -> str:
    """Pure: what ran the evaluations and how many were in flight (the last session's)."""
    where = "local processes" if info.get("kind") == "local" else f"ray at {info.get('address')}"
    parts = [f"evaluations in flight: max {info.get('in_flight_max', 0)}, mean {info.get('in_flight_mean', 0):g}"]
    if info.get("kind") == "ray":
        res = ", ".join(f"{k} {v:g}" for k, v in (info.get("resources") or {}).items())
        parts.append(f"capacity {info.get('capacity')} ({res} each; {info.get('nodes_alive')} nodes alive, "
                     f"{info.get('nodes_answered')} answered)")
        parts.append(f"resubmitted after a lost node {info.get('resubmitted', 0)}, hedged {info.get('hedged', 0)}, "
                     f"late duplicates ignored {info.get('late_ignored', 0)}")
    else:
        parts.append(f"{info.get('slots')} slots")
    return f"executor: {where}; " + "; ".join(parts)


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
    """A run's summary from its running fold (summary.py) and index lookups: its cost
    does not grow with the run (beyond the candidates since the runner last saved the fold)."""
    from . import summary
    from .contributions import Contribution

    config = store.meta("config") or {}
    maximize = config.get("direction", "maximize") == "maximize"
    top = store.top(5, maximize=maximize)
    best = top[0] if top else None
    fold = summary.current(store)
    counts = fold["counts"]
    last_stop = store.rows("SELECT data FROM events WHERE kind = 'stopped' ORDER BY id DESC LIMIT 1")
    cells, total_cells, qd_score = _archive(fold)
    groups = [FailureGroup(kind, n, example, reason) for kind, (n, example, reason)
              in sorted(fold["kinds"].items(), key=lambda item: (-item[1][0], item[0]))]
    operators = [(name, tries, failed, min(reasons.items(), key=lambda r: (-r[1], r[0]))[0] if reasons else "")
                 for name, (tries, failed, reasons) in sorted(fold["ops"].items())]
    models = [(model, n, failed, tin, tout, cost) for model, (n, failed, tin, tout, cost) in sorted(fold["models"].items())]
    # The archive share: each elite of the last saved archive counts for where it was born.
    archive = (store.meta("state") or {}).get("archive") or []
    elites = sorted({pid for island in archive for pid in island})
    born: dict[tuple[str, str], int] = {}
    for i in range(0, len(elites), 500):
        chunk = elites[i:i + 500]
        for island, model, operator in store.rows(f"SELECT island, model, operator FROM programs WHERE seq > 0"
                                                  f" AND id IN ({', '.join('?' * len(chunk))})", *chunk):
            for key in (("island", f"island {island}"), ("model", source(operator, model))):
                born[key] = born.get(key, 0) + 1

    def contributions(by: str) -> list:
        rows = fold["by"][by]
        return [Contribution(k, *rows[k], elites=born.get((by, k), 0),
                             share=born.get((by, k), 0) / len(elites) if elites else 0.0)
                for k in sorted(rows, key=lambda k: (k == BUILTIN, k))]

    return Status(
        candidates=counts["candidates"],
        evaluated=counts["evaluated"],
        valid=counts["valid"],
        duplicates=counts["duplicates"],
        equivalent=counts["equivalent"],
        no_candidate=counts["no_candidate"],
        best=best,
        lineage_depth=len(store.lineage(best.id)) - 1 if best else 0,
        operators=[OperatorRow(name, *fold["arms"][name]) for name in sorted(fold["arms"])],
        top=top,
        statuses=dict(fold["statuses"]),
        stop_reason=json.loads(last_stop[0][0]).get("reason") if last_stop else None,
        models=models,
        spent=sum(m[5] for m in models),
        failures=groups,
        warnings=waste(counts["candidates"], counts["duplicates"], groups, operators),
        calls=sum(m[1] for m in models),
        max_calls=config.get("max_calls"),
        builtin=counts["builtin"],
        cells=cells, total_cells=total_cells, qd_score=qd_score,
        islands=max(1, len(fold["islands"])),
        initial_failure=_initial_failure(store),
        run_dir=str(store.path.parent),
        executor=store.meta("executor"),
        by_island=contributions("island"),
        by_model=contributions("model"),
    )


def _archive(fold: dict) -> tuple[int, int, float]:
    """(occupied cells, total cells, QD-score) from the fold's best score per cell (see
    ``archive_summary``)."""
    total = 1
    for f in fold["features"]:
        total *= f.get("bins", 10)
    if fold["worst"] is None:
        return 0, total, 0.0
    return len(fold["cells"]), total, sum(abs(b - fold["worst"]) for b in fold["cells"].values())


def waste(candidates: int, duplicates: int, groups: list[FailureGroup],
          operators: list[tuple[str, int, int, str]]) -> list[str]:
    """Pure: the warnings a run's numbers call for (budget spent on nothing)."""
    out = []
    for name, tries, failed, reason in operators:
        if tries >= MIN_TRIES and failed == tries:
            out.append(f"operator {name} produced nothing in {tries} of {tries} tries: {reason}"
                       f" (give it weight 0, or change the program so it has something to work on)")
    if candidates and duplicates > DUPLICATE_SHARE * candidates:
        out.append(f"exact duplicates took {duplicates} of {candidates} candidates "
                   f"({100 * duplicates / candidates:.0f}%, over {100 * DUPLICATE_SHARE:.0f}%): the operators keep "
                   f"remaking known programs (widen operators.perturb.sigma, add operators or a model)")
    for group in groups[:1]:
        if candidates >= MIN_TRIES and group.count > ONE_REASON_SHARE * candidates:
            out.append(f"{group.count} of {candidates} candidates ({100 * group.count / candidates:.0f}%) failed "
                       f"for one reason: {group.kind} (e.g. {group.example}: {_short(group.reason)})")
    return out


def _short(text: str, width: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[:width - 1].rsplit(" ", 1)[0] + "\u2026"


def _initial_failure(store: Store) -> Program | None:
    attempt = store.attempt(0)
    program = store.program(attempt.program_id) if attempt is not None and attempt.program_id else None
    return program if program is not None and program.status != "ok" else None


def _closed() -> None:
    raise BrokenPipeError  # the command's caller handles a closed pipe once, for every command


def render(st: Status) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console()
    console.on_broken_pipe = _closed  # type: ignore[method-assign]  # rich would exit 1
    valid = 100.0 * st.valid / st.evaluated if st.evaluated else 0.0
    console.print(f"candidates {st.candidates}  evaluated {st.evaluated}  valid {st.valid} ({valid:.0f}%)"
                  f"  duplicates {st.duplicates}  no candidate {st.no_candidate}")
    console.print(usage_line(st.calls, st.max_calls, st.candidates, st.builtin))
    if st.initial_failure is not None:
        p = st.initial_failure
        console.print(f"[bold red]the initial program did not evaluate ({p.status}):[/] {escape(p.reason)}",
                      highlight=False, soft_wrap=True)
        console.print(f"  its traceback: cambrian show {escape(st.run_dir)} {p.id}; fix it, then run the same command "
                      f"again (the run directory is reused)", highlight=False, soft_wrap=True)
        return
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
    if st.executor:
        console.print(escape(executor_line(st.executor)), highlight=False, soft_wrap=True)
    for line in st.warnings:
        console.print(f"[bold yellow]warning:[/] {escape(line)}", highlight=False, soft_wrap=True)
    if st.failures:
        # Plain lines, never cut: a reason is read whole or it is useless.
        console.print("failures (cambrian show RUN_DIR ID: code, diff from parent, traceback):", soft_wrap=True)
        for group in st.failures:
            console.print(f"  {group.count:>5}  {escape(group.kind)}", highlight=False, soft_wrap=True)
            console.print(f"         e.g. {escape(group.example)}: {escape(_short(group.reason, 300))}",
                          highlight=False, soft_wrap=True)
    ops = Table("operator", "candidates", "valid", "improved on parent", "success %", title="operators")
    for row in st.operators:
        rate = 100.0 * row.improved / row.candidates if row.candidates else 0.0
        ops.add_row(row.operator, str(row.candidates), str(row.valid), str(row.improved), f"{rate:.1f}")
    console.print(ops)
    for title, rows, shown in (("islands", st.by_island, len(st.by_island) > 1),
                               ("models", st.by_model, any(r.key != BUILTIN for r in st.by_model))):
        if not shown:
            continue
        table = Table(title[:-1], "candidates", "valid", "improved on parent", "new bests", "archive share",
                      title=f"contribution by {title[:-1]}")
        for r in rows:
            table.add_row(r.key, str(r.candidates), str(r.valid), str(r.improved), str(r.new_bests),
                          f"{100 * r.share:.0f}% ({r.elites})")
        console.print(table)
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
