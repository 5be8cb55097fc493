"""Parent selection as pure functions over a population's fitness.

Fitness is always "higher is better" (the strategy negates minimized objectives).
Each rule has a ``*_probs`` function returning the selection distribution, so a
rule can be tested, plotted and compared without sampling.
"""

from __future__ import annotations

import numpy as np


def power_law_probs(fitness: np.ndarray, *, alpha: float) -> np.ndarray:
    """P(rank r) proportional to r^-alpha (rank 1 = best): alpha 0 is uniform."""
    order = np.argsort(-fitness, kind="stable")
    ranks = np.empty(len(fitness))
    ranks[order] = np.arange(1, len(fitness) + 1)
    weights = ranks ** (-alpha)
    return weights / weights.sum()


def weighted_probs(fitness: np.ndarray, children: np.ndarray, *, lam: float) -> np.ndarray:
    """ShinkaEvolve's rule: sigmoid of the distance to the median in MAD units,
    times 1/(1+children) so programs already expanded make room for others."""
    median = np.median(fitness)
    mad = np.median(np.abs(fitness - median))
    scale = mad if mad > 0 else (np.std(fitness) or 1.0)
    z = np.clip(lam * (fitness - median) / scale, -50.0, 50.0)
    weights = (1.0 / (1.0 + np.exp(-z))) / (1.0 + children)
    return weights / weights.sum()


def boltzmann_probs(fitness: np.ndarray, *, temperature: float) -> np.ndarray:
    """Softmax of min-max normalized fitness at ``temperature``."""
    span = fitness.max() - fitness.min()
    normalized = (fitness - fitness.min()) / span if span > 0 else np.zeros_like(fitness)
    logits = normalized / temperature
    weights = np.exp(logits - logits.max())
    return weights / weights.sum()


def tournament(fitness: np.ndarray, rng: np.random.Generator, *, size: int) -> int:
    """Best of ``size`` uniformly drawn entrants (with replacement)."""
    entrants = rng.integers(0, len(fitness), size=size)
    return int(entrants[np.argmax(fitness[entrants])])


def select(
    method: str,
    fitness: np.ndarray,
    children: np.ndarray,
    rng: np.random.Generator,
    *,
    alpha: float = 1.5,
    lam: float = 10.0,
    temperature: float = 0.1,
    tournament_size: int = 3,
) -> int:
    """Index of the chosen parent under ``method``."""
    if len(fitness) == 0:
        raise ValueError("cannot select from an empty population")
    if method == "tournament":
        return tournament(fitness, rng, size=tournament_size)
    if method == "power_law":
        probs = power_law_probs(fitness, alpha=alpha)
    elif method == "weighted":
        probs = weighted_probs(fitness, children, lam=lam)
    elif method == "boltzmann":
        probs = boltzmann_probs(fitness, temperature=temperature)
    else:
        raise ValueError(f"unknown selection method {method!r}")
    return int(rng.choice(len(fitness), p=probs))
