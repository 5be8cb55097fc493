"""Evaluation results and the validation of what an evaluator returned.

Validation is pure: the raw report goes in, a status with a reason comes out. An
objective counts only if it is a real, finite number (bools, strings, NaN, inf,
complex and arrays are rejected with a reason).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

OK, INVALID, ERROR, TIMEOUT, REJECTED = "ok", "invalid", "error", "timeout", "rejected"
# The machinery failed, not the candidate: never stored as the program's result.
INFRASTRUCTURE = "infrastructure"


@dataclass(frozen=True)
class EvalResult:
    status: str
    reason: str = ""
    score: float | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    feedback: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    protections: tuple[str, ...] = ()  # limits in force while it ran (not stored per program)

    @property
    def ok(self) -> bool:
        return self.status == OK


def is_real(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def describe(value: Any) -> str:
    if isinstance(value, dict) and len(value) == 1:
        (key, text), = value.items()
        if key in ("__float__", "__unsupported__"):
            return str(text)
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def declared_invalid(raw: dict[str, Any]) -> str:
    """The evaluator's own verdict: ``invalid`` holding a reason (or true) marks the program
    invalid, objective or not. The one documented way to say "invalid, because X"
    (``cambrian.certify.invalid`` builds it). A number under ``invalid`` is a metric."""
    said = raw.get("invalid")
    if said is True:
        return "invalid (no reason given)"
    if isinstance(said, str) and said.strip():
        return said.strip()[:500]
    return ""


def validate(raw: Any, *, objective: str, seconds: float = 0.0,
             protections: tuple[str, ...] = (), bounds: tuple[float, float] | None = None) -> EvalResult:
    """Turn an evaluator's returned value into an ``EvalResult``."""
    if not isinstance(raw, dict):
        return EvalResult(INVALID, f"evaluate() returned {describe(raw)}, expected a dict of metrics",
                          seconds=seconds)
    metrics: dict[str, float] = {}
    feedback: dict[str, Any] = {}
    said = declared_invalid(raw)
    for key, value in raw.items():
        if is_real(value) and not (said and key == objective):
            metrics[key] = float(value)
        elif key != objective:
            feedback[key] = value
    if said:
        if objective in raw:  # kept for people, never counted
            feedback[f"{objective}_not_counted"] = raw[objective]
        return EvalResult(INVALID, f"the evaluator says: {said}", metrics=metrics, feedback=feedback,
                          seconds=seconds)
    if objective not in raw:
        reason = (f"objective '{objective}' missing from evaluate() result "
                  f"(keys: {', '.join(sorted(raw)) or 'none'})")
        return EvalResult(INVALID, reason, metrics=metrics, feedback=feedback, seconds=seconds)
    value = raw[objective]
    if not is_real(value):
        kind = "bool" if isinstance(value, bool) else "non-finite or non-numeric"
        return EvalResult(INVALID, f"objective '{objective}' is {kind}: {describe(value)}",
                          metrics=metrics, feedback=feedback, seconds=seconds)
    if bounds is not None and not bounds[0] <= value <= bounds[1]:
        return EvalResult(INVALID, f"objective '{objective}' = {value!r} is outside the declared range "
                                   f"[{bounds[0]:g}, {bounds[1]:g}]", metrics=metrics, feedback=feedback,
                          seconds=seconds)
    return EvalResult(OK, score=float(value), metrics=metrics, feedback=feedback, seconds=seconds,
                      protections=protections)
