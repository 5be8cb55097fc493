"""LLM operators: one per (model, edit format), on the same interface as the built-in ones.

A proposal is a prompt, a reply and an edit. A reply that does not apply, leaves
the program unchanged or does not parse is a failure with its reason, retried at
most once with the error shown to the model; it never becomes the parent again.
"""

from __future__ import annotations

import string
from typing import Sequence

import numpy as np

from ..edits import EditFailure, apply_rewrite, apply_search_replace
from ..llm import LLMClient, LLMFailure
from ..program import Program, compile_error
from ..prompt import build_messages
from .base import Candidate, Context, ProposalFailure

FORMATS = ("diff", "rewrite", "crossover")
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
            notes=context.notes)
        seed = int(rng.integers(2**31))
        label = self.client.spec.label
        ledger: list[float] = []
        reason = ""
        for k in range(2 if self.retry_with_error else 1):
            attempt = 2 * context.resample + k  # the record's key: replay finds each exchange again
            try:
                reply = await self.client.ask(messages, seq=context.seq, attempt=attempt, seed=seed + k,
                                              ledger=ledger)
            except LLMFailure as exc:
                return ProposalFailure(str(exc), cost=sum(ledger), model=label)
            child = self.apply(parent.code, reply.text)
            if isinstance(child, str):
                return Candidate(child, note=f"{self.fmt} by {label}", cost=sum(ledger), model=label)
            reason = child.reason
            messages = messages + [
                {"role": "assistant", "content": reply.text},
                {"role": "user", "content": self.templates["retry"].substitute(reason=reason)},
            ]
        return ProposalFailure(f"{label}: {reason}", cost=sum(ledger), model=label)

    def apply(self, code: str, reply: str) -> str | EditFailure:
        if len(reply) > MAX_REPLY:
            # Parsing is linear at best, and it runs on the event loop: a flood is refused unread.
            return EditFailure(f"reply of {len(reply):,} characters is over the {MAX_REPLY:,}-character limit")
        child = apply_search_replace(code, reply) if self.fmt == "diff" else apply_rewrite(code, reply)
        if isinstance(child, EditFailure):
            return child
        if child == code:
            return EditFailure("the edit leaves the program unchanged")
        error = compile_error(child)
        if error is not None:
            return EditFailure(f"the edited program does not parse: {error}")
        return child
