"""The operator interface every mutation source implements: built-in or LLM.

An operator gets the parent, its inspirations, the problem context and a seeded
generator, and returns a ``Candidate`` or a ``ProposalFailure`` with a reason. It
never raises for a bad proposal and never returns the parent as a "change".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Sequence, runtime_checkable

import numpy as np

from ..program import Program


@dataclass(frozen=True)
class Context:
    """What an operator may know about the problem."""

    task: str
    objective: str
    direction: str


@dataclass(frozen=True)
class Candidate:
    code: str
    note: str = ""


@dataclass(frozen=True)
class ProposalFailure:
    reason: str


@runtime_checkable
class Operator(Protocol):
    name: str
    needs_mate: bool

    async def propose(
        self,
        parent: Program,
        inspirations: Sequence[Program],
        context: Context,
        rng: np.random.Generator,
    ) -> Candidate | ProposalFailure: ...
