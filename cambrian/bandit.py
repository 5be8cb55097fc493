"""Choosing the operator (built-in, or model x edit format) by its record: an
asymmetric UCB with a cost term in dollars.

A pull's reward is what the archive did with the child, not the size of its gain:
1 if it improved its island's best, 0.5 if it filled an empty MAP-Elites cell, 0.3 if
it displaced an elite of a full cell (a worse one, or an equal one under
``archive.replace_equal``), 0.1 if it merely joined a cell with room, 0 otherwise
(invalid, duplicate, not kept). A failed or worse child costs a pull, never a
penalty (the asymmetry ShinkaEvolve found to work). Each reward depends on that child
alone, so the record does not depend on the order results arrive in (a reward scaled
by "the largest gain so far" gave an early small gain full credit).

The cost term is absolute: the index is the UCB score minus ``cost_weight`` times the
arm's mean dollars per pull, so ``cost_weight`` is what an improvement is worth in
reward per dollar (default 10: a model must improve once per $0.10 more often than a
free arm to be preferred), whatever the other arms cost. State is plain numbers
rebuilt by the strategy's tells, so it survives resume and a changed model list (an
arm that is gone is ignored; a new one starts unexplored).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .archive import AddStatus

REWARDS = {AddStatus.NEW_CELL: 0.5, AddStatus.IMPROVED: 0.3, AddStatus.ADDED: 0.1}
ISLAND_BEST = 1.0


def reward(status: AddStatus | None, *, improved_island: bool) -> float:
    """Pure: a child's reward from what the archive did with it."""
    if improved_island:
        return ISLAND_BEST
    return REWARDS.get(status, 0.0) if status is not None else 0.0


@dataclass
class ArmStats:
    pulls: int = 0
    reward: float = 0.0
    cost: float = 0.0


@dataclass
class Bandit:
    arms: tuple[str, ...]
    exploration: float = 1.0
    cost_weight: float = 10.0
    stats: dict[str, ArmStats] = field(default_factory=dict)

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
        if len(arms) == 1:
            return arms[0]
        index = ucb_index(
            np.array([self.stats[a].reward / self.stats[a].pulls for a in arms]),
            np.array([self.stats[a].pulls for a in arms], dtype=float),
            np.array([self.stats[a].cost / self.stats[a].pulls for a in arms]),
            exploration=self.exploration, cost_weight=self.cost_weight)
        best = np.flatnonzero(index >= index.max() - 1e-12)
        return arms[int(best[int(rng.integers(len(best)))])]

    def update(self, arm: str, *, reward: float, cost: float) -> None:
        """``reward`` in [0, 1] (see ``reward()``); ``cost`` in dollars."""
        stats = self.stats.get(arm)
        if stats is None:  # an arm of an earlier configuration
            return
        stats.pulls += 1
        stats.cost += cost
        stats.reward += max(0.0, reward)


def ucb_index(mean: np.ndarray, pulls: np.ndarray, cost: np.ndarray, *, exploration: float,
              cost_weight: float) -> np.ndarray:
    """Pure: the index of each arm (higher is chosen); ``cost`` is mean dollars per pull."""
    total = pulls.sum()
    bonus = exploration * np.sqrt(math.log(max(total, 1.0)) / pulls)
    return mean + bonus - cost_weight * cost
