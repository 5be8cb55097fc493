"""``run_shinka_eval``: ShinkaEvolve's evaluation helper, written from its documented contract.

It loads the program, calls its experiment function ``num_runs`` times, validates and
aggregates the results, and writes ``metrics.json`` and ``correct.json`` into
``results_dir``. Runs are sequential here (``run_workers`` is accepted and ignored) and
early stopping is not implemented (every run is made; a note is printed).
"""

import importlib.util
import json
import math
import os
import pickle
import time

DEFAULT_METRICS_ON_ERROR = {"combined_score": 0.0, "execution_time_mean": 0.0, "execution_time_std": 0.0,
                            "num_successful_runs": 0, "num_valid_runs": 0, "num_invalid_runs": 0,
                            "all_validation_errors": []}


def load_program(program_path):
    spec = importlib.util.spec_from_file_location("program", program_path)
    if spec is None or spec.loader is None:
        raise ImportError("cannot load a module from %s" % program_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _plain(value):
    item = getattr(value, "item", None)
    if callable(item) and getattr(value, "shape", None) == ():
        return item()
    tolist = getattr(value, "tolist", None)
    return tolist() if callable(tolist) else str(value)


def save_json_results(results_dir, metrics, correct, error=None, verbose=True):
    os.makedirs(results_dir, exist_ok=True)
    with open(os.path.join(results_dir, "correct.json"), "w") as f:
        json.dump({"correct": bool(correct), "error": error}, f, indent=4)
    with open(os.path.join(results_dir, "metrics.json"), "w") as f:
        json.dump(metrics, f, indent=4, default=_plain)


def _std(values):
    if not values:
        return 0.0
    mean = sum(values) / len(values)
    return math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))


def run_shinka_eval(program_path, results_dir, experiment_fn_name, num_runs, get_experiment_kwargs=None,
                    aggregate_metrics_fn=None, validate_fn=None, plotting_fn=None,
                    default_metrics_on_error=None, early_stop_method=None, early_stop_threshold=None,
                    early_stop_score_fn=None, early_stop_kwargs=None, run_workers=1, max_workers_cap=None,
                    verbose=None):
    """Returns ``(metrics, correct, first_error)`` and writes them to ``results_dir``."""
    if early_stop_method is not None:
        print("note: early stopping is not implemented by Cambrian's run_shinka_eval: every run is made")
    correct, first_error, errors = True, None, []
    valid = invalid = 0
    results, times = [], []
    try:
        function = getattr(load_program(program_path), experiment_fn_name, None)
        if function is None:
            raise AttributeError("experiment function '%s' not found in %s" % (experiment_fn_name, program_path))
        for i in range(num_runs):
            kwargs = get_experiment_kwargs(i) if get_experiment_kwargs else {"seed": i + 1}
            start = time.perf_counter()
            result = function(**kwargs)
            times.append(time.perf_counter() - start)
            results.append(result)
            if validate_fn is not None:
                ok, message = validate_fn(result)
                if ok:
                    valid += 1
                else:
                    invalid += 1
                    correct = False
                    if message:
                        first_error = first_error or "Validation failed: %s" % message
                        if message not in errors:
                            errors.append(message)
        if aggregate_metrics_fn is not None:
            metrics = aggregate_metrics_fn(results)
        else:
            metrics = {"num_successful_runs": len(results)}
        metrics["execution_time_mean"] = sum(times) / len(times) if times else 0.0
        metrics["execution_time_std"] = _std(times)
        if validate_fn is not None:
            metrics.update(num_valid_runs=valid, num_invalid_runs=invalid, all_validation_errors=errors)
        score = metrics.get("combined_score")
        if isinstance(score, (int, float)) and not math.isfinite(score):
            correct = False
            first_error = first_error or "combined_score is %r" % score
    except Exception as exc:
        print("Evaluation error: %s" % exc)
        metrics = dict(DEFAULT_METRICS_ON_ERROR)
        metrics.update({k: v for k, v in (default_metrics_on_error or {}).items() if k in metrics})
        metrics["all_validation_errors"] = [str(exc)]
        correct, first_error = False, str(exc)
    if "extra_data" in metrics:
        extra = metrics.pop("extra_data")
        os.makedirs(results_dir, exist_ok=True)
        with open(os.path.join(results_dir, "extra.pkl"), "wb") as f:
            pickle.dump(extra, f)
    save_json_results(results_dir, metrics, correct, first_error)
    return metrics, correct, first_error
