"""The operator interface every mutation source implements: built-in or LLM.

An operator gets the parent, its inspirations, the problem context and a seeded
generator, and returns a ``Candidate`` or a ``ProposalFailure`` with a reason. It
never raises for a bad proposal and never returns the parent as a "change".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol, Sequence, runtime_checkable

import numpy as np

from ..program import Program


@dataclass(frozen=True)
class Tried:
    """An earlier child of the same parent: what was tried and how it went."""

    operator: str
    outcome: str
    detail: str
    program_id: str | None = None  # the child program, when one was made
    diff: str = ""                 # the child's changed lines against the parent, capped
    error: str = ""                # the tail of the child's traceback, when it failed
    times: int = 1                 # how many times this same child was proposed


@dataclass(frozen=True)
class Context:
    """What an operator may know: the problem, and for this proposal its sequence
    number, what was already tried from the same parent and the search's notes."""

    task: str
    objective: str
    direction: str
    seq: int = 0
    tried: tuple[Tried, ...] = ()
    notes: str = ""
    resample: int = 0          # how many earlier proposals for this candidate were too similar
    island: int = 0            # the island the parent was taken from
    inspiration_islands: tuple[int, ...] = ()  # the island of each inspiration, in order
    island_bests: tuple[tuple[int, str], ...] = ()  # (island, its best program id) when asked
    # program id -> what it is, for programs stored before this proposal was asked (None: unknown)
    known: Callable[[str], str | None] | None = None


@dataclass(frozen=True)
class Candidate:
    code: str
    note: str = ""
    cost: float = 0.0          # dollars spent making it
    model: str | None = None


@dataclass(frozen=True)
class ProposalFailure:
    reason: str
    cost: float = 0.0
    model: str | None = None


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
