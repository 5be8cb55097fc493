"""``EvaluationResult`` as OpenEvolve evaluators use it: metrics plus artifacts."""

from dataclasses import dataclass, field
from typing import Dict, Union


@dataclass
class EvaluationResult:
    """What an evaluator returns: numeric ``metrics`` and text or binary ``artifacts``
    (stored as feedback and shown in prompts)."""

    metrics: Dict[str, float]
    artifacts: Dict[str, Union[str, bytes]] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, metrics):
        return cls(metrics=metrics)

    def to_dict(self):
        return self.metrics

    def has_artifacts(self):
        return bool(self.artifacts)
