"""Runs in the candidate's process: confine it, run the evaluator, report as JSON.

Standard library only, and loaded as a script (``python worker.py ...``) or by the
warm pool (``pool_server.py``), so a candidate process never imports Cambrian. The
report goes to a file descriptor given by the parent; stdout and stderr are the
candidate's own.
"""

import hashlib
import importlib.util
import json
import math
import os
import sys
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import jail  # noqa: E402

MAX_TEXT = 4000


def jsonable(value, depth=0):
    """Plain JSON data from whatever the evaluator returned; odd values stay visible."""
    if depth > 6:
        return {"__unsupported__": "nested too deeply"}
    if value is None or isinstance(value, (bool, str)):
        return value[:MAX_TEXT] if isinstance(value, str) else value
    if isinstance(value, int):
        return value if abs(value) < 2**63 else float(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else {"__float__": repr(value)}
    if isinstance(value, complex):
        return {"__unsupported__": "complex " + repr(value)}
    item = getattr(value, "item", None)
    shape = getattr(value, "shape", None)
    if callable(item) and shape == ():
        try:
            return jsonable(item(), depth + 1)
        except Exception:
            pass
    if shape is not None:
        return {"__unsupported__": "array of shape " + repr(shape)}
    if isinstance(value, dict):
        return {str(k)[:200]: jsonable(v, depth + 1) for k, v in list(value.items())[:200]}
    if isinstance(value, (list, tuple)):
        if len(value) > 1000:
            return {"__unsupported__": "sequence of length %d" % len(value)}
        return [jsonable(v, depth + 1) for v in value]
    return {"__unsupported__": type(value).__name__}


def load_module(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_evaluator(path):
    sys.path.insert(0, os.path.dirname(path))
    return load_module(path, "evaluate")


def _passes(value, threshold, direction):
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        return False
    return value >= threshold if direction == "maximize" else value <= threshold


def run_job(evaluator, job):
    """The payload for one job: evaluate (with cascade stages) or fingerprint."""
    program = job["program"]
    if job.get("mode") == "fingerprint":
        return {"fingerprint": fingerprint(evaluator, program, job.get("probe"))}
    stages = []
    for stage in job.get("stages", ()):
        result = jsonable(getattr(evaluator, stage["name"])(program))
        stages.append({"stage": stage["name"], "result": result})
        threshold = stage.get("threshold")
        value = result.get(job["objective"]) if isinstance(result, dict) else None
        if threshold is not None and not _passes(value, threshold, job.get("direction", "maximize")):
            return {"stages": stages, "stopped_at": stage["name"], "threshold": threshold}
    return {"stages": stages, "result": jsonable(evaluator.evaluate(program))}


def fingerprint(evaluator, program, probe):
    """A hash of what the program computes: the evaluator's own hook, or outputs on probe inputs."""
    if hasattr(evaluator, "fingerprint"):
        value = evaluator.fingerprint(program)
    else:
        function = getattr(load_module(program, "candidate"), probe["function"])
        value = []
        for args in probe["inputs"]:
            try:
                value.append(repr(function(*args)))
            except Exception as exc:  # an exception is part of what a program computes
                value.append("raised " + type(exc).__name__)
    return hashlib.sha256(repr(value).encode()).hexdigest()[:16]


def execute(evaluator, job, report_fd, protections):
    """Run ``job`` and write the report; never returns."""
    report = os.fdopen(report_fd, "w")
    try:
        payload = run_job(evaluator, job)
    except BaseException as exc:  # the candidate may raise anything, SystemExit included
        tail = traceback.format_exception(type(exc), exc, exc.__traceback__)
        payload = {"exception": "%s: %s" % (type(exc).__name__, exc), "traceback": "".join(tail)[-MAX_TEXT:]}
    payload["protections"] = protections
    try:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:
                pass
        report.write(json.dumps(payload))
        report.flush()
    finally:
        os._exit(0)


def prepare(evaluator_path):
    """Load the evaluator (trusted code, before confinement): the module, or the error text."""
    try:
        return load_evaluator(evaluator_path), None
    except BaseException as exc:
        return None, "evaluate.py failed to load: %s: %s\n%s" % (
            type(exc).__name__, exc, "".join(traceback.format_exc())[-MAX_TEXT:])


def start(evaluator, load_error, job, report_fd):
    """In the candidate's process: confine, then run the job; never returns."""
    protections = jail.confine(job["limits"], workdir=job["workdir"],
                               expose_paths=[os.path.dirname(job["evaluator"])])
    os.chdir(job["workdir"])
    if evaluator is None:
        os.write(report_fd, json.dumps({"load_error": load_error, "protections": protections}).encode())
        os._exit(0)
    execute(evaluator, job, report_fd, protections)


def main():
    """Fresh-process mode: ``worker.py JOB_JSON REPORT_FD``."""
    job, report_fd = json.loads(sys.argv[1]), int(sys.argv[2])
    evaluator, error = prepare(job["evaluator"])
    start(evaluator, error, job, report_fd)


if __name__ == "__main__":
    main()
