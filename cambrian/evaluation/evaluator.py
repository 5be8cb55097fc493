"""Evaluators turn a candidate's code into an ``EvalResult``.

``Evaluator`` is the interface the runner and executors depend on; the process
evaluator here runs each candidate in a fresh Python process (see ``sandbox``).
"""

from __future__ import annotations

import json
import math
import shutil
import signal
import tempfile
from dataclasses import dataclass
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
                 python: str = sandbox.PYTHON, allow_env: tuple[str, ...] = (),
                 limits: Limits | None = None):
        self.evaluator_path = Path(evaluator_path).resolve()
        self.objective = objective
        self.timeout = timeout
        self.python = python
        self.allow_env = allow_env
        self.limits = limits or Limits(cpu_seconds=timeout)

    async def evaluate(self, code: str) -> EvalResult:
        workdir = Path(tempfile.mkdtemp(prefix="cambrian-"))
        try:
            program = workdir / "program.py"
            program.write_text(code, encoding="utf-8")
            done = await sandbox.run(
                [self.python, "-s", str(WORKER), str(self.evaluator_path), str(program),
                 json.dumps(self.limits.for_worker())],
                workdir=workdir, timeout=self.timeout, env=sandbox.clean_env(workdir, self.allow_env),
            )
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        return interpret(done, objective=self.objective, timeout=self.timeout, limits=self.limits)


@dataclass(frozen=True)
class Limits:
    """Per-candidate resource limits (None: no limit)."""

    cpu_seconds: float | None = None
    memory_mb: int | None = 4096
    open_files: int | None = 256
    file_mb: int | None = 256
    no_network: bool = True

    def for_worker(self) -> dict:
        mb = 1024 * 1024
        return {
            "cpu_seconds": None if self.cpu_seconds is None else max(1, math.ceil(self.cpu_seconds)),
            "memory_bytes": None if self.memory_mb is None else self.memory_mb * mb,
            "open_files": self.open_files,
            "file_bytes": None if self.file_mb is None else self.file_mb * mb,
            "no_network": self.no_network,
        }


def interpret(done: sandbox.Finished, *, objective: str, timeout: float,
              limits: Limits | None = None) -> EvalResult:
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
        if code == -signal.SIGXCPU and limits is not None and limits.cpu_seconds is not None:
            return EvalResult(TIMEOUT, f"killed at the CPU time limit of {limits.cpu_seconds:g} s",
                              feedback=feedback, seconds=seconds)
        how = f"killed by signal {-code}" if code is not None and code < 0 else f"exit code {code}"
        tail = _last_line(done.stderr)
        return EvalResult(ERROR, f"process ended without a result ({how}){': ' + tail if tail else ''}",
                          feedback=feedback, seconds=seconds)
    if "exception" in payload:
        feedback["traceback"] = payload.get("traceback", "")
        return EvalResult(ERROR, f"evaluate() raised {payload['exception']}"[:500], feedback=feedback,
                          seconds=seconds)
    result = validate(payload.get("result"), objective=objective, seconds=seconds,
                      protections=tuple(payload.get("protections", ())))
    if feedback:
        result.feedback.update(feedback)
    return result


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""
