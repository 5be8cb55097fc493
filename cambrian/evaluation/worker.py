"""Runs in the candidate's process tree: confine it, run the evaluator, report as JSON.

Loaded by the pool server (``pool_server.py``); imports only the standard library, ``jail`` and
``cambrian.candidate``. For each job the process opens the evaluator file (as the
invoking user), confines itself, forks the candidate's process (before any
evaluator code or data is in memory), then loads and runs the evaluator, which
reaches the candidate through ``cambrian.candidate.load``. The report goes to a
file descriptor the candidate's process never holds.
"""

import hashlib
import json
import math
import os
import signal
import socket
import sys
import traceback
import types

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import jail  # noqa: E402

from cambrian import candidate as candidate_api  # noqa: E402
from cambrian.conventions import runtime as conventions  # noqa: E402

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


def alive(lifeline_fd):
    """Whether the pool server lives: it holds the write end of the lifeline pipe."""
    import select

    readable, _, _ = select.select([lifeline_fd], [], [], 0)
    return not readable  # EOF: every write end is closed


def load_evaluator(fd, path):
    """Execute evaluate.py's source (read from an fd opened before confinement) as a module.

    The path itself is covered in the sandbox (the candidate must not read it), so the
    source goes to ``linecache`` for tracebacks."""
    import linecache

    chunks = []
    while chunk := os.read(fd, 1 << 16):
        chunks.append(chunk)
    os.close(fd)
    source = b"".join(chunks)
    text = source.decode("utf-8", "replace")
    linecache.cache[path] = (len(text), None, text.splitlines(True), path)
    module = types.ModuleType("evaluate")
    module.__file__ = path
    sys.modules["evaluate"] = module
    sys.path.insert(0, os.path.dirname(path))
    exec(compile(source, path, "exec"), module.__dict__)
    return module


def _passes(value, threshold, direction):
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        return False
    return value >= threshold if direction == "maximize" else value <= threshold


def run_job(evaluator, job):
    """The payload for one job: evaluate (with cascade stages) or fingerprint."""
    program = job["program"]
    if job.get("mode") == "fingerprint":
        return {"fingerprint": fingerprint(evaluator, program, job.get("probe"))}
    if job.get("convention") in (conventions.OPENEVOLVE, conventions.SHINKA):
        return conventions.run_job(evaluator, job, jsonable)
    stages = []
    for stage in job.get("stages", ()):
        result = jsonable(conventions.plain(getattr(evaluator, stage["name"])(program)))
        stages.append({"stage": stage["name"], "result": result})
        if conventions.says_invalid(result):  # the evaluator's own verdict ends the cascade
            return {"stages": stages, "result": result}
        threshold = stage.get("threshold")
        value = result.get(job["objective"]) if isinstance(result, dict) else None
        if threshold is not None and not _passes(value, threshold, job.get("direction", "maximize")):
            return {"stages": stages, "stopped_at": stage["name"], "threshold": threshold}
    return {"stages": stages, "result": jsonable(conventions.plain(evaluator.evaluate(program)))}


def fingerprint(evaluator, program, probe):
    """A hash of what the program computes: the evaluator's own hook, or outputs on probe inputs."""
    if hasattr(evaluator, "fingerprint"):
        value = evaluator.fingerprint(program)
    else:
        function = getattr(candidate_api.load(program), probe["function"])
        value = []
        for args in probe["inputs"]:
            try:
                value.append(repr(function(*args)))
            except Exception as exc:  # an exception is part of what a program computes
                value.append("raised " + type(exc).__name__)
    return hashlib.sha256(repr(value).encode()).hexdigest()[:16]


_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def failure(exc):
    """An exception as the user should see it: their own frames (not Cambrian's), and when
    the candidate raised through ``cambrian.candidate``, the candidate's exception itself."""
    text = candidate_api.short_traceback(exc, skip=_PACKAGE)
    if isinstance(exc, candidate_api.CandidateError) and exc.kind:
        return {"exception": "%s (in the candidate)" % exc, "traceback": (
            exc.tail + candidate_api.EVALUATOR_PART + text)[-MAX_TEXT:]}
    return {"exception": "%s: %s" % (type(exc).__name__, exc), "traceback": text[-MAX_TEXT:],
            "function": _called(exc)}


def _called(exc):
    """The user's function Cambrian called when ``exc`` was raised (evaluate, evaluate_stage2,
    main): the first frame outside Cambrian's package, or None."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename.startswith(_PACKAGE):
        tb = tb.tb_next
    return tb.tb_frame.f_code.co_name if tb is not None else None


def execute(evaluator, job, report_fd, protections, missing=None):
    """Run ``job`` and write the report; never returns."""
    report = os.fdopen(report_fd, "w")
    try:
        payload = run_job(evaluator, job)
    except BaseException as exc:  # the candidate may raise anything, SystemExit included
        payload = failure(exc)
    payload["protections"] = protections
    payload["missing"] = missing or {}
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


def spawn_candidate(job, private_fds):
    """Fork the candidate's process; it serves ``cambrian.candidate`` requests."""
    ours, theirs = socket.socketpair()
    pid = os.fork()
    if pid == 0:
        try:
            signal.signal(signal.SIGXCPU, signal.SIG_DFL)
            ours.close()
            for fd in private_fds:
                if fd is not None:
                    os.close(fd)
            candidate_api.serve(theirs, job["program"])
        finally:
            os._exit(0)
    theirs.close()
    return pid, ours


EXIT_CPU = 128 + signal.SIGXCPU


def _cpu_limit_reached(*_):
    # PID 1 of a namespace ignores SIGXCPU's default action: end as if it had applied.
    os._exit(EXIT_CPU)


def start(job, report_fd):
    """In the job's process (a fresh session, PID 1 of its namespace): confine, fork the
    candidate, run the evaluator. What raises out of here is the sandbox's failure;
    the evaluator's and the candidate's are in the report."""
    command = job.get("command", False)
    try:  # a Python evaluator is read now, then covered; a command must stay where it is
        evaluator_fd, open_error = (None, None) if command else (os.open(job["evaluator"], os.O_RDONLY), None)
    except OSError as exc:
        evaluator_fd, open_error = None, "cannot open %s: %s" % (job["evaluator"], exc.strerror)
    if os.getpid() == 1:
        signal.signal(signal.SIGXCPU, _cpu_limit_reached)
    missing = {}
    lifeline = job.get("lifeline_fd")
    protections = jail.confine(job["limits"], workdir=job["workdir"],
                               # a linked evaluator's target may live elsewhere (another problem's directory)
                               expose_paths=[os.path.dirname(job["evaluator"]),
                                             os.path.dirname(os.path.realpath(job["evaluator"]))],
                               hide=[] if command else [job["evaluator"]],
                               missing=missing, parent_alive=None if lifeline is None else lambda: alive(lifeline))
    if lifeline is not None:
        os.close(lifeline)
    if job.get("pid_ns_error"):
        missing["pid_namespace"] = job["pid_ns_error"]

    os.chdir(job["workdir"])
    if command:  # the command runs the candidate itself: no candidate process of ours
        import command as command_evaluator

        payload = command_evaluator.run(job, jsonable)
        payload.update(protections=protections, missing=missing)
        os.write(report_fd, json.dumps(payload).encode())
        os._exit(0)
    jail.non_dumpable()
    pid, channel = spawn_candidate(job, (evaluator_fd, report_fd))
    candidate_api.install(channel, pid)
    evaluator, error = None, open_error
    conventions.prepare(job)
    if evaluator_fd is not None:
        try:
            evaluator = load_evaluator(evaluator_fd, job["evaluator"])
        except BaseException as exc:
            error = "evaluate.py failed to load: %s: %s\n%s" % (
                type(exc).__name__, exc, traceback.format_exc()[-MAX_TEXT:])
    if evaluator is None:
        os.write(report_fd, json.dumps({"load_error": error, "protections": protections,
                                        "missing": missing}).encode())
        os._exit(0)
    execute(evaluator, job, report_fd, protections, missing)

