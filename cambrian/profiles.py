"""Heterogeneous islands: which operators propose on which island, and what its prompts add.

Island ``i`` follows ``islands.profiles[i % len(profiles)]``: its LLM proposals use only
the profile's models and edit formats, built-in operators only if it allows them, and
its prompts carry the profile's instructions after the task. Elites still migrate
between islands, so what one model family finds, another builds on (DEI).
"""

from __future__ import annotations

from typing import Mapping, Sequence

from .config import IslandProfile
from .errors import ConfigError
from .llm.models import parse_model


def label(model: str) -> str:
    parsed = parse_model(model)
    return f"{parsed['provider']}:{parsed['name']}"


def allowed(profile: IslandProfile, arms: Mapping[str, tuple[str | None, str | None]]) -> frozenset[str]:
    """Pure: the arms (operator name -> (model label or None if built-in, edit format)) the profile allows."""
    labels = {label(m) for m in profile.models}
    out = set()
    for name, (model, fmt) in arms.items():
        if model is None:
            if profile.builtin:
                out.add(name)
        elif (not labels or model in labels) and (not profile.formats or fmt in profile.formats):
            out.add(name)
    return frozenset(out)


def island_arms(profiles: Sequence[IslandProfile], arms: Mapping[str, tuple[str | None, str | None]]
                ) -> tuple[frozenset[str], ...]:
    """One allowed set per profile; a profile that allows no arm is a one-line error."""
    sets = tuple(allowed(p, arms) for p in profiles)
    for i, s in enumerate(sets):
        if not s:
            raise ConfigError(f"config: islands.profiles[{i}]: no operator of the run fits it "
                              f"(models, formats and builtin leave nothing)")
    return sets


def instructions(profiles: Sequence[IslandProfile], island: int) -> str:
    return profiles[island % len(profiles)].instructions.strip() if profiles else ""
