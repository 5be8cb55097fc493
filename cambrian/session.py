"""Composition root: build a run (new or resumed) from a problem, a config and a run directory."""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from . import config as config_mod
from . import tree
from .config import Config, EvaluationConfig
from .conventions import not_scoring, translation
from .errors import ConfigError, NothingToDo, StoreError
from .events import EventLog
from .evaluation import Limits, Spec
from .executors import make_executor
from .llm import CallBudget, LLMClient, ModelSpec, parse_model
from .operators import Context, Operator, build_operators
from .operators.llm import LLMOperator
from .operators.seeds import SEED, SEEDS_KEY, Seeds
from .prompt import load_templates
from .problem import Problem
from .profiles import island_arms
from .program import Program, program_id
from .resume import SHAPE_KEY, RunShape, as_saved, changed_files, check_resume, evaluator_digests, instead, shape_for
from .runner import Runner, Stats
from .store import Store
from .strategy import Strategy

RESOLVED_CONFIG = "config.resolved.yaml"
TRANSLATION = "config.translation.txt"   # what a peer's config became, key by key


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
    base_config: dict[str, Any] | None = None,
    on_note: Callable[[str], None] | None = None,
) -> tuple[Problem, Config, Store, Path]:
    """Load or create everything a run needs; every misuse fails here, before any work.

    Nothing is written to a run being resumed until every check has passed: a refused
    resume leaves the run exactly as it was."""
    note = on_note or (lambda text: None)
    if resume is not None:
        return _prepare_resume(problem_dir, Path(resume), overrides, note)
    if problem_dir is None:
        raise ConfigError("a problem directory is required (or --resume RUN_DIR)")
    problem = Problem.load(problem_dir, convention=(overrides or {}).get("convention"))
    convention = {**(overrides or {}), "convention": problem.convention}
    translated: list[str] = []
    if base_config is not None:
        config = config_mod.build(base_config, convention, saved=True)
        problem = translation.with_task(problem)
    else:
        file = Path(config_file) if config_file is not None else problem.config_path
        data, task, translated = translation.configure(problem, file)
        for line in translated:
            note(line)
        config = config_mod.build(data, convention)
        problem = translation.with_task(problem, task)
    check(problem, config)
    run_path = Path(run_dir) if run_dir is not None else default_run_dir(problem)
    if (run_path / Store.FILE).exists() and _never_started(run_path):
        note(f"{run_path} holds a run that never got past its initial program: starting it again")
        _remove_run(run_path)
    store = Store.create(run_path / Store.FILE, {"problem": str(problem.root), **_fixed_meta(problem, config)}).claim()
    _write_resolved(run_path, config)
    if translated:
        (run_path / TRANSLATION).write_text("\n".join(translated) + "\n")
    return problem, config, store, run_path


def _fixed_meta(problem: Problem, config: Config, shape: RunShape | None = None) -> dict[str, Any]:
    return {"config": config.to_dict(), "config_digest": config.digest(),
            SHAPE_KEY: (shape or shape_for(config)).to_dict(),
            "evaluator_digest": evaluator_digests(problem.root, _not_scoring(problem))}


def _not_scoring(problem: Problem) -> frozenset[str]:
    return not_scoring(problem.root, problem.convention, problem.program_file)


def _candidates_done(store: Store) -> int:
    return store.scalar("SELECT COALESCE(MAX(seq), 0) FROM attempts")


def _never_started(run_path: Path) -> bool:
    """A store with no candidate beyond the initial program (it failed, or stopped there)."""
    try:
        store = Store.open(run_path / Store.FILE)
    except StoreError:
        return False
    try:
        if _candidates_done(store) != 0:
            return False
        store.claim()  # a run still evaluating its initial program is not removed under it
        return True
    finally:
        store.close()


def _remove_run(run_path: Path) -> None:
    import shutil

    for name in (Store.FILE, Store.FILE + "-wal", Store.FILE + "-shm", "events.jsonl", RESOLVED_CONFIG):
        (run_path / name).unlink(missing_ok=True)
    shutil.rmtree(run_path / "best", ignore_errors=True)


def _prepare_resume(problem_dir: str | Path | None, run_path: Path, overrides: dict[str, Any] | None,
                    note: Callable[[str], None]) -> tuple[Problem, Config, Store, Path]:
    store = Store.open(run_path / Store.FILE if run_path.is_dir() else run_path).claim()
    run_path = store.path.parent
    saved = store.meta("config")
    if not isinstance(saved, dict):
        raise StoreError(f"{store.path}: no saved config")
    saved = as_saved(saved)
    problem = Problem.load(problem_dir or store.meta("problem"),
                           convention=(overrides or {}).get("convention") or saved.get("convention"))
    problem = translation.with_task(problem)
    config = config_mod.build(saved, overrides, saved=True)
    check(problem, config)
    done = _candidates_done(store)
    if done == 0:
        # Nothing was searched yet: the run starts again in place, with whatever changed.
        note(f"resuming {run_path}: no candidate yet, so the initial program is evaluated again")
        store.reset_initial()
        for key, value in _fixed_meta(problem, config).items():
            store.set_meta(key, value)
        _write_resolved(run_path, config)
        return problem, config, store, run_path
    stored_shape = store.meta(SHAPE_KEY)
    shape = RunShape.from_dict(stored_shape) if stored_shape else shape_for(config_mod.build(saved, saved=True))
    check_resume(saved, config, shape, run_dir=run_path)
    evaluator = store.meta("evaluator_digest")
    changed = changed_files(evaluator, problem.root, problem.evaluator_path, _not_scoring(problem)) if evaluator is not None else []
    if changed:
        raise ConfigError(f"cannot resume: {', '.join(changed)} changed since this run started (in {problem.root}),"
                          f" so old and new scores would mix; {instead(run_path)}")
    initial = store.attempt(0)
    if initial is not None and initial.program_id != program_id(problem.initial_code):
        raise ConfigError(f"cannot resume: {problem.program_path} changed since this run started; "
                          f"{instead(run_path)}")
    if config.budget < done:
        raise ConfigError(f"budget {config.budget} is below the {done} candidates this run has done; nothing "
                          f"changed (resume with --budget above {done})")
    stored = store.scalar("SELECT COUNT(*) FROM attempts WHERE seq > 0")
    if config.budget == done and stored == done:  # a candidate cancelled in flight leaves a gap: it is run
        raise NothingToDo(f"{run_path} has done its budget of {done} candidates; nothing changed "
                          f"(resume with --budget above {done} to go on)")
    sent = store.calls_sent() if config.max_calls is not None and config.llm.models else 0
    if config.max_calls is not None and config.max_calls < sent:
        raise ConfigError(f"max calls {config.max_calls} is below the {sent} LLM calls this run has sent; nothing "
                          f"changed (resume with --max-calls above {sent})")
    store.set_meta("config", config.to_dict())
    store.set_meta("config_digest", config.digest())
    if not stored_shape:
        store.set_meta(SHAPE_KEY, shape.to_dict())
    _write_resolved(run_path, config)
    note(f"resuming {run_path} at candidate {done + 1} of {config.budget}")
    return problem, config, store, run_path


def _write_resolved(run_path: Path, config: Config) -> None:
    import yaml

    (run_path / RESOLVED_CONFIG).write_text(yaml.safe_dump(config.to_dict(), sort_keys=False))


FROM_SEEDS = 40   # programs a run started with --from takes from its source


def seed_from(store: Store, source: Store, problem: Problem, config: Config) -> int:
    """Seed a new run with the best programs of ``source``: its first candidates re-evaluate
    them under this run's evaluator and settings. Returns how many were taken."""
    saved = source.meta("config") or {}
    maximize = saved.get("direction", "maximize") == "maximize"
    initial = program_id(problem.initial_code)
    codes = [p.code for p in source.top(FROM_SEEDS + 1, maximize=maximize) if p.id != initial]
    codes = codes[:min(FROM_SEEDS, config.budget)]
    store.set_meta(SEEDS_KEY, {"from": str(source.path.parent), "codes": codes})
    return len(codes)


def limits_for(ev: EvaluationConfig) -> Limits:
    return Limits(cpu_seconds=ev.cpu_seconds or ev.timeout, memory_mb=ev.memory_mb, open_files=ev.open_files,
                  file_mb=ev.file_mb, disk_mb=ev.disk_mb, processes=ev.processes, no_network=not ev.network,
                  sandbox_uids=ev.sandbox_uids, writable=tuple(str(Path(w).resolve()) for w in ev.writable))


def check(problem: Problem, config: Config) -> None:
    """What the config asks of this problem and this machine, checked before a run dir exists."""
    ev = config.evaluation
    unknown = sorted(set(ev.cascade) - set(problem.stages))
    if unknown:
        raise ConfigError(f"config: evaluation.cascade: {', '.join(unknown)} not defined in "
                          f"{problem.evaluator_path.name} (it defines: {', '.join(problem.stages) or 'no stages'})")
    from .problem import _top_level_names as top_level_names

    if problem.convention == "openevolve" and problem.stages and not ev.cascade_stages \
            and "evaluate" not in top_level_names(problem.evaluator_path):
        raise ConfigError(f"config: {problem.evaluator_path.name} defines no evaluate(program_path), and "
                          "cascade_evaluation: false (evaluation.cascade_stages: false) calls evaluate alone")
    if problem.command and ev.fingerprint is not None:
        raise ConfigError(f"config: evaluation.fingerprint calls a Python function of the candidate; "
                          f"{problem.evaluator_path.name} is a command evaluator")
    if tree.kind(problem.initial_code) == "text" and not config.llm.models:
        raise ConfigError(f"config: llm.models is empty, and {problem.program_file} is a text: the built-in "
                          "operators edit numbers and code, so a text evolves only with an LLM (set llm.models)")
    if ev.sandbox_uids is not None:
        from .evaluation.identity import UidLease

        UidLease(*ev.sandbox_uids)  # a bad range is a one-line error now


def build_spec(problem: Problem, config: Config) -> Spec:
    """What every evaluation of this run runs, whichever executor runs it."""
    ev = config.evaluation
    check(problem, config)
    limits = limits_for(ev)
    spec = Spec(
        evaluator_path=problem.evaluator_path, objective=config.objective, direction=config.direction,
        timeout=ev.timeout, limits=limits, allow_env=ev.pass_env,
        stages=tuple((name, ev.cascade.get(name)) for name in problem.stages) if ev.cascade_stages else (),
        probe=ev.fingerprint.model_dump() if ev.fingerprint else None,
        objective_range=ev.objective_range, preload=tuple(dict.fromkeys(ev.preload + problem.imports())),
        command=problem.command,
        convention=problem.convention,
    )
    return spec


def build_arms(config: Config, store: Store, templates: dict[str, Any], *, replay: Store | None = None,
               calls: CallBudget | None = None) -> tuple[dict[str, Operator], dict[str, float], list[LLMClient]]:
    """Every operator the run may use, its weight, and the LLM clients to close afterwards."""
    operators: dict[str, Operator] = dict(build_operators(config))
    builtin = {n: w for n, w in config.operators.weights().items() if n in operators}
    llm = config.llm
    formats = {f: w for f, w in llm.formats.items() if w > 0}
    if not llm.models or not formats:
        return operators, builtin, []
    clients = []
    limits: dict[tuple[str, str | None], asyncio.Semaphore] = {}  # one per provider endpoint
    for m in llm.models:
        spec = ModelSpec(**parse_model(m.model), temperature=m.temperature, max_tokens=m.max_tokens,
                         reasoning_effort=m.reasoning_effort, price_in=m.price_in, price_out=m.price_out,
                         api_key_env=m.api_key_env)
        if replay is None:
            spec.api_key()  # a missing key is a one-line error now, not a failure per proposal
        limit = limits.setdefault((spec.provider, spec.base_url), asyncio.Semaphore(llm.concurrency))
        clients.append(LLMClient(spec, store=store, request_timeout=llm.request_timeout, retries=llm.retries,
                                 limit=limit, replay=replay, calls=calls))
    weights = {n: (1 - llm.share) * w / sum(builtin.values()) for n, w in builtin.items()} if builtin else {}
    for client in clients:
        for fmt, w in formats.items():
            op = LLMOperator(client, fmt, templates=templates, retry_with_error=llm.retry_with_error)
            operators[op.name] = op
            weights[op.name] = (llm.share if builtin else 1.0) * w / sum(formats.values()) / len(clients)
    return operators, weights, clients


def cost_bound(config: Config) -> float:
    """A proposal's cost before any is known: a long prompt and a full reply, twice (retry)."""
    bounds = [2 * (8000 * m.price_in + m.max_tokens * m.price_out) / 1e6 for m in config.llm.models]
    return max(bounds, default=0.0)


def build_runner(problem: Problem, config: Config, store: Store, run_path: Path,
                 on_progress: Callable[[Stats], None] | None = None, *, replay: Store | None = None,
                 on_note: Callable[[str], None] | None = None) -> Runner:
    templates = load_templates(Path(config.llm.prompts_dir) if config.llm.prompts_dir else None)
    calls = CallBudget(config.max_calls, used=store.calls_sent())
    operators, weights, clients = build_arms(config, store, templates, replay=replay, calls=calls)
    seeds = store.meta(SEEDS_KEY) or {}
    if seeds.get("codes"):
        operators[SEED] = Seeds(seeds["codes"])
    spec = build_spec(problem, config)
    saved_shape = store.meta(SHAPE_KEY)
    shape = RunShape.from_dict(saved_shape) if saved_shape else shape_for(config)
    use_bandit = config.operator_choice == "bandit" or (config.operator_choice == "auto" and bool(clients))
    kinds = {n: (o.client.spec.label, o.fmt) if isinstance(o, LLMOperator) else (None, None)
             for n, o in operators.items() if weights.get(n, 0) > 0}
    island_sets = island_arms(config.islands.profiles, kinds) if config.islands.profiles else ()
    return Runner(
        config=config,
        store=store,
        strategy=Strategy(config, mate_operators=frozenset(n for n, o in operators.items() if o.needs_mate),
                          arms=weights, bandit=use_bandit, shape=shape, island_arms=island_sets),
        operators=operators,
        clients=clients,
        cost_bound=cost_bound(config),
        templates=templates,
        calls=calls,
        executor=make_executor(spec, config=config, problem_dir=problem.root),
        context=Context(task=problem.task, objective=config.objective, direction=config.direction),
        events=EventLog(store, run_path / "events.jsonl"),
        on_progress=on_progress,
        fingerprints=spec.fingerprints,
        seeds=len(seeds.get("codes") or ()),
        on_note=on_note,
        program_path=problem.program_path,
    )


async def execute(problem: Problem, config: Config, store: Store, run_path: Path, *,
                  on_progress: Callable[[Stats], None] | None = None,
                  handle_signals: bool = False, replay: Store | None = None,
                  on_note: Callable[[str], None] | None = None, announce: str | None = None) -> Result:
    """Run to a stop. ``announce`` is said once everything is built (keys found, operators made)."""
    best_writer = _BestWriter(store, run_path, config, on_progress)
    runner = build_runner(problem, config, store, run_path, best_writer, replay=replay, on_note=on_note)
    if announce and on_note is not None:
        on_note(announce)
    summary = getattr(runner.executor, "summary", None)
    if summary is not None and on_note is not None:
        on_note(summary(config.workers))
    try:
        try:
            stats = await runner.run(problem.initial_code, handle_signals=handle_signals)
        finally:
            await runner.close()
            store.fold()  # however the run ended, what it recorded is in the database for every reader
    except sqlite3.Error as exc:
        raise StoreError(f"{store.path}: {exc}; every candidate stored before this is intact: "
                         f"fix the cause, then cambrian run --resume {run_path}") from None
    best = best_program(store, config)
    assert best is not None
    write_best(run_path, best)
    return Result(run_path, best, stats, store)


class _BestWriter:
    """Keeps best/ equal to the run's best program while the run goes on (a killed run's
    best/ is not stale), then passes the stats on to the progress display."""

    def __init__(self, store: Store, run_path: Path, config: Config,
                 then: Callable[[Stats], None] | None) -> None:
        self.store, self.run_path, self.config, self.then = store, run_path, config, then
        self.written: str | None = None

    def __call__(self, stats: Stats) -> None:
        if stats.best_id is not None and stats.best_id != self.written:
            best = best_program(self.store, self.config)
            if best is not None and best.id != self.written:
                write_best(self.run_path, best)
                self.written = best.id
        if self.then is not None:
            self.then(stats)


def best_program(store: Store, config: Config) -> Program | None:
    """The run's best program: the one ``cambrian status`` and ``cambrian best`` report."""
    top = store.top(1, maximize=config.direction == "maximize")
    return top[0] if top else None


def write_best(run_path: Path, best: Program) -> None:
    """best/program.py and best/metrics.json, each replaced atomically (temp file + rename);
    a program of another language or of several files is best/program.c or the tree best/program/."""
    import json

    out = run_path / "best"
    out.mkdir(exist_ok=True)
    metrics = json.dumps({"id": best.id, "score": best.score, "metrics": best.metrics,
                          "generation": best.generation, "operator": best.operator}, indent=2)
    if tree.is_bundle(best.code):
        _replace_tree(out / tree.program_name(best.code), best.code)
        files: tuple[tuple[str, str], ...] = (("metrics.json", metrics),)
    else:
        files = (("program.py", best.code), ("metrics.json", metrics))
    for name, text in files:
        tmp = out / f".{name}.{os.getpid()}.tmp"  # a name of its own: no other writer opens it
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, out / name)


def _replace_tree(dest: Path, code: str) -> None:
    """Write a bundle's file or tree at ``dest``, replacing what is there by renames."""
    staged, old = dest.with_name(f".{dest.name}.{os.getpid()}.tmp"), dest.with_name(f".{dest.name}.{os.getpid()}.old")
    for path in (staged, old):
        shutil.rmtree(path, ignore_errors=True)
    tree.write(code, staged)
    if dest.is_dir():  # a directory is not replaced by one rename: move it aside first
        os.replace(dest, old)
    os.replace(staged, dest)
    shutil.rmtree(old, ignore_errors=True)


def evolve(problem_dir: str | Path, *, run_dir: str | Path | None = None,
           config_file: str | Path | None = None, **overrides: Any) -> Result:
    """Evolve the program in ``problem_dir``; keyword overrides use dotted config keys
    with ``__`` for the dots (``islands__count=2``) or plain top-level names (``budget=50``)."""
    flat = {k.replace("__", "."): v for k, v in overrides.items()}
    problem, config, store, run_path = prepare(problem_dir, overrides=flat, config_file=config_file,
                                               run_dir=run_dir)
    return asyncio.run(execute(problem, config, store, run_path))
