"""What a run is fixed to, and what a resume may change.

A run's *shape* (island count, MAP-Elites features, elites per cell) is chosen once
and saved with the run (store meta ``run_shape``): a resume that changes the budget
never moves it. Settings that give a score its meaning or lay out the search
(objective, direction, features, the evaluator's file, ...) are fixed too: a resume
that changes one is refused with the setting named and what to do instead, so old
and new scores never mix. Everything else (budget, time, workers, models, operator
weights, ...) may change on resume.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

from .config import Config
from .errors import ConfigError

SHAPE_KEY = "run_shape"


@dataclass(frozen=True)
class RunShape:
    """How the archive of a run is laid out; chosen at creation, never moved by a resume."""

    islands: int
    features: tuple[dict[str, Any], ...]   # name, bins, min, max
    capacity: int                          # elites per cell

    def to_dict(self) -> dict[str, Any]:
        return {"islands": self.islands, "features": [dict(f) for f in self.features], "capacity": self.capacity}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "RunShape":
        return cls(int(data["islands"]), tuple(dict(f) for f in data["features"]), int(data["capacity"]))


def shape_for(config: Config) -> RunShape:
    """The shape a new run takes from its config (``islands.count: auto`` decided here, once)."""
    features = tuple(f.model_dump(mode="json") for f in config.archive.features)
    capacity = config.archive.cell_size if features else config.archive.population_size
    return RunShape(config.island_count, features, capacity)


# Settings a resume may not change: key path -> why.
FIXED: dict[str, str] = {
    "convention": "the evaluator would be called another way, so old and new scores would mix",
    "evaluation.cascade_stages": "programs would be judged by two different cascades",
    "objective": "scores would mix two objectives",
    "direction": "scores would be compared the other way round",
    "archive.features": "the archive's grid would change under its elites",
    "archive.cell_size": "the archive's grid would change under its elites",
    "archive.population_size": "the archive's grid would change under its elites",
    "archive.replace_equal": "the archive would change under its elites (an equal-scoring child "
                             "replacing one is what search.drift_evidence governs)",
    "evaluation.cascade": "programs would be judged by two different cascades",
    "evaluation.objective_range": "programs would be judged by two different validity ranges",
    "evaluation.fingerprint": "equivalence would be judged two ways",
    "seed": "the run's schedule is drawn from its seed",
    "search.policy": "the search would change under its archive",
    "search.lineages": "the search would change under its archive",
    "search.patience": "the search would change under its archive",
    "search.min_patience": "the search would change under its archive",
    "search.explore_share": "the search would change under its archive",
    "search.adapt": "the search would change under its archive",
    "search.cross_inspirations": "the search would change under its archive",
    "search.resets": "the search would change under its archive",
    "search.min_gain": "the search would change under its archive",
    "search.drift_evidence": "the search would change under its archive",
}
# What a setting was before it existed, for runs saved without it (they ran as if it had this value).
BEFORE_IT_EXISTED: dict[str, Any] = {"search.min_gain": 0.0, "search.drift_evidence": 0.0}


def as_saved(saved: dict[str, Any]) -> dict[str, Any]:
    """A run's saved config with the settings it predates filled in as it ran: it resumes unchanged."""
    filled = {key: dict(value) if isinstance(value, dict) else value for key, value in saved.items()}
    for dotted, value in BEFORE_IT_EXISTED.items():
        section, name = dotted.split(".")
        if isinstance(filled.get(section), dict) and name not in filled[section]:
            filled[section][name] = value
    return filled


def _get(data: Mapping[str, Any], dotted: str) -> Any:
    node: Any = data
    for key in dotted.split("."):
        node = node.get(key) if isinstance(node, Mapping) else None
    return node


def instead(run_dir: Path | str) -> str:
    return f"start a new run, or seed one with this run's programs: cambrian run --from {run_dir}"


def check_resume(saved: Mapping[str, Any], new: Config, shape: RunShape, *, run_dir: Path | str) -> None:
    """Refuse, naming the setting, a resume that would reshape the search or change what a score means."""
    fresh = new.to_dict()
    for key, why in FIXED.items():
        before, after = _get(saved, key), _get(fresh, key)
        if before != after:
            raise ConfigError(f"cannot resume with {key} changed ({_show(before)} -> {_show(after)}): {why}; "
                              f"{instead(run_dir)} (with the new setting)")
    count = new.islands.count
    if count != "auto" and count != shape.islands:
        raise ConfigError(f"cannot resume with islands.count {count}: this run has {shape.islands} island"
                          f"{'s' if shape.islands != 1 else ''}, fixed when it started; {instead(run_dir)}")


def _show(value: Any) -> str:
    text = repr(value) if not isinstance(value, (list, tuple, dict)) or value else "none"
    return text if len(text) <= 60 else text[:57] + "..."


def file_digest(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


# Files of a problem directory that do not take part in scoring: the program (checked on
# its own), the config (checked setting by setting) and prose.
_NOT_SCORING = {"initial_program.py", "cambrian.yaml", "task.md", "benchmark.yaml"}


def evaluator_digests(root: Path, skip: Iterable[str] = ()) -> dict[str, str]:
    """Digest of every file that can change a score: evaluate.py and what lies beside it
    (helper modules, data files), so a resume cannot mix old and new scores. Run
    directories (a run started from inside the problem directory) are not the problem's."""
    root = Path(root)
    digests = {}
    for directory, subdirs, files in os.walk(root):
        subdirs[:] = sorted(d for d in subdirs if not d.startswith(".") and d != "__pycache__"
                            and not (Path(directory, d) / "cambrian.db").exists())
        for name in sorted(files):
            rel = (Path(directory) / name).relative_to(root).as_posix()
            if rel in _NOT_SCORING or rel in skip or name.startswith(".") or name.lower().startswith("readme"):
                continue
            digests[rel] = file_digest(root / rel)
    return digests


def changed_files(stored: Any, root: Path, evaluator: Path, skip: Iterable[str] = ()) -> list[str]:
    """Files whose content differs from the run's record (a record from before directory
    digests names evaluate.py only); ``skip``: the problem's own non-scoring files."""
    if isinstance(stored, str):
        return [evaluator.name] if stored != file_digest(evaluator) else []
    now = evaluator_digests(root, skip)
    return sorted(name for name in set(stored) | set(now) if name not in skip and stored.get(name) != now.get(name))


def missing_features(shape: RunShape, metrics: Mapping[str, Any]) -> list[str]:
    """Feature names a program's metrics lack (``code_length`` is always there)."""
    return [f["name"] for f in shape.features if f["name"] != "code_length" and f["name"] not in metrics]
