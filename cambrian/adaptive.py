"""The default search (``search.policy: adaptive``): exploit while it pays, split when it stalls.

A run starts with one island, and that island is a climber: its parent is always its
best program (an equal-scoring child takes its place once ``drift_evidence`` of its
children tied its best of the time: it drifts across a plateau, not on a rare tie),
and it gets every call while it improves. How long counts as "stalled" is learnt from
the island itself: ``patience`` times its mean gap between improvements, at least
``min_patience`` candidates; so an island that improves every few calls is declared
stuck sooner than one that improves rarely but steadily. An improvement counts only if
it gains more than ``min_gain`` of the best's magnitude: creeping up the top of a
basin is not progress (the creep still becomes the island's best).

When the island holding the best program (the *leader*) stalls, the search splits:
a new island starts from the initial program and from then on takes ``explore_share``
of the calls while the leader stays stuck (the leader keeps the rest and all of them
again once it improves). Islands never exchange programs, so each keeps its own
basin; but a stalled island's prompt shows the current best of the other islands
beside the parent, labelled by island, so the model can copy what another lineage
found. The leader is shown another island only once that island has caught up with
where the leader stood when it was opened (a *rival*): a young explorer far below is
not worth a call's attention (with a weak model, copying from a program far below
mostly copies it back down; measured in bench/search/README.md). Among
the explorers, the one least stalled (relative to its own patience) gets the call:
a new island is exploited hard while it improves. When every explorer is stalled
too, another island is opened, up to ``max_islands``; past that, the explorer stuck
longest is restarted from the initial program (FunSearch resets the weaker half of
its islands on a clock; here a reset is triggered by an island's own stagnation).
An explorer that overtakes the leader becomes the leader.

The island count is therefore a consequence of the run's progress, not of its
budget. Everything changes in ``tell`` only and depends only on what was told, so
replaying a run's tells (resume) rebuilds the same islands. ``ask`` does a constant
amount of work: a few comparisons over at most ``max_islands`` islands.

Ablations (``search.adapt``, ``search.cross_inspirations``, ``search.resets``): all
islands from the start taking turns; inspirations from the parent's own island only;
no restarts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np

from .archive import AddStatus, Elite, Feature, Grid
from .config import Config
from .resume import RunShape

Pick = tuple[int, str, tuple[str, ...], tuple[int, ...]]


@dataclass
class Island:
    grid: Grid
    current: Elite          # the program this island changes next: its best (drifting on ties)
    tells: int = 0
    improvements: int = 0
    since: int = 0          # tells since its best last improved
    bar: float = float("-inf")  # the leader's best when this island was opened: reaching it makes a rival
    stuck: float = 0.0      # stall() as of its last tell: read by every ask, changed only by its own tells
    ties: int = 0           # valid children that tied the island's best of the time (kept when it improves)

    def stall(self, *, factor: float, floor: int) -> float:
        """How stuck, in units of its own patience: >= 1 is stalled."""
        gap = (self.tells - self.since + 1) / (self.improvements + 1)  # up to its last improvement
        patience = factor * gap
        return self.since / (patience if patience > floor else float(floor))


class Adaptive:
    def __init__(self, config: Config, shape: RunShape):
        """``shape``: the run's saved layout; its island count is the most this search opens."""
        self.config = config
        s = config.search
        self.max_islands = shape.islands
        self.factor, self.floor = s.patience, float(s.min_patience)
        self.explore_share = s.explore_share
        self.drift_evidence, self.min_gain = s.drift_evidence, s.min_gain
        # Read by every ask or tell: plain attributes, not a chain of config lookups per call.
        self.adapt, self.may_reset, self.cross = s.adapt, s.resets, s.cross_inspirations
        self.replace_equal, self.wanted = config.archive.replace_equal, config.selection.inspirations
        self.features = [Feature(f["name"], f["bins"], f["min"], f["max"]) for f in shape.features]
        self.capacity = shape.capacity
        self.islands: list[Island] = []
        self.ranked: list[int] = []   # the islands, best current first (ties by index): see _rank
        self.leader = 0
        self.resets = 0

    @property
    def island_count(self) -> int:
        return len(self.islands)

    def island_bests(self) -> tuple[tuple[int, str], ...]:
        return tuple((i, isle.current.program_id) for i, isle in enumerate(self.islands))

    def elites(self) -> list[list[str]]:
        return [[e.program_id for e in isle.grid.elites()] for isle in self.islands]

    # -- state changes: seed and tell ------------------------------------------
    def seed(self, program_id: str, fitness: float, features: Mapping[str, float]) -> None:
        self.initial = (Elite(program_id, fitness), dict(features))
        for _ in range(1 if self.adapt else self.max_islands):
            self._open()

    def _fresh(self) -> Island:
        grid = Grid(self.features, self.capacity, replace_equal=self.replace_equal)
        elite, values = self.initial
        grid.add(elite, values)
        bar = self.islands[self.leader].current.fitness if self.islands else float("-inf")
        return Island(grid, elite, bar=bar)

    def _open(self) -> None:
        self.islands.append(self._fresh())
        self._rank()

    def _rank(self) -> None:
        """Order the islands by their current's fitness, best first, ties by index: redone
        whenever a current changes (rarely, once a run is under way), read by every ask that
        shows other islands."""
        islands = self.islands
        self.ranked = sorted(range(len(islands)), key=lambda i: (-islands[i].current.fitness, i))

    def tell(self, island: int, program_id: str | None, fitness: float | None,
             features: Mapping[str, float]) -> tuple[AddStatus | None, bool]:
        isle = self.islands[island]
        isle.tells += 1
        isle.since += 1
        status, improved = None, False
        if program_id is not None and fitness is not None:
            current = isle.current
            elite = Elite(program_id, fitness)
            status = isle.grid.add(elite, features)
            if fitness > isle.current.fitness:
                if fitness - isle.current.fitness > self.min_gain * abs(isle.current.fitness):
                    isle.improvements += 1  # progress: a creep by less than min_gain is not
                    isle.since = 0
                isle.current, improved = elite, True
            elif fitness == isle.current.fitness:
                isle.ties += 1
                if self.replace_equal and status is not AddStatus.NOT_ADDED and status is not AddStatus.PRESENT \
                        and isle.ties >= self.drift_evidence * isle.tells:
                    isle.current = elite  # drift: not progress
            if improved and fitness > self.islands[self.leader].current.fitness:
                self.leader = island
            if isle.current is not current:
                self._rank()
        isle.stuck = isle.stall(factor=self.factor, floor=self.floor)
        if self.adapt or self.may_reset:
            self._split_or_reset()
        return status, improved

    def _split_or_reset(self) -> None:
        for isle in self.islands:
            if isle.stuck < 1:  # the leader or an explorer still improves
                return
        if self.adapt and len(self.islands) < self.max_islands:
            self._open()
        elif self.may_reset and len(self.islands) > 1:
            # The explorer stuck longest (the first of equals), once stuck for twice its patience.
            stuck = [isle.stuck for isle in self.islands]
            stuck[self.leader] = float("-inf")
            worst = stuck.index(max(stuck))
            if stuck[worst] >= 2:
                self.islands[worst] = self._fresh()
                self._rank()
                self.resets += 1

    # -- ask: read only --------------------------------------------------------
    def select(self, seq: int, rng: np.random.Generator) -> Pick:
        island = self._island(seq, rng)
        isle = self.islands[island]
        parent, stalled = isle.current, isle.stuck >= 1
        if stalled and len(isle.grid.occupied) > 1 and rng.random() < 0.5:
            # A stalled island also explores its MAP-Elites cells, uniformly over occupied cells.
            cell = isle.grid.occupied[int(rng.integers(len(isle.grid.occupied)))]
            parent = isle.grid.best_of_cell(cell)
        if not stalled:  # an island that still improves on its own is kept apart
            return island, parent.program_id, (), ()
        ids, where = self._inspirations(island, parent.program_id)
        return island, parent.program_id, ids, where

    def _island(self, seq: int, rng: np.random.Generator) -> int:
        islands = self.islands
        if len(islands) == 1:
            return 0
        if not self.adapt:
            return seq % len(islands)
        leader = self.leader
        if islands[leader].stuck < 1 or rng.random() >= self.explore_share:
            return leader
        chosen, least = -1, float("inf")   # the explorer least stalled, the first of equals
        for i, isle in enumerate(islands):
            if isle.stuck < least and i != leader:
                chosen, least = i, isle.stuck
        return chosen

    def _inspirations(self, island: int, parent: str) -> tuple[tuple[str, ...], tuple[int, ...]]:
        wanted = self.wanted
        if wanted == 0:
            return (), ()
        if self.cross:
            # best first, ties by island; the leader is shown rivals only: islands that have
            # caught up with where the leader stood when they were opened
            leading = island == self.leader
            ids: list[str] = []
            where: list[int] = []
            for i in self.ranked:
                isle = self.islands[i]
                if i == island or leading and not isle.current.fitness >= isle.bar:
                    continue
                pid = isle.current.program_id
                if pid != parent and pid not in ids:
                    ids.append(pid)
                    where.append(i)
                if len(ids) == wanted:
                    break
            return tuple(ids), tuple(where)
        chosen = [(e.program_id, island) for e in self.islands[island].grid.best(wanted + 1)
                  if e.program_id != parent][:wanted]
        return tuple(c for c, _ in chosen), tuple(i for _, i in chosen)
