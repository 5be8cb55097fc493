"""An evaluator given as a command: any executable that prints JSON metrics.

Runs inside the job's sandbox (``worker.start`` has confined the process already: the
same limits, namespace, private filesystem and wall-clock timeout as a Python
evaluator), as ``EVALUATOR PROGRAM_PATH`` in the evaluation's work directory. The
command's last stdout line that is a JSON object is its result, read like the dict an
``evaluate()`` returns; every other outcome (no JSON, not executable) is a failure with
a reason. Standard library only.
"""

import errno
import json
import os
import subprocess

MAX_STDOUT = 1 << 20   # the tail kept: metrics come last


def _metrics(text):
    """The last stdout line that is a JSON object, else the whole output if it is one."""
    for line in reversed(text.splitlines()):
        line = line.strip()
        if line.startswith("{") and line.endswith("}"):
            try:
                value = json.loads(line)
            except ValueError:
                continue
            if isinstance(value, dict):
                return value
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def run(job, jsonable):
    """The payload for one job: ``{"result": metrics}`` or ``{"command_error": why}``."""
    command, program, workdir = job["evaluator"], job["program"], job["workdir"]
    name = os.path.basename(command)
    env = dict(os.environ, HOME=workdir, TMPDIR=workdir, CAMBRIAN_PROGRAM=program,
               CAMBRIAN_PROBLEM=os.path.dirname(command))
    try:
        proc = subprocess.Popen([command, program], cwd=workdir, env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, start_new_session=False)
    except OSError as exc:
        hints = {errno.ENOEXEC: " (does it start with a #! line?)",
                 errno.EACCES: " (the evaluation runs as its own uid: the command and every directory above it "
                               "must be readable and searchable by others, chmod o+rx)"}
        hint = hints.get(exc.errno, "")
        return {"command_error": "cannot run the evaluator command %s: %s%s" % (name, exc.strerror, hint)}
    kept, dropped = b"", 0
    while chunk := proc.stdout.read(65536):
        kept += chunk
        if len(kept) > MAX_STDOUT:
            dropped += len(kept) - MAX_STDOUT
            kept = kept[-MAX_STDOUT:]
    code = proc.wait()
    text = kept.decode("utf-8", "replace")
    os.write(1, (("[... %d bytes]\n" % dropped) if dropped else "").encode() + kept[-8192:])
    metrics = _metrics(text)
    if metrics is None:
        how = "exit code %d" % code if code >= 0 else "killed by signal %d" % -code
        return {"command_error": "the evaluator command %s printed no JSON object of metrics (%s)" % (name, how)}
    return {"result": jsonable(metrics)}
