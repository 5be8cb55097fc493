"""Composition root: build a run (new or resumed) from a problem, a config and a run directory."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from . import config as config_mod
from .config import Config
from .errors import ConfigError, StoreError
from .events import EventLog
from .evaluation import Limits, PoolEvaluator, ProcessEvaluator, Spec
from .executors import LocalExecutor
from .operators import Context, build_operators
from .problem import Problem
from .program import Program
from .runner import Runner, Stats
from .store import Store
from .strategy import Strategy

RESOLVED_CONFIG = "config.resolved.yaml"


@dataclass
class Result:
    """What a finished run leaves: the best program, the stats and the store with everything."""

    run_dir: Path
    best: Program
    stats: Stats
    store: Store

    @property
    def score(self) -> float | None:
        return self.best.score

    def programs(self, status: str | None = None) -> list[Program]:
        return self.store.programs(status)


def default_run_dir(problem: Problem) -> Path:
    return Path("runs") / f"{problem.name}-{time.strftime('%Y%m%d-%H%M%S')}"


def prepare(
    problem_dir: str | Path | None = None,
    *,
    overrides: dict[str, Any] | None = None,
    config_file: str | Path | None = None,
    run_dir: str | Path | None = None,
    resume: str | Path | None = None,
) -> tuple[Problem, Config, Store, Path]:
    """Load or create everything a run needs; every misuse fails here, before any work."""
    if resume is not None:
        run_path = Path(resume)
        store = Store.open(run_path / Store.FILE if run_path.is_dir() else run_path)
        run_path = store.path.parent
        saved = store.meta("config")
        if not isinstance(saved, dict):
            raise StoreError(f"{store.path}: no saved config")
        problem = Problem.load(problem_dir or store.meta("problem"))
        config = config_mod.build(saved, overrides)
        store.set_meta("config", config.to_dict())
    else:
        if problem_dir is None:
            raise ConfigError("a problem directory is required (or --resume RUN_DIR)")
        problem = Problem.load(problem_dir)
        file = Path(config_file) if config_file is not None else problem.config_path
        config = config_mod.load(file, overrides)
        run_path = Path(run_dir) if run_dir is not None else default_run_dir(problem)
        store = Store.create(run_path / Store.FILE, {"problem": str(problem.root), "config": config.to_dict()})
    _write_resolved(run_path, config)
    return problem, config, store, run_path


def _write_resolved(run_path: Path, config: Config) -> None:
    import yaml

    (run_path / RESOLVED_CONFIG).write_text(yaml.safe_dump(config.to_dict(), sort_keys=False))


def build_evaluator(problem: Problem, config: Config) -> PoolEvaluator | ProcessEvaluator:
    ev = config.evaluation
    unknown = sorted(set(ev.cascade) - set(problem.stages))
    if unknown:
        raise ConfigError(f"config: evaluation.cascade: {', '.join(unknown)} not defined in "
                          f"{problem.evaluator_path.name} (it defines: {', '.join(problem.stages) or 'no stages'})")
    limits = Limits(cpu_seconds=ev.cpu_seconds or ev.timeout, memory_mb=ev.memory_mb,
                    open_files=ev.open_files, file_mb=ev.file_mb, processes=ev.processes,
                    no_network=not ev.network, sandbox_user=ev.sandbox_user)
    spec = Spec(
        evaluator_path=problem.evaluator_path, objective=config.objective, direction=config.direction,
        timeout=ev.timeout, limits=limits, allow_env=ev.pass_env,
        stages=tuple((name, ev.cascade.get(name)) for name in problem.stages),
        probe=ev.fingerprint.model_dump() if ev.fingerprint else None,
        objective_range=ev.objective_range, preload=tuple(dict.fromkeys(ev.preload + problem.imports())),
    )
    return PoolEvaluator(spec) if ev.pool else ProcessEvaluator(spec)


def build_runner(problem: Problem, config: Config, store: Store, run_path: Path,
                 on_progress: Callable[[Stats], None] | None = None) -> Runner:
    operators = build_operators(config)
    evaluator = build_evaluator(problem, config)
    return Runner(
        config=config,
        store=store,
        strategy=Strategy(config, mate_operators=frozenset(n for n, o in operators.items() if o.needs_mate)),
        operators=operators,
        executor=LocalExecutor(evaluator, slots=config.workers),
        context=Context(task=problem.task, objective=config.objective, direction=config.direction),
        events=EventLog(store, run_path / "events.jsonl"),
        on_progress=on_progress,
        fingerprints=evaluator.spec.fingerprints,
    )


async def execute(problem: Problem, config: Config, store: Store, run_path: Path, *,
                  on_progress: Callable[[Stats], None] | None = None,
                  handle_signals: bool = False) -> Result:
    runner = build_runner(problem, config, store, run_path, on_progress)
    try:
        stats = await runner.run(problem.initial_code, handle_signals=handle_signals)
    finally:
        await runner.executor.close()
    best = store.program(stats.best_id) if stats.best_id else None
    assert best is not None
    write_best(run_path, best)
    return Result(run_path, best, stats, store)


def write_best(run_path: Path, best: Program) -> None:
    import json

    out = run_path / "best"
    out.mkdir(exist_ok=True)
    (out / "program.py").write_text(best.code)
    (out / "metrics.json").write_text(json.dumps(
        {"id": best.id, "score": best.score, "metrics": best.metrics, "generation": best.generation,
         "operator": best.operator}, indent=2))


def evolve(problem_dir: str | Path, *, run_dir: str | Path | None = None,
           config_file: str | Path | None = None, **overrides: Any) -> Result:
    """Evolve the program in ``problem_dir``; keyword overrides use dotted config keys
    with ``__`` for the dots (``islands__count=2``) or plain top-level names (``budget=50``)."""
    flat = {k.replace("__", "."): v for k, v in overrides.items()}
    problem, config, store, run_path = prepare(problem_dir, overrides=flat, config_file=config_file,
                                               run_dir=run_dir)
    return asyncio.run(execute(problem, config, store, run_path))
