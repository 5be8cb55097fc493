"""Choosing the operator (built-in, or model x edit format) by its record: an
asymmetric UCB with a cost term.

Rewards are improvements of a child over its parent, scaled by the largest
improvement seen so far, and never negative: a failed or worse child costs a pull,
not a penalty (the asymmetry ShinkaEvolve found to work). The index divides the
UCB score by (1 + cost_weight * mean cost / largest mean cost), so a cheap arm
that improves as often as an expensive one wins. State is plain numbers rebuilt by
the strategy's tells, so it survives resume and a changed model list (an arm that
is gone is ignored; a new one starts unexplored).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np


@dataclass
class ArmStats:
    pulls: int = 0
    reward: float = 0.0
    cost: float = 0.0


@dataclass
class Bandit:
    arms: tuple[str, ...]
    exploration: float = 1.0
    cost_weight: float = 1.0
    stats: dict[str, ArmStats] = field(default_factory=dict)
    best_gain: float = 0.0

    def __post_init__(self) -> None:
        for arm in self.arms:
            self.stats.setdefault(arm, ArmStats())

    def choose(self, rng: np.random.Generator, allowed: tuple[str, ...] | None = None) -> str:
        arms = [a for a in self.arms if allowed is None or a in allowed]
        if not arms:
            raise ValueError("no arm to choose from")
        fresh = [a for a in arms if self.stats[a].pulls == 0]
        if fresh:
            return fresh[int(rng.integers(len(fresh)))]
        index = ucb_index(
            np.array([self.stats[a].reward / self.stats[a].pulls for a in arms]),
            np.array([self.stats[a].pulls for a in arms], dtype=float),
            np.array([self.stats[a].cost / self.stats[a].pulls for a in arms]),
            exploration=self.exploration, cost_weight=self.cost_weight)
        best = np.flatnonzero(index >= index.max() - 1e-12)
        return arms[int(best[int(rng.integers(len(best)))])]

    def update(self, arm: str, *, gain: float | None, cost: float) -> None:
        """``gain``: the child's fitness minus its parent's (None if the child was not valid)."""
        stats = self.stats.get(arm)
        if stats is None:  # an arm of an earlier configuration
            return
        stats.pulls += 1
        stats.cost += cost
        if gain is not None and gain > 0:
            self.best_gain = max(self.best_gain, gain)
            stats.reward += min(1.0, gain / self.best_gain)


def ucb_index(mean: np.ndarray, pulls: np.ndarray, cost: np.ndarray, *, exploration: float,
              cost_weight: float) -> np.ndarray:
    """Pure: the index of each arm (higher is chosen)."""
    total = pulls.sum()
    bonus = exploration * np.sqrt(math.log(max(total, 1.0)) / pulls)
    top = cost.max()
    penalty = 1.0 + cost_weight * (cost / top if top > 0 else np.zeros_like(cost))
    return (mean + bonus) / penalty
