"""LLM operators: one per (model, edit format), on the same interface as the built-in ones.

A proposal is a prompt, a reply and an edit. Every reply that cannot become a new
child is rejected with its reason: empty, cut off or refused; no edit in it; an edit
that does not apply, changes code outside the regions, leaves the program unchanged,
does not parse, or gives back a program that exists already (one this parent produced,
one shown beside it, or any program stored before the proposal was asked). A rejection is asked again (once, with
``retry_with_error``) with the reason shown to the model; it never becomes the parent
again. Failures of the transport (timeouts, HTTP errors after the client's retries)
are not asked again here.
"""

from __future__ import annotations

import string
from typing import Callable, Sequence

import numpy as np

from ..edits import EditFailure, apply_reply
from ..llm import LLMClient, LLMFailure, UnusableReply
from ..program import Program, compile_error, outside_change, program_id
from ..prompt import build_messages, source_label
from .base import Candidate, Context, ProposalFailure

FORMATS = ("diff", "rewrite", "crossover")
SHOWN_REPLY_CAP = 2000  # characters of a cut-off reply shown back to the model
MAX_REPLY = 1_000_000


def arm_name(model_label: str, fmt: str) -> str:
    return f"llm:{model_label}:{fmt}"


class LLMOperator:
    def __init__(self, client: LLMClient, fmt: str, *, templates: dict[str, string.Template],
                 retry_with_error: bool = True):
        if fmt not in FORMATS:
            raise ValueError(f"unknown edit format {fmt!r}")
        self.client = client
        self.fmt = fmt
        self.templates = templates
        self.retry_with_error = retry_with_error
        self.name = arm_name(client.spec.label, fmt)
        self.needs_mate = fmt == "crossover"

    async def propose(self, parent: Program, inspirations: Sequence[Program], context: Context,
                      rng: np.random.Generator) -> Candidate | ProposalFailure:
        if self.needs_mate and not inspirations:
            return ProposalFailure("crossover needs an inspiration")
        messages = build_messages(
            self.fmt, templates=self.templates, task=context.task, objective=context.objective,
            direction=context.direction, parent=parent, inspirations=inspirations, tried=context.tried,
            notes=context.notes, sources=context_sources(context, parent, inspirations))
        seed = int(rng.integers(2**31))
        label = self.client.spec.label
        existing = {t.program_id: f"a program this one already produced ({t.outcome}: {t.detail})"
                 for t in context.tried if t.program_id}
        existing.update({p.id: f"other program {i} unchanged" for i, p in enumerate(inspirations, start=1)})

        def known(pid: str) -> str | None:
            return existing.get(pid) or (context.known(pid) if context.known is not None else None)

        ledger: list[float] = []
        reason = ""
        for k in range(2 if self.retry_with_error else 1):
            attempt = 2 * context.resample + k  # the record's key: replay finds each exchange again
            try:
                reply = await self.client.ask(messages, seq=context.seq, attempt=attempt, seed=seed + k,
                                              ledger=ledger)
            except UnusableReply as exc:
                reason, shown, hint = str(exc), _shown(exc.text), exc.hint
            except LLMFailure as exc:
                return ProposalFailure(str(exc), cost=sum(ledger), model=label)
            else:
                child = self.apply(parent.code, reply.text, known)
                if isinstance(child, str):
                    return Candidate(child, note=f"{self.fmt} by {label}", cost=sum(ledger), model=label)
                reason, shown, hint = f"{label}: {child.reason}", reply.text, child.reason
            messages = messages + [
                {"role": "assistant", "content": shown},
                {"role": "user", "content": self.templates["retry"].substitute(reason=hint)},
            ]
        return ProposalFailure(reason, cost=sum(ledger), model=label)

    def apply(self, code: str, reply: str, known: Callable[[str], str | None] | None = None
              ) -> str | EditFailure:
        """The child a reply gives, or why it gives none. ``known``: program id -> what it is,
        for programs that exist already (proposing one again is rejected), else None."""
        if len(reply) > MAX_REPLY:
            # Parsing runs on the event loop: a flood is refused unread.
            return EditFailure(f"reply of {len(reply):,} characters is over the {MAX_REPLY:,}-character limit")
        child = apply_reply(code, reply, fmt="diff" if self.fmt == "diff" else "rewrite")
        if isinstance(child, EditFailure):
            return child
        if child == code:
            return EditFailure("the edit leaves the program unchanged")
        error = compile_error(child)
        if error is not None:
            return EditFailure(f"the edited program does not parse: {error}")
        outside = outside_change(code, child)
        if outside is not None:
            return EditFailure(outside)
        seen = known(program_id(child)) if known is not None else None
        if seen is not None:
            return EditFailure(f"the edit gives back {seen}; propose a different change")
        return child


def _shown(text: str) -> str:
    """What of an unusable reply goes back into the conversation (never empty: some APIs refuse that)."""
    text = text.strip()
    if not text:
        return "(no reply)"
    return text if len(text) <= SHOWN_REPLY_CAP else text[:SHOWN_REPLY_CAP] + "\n[... cut off]"


def context_sources(context: Context, parent: Program, inspirations: Sequence[Program]) -> list[str]:
    """Where each inspiration comes from: its island (as the strategy took it, else where it
    was born) and whether it was that island's best when the proposal was asked."""
    bests = dict(context.island_bests)
    out = []
    for i, p in enumerate(inspirations):
        island = context.inspiration_islands[i] if i < len(context.inspiration_islands) else p.island
        out.append(source_label(island, home=context.island, best=bests.get(island) == p.id))
    return out
