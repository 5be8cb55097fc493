"""What a search has tried, as operators and notes see it: always up to a horizon of
told candidates, so what a prompt shows never depends on timing."""

from __future__ import annotations

import json
import string
from typing import Any

from .evaluation import OK
from .llm import LLMFailure
from .operators.base import Context, Tried
from .program import Program
from .prompt import build_insight_messages
from .store import NEW, Store


def tried(store: Store, *, upto: int, parent: Program | None = None, after: int | None = None,
          limit: int | None = None) -> list[Tried]:
    """Attempts up to ``upto`` (newest first): of one parent, or after a sequence number."""
    where, args = ["a.seq <= ?"], [upto]
    if parent is not None:
        where.append("a.parent_id = ?")
        args.append(parent.id)
    if after is not None:
        where.append("a.seq > ?")
        args.append(after)
    sql = ("SELECT a.operator, a.outcome, a.reason, p.status, p.score, parent.score FROM attempts a"
           " LEFT JOIN programs p ON p.id = a.program_id LEFT JOIN programs parent ON parent.id = a.parent_id"
           f" WHERE {' AND '.join(where)} ORDER BY a.seq DESC" + (" LIMIT ?" if limit else ""))
    rows = store.rows(sql, *args, *([limit] if limit else []))
    out = []
    for operator, outcome, reason, status, score, parent_score in rows:
        if outcome == NEW and status == OK and score is not None:
            detail = f"scored {score:.10g}" + (f" (parent {parent_score:.10g})" if parent_score is not None else "")
        else:
            detail = reason or outcome
        out.append(Tried(operator, status if outcome == NEW else outcome, detail))
    return out


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
