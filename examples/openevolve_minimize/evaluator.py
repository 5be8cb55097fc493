"""OpenEvolve-style evaluator: loads the program itself, cascade stages, EvaluationResult."""

import importlib.util

import numpy as np

from openevolve.evaluation_result import EvaluationResult

FLOOR = -2.0  # f >= -2 everywhere: the score 1 / (1 + f - FLOOR) is in (0, 1]


def _load(program_path):
    spec = importlib.util.spec_from_file_location("program", program_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _score(program_path, seeds):
    program = _load(program_path)
    values = []
    for seed in seeds:
        x, y, value = program.run_search(seed=seed)
        true_value = float(program.evaluate_function(x, y))
        if not np.isfinite(true_value) or abs(true_value - float(value)) > 1e-9:
            return None, f"seed {seed}: reported value {value!r} is not f({x!r}, {y!r}) = {true_value!r}"
        values.append(true_value)
    return values, None


def _result(values, error, stage):
    if error is not None:
        return EvaluationResult(metrics={"combined_score": 0.0, "error": 0.0}, artifacts={"failure": error})
    mean = float(np.mean(values))
    return EvaluationResult(
        metrics={"combined_score": 1.0 / (1.0 + mean - FLOOR), "mean_value": mean,
                 "worst_value": float(np.max(values))},
        artifacts={"stage": stage, "values": ", ".join(f"{v:.4f}" for v in values)},
    )


def evaluate_stage1(program_path):
    """A quick check: one seed."""
    return _result(*_score(program_path, [0]), "stage1: 1 seed")


def evaluate_stage2(program_path):
    """The full evaluation: five seeds."""
    return _result(*_score(program_path, range(5)), "stage2: 5 seeds")


def evaluate(program_path):
    """Used by OpenEvolve only when cascade evaluation is off."""
    return evaluate_stage2(program_path)
