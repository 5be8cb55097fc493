"""Run statistics: what the progress display and the final summary show."""

from __future__ import annotations

import re
import time
from collections import Counter
from dataclasses import dataclass, field


@dataclass
class Stats:
    """What the progress display and the final summary show."""

    candidates: int = 0
    evaluated: int = 0
    valid: int = 0
    duplicates: int = 0
    equivalent: int = 0
    spent: float = 0.0             # dollars, this run
    session_spent: float = 0.0     # dollars, this session (for the ETA under max_cost)
    llm_proposals: int = 0         # candidates an LLM was asked for
    builtin_candidates: int = 0    # candidates from built-in operators
    calls: int = 0                 # LLM requests sent by this run (every session), retries included
    best_score: float | None = None
    best_id: str | None = None
    initial_score: float | None = None
    started: float = field(default_factory=time.monotonic)
    session_candidates: int = 0
    failures: Counter = field(default_factory=Counter)
    stop_reason: str = ""

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    @property
    def rate(self) -> float:
        return self.session_candidates / self.elapsed if self.elapsed > 0 else 0.0


def failure_kind(status: str, reason: str, width: int = 80) -> str:
    """A short, groupable label for a failure: the status and the reason's head (the text
    before the first colon, line numbers dropped), cut at a word boundary."""
    head = re.sub(r" on line \d+", "", reason.split(":", 1)[0]).strip()
    if head.count("(") > head.count(")"):  # a colon inside parentheses: "... (keys: a, b)"
        head = head[:head.rfind("(")].rstrip()
    label = f"{status}: {head}" if head else status
    if len(label) <= width:
        return label
    return label[:width - 1].rsplit(" ", 1)[0] + "…"
