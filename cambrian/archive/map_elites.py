"""A MAP-Elites grid: feature space cut into cells, each keeping its best programs.

With no features the grid has a single cell whose capacity is the population size:
an elitist population is the one-cell special case, not a second code path.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Mapping, Sequence


class AddStatus(enum.Enum):
    NEW_CELL = "new_cell"       # first elite of an empty cell
    ADDED = "added"             # cell not full yet
    IMPROVED = "improved"       # displaced a worse elite
    NOT_ADDED = "not_added"     # worse than every elite of a full cell
    PRESENT = "present"         # this program is already in the grid


def _bin(value: float, low: float, span: float, bins: int) -> int:
    """Bin index of ``value`` in [low, low + span) cut into ``bins``; outside: the edge bins
    (so far outside that the arithmetic overflows to infinity included); NaN: 0."""
    return _index((value - low) / span * bins, bins)


def _index(at: float, bins: int) -> int:
    """The bin at ``at`` bins from the low end (see _bin)."""
    if 0.0 <= at < bins:   # inside (NaN fails both)
        return int(at)
    try:
        index = int(at)
    except (OverflowError, ValueError):  # infinite, or NaN (also an infinite span): no int
        return bins - 1 if at > 0 else 0
    return 0 if index < 0 else bins - 1 if index >= bins else index   # (min and max calls cost 2x)


@dataclass(frozen=True)
class Feature:
    name: str
    bins: int
    low: float
    high: float

    def bin(self, value: float) -> int:
        """Bin index of ``value``; values outside the range go to the edge bins."""
        return _bin(value, self.low, self.high - self.low, self.bins)


@dataclass  # a value, never changed once made (not frozen: made per candidate, and frozen's __init__ costs ~4x)
class Elite:
    program_id: str
    fitness: float


Cell = tuple[int, ...]


class Grid:
    """Cells of elites, best first inside a cell; iteration order is insertion order."""

    def __init__(self, features: Sequence[Feature], capacity: int, *, replace_equal: bool = False):
        """``replace_equal``: an equal-scoring newcomer displaces the last elite of a full
        cell and goes ahead of its equals (drift across plateaus)."""
        if capacity < 1:
            raise ValueError("capacity must be >= 1")
        self.features = tuple(features)
        self.capacity = capacity
        self.replace_equal = replace_equal
        # (name, low, high - low, bins) per feature: cell_of without the attribute reads per call
        self._bins = tuple((f.name, f.low, f.high - f.low, f.bins) for f in self.features)
        self.cells: dict[Cell, list[Elite]] = {}
        self.occupied: list[Cell] = []   # cells in the order they were filled: a uniform draw is O(1)
        self._where: dict[str, Cell] = {}

    def cell_of(self, values: Mapping[str, float]) -> Cell:
        """Feature.bin of each feature's value (its low end when missing)."""
        cell = []   # (a loop, not a comprehension: no function object and closure cells per call)
        for name, low, span, bins in self._bins:
            at = (float(values.get(name, low)) - low) / span * bins   # _bin, the inside written out
            cell.append(int(at) if 0.0 <= at < bins else _index(at, bins))
        return tuple(cell)

    def add(self, elite: Elite, values: Mapping[str, float]) -> AddStatus:
        if elite.program_id in self._where:
            return AddStatus.PRESENT
        cell = self.cell_of(values)
        members = self.cells.get(cell)
        if members is None:
            self.cells[cell] = [elite]
            self.occupied.append(cell)
            self._where[elite.program_id] = cell
            return AddStatus.NEW_CELL
        if len(members) < self.capacity:
            status = AddStatus.ADDED
        elif elite.fitness > members[-1].fitness or (self.replace_equal and elite.fitness == members[-1].fitness):
            del self._where[members.pop().program_id]
            status = AddStatus.IMPROVED
        else:
            return AddStatus.NOT_ADDED
        # Stable insert, best first; equal fitness keeps the older elite ahead, unless drifting.
        index, fitness = 0, elite.fitness
        for m in members:
            if fitness > m.fitness or (self.replace_equal and fitness == m.fitness):
                break
            index += 1
        members.insert(index, elite)
        self._where[elite.program_id] = cell
        return status

    def best_of_cell(self, cell: Cell) -> Elite:
        return self.cells[cell][0]

    def elites(self) -> list[Elite]:
        return [e for members in self.cells.values() for e in members]

    def __contains__(self, program_id: str) -> bool:
        return program_id in self._where

    def __len__(self) -> int:
        return len(self._where)

    def best(self, n: int = 1) -> list[Elite]:
        return sorted(self.elites(), key=lambda e: -e.fitness)[:n]
