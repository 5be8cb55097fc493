"""Evaluators turn a candidate's code into an ``EvalResult``.

``Evaluator`` is the interface the runner and executors depend on. Two
implementations share everything but where the candidate's process comes from:
``PoolEvaluator`` forks it from a warm server that has imported the problem's modules once
(the default: isolation costs milliseconds), ``ProcessEvaluator`` starts a fresh
interpreter per candidate. Either way the process is confined by ``jail`` and
supervised by ``sandbox``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import json
import math
import os
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from . import sandbox
from .result import ERROR, INVALID, TIMEOUT, EvalResult, describe, validate

HERE = Path(__file__).resolve().parent
POOL_SERVER = HERE / "pool_server.py"


class Evaluator(Protocol):
    async def evaluate(self, code: str) -> EvalResult: ...

    async def fingerprint(self, code: str) -> str | EvalResult: ...

    async def close(self) -> None: ...


@dataclass(frozen=True)
class Limits:
    """What confines a candidate (None: no limit)."""

    cpu_seconds: float | None = None
    memory_mb: int | None = 4096
    open_files: int | None = 256
    file_mb: int | None = 256
    processes: int | None = 256
    no_network: bool = True
    sandbox_user: str | None = "nobody"

    def for_worker(self, ids: tuple[int, int] | None) -> dict[str, Any]:
        mb = 1024 * 1024
        return {
            "cpu_seconds": None if self.cpu_seconds is None else max(1, math.ceil(self.cpu_seconds)),
            "memory_bytes": None if self.memory_mb is None else self.memory_mb * mb,
            "open_files": self.open_files,
            "file_bytes": None if self.file_mb is None else self.file_mb * mb,
            "processes": self.processes,
            "no_network": self.no_network,
            "sandbox_uid": None if ids is None else ids[0],
            "sandbox_gid": None if ids is None else ids[1],
        }


@dataclass(frozen=True)
class Spec:
    """What to run for a candidate, beyond its code."""

    evaluator_path: Path
    objective: str = "combined_score"
    direction: str = "maximize"
    timeout: float = 30.0
    limits: Limits = field(default_factory=Limits)
    allow_env: tuple[str, ...] = ()
    stages: tuple[tuple[str, float | None], ...] = ()   # (function name, threshold)
    probe: dict[str, Any] | None = None                 # {"function": name, "inputs": [[...], ...]}
    objective_range: tuple[float, float] | None = None
    preload: tuple[str, ...] = ()                       # modules the warm server imports once

    @property
    def fingerprints(self) -> bool:
        """Whether candidates are fingerprinted: probe inputs, or a fingerprint() hook."""
        return self.probe is not None or _defines(self.evaluator_path, "fingerprint")


class _SandboxedEvaluator:
    """The common part: workdir, job description, supervision, interpretation."""

    def __init__(self, spec: Spec):
        self.spec = spec
        self.ids = sandbox.sandbox_ids(spec.limits.sandbox_user)
        self._ids = itertools.count()
        self.last_protections: tuple[str, ...] = ()

    def _job(self, workdir: sandbox.Workdir, mode: str) -> dict[str, Any]:
        s = self.spec
        return {
            "id": next(self._ids), "mode": mode, "evaluator": str(s.evaluator_path),
            "program": str(workdir.program), "workdir": str(workdir.path),
            "limits": s.limits.for_worker(self.ids), "objective": s.objective, "direction": s.direction,
            "stages": [{"name": n, "threshold": t} for n, t in s.stages], "probe": s.probe,
        }

    async def _launch(self, job: dict[str, Any], pipes: sandbox.Pipes, workdir: sandbox.Workdir
                      ) -> sandbox.Finished:
        raise NotImplementedError

    async def _run(self, code: str, mode: str) -> sandbox.Finished:
        workdir = sandbox.Workdir(code, self.ids)
        pipes = sandbox.Pipes()
        try:
            return await self._launch(self._job(workdir, mode), pipes, workdir)
        finally:
            pipes.close_all()
            workdir.remove()

    async def evaluate(self, code: str) -> EvalResult:
        done = await self._run(code, "evaluate")
        result = interpret(done, self.spec)
        self.last_protections = result.protections or self.last_protections
        return result

    async def fingerprint(self, code: str) -> str | EvalResult:
        """The candidate's functional fingerprint, or why it could not be taken."""
        done = await self._run(code, "fingerprint")
        payload = _payload(done.report)
        if payload is not None and isinstance(payload.get("fingerprint"), str):
            return payload["fingerprint"]
        return interpret(done, self.spec)

    async def close(self) -> None:
        return None


class ProcessEvaluator(_SandboxedEvaluator):
    """A fresh interpreter per candidate: a one-job pool, with no preloaded modules.
    Slower; kept as the baseline the warm pool is measured against."""

    def __init__(self, spec: Spec, *, python: str = sandbox.PYTHON):
        super().__init__(spec)
        self.python = python

    async def _launch(self, job, pipes, workdir):
        pool = PoolEvaluator(dataclasses.replace(self.spec, preload=()), python=self.python, warm=False)
        try:
            return await pool._launch(job, pipes, workdir)
        finally:
            await pool.close()


class PoolEvaluator(_SandboxedEvaluator):
    """A warm server imports the problem's modules once (never the evaluator itself) and
    forks a confined child per candidate. A dead server is restarted on the next candidate."""

    def __init__(self, spec: Spec, *, python: str = sandbox.PYTHON, warm: bool = True):
        super().__init__(spec)
        self.python = python
        self.warm = warm
        self._server: subprocess.Popen | None = None
        self._sock: socket.socket | None = None
        self._starting: asyncio.Future[None] | None = None
        self._waiting: dict[int, dict[str, asyncio.Future]] = {}
        self._home = Path(tempfile.mkdtemp(prefix="cambrian-pool-"))
        if self.ids is not None:
            os.chown(self._home, *self.ids)

    async def _ensure_server(self) -> None:
        if self._server is not None and self._server.poll() is None and self._sock is not None:
            return
        if self._starting is not None:
            return await asyncio.shield(self._starting)
        loop = asyncio.get_running_loop()
        self._starting = loop.create_future()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            env = sandbox.clean_env(self._home, self.spec.allow_env)
            self._server = subprocess.Popen(
                [self.python, "-s", str(POOL_SERVER), str(theirs.fileno()), json.dumps(self._preload())],
                pass_fds=(theirs.fileno(),), env=env, cwd=self._home, stdin=subprocess.DEVNULL,
                start_new_session=True)
            theirs.close()
            ours.setblocking(False)
            hello = await asyncio.wait_for(loop.sock_recv(ours, 1 << 20), 120)
            if not hello:
                raise RuntimeError(f"warm pool exited at start (code {self._server.wait()})")
            self._sock = ours
            loop.add_reader(ours.fileno(), self._on_message)
            self._starting.set_result(None)
        except BaseException as exc:
            self._starting.set_exception(exc)
            self._starting.exception()  # mark retrieved
            ours.close()
            theirs.close()
            self._kill_server()
            raise
        finally:
            self._starting = None

    def _preload(self) -> list[str]:
        """The configured modules plus the evaluator's own top-level imports."""
        from ..problem import module_imports

        if not self.warm:
            return []
        return list(dict.fromkeys(self.spec.preload + module_imports(self.spec.evaluator_path)))

    def _on_message(self) -> None:
        assert self._sock is not None
        while True:
            try:
                data = self._sock.recv(1 << 16)
            except BlockingIOError:
                return
            except OSError:
                data = b""
            if not data:
                self._server_lost()
                return
            message = json.loads(data)
            futures = self._waiting.get(message["id"])
            if futures is None:
                continue
            key = "pid" if "pid" in message else "exit"
            if not futures[key].done():
                futures[key].set_result(message[key])

    def _server_lost(self) -> None:
        if self._sock is not None:
            asyncio.get_running_loop().remove_reader(self._sock.fileno())
            self._sock.close()
            self._sock = None
        for futures in self._waiting.values():
            for future in futures.values():
                if not future.done():
                    future.set_exception(RuntimeError("the warm pool server died"))
        self._kill_server()

    def _kill_server(self) -> None:
        if self._server is not None:
            sandbox.kill_group(self._server.pid)
            self._server.wait()
            self._server = None

    async def _launch(self, job, pipes, workdir):
        start = time.monotonic()
        await self._ensure_server()
        assert self._sock is not None
        loop = asyncio.get_running_loop()
        futures = {"pid": loop.create_future(), "exit": loop.create_future()}
        self._waiting[job["id"]] = futures
        try:
            socket.send_fds(self._sock, [json.dumps(job).encode()], pipes.write_fds)
            pipes.close_write_ends()
            pid = await asyncio.wait_for(futures["pid"], 30)
            return await sandbox.supervise(pipes, pgid=pid, exited=futures["exit"],
                                           timeout=self.spec.timeout, start=start)
        finally:
            del self._waiting[job["id"]]

    async def close(self) -> None:
        if self._sock is not None:
            asyncio.get_running_loop().remove_reader(self._sock.fileno())
            self._sock.close()
            self._sock = None
        if self._server is not None:
            try:
                self._server.wait(timeout=5)  # it exits when the socket closes
            except subprocess.TimeoutExpired:
                pass
            self._kill_server()
        import shutil

        shutil.rmtree(self._home, ignore_errors=True)


def _defines(path: Path, name: str) -> bool:
    import ast

    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError):
        return False
    return any(isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name == name for n in tree.body)


def _payload(report: bytes) -> dict[str, Any] | None:
    try:
        payload = json.loads(report) if report else None
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None


def interpret(done: sandbox.Finished, spec: Spec) -> EvalResult:
    """What a finished candidate process means, as a result with a reason."""
    seconds = done.seconds
    feedback: dict[str, Any] = {k: v for k, v in (("stdout", done.stdout[-2000:]),
                                                  ("stderr", done.stderr[-2000:])) if v}
    if done.timed_out:
        return EvalResult(TIMEOUT, f"killed after the {spec.timeout:g} s timeout", feedback=feedback,
                          seconds=seconds)
    payload = _payload(done.report)
    code = done.returncode
    if payload is None:
        cpu = spec.limits.cpu_seconds
        if code == -signal.SIGXCPU and cpu is not None:
            return EvalResult(TIMEOUT, f"killed at the CPU time limit of {cpu:g} s", feedback=feedback,
                              seconds=seconds)
        how = f"killed by signal {-code}" if code is not None and code < 0 else f"exit code {code}"
        if code == -signal.SIGXFSZ:
            how += ", file size limit"
        tail = _last_line(done.stderr)
        return EvalResult(ERROR, f"process ended without a result ({how}){': ' + tail if tail else ''}",
                          feedback=feedback, seconds=seconds)
    protections = tuple(payload.get("protections", ()))
    if payload.get("load_error"):
        feedback["traceback"] = payload["load_error"]
        return EvalResult(ERROR, payload["load_error"].splitlines()[0][:500], feedback=feedback,
                          seconds=seconds, protections=protections)
    if "exception" in payload:
        feedback["traceback"] = payload.get("traceback", "")
        return EvalResult(ERROR, f"evaluate() raised {payload['exception']}"[:500], feedback=feedback,
                          seconds=seconds, protections=protections)
    stages = payload.get("stages") or []
    if stages:
        feedback["stages"] = stages
    if "stopped_at" in payload:
        last = stages[-1]["result"] if stages else {}
        value = last.get(spec.objective) if isinstance(last, dict) else None
        partial = validate(last, objective=spec.objective)
        return EvalResult(INVALID, f"cascade: stopped at {payload['stopped_at']} ({spec.objective} "
                                   f"{describe(value)}, threshold {payload['threshold']:g})",
                          metrics=partial.metrics, feedback={**partial.feedback, **feedback},
                          seconds=seconds, protections=protections)
    result = validate(payload.get("result"), objective=spec.objective, seconds=seconds,
                      protections=protections, bounds=spec.objective_range)
    result.feedback.update(feedback)
    return result


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""
