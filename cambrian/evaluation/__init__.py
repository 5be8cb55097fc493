"""Evaluation: run a candidate in isolation and validate what its evaluator says."""

from .evaluator import Evaluator, Limits, PoolEvaluator, ProcessEvaluator, Spec
from .result import ERROR, INVALID, OK, REJECTED, TIMEOUT, EvalResult, validate

__all__ = ["ERROR", "INVALID", "OK", "REJECTED", "TIMEOUT", "EvalResult", "Evaluator", "Limits",
           "PoolEvaluator", "ProcessEvaluator", "Spec", "validate"]
