from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .base import EXECUTOR_KEY, Executor, InFlight
from .local import LocalExecutor

__all__ = ["EXECUTOR_KEY", "Executor", "InFlight", "LocalExecutor", "make_executor"]


def make_executor(spec: Any, *, config: Any, problem_dir: Path) -> Executor:
    """The executor the config names; Ray is imported only when it is the one."""
    if config.executor.kind == "ray":
        from .ray import RayExecutor

        return RayExecutor.connect(spec, problem_dir=problem_dir, config=config.executor, pool=config.evaluation.pool)
    from ..evaluation import PoolEvaluator, ProcessEvaluator

    evaluator = PoolEvaluator(spec) if config.evaluation.pool else ProcessEvaluator(spec)
    return LocalExecutor(evaluator, slots=config.evaluation.slots or min(config.workers, os.cpu_count() or 1))
