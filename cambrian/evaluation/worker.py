"""Runs inside the candidate's process: load evaluate.py, call it, report as JSON.

Standard library only, and run as a script (not ``-m cambrian...``) so a candidate
process starts without importing Cambrian. The report goes to a file descriptor
opened before any user code runs; stdout and stderr are the candidate's.
"""

import importlib.util
import json
import math
import os
import sys
import traceback

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


def main():
    evaluator_path, program_path, report_fd = sys.argv[1], sys.argv[2], int(sys.argv[-1])
    report = os.fdopen(report_fd, "w")
    sys.path.insert(0, os.path.dirname(evaluator_path))
    try:
        spec = importlib.util.spec_from_file_location("evaluate", evaluator_path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        result = module.evaluate(program_path)
        payload = {"result": jsonable(result)}
    except BaseException as exc:  # the candidate may raise anything, SystemExit included
        tail = traceback.format_exception(type(exc), exc, exc.__traceback__)
        payload = {"exception": "%s: %s" % (type(exc).__name__, exc), "traceback": "".join(tail)[-MAX_TEXT:]}
    report.write(json.dumps(payload))
    report.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
