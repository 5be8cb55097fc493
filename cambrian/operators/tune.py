"""``tune``: move every float constant of the regions at once (differential evolution).

Perturbation moves one to three literals; a construction built from many numbers
(positions, heights, coefficients) needs them moved together. ``tune`` treats the
float literals inside the evolve regions as one vector and makes a child the way
differential evolution does, with the parent's island as the population:

    child = parent + F * (a - b)       for each constant with probability CR (at least one)

where ``a`` and ``b`` are the inspirations with the parent's constant layout (with one,
``b`` is the parent itself). The difference of two good programs is a step with the
population's own scale and correlations, which shrinks as the population converges:
the self-adaptation that CMA-ES gets from its covariance, with no state to keep (so
runs stay deterministic and resumable). With no mate of the same layout, or when
the chosen differences vanish, every float moves by a relative Gaussian step of
``sigma / sqrt(number of constants)``. Each child is one evaluation, counted in the
budget like any other; integers (counts, indices) are left alone.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from ..config import TuneConfig
from ..program import Program
from .base import Candidate, Context, ProposalFailure
from .local import _before_power, constants, format_number, replace_spans


class Tune:
    name = "tune"
    needs_mate = False

    def __init__(self, config: TuneConfig = TuneConfig()):
        self.config = config

    async def propose(self, parent: Program, inspirations: Sequence[Program], context: Context,
                      rng: np.random.Generator) -> Candidate | ProposalFailure:
        mine = [(t, v) for t, v in constants(parent.code) if isinstance(v, float)]
        if not mine:
            return ProposalFailure("no float constants inside the evolve regions")
        x = np.array([v for _, v in mine])
        mates = []
        for mate in inspirations:
            theirs = [v for _, v in constants(mate.code) if isinstance(v, float)]
            if len(theirs) == len(x):
                mates.append(np.array(theirs))
        step = np.zeros_like(x)
        how = "gaussian"
        if mates:
            a = mates[0]
            b = mates[1] if len(mates) > 1 else x
            diff = self.config.f * (a - b)
            mask = rng.random(len(x)) < self.config.cr
            mask[int(rng.integers(len(x)))] = True
            step = np.where(mask, diff, 0.0)
            how = f"differential ({len(mates)} mate{'s' if len(mates) > 1 else ''})"
        if not step.any():
            scale = np.where(x != 0, np.abs(x), 1.0)
            step = self.config.sigma / math.sqrt(len(x)) * scale * rng.standard_normal(len(x))
            how = "gaussian"
        new = x + step
        edits = []
        for (token, old), value in zip(mine, new):
            value = float(value)
            if value != old and math.isfinite(value):
                edits.append((token, format_number(value, power_base=_before_power(parent.code, token))))
        if not edits:
            return ProposalFailure("tuning left every constant unchanged")
        code = replace_spans(parent.code, edits)
        if code == parent.code:
            return ProposalFailure("tuning left the program unchanged")
        return Candidate(code, note=f"{how}: {len(edits)} constants")
