"""The search strategy, written ask/tell: it proposes, the runner executes.

``ask(seq)`` reads the state and returns a ``Proposal`` (island, parent,
inspirations, operator); ``tell(proposal, outcome)`` is the only place the state
changes. Randomness comes from a generator derived from (seed, seq), so a proposal
depends on the seed and on what was told before it, never on timing; resuming a run
is replaying its tells.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from hashlib import blake2b
from itertools import accumulate
from typing import Mapping, Protocol

import numpy as np

from .archive import AddStatus, Elite, Feature, Islands
from .archive.selection import select
from .adaptive import Adaptive
from .bandit import Bandit, reward
from .baselines import BestOfN, Lineages, Pick, RandomParent
from .config import Config
from .resume import RunShape, shape_for


# Values, never changed once made; not frozen: one of each per candidate, and a frozen
# dataclass's __init__ costs ~4x (bench/bookkeeping.py).
@dataclass
class Proposal:
    seq: int
    island: int
    parent_id: str
    inspiration_ids: tuple[str, ...]
    operator: str
    inspiration_islands: tuple[int, ...] = ()   # the island each inspiration was taken from


@dataclass
class Outcome:
    """What became of a proposal. ``score`` is None unless the program is valid."""

    program_id: str | None
    score: float | None
    features: Mapping[str, float] = field(default_factory=dict)
    cost: float = 0.0              # dollars the proposal cost


@dataclass
class Told:
    status: AddStatus | None
    new_best: bool


def rng_for(seed: int, seq: int, stream: int) -> np.random.Generator:
    """An independent generator per (seed, candidate, purpose): the RNG state is the counter."""
    return np.random.default_rng([seed, seq, stream])


STRATEGY_STREAM, OPERATOR_STREAM = 0, 1


_PCG_MULT = 0x2360ED051FC65DA44385DF649FCCF645   # PCG64's 128-bit LCG multiplier (numpy's)
_M64, _M128 = (1 << 64) - 1, (1 << 128) - 1


class Reseeded:
    """One generator set afresh for each (seed, seq, stream): the same draws as an
    independent generator per candidate, at a fraction of the cost of building one
    (``default_rng`` costs ~30 us; hashing the key into a PCG64 state ~5 us). Only for
    a caller that is done with the draws before it asks for the next key.

    ``random()`` and ``integers(n)`` are numpy's PCG64 draws computed here, bit for bit
    (the 128-bit step, the XSL-RR output, the 53-bit double, Lemire's bounded integer on
    the 32-bit half-draws): setting numpy's state costs more than a candidate's few draws.
    ``choice`` (and any draw through ``numpy()``) is numpy's, taken up from the state the
    draws here left."""

    def __init__(self) -> None:
        self._bits = np.random.PCG64(0)
        self._numpy = np.random.Generator(self._bits)
        self._state = self._inc = self._half = 0
        self._has_half = False
        self._handed = True   # numpy's generator holds the state

    def at(self, seed: int, seq: int, stream: int) -> "Reseeded":
        key = int.from_bytes(blake2b(b"%d,%d,%d" % (seed, seq, stream), digest_size=32).digest(), "little")
        self._state, self._inc = key & _M128, key >> 128 | 1   # the digest's first 16 bytes, its last 16 (odd)
        self._has_half, self._handed = False, False
        return self

    def _next64(self) -> int:
        state = self._state = (self._state * _PCG_MULT + self._inc) & _M128
        rot, x = state >> 122, ((state >> 64) ^ state) & _M64
        return ((x >> rot) | (x << (64 - rot))) & _M64

    def _next32(self) -> int:
        if self._has_half:
            self._has_half = False
            return self._half
        draw = self._next64()
        self._half, self._has_half = draw >> 32, True
        return draw & 0xFFFFFFFF

    def random(self, size=None):  # noqa: ANN001, ANN201  (numpy's signature)
        if size is not None or self._handed:
            return self.numpy().random(size)
        state = self._state = (self._state * _PCG_MULT + self._inc) & _M128   # _next64, written out: once per draw
        rot, x = state >> 122, ((state >> 64) ^ state) & _M64
        return ((((x >> rot) | (x << (64 - rot))) & _M64) >> 11) * (1.0 / 9007199254740992.0)

    def integers(self, low, high=None, size=None, dtype=np.int64, endpoint=False):  # noqa: ANN001, ANN201
        """A draw in [0, low) as numpy's (int64, Lemire on 32 bits below 2**32); other forms numpy's.
        (numpy's parameters spelt out: a ``**kwargs`` would cost a dict per call.)"""
        if high is not None or size is not None or dtype is not np.int64 or endpoint or self._handed \
                or type(low) is not int or not 1 <= low <= 1 << 32:
            return self.numpy().integers(low, high, size, dtype, endpoint)
        span = low
        if span == 1:
            return np.int64(0)
        m = self._next32() * span
        if m & 0xFFFFFFFF < span:
            threshold = (0xFFFFFFFF - (span - 1)) % span
            while m & 0xFFFFFFFF < threshold:
                m = self._next32() * span
        return np.int64(m >> 32)

    def numpy(self) -> np.random.Generator:
        """numpy's generator, from where the draws here left off."""
        if not self._handed:
            self._bits.state = {"bit_generator": "PCG64", "has_uint32": int(self._has_half), "uinteger": self._half,
                                "state": {"state": self._state, "inc": self._inc}}
            self._handed = True
        return self._numpy

    def choice(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN201  (numpy's signature)
        """numpy's, from where the draws here left off (the islands policy's parent draw)."""
        return self.numpy().choice(*args, **kwargs)

    # No __getattr__ forwarding every other draw to numpy: a class with one reads each of its
    # attributes through it (no specialised attribute reads), and the draws above read many.

    def __reduce__(self):
        """Scratch, not state: every draw is set afresh from its key."""
        return (Reseeded, ())


class Policy(Protocol):
    """Which program to change next and what to show beside it; what to keep.
    Fitness is "higher is better"; ``tell`` returns what the archive did with a child."""

    @property
    def island_count(self) -> int: ...

    def seed(self, program_id: str, fitness: float, features: Mapping[str, float]) -> None: ...

    def select(self, seq: int, rng: np.random.Generator) -> Pick: ...

    def tell(self, island: int, program_id: str | None, fitness: float | None,
             features: Mapping[str, float]) -> tuple[AddStatus | None, bool]:
        """What the archive did with the child, and whether it improved its island's best."""


def make_policy(config: Config, children: dict[str, int], shape: RunShape | None = None) -> Policy:
    search = config.search
    if search.policy == "greedy":
        return Lineages(1)
    if search.policy == "lineages":
        horizon = config.max_calls or config.budget  # roughly one candidate per call
        return Lineages(search.lineages, late_from=1 + int(horizon * (1 - search.late_share)))
    if search.policy == "best_of_n":
        return BestOfN()
    if search.policy == "random_parent":
        return RandomParent()
    if search.policy == "islands":
        return IslandsPolicy(config, children, shape or shape_for(config))
    return Adaptive(config, shape or shape_for(config))


class IslandsPolicy:
    """Islands of MAP-Elites grids taking turns; a parent by the selection rule, half
    the inspirations the island's best, half drawn at random; ring migration."""

    def __init__(self, config: Config, children: dict[str, int], shape: RunShape):
        """``shape``: the run's saved layout (islands, features, elites per cell)."""
        self.config = config
        self.children = children
        features = [Feature(f["name"], f["bins"], f["min"], f["max"]) for f in shape.features]
        self.islands = Islands(shape.islands, features, shape.capacity)
        self.told = 0

    @property
    def island_count(self) -> int:
        return len(self.islands)

    def island_bests(self) -> tuple[tuple[int, str], ...]:
        return tuple((i, grid.best(1)[0].program_id) for i, grid in enumerate(self.islands.grids) if len(grid))

    def elites(self) -> list[list[str]]:
        return [[e.program_id for e in grid.elites()] for grid in self.islands.grids]

    def seed(self, program_id: str, fitness: float, features: Mapping[str, float]) -> None:
        for island in range(len(self.islands)):
            self.islands.add(island, Elite(program_id, fitness), features)

    def select(self, seq: int, rng: np.random.Generator) -> Pick:
        island = seq % len(self.islands)
        elites = self.islands.grids[island].elites()
        if not elites:
            raise RuntimeError("ask() before the initial program was told")
        fitness = np.fromiter((e.fitness for e in elites), float, len(elites))
        children = np.fromiter((self.children.get(e.program_id, 0) for e in elites), float, len(elites))
        sel = self.config.selection
        index = select(
            sel.method, fitness, children, rng,
            alpha=sel.power_law_alpha, lam=sel.weighted_lambda,
            temperature=sel.boltzmann_temperature, tournament_size=sel.tournament_size,
        )
        inspirations = self._inspirations(elites, index, fitness, rng)
        return island, elites[index].program_id, inspirations, (island,) * len(inspirations)

    def _inspirations(self, elites: list[Elite], parent: int, fitness: np.ndarray,
                      rng: np.random.Generator) -> tuple[str, ...]:
        """Half the best others of the island, half drawn at random from the rest."""
        wanted = self.config.selection.inspirations
        others = [i for i in np.argsort(-fitness, kind="stable") if i != parent]
        if wanted == 0 or not others:
            return ()
        n_top = (wanted + 1) // 2
        chosen = others[:n_top]
        rest = others[n_top:]
        if rest and wanted > n_top:
            picks = rng.choice(len(rest), size=min(wanted - n_top, len(rest)), replace=False)
            chosen += [rest[i] for i in sorted(picks)]
        return tuple(elites[i].program_id for i in chosen)

    def tell(self, island: int, program_id: str | None, fitness: float | None,
             features: Mapping[str, float]) -> AddStatus | None:
        self.told += 1
        status, improved = None, False
        if program_id is not None and fitness is not None:
            grid = self.islands.grids[island]
            before = grid.best(1)[0].fitness if len(grid) else None
            status = self.islands.add(island, Elite(program_id, fitness), features)
            improved = before is None or fitness > before
        if self.told % self.config.islands.migration_interval == 0:
            self.islands.migrate(self.config.islands.migrants)
        return status, improved


class Strategy:
    def __init__(self, config: Config, *, mate_operators: frozenset[str] = frozenset(),
                 arms: Mapping[str, float] | None = None, bandit: bool = False, shape: RunShape | None = None,
                 island_arms: tuple[frozenset[str], ...] = ()):
        """``arms``: operator name -> weight (default: the built-in operators' weights);
        with ``bandit`` the weights only say which arms exist and a bandit chooses.
        ``island_arms``: heterogeneous islands, island i draws only from island_arms[i % len].
        ``shape``: the run's saved layout (default: what the config gives a new run)."""
        self.config = config
        self._seed = config.seed   # read by every ask
        self.shape = shape or shape_for(config)
        self.sign = 1.0 if config.direction == "maximize" else -1.0
        weights = dict(arms) if arms is not None else config.operators.weights()
        self._operators = [name for name, w in weights.items() if w > 0]
        self._mate_operators = mate_operators
        self._island_arms = island_arms
        # (has a mate, index into island_arms or -1) -> cumulative weights: one uniform
        # draw and a bisection choose the operator.
        self._cumulative = {(has_mate, arm): self._cumulative_weights(weights, has_mate, arm)
                            for has_mate in (True, False) for arm in range(-1, len(island_arms))}
        self._draws = Reseeded()
        self.bandit = Bandit(tuple(self._operators), exploration=config.bandit.exploration,
                             cost_weight=config.bandit.cost_weight) if bandit else None
        self.children: dict[str, int] = {}
        self.policy = make_policy(config, self.children, self.shape)
        self.best_id: str | None = None
        self.best_score: float | None = None
        self.told = 0
        self.since_improvement = 0

    @property
    def island_count(self) -> int:
        return self.policy.island_count

    def island_bests(self) -> tuple[tuple[int, str], ...]:
        """(island, its best program id) for each island, for prompts to name them."""
        bests = getattr(self.policy, "island_bests", None)
        return bests() if bests is not None else ()

    def elites(self) -> list[list[str]] | None:
        """The elites of each island (saved at the end of a session; compared by the
        determinism test); None for a policy without an archive."""
        elites = getattr(self.policy, "elites", None)
        return elites() if elites is not None else None


    # -- ask ---------------------------------------------------------------
    def ask(self, seq: int) -> Proposal:
        rng = self._draws.at(self._seed, seq, STRATEGY_STREAM)
        island, parent, inspirations, their_islands = self.policy.select(seq, rng)
        operator = self._operator(rng, has_mate=bool(inspirations), island=island)
        return Proposal(seq, island, parent, inspirations, operator, their_islands)

    def _operator(self, rng: np.random.Generator, *, has_mate: bool, island: int = 0) -> str:
        if self.bandit is not None:
            mine = self._island_arms[island % len(self._island_arms)] if self._island_arms else None
            allowed = tuple(n for n in self._operators if (has_mate or n not in self._mate_operators)
                            and (mine is None or n in mine))
            return self.bandit.choose(rng, allowed or tuple(n for n in self._operators if mine is None or n in mine)
                                      or None)
        cumulative = self._cumulative[has_mate, island % len(self._island_arms) if self._island_arms else -1]
        index = bisect_right(cumulative, rng.random() * cumulative[-1])
        return self._operators[index if index < len(cumulative) else len(cumulative) - 1]

    def _cumulative_weights(self, weights: Mapping[str, float], has_mate: bool, arm: int) -> list[float]:
        """The operators' weights for an island's arms (all with ``arm`` -1), those that need
        a mate left out when there is none and something else remains; summed up."""
        mine = self._island_arms[arm] if arm >= 0 else None
        own = [float(weights[n]) if mine is None or n in mine else 0.0 for n in self._operators]
        solo = [0.0 if n in self._mate_operators else w for n, w in zip(self._operators, own)]
        return list(accumulate(solo if not has_mate and sum(solo) > 0 else own))

    # -- tell --------------------------------------------------------------
    def seed(self, program_id: str, score: float, features: Mapping[str, float]) -> None:
        """Place the initial program."""
        self.policy.seed(program_id, self.sign * score, features)
        self.best_id, self.best_score = program_id, score

    def tell(self, proposal: Proposal, outcome: Outcome) -> Told:
        self.told += 1
        self.children[proposal.parent_id] = self.children.get(proposal.parent_id, 0) + 1
        new_best = False
        valid = outcome.program_id is not None and outcome.score is not None
        status, improved = self.policy.tell(proposal.island, outcome.program_id,
                                            self.sign * outcome.score if valid else None, outcome.features)
        if self.bandit is not None:
            self.bandit.update(proposal.operator, reward=reward(status, improved_island=improved),
                               cost=outcome.cost)
        if valid:
            if self.best_score is None or self.sign * (outcome.score - self.best_score) > 0:
                self.best_id, self.best_score, new_best = outcome.program_id, outcome.score, True
        self.since_improvement = 0 if new_best else self.since_improvement + 1
        return Told(status, new_best)
