"""Mutation operators: one interface, built-in and (later) LLM implementations."""

from __future__ import annotations

from ..config import Config
from .base import Candidate, Context, Operator, ProposalFailure
from .local import Crossover, Perturb, Structural
from .tune import Tune


def build_operators(config: Config) -> dict[str, Operator]:
    """Every operator the config enables, by name."""
    ops = config.operators
    built: dict[str, Operator] = {
        "perturb": Perturb(ops.perturb),
        "crossover": Crossover(ops.crossover),
        "structural": Structural(),
        "tune": Tune(ops.tune),
    }
    return {name: op for name, op in built.items() if ops.weights().get(name, 0) > 0}


__all__ = ["Candidate", "Context", "Operator", "ProposalFailure", "build_operators",
           "Crossover", "Perturb", "Structural", "Tune"]
