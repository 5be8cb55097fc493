"""ShinkaEvolve's YAML config (``shinka.yaml``, ``shinka_small.yaml``...: ``evo_config``,
``db_config``, ``job_config`` and the job counts) as Cambrian config data (see ``translation``).

ShinkaEvolve's examples keep the task text in ``run_evo.py`` (a string assigned to a
name ending in ``sys_msg``): it is read from there, statically, when no task.md exists.
"""

from __future__ import annotations

import ast
from urllib.parse import parse_qs, urlencode, urlparse, urlunparse
from pathlib import Path
from typing import Any, Mapping

from .translation import Translation, model_entry, walk

TOP_LEVEL = {"evo_config", "db_config", "job_config", "max_evaluation_jobs", "max_proposal_jobs", "max_db_workers"}
FORMATS = {"diff": "diff", "full": "rewrite", "cross": "crossover"}
SELECTION = {"weighted": "weighted", "power_law": "power_law"}

IGNORED = {
    "max_proposal_jobs": "proposals in flight follow workers",
    "max_db_workers": "one store, written by one process",
    "evo_config.max_patch_resamples": "llm.retry_with_error retries a failed edit",
    "evo_config.max_patch_attempts": "llm.retry_with_error retries a failed edit",
    "evo_config.max_novelty_attempts": "novelty.resamples",
    "evo_config.job_type": "candidates run in Cambrian's sandbox", "evo_config.language": "the initial program's",
    "evo_config.results_dir": "the run directory (--run-dir)",
    "evo_config.embedding_model": "novelty uses code shingles", "evo_config.code_embed_sim_threshold": "novelty.threshold",
    "evo_config.novelty_llm_models": "no LLM novelty judge", "evo_config.meta_rec_interval": "llm.insights_every",
    "evo_config.meta_llm_models": "insights use the run's models",
    "evo_config.llm_dynamic_selection": "Cambrian's bandit chooses among models and operators",
    "evo_config.evolve_prompts": "prompt evolution is not supported",
    "evo_config.use_text_feedback": "feedback is always shown",
    "db_config.archive_selection_strategy": "each island keeps its elites",
    "db_config.island_selection_strategy": "the search policy chooses islands",
    "db_config.elite_selection_ratio": "selection.method",
    "db_config.migration_rate": "islands.migrants", "db_config.island_elitism": "elites always stay",
    "db_config.enforce_island_separation": "islands only meet at migration",
    "db_config.enable_dynamic_islands": "search.policy adaptive opens islands on stagnation",
    "db_config.stagnation_threshold": "search.patience",
}

PREFIXES = {
    "evo_config.prompt_": "prompt evolution is not supported",
    "evo_config.llm_dynamic_selection_kwargs": "Cambrian's bandit settings are in bandit.*",
    "evo_config.novelty_llm_kwargs": "no LLM novelty judge",
    "evo_config.meta_llm_kwargs": "insights use the run's models",
    "evo_config.proposal_": "proposals in flight follow workers",
    "evo_config.enable_controlled_oversubscription": "proposals in flight follow workers",
    "evo_config.task_sys_msg": "not text",
    "db_config.archive_criteria": "the objective ranks programs",
    "db_config.island_spawn": "search.policy adaptive opens islands on stagnation",
}


def translate(data: dict[str, Any], *, label: str, root: Path, stages: tuple[str, ...],
              env: Mapping[str, str]) -> Translation:
    t = Translation(label)
    evo = data.get("evo_config") if isinstance(data.get("evo_config"), dict) else {}
    handled = _models(t, evo, env) | _formats(t, evo)
    simple = {"evo_config.num_generations": "budget", "evo_config.max_api_costs": "max_cost",
              "max_evaluation_jobs": "workers", "db_config.num_islands": "islands.count",
              "db_config.archive_size": "archive.population_size",
              "db_config.migration_interval": "islands.migration_interval",
              "db_config.parent_selection_lambda": "selection.weighted_lambda"}
    inspirations: dict[str, int] = {}
    for key, value in walk(data):
        if key in handled or value is None:
            continue
        if key in simple:
            t.set(key, value, simple[key])
        elif key in ("db_config.num_archive_inspirations", "db_config.num_top_k_inspirations"):
            if isinstance(value, int):
                inspirations[key] = value
            else:
                t.note(key, value, "not an integer")
        elif key == "db_config.parent_selection_strategy" and value in SELECTION:
            t.set(key, value, "selection.method", SELECTION[value])
        elif key == "job_config.time" and isinstance(value, str):
            seconds = _seconds(value)
            if seconds:
                t.set(key, value, "evaluation.timeout", seconds)
            else:
                t.note(key, value, "not HH:MM:SS")
        elif key == "evo_config.task_sys_msg" and isinstance(value, str):
            t.set_task(root, key, value)
        elif key == "evo_config.init_program_path" and value in ("initial.py", "./initial.py"):
            t.mapped.append((f"{key}: {value}", "the initial program"))
        elif key in IGNORED:
            t.note(key, value, IGNORED[key])
        elif any(key.startswith(prefix) for prefix in PREFIXES):
            t.note(key, value, next(why for prefix, why in PREFIXES.items() if key.startswith(prefix)))
        else:
            t.note(key, value, "unknown to this translation")
    if inspirations:
        total = sum(inspirations.values())
        t.set(" + ".join(inspirations), total, "selection.inspirations", min(total, 20))
    if t.task is None and not (root / "task.md").is_file():
        found = _task_from_script(root / "run_evo.py")
        if found is not None:
            t.set_task(root, f"run_evo.py {found[0]}", found[1])
    return t


def _task_from_script(path: Path) -> tuple[str, str] | None:
    """A top-level ``*sys_msg = "..."`` string in ShinkaEvolve's launch script (never run)."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError):
        return None
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            for target in node.targets:
                if isinstance(target, ast.Name) and target.id.endswith("sys_msg"):
                    return target.id, node.value.value
    return None


def _seconds(text: str) -> float | None:
    parts = text.split(":")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        return None
    seconds = 0.0
    for v in values:
        seconds = seconds * 60 + v
    return seconds if seconds > 0 else None


KWARGS_IGNORED = {"reasoning_efforts": "ShinkaEvolve samples one per call; set llm.models[*].reasoning_effort "
                                        "in cambrian.yaml to fix one"}
# ShinkaEvolve routes a model by its name; these reach an OpenAI-compatible endpoint here.
ENDPOINTS = (("gemini", "https://generativelanguage.googleapis.com/v1beta/openai/", "GEMINI_API_KEY"),
             ("deepseek", "https://api.deepseek.com", "DEEPSEEK_API_KEY"))


def backend(name: Any) -> tuple[Any, str | None, str | None]:
    """A ShinkaEvolve model name as (model, endpoint or None, API key variable or None), as
    ShinkaEvolve resolves it: ``local/MODEL@URL[?api_key_env=VAR]``, ``openrouter/MODEL``,
    Gemini and DeepSeek models by name; other names go to OpenAI (or Anthropic: claude-*)."""
    if not isinstance(name, str):
        return name, None, None
    if name.startswith("local/") and "@" in name:
        model, _, url = name[len("local/"):].partition("@")
        parsed = urlparse(url)
        query = parse_qs(parsed.query)
        key_env = (query.pop("api_key_env", [None]) or [None])[0]
        base = urlunparse(parsed._replace(query=urlencode(query, doseq=True)))
        return model, base, key_env
    if name.startswith("openrouter/"):
        return name[len("openrouter/"):], "https://openrouter.ai/api/v1", "OPENROUTER_API_KEY"
    for prefix, base, key_env in ENDPOINTS:
        if name.startswith(prefix):
            return name, base, key_env
    return name, None, None


def _models(t: Translation, evo: dict[str, Any], env: Mapping[str, str]) -> set[str]:
    kwargs = evo.get("llm_kwargs") if isinstance(evo.get("llm_kwargs"), dict) else {}
    extra: dict[str, Any] = {}
    temperatures = kwargs.get("temperatures")
    if isinstance(temperatures, list) and temperatures and all(isinstance(x, (int, float)) for x in temperatures):
        extra["temperature"] = float(sum(temperatures) / len(temperatures))
    if isinstance(kwargs.get("max_tokens"), int):
        extra["max_tokens"] = kwargs["max_tokens"]
    entries = []
    for i, name in enumerate(evo.get("llm_models") or []):
        model, base, key_env = backend(name)
        entry = model_entry(t, f"evo_config.llm_models[{i}]", model, base=base, env=env, key_env=key_env, **extra)
        if entry is not None:
            entries.append(entry)
            t.mapped.append((f"evo_config.llm_models[{i}]: {name}", f"llm.models: {entry['model']}"))
    if entries:
        t.config.setdefault("llm", {})["models"] = entries
        if extra:
            t.mapped.append(("evo_config.llm_kwargs", "each model's " + ", ".join(f"{k} {v:g}" for k, v in extra.items())
                             + " (the mean of Shinka's temperatures)" * ("temperature" in extra)))
        for key, value in kwargs.items():
            if key not in ("temperatures", "max_tokens"):
                t.note(f"evo_config.llm_kwargs.{key}", value, KWARGS_IGNORED.get(key, "not settable here"))
    elif kwargs:
        t.note("evo_config.llm_kwargs", None, "no model to apply them to")
    return {"evo_config.llm_models"} | {f"evo_config.llm_kwargs.{k}" for k in kwargs} | {"evo_config.llm_kwargs"}


def _formats(t: Translation, evo: dict[str, Any]) -> set[str]:
    types, probs = evo.get("patch_types"), evo.get("patch_type_probs")
    if not isinstance(types, list) or not types:
        return set()
    if not isinstance(probs, list) or len(probs) != len(types):
        probs = [1.0 / len(types)] * len(types)
    formats = {FORMATS[p]: float(w) for p, w in zip(types, probs) if p in FORMATS}
    if formats:
        t.set("evo_config.patch_types", types, "llm.formats", formats)
    for p in types:
        if p not in FORMATS:
            t.note(f"evo_config.patch_types: {p}", None, "no such edit format here")
    return {"evo_config.patch_types", "evo_config.patch_type_probs"}
