"""Programs carried over from another run (``cambrian run --from RUN_DIR``).

The first candidates of a seeded run are these programs, one per candidate, each
re-evaluated by this run's evaluator: old scores never enter the new run.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..program import Program
from .base import Candidate, Context, ProposalFailure

SEED = "seed"
SEEDS_KEY = "seeds"   # store meta: {"from": run dir, "codes": [...]}


class Seeds:
    name = SEED
    needs_mate = False

    def __init__(self, codes: Sequence[str]):
        self.codes = tuple(codes)

    async def propose(self, parent: Program, inspirations: Sequence[Program], context: Context,
                      rng: np.random.Generator) -> Candidate | ProposalFailure:
        index = context.seq - 1
        if not 0 <= index < len(self.codes):
            return ProposalFailure(f"no seed program for candidate {context.seq}")
        return Candidate(self.codes[index], note="seeded from an earlier run")
