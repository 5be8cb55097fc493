"""Inside the sandbox: call a peer's evaluator the way the peer would, report Cambrian's shape.

Imported by the worker (``evaluation/worker.py``), in the candidate's confined process
tree: standard library only. The result is what ``evaluation.result.validate`` reads, a
dict of metrics, with ``invalid`` (and no objective) for a program the evaluator
declares invalid.

OpenEvolve: ``evaluate`` or, when ``evaluate_stage1`` exists and stages are on, the
stages alone: each stage's metrics are merged into the last, a stage below its
threshold ends the cascade and what was merged so far is the result (OpenEvolve's
rule: ``combined_score`` against the threshold, else the mean of the numeric metrics
but ``error``), and ``evaluate`` is not called as well.

ShinkaEvolve: ``main(program_path, results_dir)`` writes ``metrics.json`` and
``correct.json``; ``correct.json`` decides validity, whatever score ``metrics.json``
keeps. ``public`` metrics are metrics, ``private`` ones are stored as ``private_*``
(never shown in prompts), ``text_feedback`` is feedback.
"""

import json
import math
import os
import sys

OPENEVOLVE, SHINKA = "openevolve", "shinka"
SHIMS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "shims")
MAX_ARTIFACT = 20_000


def prepare(job):
    """Before the evaluator loads: a peer's helper modules (``openevolve.evaluation_result``,
    ``shinka.core``) resolve to the installed package if there is one, else to Cambrian's shims."""
    if job.get("convention") in (OPENEVOLVE, SHINKA) and SHIMS not in sys.path:
        sys.path.append(SHIMS)


def plain(value):
    """An OpenEvolve ``EvaluationResult`` (or anything with a ``metrics`` dict and
    ``artifacts``), as the dict Cambrian reads: its metrics plus ``artifacts``. Other values
    pass through unchanged. Duck-typed: openevolve need not be installed."""
    metrics = getattr(value, "metrics", None)
    if isinstance(value, dict) or not isinstance(metrics, dict):
        return value
    out = dict(metrics)
    artifacts = getattr(value, "artifacts", None)
    if isinstance(artifacts, dict) and artifacts:
        out["artifacts"] = {str(k): _artifact(v) for k, v in artifacts.items()}
    return out


def _artifact(value):
    if isinstance(value, bytes):
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError:
            return "<%d bytes of binary data>" % len(value)
    if not isinstance(value, str):
        value = repr(value)
    return value if len(value) <= MAX_ARTIFACT else value[:MAX_ARTIFACT] + "\n[... truncated]"


def run_job(evaluator, job, jsonable):
    """Evaluate ``job["program"]`` under the job's convention; the worker's payload shape."""
    if job.get("convention") == SHINKA:
        return {"stages": [], "result": shinka(evaluator, job["program"])}
    payload = openevolve(evaluator, job, jsonable)
    if job.get("objective", "combined_score") == "combined_score":
        payload["result"] = fitness(payload["result"])
    return payload


def says_invalid(result):
    """Whether an evaluator's (or a stage's) result carries the verdict ``invalid``: a reason
    or true (``evaluation.result.declared_invalid`` words it). A stage that says so ends
    the cascade: no later stage, nor ``evaluate``, can score the program."""
    said = result.get("invalid") if isinstance(result, dict) else None
    return said is True or (isinstance(said, str) and bool(said.strip()))


def fitness(result):
    """OpenEvolve's fitness when an evaluator returns no ``combined_score``: the mean of its
    numeric metrics (bools excluded), said in the feedback."""
    if not isinstance(result, dict) or "combined_score" in result or says_invalid(result):
        return result
    values = [v for v in result.values() if _real(v)]
    if not values:
        return result
    out = dict(result)
    out["combined_score"] = sum(values) / len(values)
    out["fitness"] = ("combined_score is the mean of the %d numeric metrics (OpenEvolve's rule when an "
                      "evaluator returns no combined_score)" % len(values))
    return out


def _real(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def passes(metrics, threshold):
    """OpenEvolve's cascade rule: ``combined_score`` if numeric, else the mean of numeric
    metrics other than ``error``."""
    if not isinstance(metrics, dict) or not metrics:
        return False
    score = metrics.get("combined_score")
    if _real(score):
        return score >= threshold
    values = [v for k, v in metrics.items() if k != "error" and _real(v)]
    return bool(values) and sum(values) / len(values) >= threshold


def openevolve(evaluator, job, jsonable):
    program = job["program"]
    stages = job.get("stages") or []
    if not stages:
        return {"stages": [], "result": jsonable(plain(evaluator.evaluate(program)))}
    done, merged, artifacts = [], {}, {}
    for i, stage in enumerate(stages):
        result = jsonable(plain(getattr(evaluator, stage["name"])(program)))
        done.append({"stage": stage["name"], "result": result})
        if not isinstance(result, dict):
            return {"stages": done, "result": result}
        for key, value in result.items():  # later stages win; a numeric 'error' is dropped, as OpenEvolve does
            if key == "artifacts":
                artifacts.update(value if isinstance(value, dict) else {"artifacts": value})
            elif not (key == "error" and _real(value)):
                merged[key] = value
        threshold = stage.get("threshold")
        last = i == len(stages) - 1
        if not last and says_invalid(merged):
            merged["cascade"] = "stopped after %s: it says the program is invalid" % stage["name"]
            break
        if not last and threshold is not None and not passes(merged, threshold):
            merged["cascade"] = "stopped after %s: below its threshold %g" % (stage["name"], threshold)
            break
    if artifacts:
        merged["artifacts"] = artifacts
    return {"stages": done, "result": merged}


def _read_json(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f), None
    except FileNotFoundError:
        return None, "main() wrote no %s" % os.path.basename(path)
    except (OSError, ValueError) as exc:
        return None, "%s is not readable JSON: %s" % (os.path.basename(path), exc)


def shinka(evaluator, program):
    """Run Shinka's ``main`` and read what it wrote."""
    results = os.path.join(os.getcwd(), "results")
    os.makedirs(results, exist_ok=True)
    evaluator.main(program, results)
    metrics, error = _read_json(os.path.join(results, "metrics.json"))
    correct, correct_error = _read_json(os.path.join(results, "correct.json"))
    if error is not None:
        said = correct.get("error") if isinstance(correct, dict) else None
        return {"invalid": "%s%s" % (error, ": " + said if isinstance(said, str) and said else "")}
    if not isinstance(metrics, dict):
        return {"invalid": "metrics.json holds %s, not an object" % type(metrics).__name__}
    out = {}
    for key, value in metrics.items():
        if key == "public" and isinstance(value, dict):
            out.update({str(k): v for k, v in value.items() if k not in metrics})
        elif key == "private" and isinstance(value, dict):
            out.update({"private_%s" % k: v for k, v in value.items()})
        else:
            out[key] = value
    if correct_error is not None:
        verdict, why = False, correct_error
    elif not isinstance(correct, dict) or not isinstance(correct.get("correct"), bool):
        verdict, why = False, "correct.json has no true/false 'correct' field"
    else:
        verdict, why = correct["correct"], correct.get("error")
    if not verdict:
        # An incorrect program keeps whatever score metrics.json holds: it is not counted.
        out = {k: v for k, v in out.items() if not k.startswith("private_")}
        claimed = {k: out.pop(k) for k in list(out) if _real(out[k])}
        out["invalid"] = "correct.json: %s" % (why or "correct is false")
        if claimed:
            out["metrics_json_not_counted"] = claimed
    return out
