"""OpenEvolve's ``config.yaml`` as Cambrian config data (see ``translation``).

OpenEvolve's defaults matter even without a file: its cascade is on by default with
thresholds 0.5, 0.75 (and 0.9, unused with three stages), so a directory whose evaluator
defines ``evaluate_stage1`` gets those thresholds unless its config says otherwise.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Mapping

from .translation import Translation, env_reference, model_entry, walk

DEFAULT_THRESHOLDS = (0.5, 0.75, 0.9)
TOP_LEVEL = {"max_iterations", "checkpoint_interval", "log_level", "log_dir", "random_seed", "language",
             "file_suffix", "llm", "prompt", "database", "evaluator", "evolution_trace", "diff_based_evolution",
             "allow_full_rewrites", "max_code_length", "diff_pattern", "early_stopping_patience",
             "convergence_threshold", "early_stopping_metric", "max_tasks_per_child"}

# Keys with no Cambrian counterpart, and why that is fine (or what to do instead).
IGNORED = {
    "checkpoint_interval": "the store is the checkpoint: every candidate is saved as it finishes",
    "log_level": "no effect here", "log_dir": "events go to the run directory's events.jsonl",
    "language": "evolved as the initial program's language", "file_suffix": "taken from the initial program",
    "max_code_length": "no length limit", "diff_pattern": "Cambrian's own SEARCH/REPLACE format",
    "max_tasks_per_child": "every candidate runs in a fresh forked process anyway",
    "convergence_threshold": "Cambrian's patience counts candidates without improvement",
    "early_stopping_metric": "the objective is the stopping metric",
    "allow_full_rewrites": "llm.formats decides (set from diff_based_evolution)",
    "evolution_trace": "the store records every candidate, prompt and reply",
    "llm.primary_model_weight": "Cambrian's bandit chooses among the models",
    "llm.secondary_model_weight": "Cambrian's bandit chooses among the models",
    "llm.top_p": "not settable", "llm.retry_delay": "backoff is built in",
    "llm.api_key": "keys are read from the environment only", "llm.system_message": "Cambrian's prompt templates",
    "llm.random_seed": "the run's seed", "llm.manual_mode": "not supported",
    "llm.evaluator_models": "LLM feedback on programs is not supported",
    "database.archive_size": "each island keeps its elites", "database.elite_selection_ratio": "selection.method",
    "database.exploration_ratio": "search.explore_share", "database.exploitation_ratio": "search.explore_share",
    "database.diversity_metric": "no effect here", "database.diversity_reference_size": "no effect here",
    "database.feature_dimensions": "Cambrian's features need fixed ranges: set archive.features",
    "database.feature_bins": "set with archive.features", "database.db_path": "the run directory holds the store",
    "database.in_memory": "the store is SQLite on disk", "database.log_prompts": "prompts are always recorded",
    "database.embedding_model": "novelty uses code shingles", "database.similarity_threshold": "novelty.threshold",
    "evaluator.max_retries": "a failed candidate is data, never retried (the sandbox retries its own failures)",
    "evaluator.cpu_limit": "evaluation.cpu_seconds bounds CPU time", "evaluator.distributed": "executors",
    "evaluator.use_llm_feedback": "LLM feedback on programs is not supported",
    "evaluator.llm_feedback_weight": "LLM feedback on programs is not supported",
    "evaluator.enable_artifacts": "artifacts are always stored as feedback",
    "evaluator.max_artifact_storage": "artifacts are capped per value",
}

PER_MODEL = {"weight": "Cambrian's bandit chooses among the models",
             "api_key": "keys are read from the environment only (the model's provider variable)"}


def translate(data: dict[str, Any], *, label: str, root: Path, stages: tuple[str, ...],
              env: Mapping[str, str]) -> Translation:
    t = Translation(label)
    llm = data.get("llm") if isinstance(data.get("llm"), dict) else {}
    database = data.get("database") if isinstance(data.get("database"), dict) else {}
    handled = _models(t, llm, env)
    handled |= _cascade(t, data.get("evaluator") if isinstance(data.get("evaluator"), dict) else {}, stages)
    handled |= _islands(t, database)
    simple = {"max_iterations": "budget", "early_stopping_patience": "patience", "llm.timeout": "llm.request_timeout",
              "llm.retries": "llm.retries", "evaluator.timeout": "evaluation.timeout",
              "evaluator.parallel_evaluations": "workers", "evaluator.memory_limit_mb": "evaluation.memory_mb",
              "prompt.num_top_programs": "selection.inspirations"}
    for key, value in walk(data):
        if key in handled:
            continue
        if key in simple and value is not None:
            t.set(key, value, simple[key], min(value, 20) if key == "prompt.num_top_programs" else None)
        elif key in ("random_seed", "database.random_seed"):
            if value is not None and "seed" not in t.config:
                t.set(key, value, "seed")
            else:
                t.note(key, value, "the seed is set once")
        elif key == "diff_based_evolution":
            if value is False:
                t.set(key, value, "llm.formats", {"rewrite": 1.0})
            else:
                t.note(key, value, "Cambrian's default mix of diff, rewrite and crossover")
        elif key == "prompt.system_message" and isinstance(value, str):
            t.set_task(root, key, value)
        elif key.startswith("prompt."):
            t.note(key, value, "Cambrian's prompt templates (llm.prompts_dir to replace them)")
        elif key in IGNORED:
            t.note(key, value, IGNORED[key])
        else:
            t.note(key, value, "unknown to this translation")
    return t


def _models(t: Translation, llm: dict[str, Any], env: Mapping[str, str]) -> set[str]:
    """llm.models / primary_model / secondary_model -> llm.models."""
    base = llm.get("api_base") or None
    if base == "https://api.openai.com/v1":
        base = None
    key_env = env_reference(llm.get("api_key"))
    common = {k: v for k, v in (("temperature", llm.get("temperature")), ("max_tokens", llm.get("max_tokens")))
              if v is not None}
    effort = llm.get("reasoning_effort")
    if effort in ("minimal", "low", "medium", "high"):
        common["reasoning_effort"] = effort
    named: list[tuple[str, Any, dict[str, Any]]] = []
    for i, m in enumerate(llm.get("models") or []):
        if isinstance(m, dict):
            own = {k: m[k] for k in ("temperature", "max_tokens") if m.get(k) is not None}
            named.append((f"llm.models[{i}].name", m.get("name"), {**own, "_base": m.get("api_base")}))
            for key, value in m.items():
                if key not in ("name", "temperature", "max_tokens", "api_base"):
                    t.note(f"llm.models[{i}].{key}", value, PER_MODEL.get(key, "not settable per model here"))
        else:
            t.note(f"llm.models[{i}]", m, "not a mapping with a name")
    for key in ("primary_model", "secondary_model"):
        if llm.get(key):
            named.append((f"llm.{key}", llm[key], {}))
    entries = []
    for source, name, own in named:
        model_base = own.pop("_base", None) or base
        entry = model_entry(t, source, name, base=model_base, env=env, key_env=key_env, **{**common, **own})
        if entry is not None:
            entries.append(entry)
            t.mapped.append((f"{source}: {name}", f"llm.models: {entry['model']}"))
    if entries:
        t.config.setdefault("llm", {})["models"] = entries
    handled = {"llm.api_base", "llm.temperature", "llm.max_tokens", "llm.reasoning_effort", "llm.primary_model",
               "llm.secondary_model", "llm.models"}
    if key_env and entries:
        t.mapped.append((f"llm.api_key: {llm['api_key']}", f"each model's api_key_env: {key_env}"))
        handled.add("llm.api_key")
    for key in ("temperature", "max_tokens", "api_base", "reasoning_effort"):
        if llm.get(key) is None:
            continue
        if not entries:
            t.note(f"llm.{key}", llm[key], "no model to apply it to")
        elif key == "api_base":
            t.mapped.append((f"llm.api_base: {llm[key]}", "each model's endpoint (unless it names its own)"))
        elif key in common:
            t.mapped.append((f"llm.{key}: {llm[key]}", f"each model's {key} (unless it sets its own)"))
        else:
            t.note(f"llm.{key}", llm[key], "not one of minimal, low, medium, high")
    return handled


def _cascade(t: Translation, evaluator: dict[str, Any], stages: tuple[str, ...]) -> set[str]:
    """cascade_evaluation / cascade_thresholds -> evaluation.cascade_stages / evaluation.cascade."""
    on = evaluator.get("cascade_evaluation", True)
    thresholds = evaluator.get("cascade_thresholds", list(DEFAULT_THRESHOLDS))
    given = "evaluator.cascade_thresholds" if "cascade_thresholds" in evaluator else "OpenEvolve's default thresholds"
    if not stages:
        for key in ("cascade_evaluation", "cascade_thresholds"):
            if key in evaluator:
                t.note(f"evaluator.{key}", evaluator[key], "the evaluator defines no evaluate_stageN")
        return {"evaluator.cascade_evaluation", "evaluator.cascade_thresholds"}
    if on is False:
        t.set("evaluator.cascade_evaluation", False, "evaluation.cascade_stages")
        return {"evaluator.cascade_evaluation", "evaluator.cascade_thresholds"}
    if "cascade_evaluation" in evaluator:
        t.mapped.append((f"evaluator.cascade_evaluation: {on}",
                         f"{', '.join(stages)} run in turn, the last is the full evaluation"))
    if not isinstance(thresholds, list) or not all(isinstance(x, (int, float)) for x in thresholds):
        t.note("evaluator.cascade_thresholds", thresholds, "not a list of numbers")
        thresholds = []
    # The threshold after stage i gates stage i+1; nothing follows the last stage.
    cascade = {name: float(x) for name, x in zip(stages[:-1], thresholds) if math.isfinite(x)}
    if cascade:
        t.set(given, thresholds, "evaluation.cascade", cascade)
    unused = thresholds[len(stages) - 1:]
    if unused:
        t.note(f"{given} beyond stage {len(stages) - 1}", unused, "no stage follows")
    return {"evaluator.cascade_evaluation", "evaluator.cascade_thresholds"}


def _islands(t: Translation, database: dict[str, Any]) -> set[str]:
    islands = database.get("num_islands")
    if isinstance(islands, int) and islands >= 1:
        t.set("database.num_islands", islands, "islands.count")
    size = database.get("population_size")
    if isinstance(size, int) and size >= 1:
        per = max(1, math.ceil(size / (islands if isinstance(islands, int) and islands >= 1 else 1)))
        t.set("database.population_size", size, "archive.population_size", per)
    if database.get("migration_interval") is not None:
        t.set("database.migration_interval", database["migration_interval"], "islands.migration_interval")
    rate = database.get("migration_rate")
    if isinstance(rate, (int, float)):
        per = t.config.get("archive", {}).get("population_size", 40)
        t.set("database.migration_rate", rate, "islands.migrants", max(1, round(rate * per)))
    return {"database.num_islands", "database.population_size", "database.migration_interval",
            "database.migration_rate"}
