"""The node side of the Ray executor: what a Ray task runs on a cluster node.

It evaluates with the same machinery as a local run (``cambrian.evaluation``: the
sandbox, the limits, the validation), in the Ray worker process, from the problem
directory Ray shipped with the job (the task's working directory). One evaluator per
worker process and problem is kept warm across tasks, on one event loop of its own.
This module imports no Ray: the task wrapper in ``executors.ray`` does.
"""

from __future__ import annotations

import asyncio
import atexit
import dataclasses
import os
from pathlib import Path

from ..evaluation import EvalResult, PoolEvaluator, ProcessEvaluator, Spec

_loop: asyncio.AbstractEventLoop | None = None
_evaluators: dict[tuple, PoolEvaluator | ProcessEvaluator] = {}


def on_node(spec: Spec) -> Spec:
    """The spec with the evaluator's path inside the shipped problem directory (the cwd)."""
    return dataclasses.replace(spec, evaluator_path=Path(os.getcwd()) / spec.evaluator_path)


def _evaluator(spec: Spec, pool: bool) -> PoolEvaluator | ProcessEvaluator:
    key = (spec, pool, os.getcwd())
    evaluator = _evaluators.get(key)
    if evaluator is None:
        local = on_node(spec)
        evaluator = _evaluators[key] = PoolEvaluator(local) if pool else ProcessEvaluator(local)
    return evaluator


def evaluate(spec: Spec, pool: bool, code: str, mode: str) -> str | EvalResult:
    """Evaluate (or fingerprint) ``code`` here; failures come back as results, as locally."""
    global _loop
    if _loop is None:
        _loop = asyncio.new_event_loop()
        atexit.register(_close)
    evaluator = _evaluator(spec, pool)
    work = evaluator.evaluate(code) if mode == "evaluate" else evaluator.fingerprint(code)
    return _loop.run_until_complete(work)


def _close() -> None:
    if _loop is None or _loop.is_closed():
        return
    for evaluator in _evaluators.values():
        try:
            _loop.run_until_complete(evaluator.close())
        except Exception:  # the process is ending; the pool server exits when its socket closes anyway
            pass
    _evaluators.clear()
