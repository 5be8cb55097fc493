"""Evaluators turn a candidate's code into an ``EvalResult``.

``Evaluator`` is the interface the runner and executors depend on; the process
evaluator here runs each candidate in a fresh Python process (see ``sandbox``).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Protocol

from . import sandbox
from .result import ERROR, TIMEOUT, EvalResult, validate

WORKER = Path(__file__).with_name("worker.py")


class Evaluator(Protocol):
    async def evaluate(self, code: str) -> EvalResult: ...


class ProcessEvaluator:
    """One fresh interpreter per candidate, killed with its children on timeout."""

    def __init__(self, evaluator_path: Path, *, objective: str, timeout: float,
                 python: str = sandbox.PYTHON, allow_env: tuple[str, ...] = ()):
        self.evaluator_path = Path(evaluator_path).resolve()
        self.objective = objective
        self.timeout = timeout
        self.python = python
        self.allow_env = allow_env

    async def evaluate(self, code: str) -> EvalResult:
        workdir = Path(tempfile.mkdtemp(prefix="cambrian-"))
        try:
            program = workdir / "program.py"
            program.write_text(code, encoding="utf-8")
            done = await sandbox.run(
                [self.python, "-s", str(WORKER), str(self.evaluator_path), str(program)],
                workdir=workdir, timeout=self.timeout, env=sandbox.clean_env(workdir, self.allow_env),
            )
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        return interpret(done, objective=self.objective, timeout=self.timeout)


def interpret(done: sandbox.Finished, *, objective: str, timeout: float) -> EvalResult:
    """What a finished candidate process means, as a result with a reason."""
    seconds = done.seconds
    feedback = {k: v for k, v in (("stdout", done.stdout[-2000:]), ("stderr", done.stderr[-2000:])) if v}
    if done.timed_out:
        return EvalResult(TIMEOUT, f"killed after the {timeout:g} s timeout", feedback=feedback, seconds=seconds)
    try:
        payload = json.loads(done.report) if done.report else None
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        code = done.returncode
        how = f"killed by signal {-code}" if code is not None and code < 0 else f"exit code {code}"
        tail = _last_line(done.stderr)
        return EvalResult(ERROR, f"process ended without a result ({how}){': ' + tail if tail else ''}",
                          feedback=feedback, seconds=seconds)
    if "exception" in payload:
        feedback["traceback"] = payload.get("traceback", "")
        return EvalResult(ERROR, f"evaluate() raised {payload['exception']}"[:500], feedback=feedback,
                          seconds=seconds)
    result = validate(payload.get("result"), objective=objective, seconds=seconds)
    if feedback:
        result.feedback.update(feedback)
    return result


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""
