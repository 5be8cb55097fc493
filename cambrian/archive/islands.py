"""Islands: independent grids that exchange elites around a ring.

Isolation is what makes islands worth having, so the only traffic between them is
``migrate``: each island sends copies of its best elites to the next one.
"""

from __future__ import annotations

from typing import Mapping, Sequence

from .map_elites import AddStatus, Elite, Feature, Grid


class Islands:
    def __init__(self, count: int, features: Sequence[Feature], capacity: int):
        if count < 1:
            raise ValueError("island count must be >= 1")
        self.grids = [Grid(features, capacity) for _ in range(count)]
        # Feature values per program, so a migrant lands in the same cell abroad.
        self._values: dict[str, Mapping[str, float]] = {}

    def __len__(self) -> int:
        return len(self.grids)

    def add(self, island: int, elite: Elite, values: Mapping[str, float]) -> AddStatus:
        self._values[elite.program_id] = dict(values)
        return self.grids[island].add(elite, values)

    def migrate(self, migrants: int) -> list[tuple[int, int, str]]:
        """Ring migration; returns (from, to, program_id) for each copy that landed."""
        if len(self.grids) < 2 or migrants < 1:
            return []
        outgoing = [grid.best(migrants) for grid in self.grids]
        moved = []
        for source, elites in enumerate(outgoing):
            target = (source + 1) % len(self.grids)
            for elite in elites:
                status = self.grids[target].add(elite, self._values.get(elite.program_id, {}))
                if status not in (AddStatus.NOT_ADDED, AddStatus.PRESENT):
                    moved.append((source, target, elite.program_id))
        return moved
