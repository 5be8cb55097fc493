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


CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000


def _unshare(flags):
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    return libc.unshare(flags) == 0


def confine(limits):
    """Apply resource limits and cut the network, before any user code runs.

    Returns the protections that are actually in force (a kernel may refuse some)."""
    import resource

    active = []

    def cap(name, value, slack=0):
        if value is None:
            return
        res = getattr(resource, name)
        _, hard = resource.getrlimit(res)
        value = int(value) if hard == resource.RLIM_INFINITY else min(int(value), hard)
        new_hard = value + slack if hard == resource.RLIM_INFINITY else min(value + slack, hard)
        try:
            resource.setrlimit(res, (value, new_hard))
            active.append(name)
        except (ValueError, OSError):
            pass

    cap("RLIMIT_CORE", 0)
    # CPU: SIGXCPU at the soft limit (reported as such), SIGKILL a second later.
    cap("RLIMIT_CPU", limits.get("cpu_seconds"), slack=1)
    cap("RLIMIT_AS", limits.get("memory_bytes"))
    cap("RLIMIT_NOFILE", limits.get("open_files"))
    cap("RLIMIT_FSIZE", limits.get("file_bytes"))
    if limits.get("no_network"):
        # As root a plain network namespace; otherwise inside a new user namespace.
        if _unshare(CLONE_NEWNET) or _unshare(CLONE_NEWUSER | CLONE_NEWNET):
            active.append("no_network")
    return active


def main():
    evaluator_path, program_path, report_fd = sys.argv[1], sys.argv[2], int(sys.argv[-1])
    limits = json.loads(sys.argv[3]) if len(sys.argv) > 4 else {}
    report = os.fdopen(report_fd, "w")
    protections = confine(limits)
    sys.path.insert(0, os.path.dirname(evaluator_path))
    try:
        spec = importlib.util.spec_from_file_location("evaluate", evaluator_path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        result = module.evaluate(program_path)
        payload = {"result": jsonable(result), "protections": protections}
    except BaseException as exc:  # the candidate may raise anything, SystemExit included
        tail = traceback.format_exception(type(exc), exc, exc.__traceback__)
        payload = {"exception": "%s: %s" % (type(exc).__name__, exc), "traceback": "".join(tail)[-MAX_TEXT:]}
    report.write(json.dumps(payload))
    report.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
