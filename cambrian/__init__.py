"""Cambrian: LLM-guided evolutionary program search.

The public surface is small and imported lazily, so ``cambrian --help`` stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import CambrianError, ConfigError, InitialProgramError, ProblemError, StoreError

__version__ = "0.1.0"
__all__ = [
    "CambrianError", "Config", "ConfigError", "InitialProgramError", "Problem", "ProblemError",
    "Result", "StoreError", "evolve", "__version__",
]

_LAZY = {"Config": "config", "Problem": "problem", "Result": "session", "evolve": "session"}

if TYPE_CHECKING:
    from .config import Config
    from .problem import Problem
    from .session import Result, evolve


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'cambrian' has no attribute {name!r}")
