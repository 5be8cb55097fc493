"""Simple search policies to measure the default against (``search.policy``).

Each is a few lines on the same interface as the default policy, so it runs through
the same runner, operators, evaluator and store: a benchmark compares searches, not
plumbing. Fitness is "higher is better" (the strategy negates minimized objectives).

- ``greedy``: a (1+1) climber. The parent is always the best program so far; a child
  replaces it only if strictly better.
- ``lineages``: ``search.lineages`` independent greedy climbers taking turns. In the
  last ``search.late_share`` of the budget each one's prompt also shows the other
  lineages' best programs (they "see each other late").
- ``best_of_n``: every child is made from the initial program; the best child wins.
- ``random_parent``: the parent is drawn uniformly from every valid program so far.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from .archive import AddStatus

Pick = tuple[int, str, tuple[str, ...], tuple[int, ...]]  # island, parent, inspirations, their islands


class Lineages:
    """``count`` greedy (1+1) lineages taking turns; ``greedy`` is the one-lineage case."""

    def __init__(self, count: int = 1, *, late_from: int | None = None):
        self.count = count
        self.late_from = late_from  # from this sequence number on, lineages see each other's best
        self.best: list[tuple[str, float]] = []

    @property
    def island_count(self) -> int:
        return self.count

    def island_bests(self) -> tuple[tuple[int, str], ...]:
        return tuple((i, pid) for i, (pid, _) in enumerate(self.best))

    def seed(self, program_id: str, fitness: float, features: Mapping[str, float]) -> None:
        self.best = [(program_id, fitness)] * self.count

    def select(self, seq: int, rng: np.random.Generator) -> Pick:
        island = seq % self.count
        if self.late_from is None or seq < self.late_from:
            return island, self.best[island][0], (), ()
        mine = self.best[island][0]
        others = [(i, pid) for i, (pid, _) in enumerate(self.best) if i != island and pid != mine]
        return island, mine, tuple(pid for _, pid in others), tuple(i for i, _ in others)

    def tell(self, island: int, program_id: str | None, fitness: float | None,
             features: Mapping[str, float]) -> tuple[AddStatus | None, bool]:
        if program_id is None or fitness is None:
            return None, False
        if fitness > self.best[island][1]:
            self.best[island] = (program_id, fitness)
            return AddStatus.IMPROVED, True
        return AddStatus.NOT_ADDED, False


class BestOfN:
    """Every child from the initial program."""

    island_count = 1

    def seed(self, program_id: str, fitness: float, features: Mapping[str, float]) -> None:
        self.initial = program_id
        self.best = fitness

    def select(self, seq: int, rng: np.random.Generator) -> Pick:
        return 0, self.initial, (), ()

    def tell(self, island: int, program_id: str | None, fitness: float | None,
             features: Mapping[str, float]) -> tuple[AddStatus | None, bool]:
        if program_id is None or fitness is None:
            return None, False
        if fitness > self.best:
            self.best = fitness
            return AddStatus.IMPROVED, True
        return AddStatus.NOT_ADDED, False


class RandomParent:
    """A parent drawn uniformly from every valid program so far."""

    island_count = 1

    def seed(self, program_id: str, fitness: float, features: Mapping[str, float]) -> None:
        self.programs = [program_id]
        self.known = {program_id}
        self.best = fitness

    def select(self, seq: int, rng: np.random.Generator) -> Pick:
        return 0, self.programs[int(rng.integers(len(self.programs)))], (), ()

    def tell(self, island: int, program_id: str | None, fitness: float | None,
             features: Mapping[str, float]) -> tuple[AddStatus | None, bool]:
        if program_id is None or fitness is None:
            return None, False
        if program_id in self.known:
            return AddStatus.PRESENT, False
        self.programs.append(program_id)
        self.known.add(program_id)
        improved = fitness > self.best
        self.best = max(self.best, fitness)
        return AddStatus.ADDED, improved
