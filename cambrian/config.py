"""Typed, validated configuration.

Unknown keys, wrong types and out-of-range values are errors naming the key path,
raised before anything runs. A ``Config`` is a frozen value: it can be hashed,
diffed, saved with the run and loaded again on resume.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from .errors import ConfigError


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProbeConfig(_Model):
    function: str = Field(description="a function of the candidate program")
    inputs: tuple[tuple[Any, ...], ...] = Field(min_length=1, description="argument lists to call it with")


class EvaluationConfig(_Model):
    timeout: float = Field(30.0, gt=0, description="wall-clock seconds per candidate")
    slots: int | None = Field(None, ge=1, description="evaluations at once; default: workers, at most the cores")
    pass_env: tuple[str, ...] = Field(
        (), description="environment variables the evaluator may see (all others are removed)"
    )
    writable: tuple[str, ...] = Field(
        (), description="directories every evaluation may write (the rest of the filesystem is read-only)"
    )
    cpu_seconds: float | None = Field(None, gt=0, description="CPU time limit; default: the timeout")
    memory_mb: int | None = Field(4096, ge=64, description="address-space limit per candidate")
    open_files: int | None = Field(256, ge=16)
    file_mb: int | None = Field(256, ge=1, description="largest file a candidate may write")
    disk_mb: int = Field(256, ge=8, description="all an evaluation may write, together: its work directory, "
                                                "/tmp, /var/tmp and /dev/shm (one tmpfs, in memory)")
    processes: int | None = Field(256, ge=8, description="process limit per evaluation (its own uid)")
    network: bool = Field(False, description="allow network access (default: cut where the kernel allows)")
    sandbox_uids: tuple[int, int] | None = Field(
        (2_100_000_000, 2_100_001_023),
        description="as root: [first, last] uids, one per evaluation in flight (null: stay root)",
    )
    pool: bool = Field(True, description="fork candidates from a warm server instead of a fresh interpreter")
    preload: tuple[str, ...] = Field((), description="modules the warm server imports once, e.g. scipy.optimize")
    cascade: dict[str, float] = Field(
        {}, description="evaluate_stageN -> threshold the objective must reach to go on"
    )
    cascade_stages: bool = Field(True, description="false: evaluate_stageN functions are not called "
                                                   "(OpenEvolve's cascade_evaluation: false)")
    fingerprint: ProbeConfig | None = Field(
        None, description="probe inputs for functional-equivalence caching (or define fingerprint() in evaluate.py)"
    )
    objective_range: tuple[float, float] | None = Field(
        None, description="[low, high]: an objective outside is invalid"
    )


class ExecutorConfig(_Model):
    kind: Literal["local", "ray"] = Field("local", description="where evaluations run: local processes, "
                                                                 "or Ray tasks on a cluster (the 'ray' extra)")
    address: str | None = Field(None, description="ray: HOST:PORT of the cluster's head (default: $RAY_ADDRESS)")
    cpus: float = Field(1.0, gt=0, description="ray: CPUs each evaluation reserves on its node")
    memory_mb: int | None = Field(None, ge=1, description="ray: memory each evaluation reserves on its node")
    gpus: float = Field(0.0, ge=0, description="ray: GPUs each evaluation reserves on its node")
    max_in_flight: int | None = Field(None, ge=1, description="ray: evaluations in flight at most "
                                                              "(default: what the cluster's nodes can hold)")
    resubmits: int = Field(3, ge=0, le=20, description="ray: times an evaluation whose node was lost is "
                                                      "submitted again before it counts as a failure")


class IslandProfile(_Model):
    models: tuple[str, ...] = Field((), description="the llm.models this island's LLM proposals use "
                                                     "(PROVIDER:NAME; empty: all of them)")
    formats: tuple[Literal["diff", "rewrite", "crossover"], ...] = Field(
        (), description="the edit formats this island uses (empty: all of llm.formats)")
    builtin: bool = Field(True, description="whether built-in operators propose on this island")
    instructions: str = Field("", description="text added to the task in this island's prompts")


class IslandsConfig(_Model):
    profiles: tuple[IslandProfile, ...] = Field(
        (), description="heterogeneous islands: island i proposes with profiles[i % len(profiles)]")
    count: Union[int, Literal["auto"]] = Field(
        "auto", description="policy 'adaptive': an integer caps the islands it opens (auto: search.max_islands); "
                            "policy 'islands': the island count ('auto' = 1 per 250 candidates of budget, 1 to 5)"
    )
    migration_interval: int = Field(50, ge=1, description="candidates between migrations")
    migrants: int = Field(1, ge=0, description="elites copied to the next island")

    @model_validator(mode="after")
    def _positive(self) -> "IslandsConfig":
        if self.count != "auto" and self.count < 1:
            raise ValueError("count must be >= 1 or 'auto'")
        return self


class SearchConfig(_Model):
    policy: Literal["adaptive", "islands", "greedy", "lineages", "best_of_n", "random_parent"] = Field(
        "adaptive", description="adaptive (default): exploit one island while it improves, split when it "
                                "stalls; islands: a fixed island count, power-law parents; or a baseline")
    max_islands: int = Field(4, ge=1, le=64, description="'adaptive': most islands open at once "
                                                          "(an integer islands.count overrides it)")
    patience: float = Field(3.0, gt=0, description="'adaptive': an island is stalled after this many times "
                                                   "its mean gap between improvements without one")
    min_patience: int = Field(12, ge=1, description="'adaptive': ... and at least this many candidates")
    explore_share: float = Field(0.25, ge=0, le=1, description="'adaptive': share of calls for the other "
                                                                "islands while the leading island is stalled")
    min_gain: float = Field(0.001, ge=0, le=1, description=(
        "'adaptive': an improvement resets its island's stall clock only if it gains more than this "
        "fraction of the island's best score's magnitude (smaller gains still become the island's best); "
        "0: every gain counts"))
    drift_evidence: float = Field(0.1, ge=0, le=1, description=(
        "'adaptive': an equal-scoring child becomes its island's parent (drift) only if, itself counted, "
        "at least this share of all the island's children since it was opened or restarted (failed ones "
        "included) scored exactly the island's best of their time (a plateau); 0: always"))
    adapt: bool = Field(True, description="'adaptive': false opens every island at the start, taking turns")
    cross_inspirations: bool = Field(True, description="'adaptive': prompts show other islands' best "
                                                       "(false: the parent's own island's)")
    resets: bool = Field(True, description="'adaptive': restart an island stuck for twice its patience")
    lineages: int = Field(3, ge=1, le=64, description="'lineages': independent greedy climbers")
    late_share: float = Field(0.5, ge=0, le=1, description="'lineages': the last share of the budget in "
                                                            "which each lineage's prompt shows the others' best")


class FeatureConfig(_Model):
    name: str = Field(description="a numeric metric of the evaluator, or 'code_length'")
    bins: int = Field(10, ge=1, le=1000)
    min: float
    max: float

    @model_validator(mode="after")
    def _range(self) -> "FeatureConfig":
        if not self.max > self.min:
            raise ValueError(f"max ({self.max}) must be greater than min ({self.min})")
        return self


class ArchiveConfig(_Model):
    population_size: int = Field(
        40, ge=1, description="elites per cell when there are no features (elitist population)"
    )
    cell_size: int = Field(1, ge=1, description="elites per cell when features are set")
    replace_equal: bool = Field(True, description="an equal-scoring newcomer may replace an elite "
                                                  "(drift across plateaus)")
    features: tuple[FeatureConfig, ...] = ()

    @field_validator("features")
    @classmethod
    def _distinct(cls, features: tuple[FeatureConfig, ...], info: ValidationInfo) -> tuple[FeatureConfig, ...]:
        names = [f.name for f in features]
        twice = next((n for i, n in enumerate(names) if n in names[:i]), None)
        # two axes of one metric: a grid whose cells off the diagonal stay empty; a run saved
        # with one (before this was refused) goes on with the grid it has
        if twice is not None and not (info.context or {}).get("saved"):
            raise ValueError(f"{twice!r} is given twice (each feature is one axis of the grid)")
        return features


class SelectionConfig(_Model):
    method: Literal["power_law", "weighted", "tournament", "boltzmann"] = "power_law"
    power_law_alpha: float = Field(1.5, ge=0)
    weighted_lambda: float = Field(10.0, gt=0)
    tournament_size: int = Field(3, ge=1)
    boltzmann_temperature: float = Field(0.1, gt=0)
    inspirations: int = Field(2, ge=0, le=20)


class PerturbConfig(_Model):
    weight: float = Field(0.6, ge=0)
    sigma: float = Field(0.1, gt=0, description="relative step size")
    log_scale_prob: float = Field(0.3, ge=0, le=1)
    max_constants: int = Field(3, ge=1, description="constants changed per candidate, at most")


class CrossoverConfig(_Model):
    weight: float = Field(0.15, ge=0)
    rate: float = Field(0.5, gt=0, le=1, description="share of constants taken from the mate")


class TuneConfig(_Model):
    weight: float = Field(0.0, ge=0, description="opt-in: moves every float constant at once")
    f: float = Field(0.7, gt=0, le=2, description="differential weight: step = f * (mate_a - mate_b)")
    cr: float = Field(0.9, gt=0, le=1, description="share of constants that take the step")
    sigma: float = Field(0.02, gt=0, description="relative Gaussian step when there is no usable mate")


class StructuralConfig(_Model):
    weight: float = Field(0.25, ge=0)


class OperatorsConfig(_Model):
    perturb: PerturbConfig = PerturbConfig()
    crossover: CrossoverConfig = CrossoverConfig()
    structural: StructuralConfig = StructuralConfig()
    tune: TuneConfig = TuneConfig()

    def weights(self) -> dict[str, float]:
        """Operator name -> weight, in a fixed order."""
        return {name: getattr(self, name).weight for name in type(self).model_fields}


class ModelConfig(_Model):
    model: str = Field(description="PROVIDER:NAME[@BASE_URL], e.g. openai:gpt-5-mini")
    temperature: float = Field(0.7, ge=0, le=2)
    max_tokens: int = Field(4096, ge=16)
    reasoning_effort: Literal["minimal", "low", "medium", "high"] | None = None
    price_in: float = Field(0.0, ge=0, description="dollars per million input tokens")
    price_out: float = Field(0.0, ge=0, description="dollars per million output tokens")
    api_key_env: str | None = Field(None, description="variable holding the key (default per provider)")

    @model_validator(mode="after")
    def _parse(self) -> "ModelConfig":
        from .llm.models import parse_model

        try:
            parse_model(self.model)
        except Exception as exc:  # ConfigError: re-raised as a validation error with its path
            raise ValueError(str(exc).replace("--model ", "")) from None
        return self


class LLMConfig(_Model):
    models: tuple[ModelConfig, ...] = ()
    formats: dict[Literal["diff", "rewrite", "crossover"], float] = Field(
        default_factory=lambda: {"diff": 0.6, "rewrite": 0.3, "crossover": 0.1})
    share: float = Field(0.8, ge=0, le=1, description="share of proposals for LLM operators "
                                                      "when operator_choice is 'weights'")
    request_timeout: float = Field(120.0, gt=0, description="seconds per HTTP request")
    proposal_timeout: float = Field(600.0, gt=0, description="hard cap on one proposal, retries included")
    retries: int = Field(4, ge=0, le=20)
    concurrency: int = Field(4, ge=1, description="requests in flight per provider endpoint")
    retry_with_error: bool = Field(True, description="retry a failed edit once, showing the model the error")
    history: int = Field(5, ge=0, le=50, description="earlier children of the parent shown in prompts")
    prompts_dir: str | None = Field(None, description="directory of replacement prompt templates")
    insights_every: int = Field(0, ge=0, description="condense recent results into notes every N candidates "
                                                     "(0: off; needs a model)")


class NoveltyConfig(_Model):
    enabled: bool = False
    threshold: float = Field(0.95, gt=0, le=1, description="estimated Jaccard similarity that counts as too similar")
    resamples: int = Field(2, ge=0, le=10, description="new proposals asked for before evaluating anyway")


class BanditConfig(_Model):
    exploration: float = Field(1.0, ge=0)
    cost_weight: float = Field(10.0, ge=0, description="reward units per dollar: what an improvement "
                                                      "of an island's best is worth, inverted (10: $0.10)")


class Config(_Model):
    seed: int = 0
    budget: int = Field(200, ge=1, description="candidates to propose (the initial program excluded)")
    max_time: float | None = Field(None, gt=0, description="wall-clock seconds for this session")
    target: float | None = Field(None, description="stop once the best score reaches this (inf, -inf when "
                                                 "minimizing: none, as it is never reached)")
    patience: int | None = Field(None, ge=1, description="stop after this many candidates without improvement")
    workers: int = Field(2, ge=1, le=512, description="candidates in flight at once (raise it for LLM runs)")
    objective: str = "combined_score"
    direction: Literal["maximize", "minimize"] = "maximize"
    max_cost: float | None = Field(None, gt=0, description="dollars: stop before spending more")
    max_calls: int | None = Field(None, ge=1, description="LLM requests, retries included: stop before sending more")
    convention: Literal["auto", "cambrian", "openevolve", "shinka"] = Field(
        "auto", description="the problem directory's convention (auto: detected from its file names)")
    operator_choice: Literal["auto", "weights", "bandit"] = Field(
        "auto", description="auto: bandit when LLM models are configured, weights otherwise")
    evaluation: EvaluationConfig = EvaluationConfig()
    executor: ExecutorConfig = ExecutorConfig()
    llm: LLMConfig = LLMConfig()
    bandit: BanditConfig = BanditConfig()
    novelty: NoveltyConfig = NoveltyConfig()
    search: SearchConfig = SearchConfig()
    islands: IslandsConfig = IslandsConfig()
    archive: ArchiveConfig = ArchiveConfig()
    selection: SelectionConfig = SelectionConfig()
    operators: OperatorsConfig = OperatorsConfig()

    @model_validator(mode="after")
    def _profiles_name_models(self) -> "Config":
        from .llm.models import parse_model

        known = {parse_model(m.model)["provider"] + ":" + parse_model(m.model)["name"] for m in self.llm.models}
        for i, profile in enumerate(self.islands.profiles):
            for text in profile.models:
                try:
                    parsed = parse_model(text)
                except Exception as exc:
                    raise ValueError(f"islands.profiles[{i}].models: {exc}") from None
                if f"{parsed['provider']}:{parsed['name']}" not in known:
                    raise ValueError(f"islands.profiles[{i}].models: {text!r} is not among llm.models "
                                     f"({', '.join(sorted(known)) or 'none set'})")
            if not profile.builtin and not profile.models and not self.llm.models:
                raise ValueError(f"islands.profiles[{i}]: no operator left (builtin: false and no llm.models)")
        return self

    @field_validator("target")
    @classmethod
    def _a_number(cls, target: float | None) -> float | None:
        if target is not None and target != target:
            raise ValueError("not a number, which no score ever reaches")
        return target

    @model_validator(mode="after")
    def _not_reached_at_once(self) -> "Config":
        # An infinite target the scores never reach is no target (the one way to drop a
        # target from the command line, on a resume too); the other infinity stops at once.
        t = self.target
        if t is not None and abs(t) == float("inf") and (t > 0) == (self.direction == "minimize"):
            raise ValueError(f"target: {t} is reached by any score when the direction is {self.direction}: "
                             f"the run would stop at once (give a finite target, or {-t} for none)")
        return self

    @model_validator(mode="after")
    def _some_operator(self) -> "Config":
        if sum(self.operators.weights().values()) <= 0 and not self.llm.models:
            raise ValueError("operators: at least one operator needs a positive weight "
                             "when no llm.models are set")
        return self

    @property
    def island_count(self) -> int:
        """Policy 'adaptive': the most islands it may open; 'islands': the island count."""
        if self.search.policy == "adaptive":
            return self.islands.count if isinstance(self.islands.count, int) else self.search.max_islands
        if self.islands.count == "auto":
            return max(1, min(5, self.budget // 250))
        return self.islands.count

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def digest(self) -> str:
        import hashlib

        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:16]


_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _interpolate(value: Any, path: str) -> Any:
    if isinstance(value, dict):
        return {k: _interpolate(v, f"{path}.{k}" if path else str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolate(v, f"{path}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, str):
        def repl(m: re.Match[str]) -> str:
            name = m.group(1)
            if name not in os.environ:
                raise ConfigError(f"config: {path}: environment variable ${{{name}}} is not set")
            return os.environ[name]

        return _ENV.sub(repl, value)
    return value


def _set_path(data: dict[str, Any], dotted: str, value: Any) -> None:
    keys = dotted.split(".")
    node = data
    for key in keys[:-1]:
        child = node.setdefault(key, {})
        if not isinstance(child, dict):
            raise ConfigError(f"config: {dotted}: {key} is not a section")
        node = child
    node[keys[-1]] = value


def read_yaml(path: Path) -> dict[str, Any]:
    """Read a YAML mapping; a missing file or bad YAML is a one-line ConfigError."""
    import yaml

    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise ConfigError(f"config: cannot read {path}: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"config: {path}{where}: invalid YAML") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config: {path}: expected a mapping at the top level, got {type(data).__name__}")
    return data


def build(data: dict[str, Any], overrides: dict[str, Any] | None = None, *, saved: bool = False) -> Config:
    """Validate ``data`` (with dotted-key ``overrides`` applied on top) into a Config.
    ``saved``: ``data`` is a run's saved config (resumed, replayed or seeded from), which
    keeps what later versions refuse in a new config (a feature given twice)."""
    merged = json.loads(json.dumps(data))  # deep copy of plain data
    for key, value in (overrides or {}).items():
        if value is not None:
            _set_path(merged, key, value)
    merged = _interpolate(merged, "")
    try:
        return Config.model_validate(merged, context={"saved": saved})
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc)) from None


def load(path: Path | None, overrides: dict[str, Any] | None = None) -> Config:
    """Load a YAML config file (or defaults if None) and apply overrides."""
    return build(read_yaml(path) if path is not None else {}, overrides)


def format_validation_error(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"] if not str(p).startswith("function-after"))
        if err["type"] == "extra_forbidden":
            parts.append(f"{loc}: unknown key{_suggest(loc)}")
            continue
        got = err.get("input")
        shown = "" if isinstance(got, dict) else f" (got {got!r})"
        parts.append(f"{loc or '<top>'}: {err['msg']}{shown}")
    return "config: " + "; ".join(parts)


def _suggest(loc: str) -> str:
    import difflib

    *parents, leaf = loc.split(".")
    model: Any = Config
    for p in parents:
        field = model.model_fields.get(p) if hasattr(model, "model_fields") else None
        if field is None or not isinstance(field.annotation, type) or not issubclass(field.annotation, BaseModel):
            return ""
        model = field.annotation
    close = difflib.get_close_matches(leaf, list(model.model_fields), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""
