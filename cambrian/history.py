"""What a search has tried, as operators and notes see it: always up to a horizon of
told candidates, so what a prompt shows never depends on timing."""

from __future__ import annotations

import difflib
import json
import string
from dataclasses import replace
from typing import Any

from .candidate import EVALUATOR_PART
from .evaluation import OK
from .llm import LLMFailure
from .operators.base import Context, Tried
from .program import Program
from .prompt import build_insight_messages, portable
from .store import DUPLICATE, EQUIVALENT, NEW, Store


DIFF_LINES = 8       # changed lines shown per earlier child
ERROR_LINES = 4      # traceback lines shown per failed child
_HEADER = "Traceback (most recent call last):"


def tried(store: Store, *, upto: int, parent: Program | None = None, after: int | None = None,
          limit: int | None = None) -> list[Tried]:
    """Attempts up to ``upto`` (newest first): of one parent, or after a sequence number.
    For one parent, each child it produced comes with its changed lines and, when it
    failed, its traceback's tail; a child proposed several times is one entry."""
    where, args = ["a.seq <= ?"], [upto]
    if parent is not None:
        where.append("a.parent_id = ?")
        args.append(parent.id)
    if after is not None:
        where.append("a.seq > ?")
        args.append(after)
    sql = ("SELECT a.operator, a.outcome, a.reason, p.status, p.score, parent.score, a.program_id,"
           " p.reason, p.feedback, p.code FROM attempts a"
           " LEFT JOIN programs p ON p.id = a.program_id LEFT JOIN programs parent ON parent.id = a.parent_id"
           f" WHERE {' AND '.join(where)} ORDER BY a.seq DESC" + (" LIMIT ?" if limit else ""))
    rows = store.rows(sql, *args, *([limit] if limit else []))
    out: list[Tried] = []
    for operator, outcome, reason, status, score, parent_score, pid, why, feedback, code in rows:
        if pid is not None and any(t.program_id == pid for t in out):
            i = next(i for i, t in enumerate(out) if t.program_id == pid)
            out[i] = replace(out[i], times=out[i].times + 1)
            continue
        scored = f"scored {score:.10g}" if status == OK and score is not None else ""
        if outcome == NEW and scored:
            detail = scored + (f" (parent {parent_score:.10g})" if parent_score is not None else "")
        elif outcome in (NEW, EQUIVALENT) and status is not None:
            detail = why or reason or outcome
        elif outcome == DUPLICATE and status is not None:
            detail = f"same code as an earlier program ({scored or status})"
        else:
            detail = reason or outcome
        shown = status if outcome == NEW and status is not None else outcome
        diff = changed_lines(parent.code, code) if parent is not None and code is not None else ""
        error = ""
        if status not in (None, OK) and feedback:
            error = _tail(json.loads(feedback).get("traceback", ""), ERROR_LINES)
        out.append(Tried(operator, shown, portable(detail), program_id=pid, diff=diff, error=portable(error)))
    return out


def changed_lines(before: str, after: str, *, limit: int = DIFF_LINES) -> str:
    """The lines a child removed (``-``) and added (``+``), without context, at most ``limit``."""
    lines = [line for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
             if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    if len(lines) > limit:
        lines = lines[:limit] + [f"... ({len(lines) - limit} more changed lines)"]
    return "\n".join(lines)


def _tail(text: str, n: int) -> str:
    """The last ``n`` lines of a traceback; of a candidate that raised through
    ``cambrian.candidate``, of its own part (the line that raised), not of the evaluator's
    frames that called it."""
    text = str(text).split(EVALUATOR_PART, 1)[0]
    lines = [line for line in text.strip().splitlines() if line.strip() and line != _HEADER]
    return "\n".join(lines[-n:])


async def insights(store: Store, client: Any, events: Any, *, at: int, every: int, best: Program,
                   context: Context, notes: str, seed: int, templates: dict[str, string.Template]) -> str:
    """Notes condensed from the ``every`` candidates up to ``at`` (recorded as an event;
    an earlier session's notes for the same point are reused, not asked again)."""
    for (data,) in store.rows("SELECT data FROM events WHERE kind = 'insights' ORDER BY id"):
        if json.loads(data).get("at") == at:
            return json.loads(data)["notes"]
    recent = list(reversed(tried(store, upto=at, after=at - every)))
    messages = build_insight_messages(templates=templates, task=context.task, objective=context.objective,
                                      direction=context.direction, best=best, recent=recent, notes=notes)
    try:
        reply = await client.ask(messages, seq=-at, attempt=0, seed=seed + at)
    except LLMFailure as exc:
        events.emit("insights_failed", at=at, reason=str(exc))
        return notes
    notes = reply.text.strip()[:2000]
    events.emit("insights", at=at, notes=notes)
    return notes
