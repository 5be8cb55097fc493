"""Evaluation: run a candidate in isolation and validate what its evaluator says."""

from .evaluator import Evaluator, InfrastructureError, Limits, PoolEvaluator, ProcessEvaluator, Spec
from .result import ERROR, INFRASTRUCTURE, INVALID, OK, REJECTED, TIMEOUT, EvalResult, validate

__all__ = ["ERROR", "INFRASTRUCTURE", "INVALID", "OK", "REJECTED", "TIMEOUT", "EvalResult", "Evaluator",
           "InfrastructureError", "Limits", "PoolEvaluator", "ProcessEvaluator", "Spec", "validate"]
