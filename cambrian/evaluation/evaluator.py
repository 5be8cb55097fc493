"""Evaluators turn a candidate's code into an ``EvalResult``.

``Evaluator`` is the interface the runner and executors depend on. Two
implementations share everything but where the candidate's process comes from:
``PoolEvaluator`` forks it from a warm server that has imported the problem's modules once
(the default: isolation costs milliseconds), ``ProcessEvaluator`` starts a fresh
interpreter per candidate. Either way each evaluation gets a sandbox of its own
(PID namespace, filesystem view, uid, limits: ``jail``), supervised by ``sandbox``.

A failure of the machinery rather than of the candidate (a fork refused, the pool
server lost, a sandbox that cannot be set up) is retried a few times and, if it
persists, returned as status ``infrastructure`` with the real error: the runner
never stores it as the program's result.
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

from . import cgroups, sandbox
from .identity import UidLease
from .result import ERROR, INFRASTRUCTURE, INVALID, REJECTED, TIMEOUT, EvalResult, describe, validate

HERE = Path(__file__).resolve().parent
POOL_SERVER = HERE / "pool_server.py"
DEFAULT_UIDS = (2_100_000_000, 2_100_001_023)
INFRA_RETRIES = 2


class InfrastructureError(RuntimeError):
    """The sandbox machinery failed; the candidate did nothing wrong."""


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
    disk_mb: int = 256                                    # work dir + /tmp + /var/tmp + /dev/shm, together
    processes: int | None = 256
    no_network: bool = True
    sandbox_uids: tuple[int, int] | None = DEFAULT_UIDS   # as root: one uid per evaluation in flight
    writable: tuple[str, ...] = ()                        # directories evaluations may write

    def for_worker(self, uid: int | None, cgroup: str | None = None) -> dict[str, Any]:
        mb = 1024 * 1024
        return {
            "cpu_seconds": None if self.cpu_seconds is None else max(1, math.ceil(self.cpu_seconds)),
            "memory_bytes": None if self.memory_mb is None else self.memory_mb * mb,
            "open_files": self.open_files,
            "file_bytes": None if self.file_mb is None else self.file_mb * mb,
            "disk_bytes": self.disk_mb * mb,
            "processes": self.processes,
            "no_network": self.no_network,
            "sandbox_uid": uid,
            "sandbox_gid": uid,
            "cgroup": cgroup,
            "writable": list(self.writable),
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
    command: bool = False                               # evaluator_path is an executable printing JSON
    convention: str = "cambrian"                        # how the evaluator is called (``conventions``)

    @property
    def fingerprints(self) -> bool:
        """Whether candidates are fingerprinted: probe inputs, or a fingerprint() hook."""
        return self.probe is not None or (not self.command and _defines(self.evaluator_path, "fingerprint"))


class _SandboxedEvaluator:
    """The common part: uid, workdir, job description, supervision, retries, interpretation."""

    def __init__(self, spec: Spec, *, retries: int = INFRA_RETRIES):
        self.spec = spec
        self.retries = retries
        uids = spec.limits.sandbox_uids
        self.lease = UidLease(*uids) if uids is not None and os.geteuid() == 0 else None
        self.cgroup, self.cgroup_missing = cgroups.delegated()
        self._ids = itertools.count()
        self.last_protections: tuple[str, ...] = ()
        self.last_missing: dict[str, str] = {}   # protection -> why the kernel refused it

    @property
    def uids(self) -> tuple[int, ...]:
        """The uids this evaluator's candidates run as (every process of these is ours)."""
        return self.lease.held if self.lease is not None else ()

    def _job(self, workdir: sandbox.Workdir, mode: str, uid: int | None, cgroup: str | None) -> dict[str, Any]:
        s = self.spec
        return {
            "id": next(self._ids), "mode": mode, "evaluator": str(s.evaluator_path),
            "program": str(workdir.program), "workdir": str(workdir.path),
            "limits": s.limits.for_worker(uid, cgroup), "objective": s.objective, "direction": s.direction,
            "stages": [{"name": n, "threshold": t} for n, t in s.stages], "probe": s.probe,
            "command": s.command,
            "convention": s.convention,
        }

    async def _launch(self, job: dict[str, Any], pipes: sandbox.Pipes, workdir: sandbox.Workdir
                      ) -> sandbox.Finished:
        raise NotImplementedError

    async def _run_once(self, code: str, mode: str) -> sandbox.Finished:
        try:
            uid = self.lease.acquire() if self.lease is not None else None
        except OSError as exc:
            raise InfrastructureError(f"no sandbox uid: {exc}") from exc
        group = workdir = None
        exit_seen = False
        try:
            try:
                workdir = sandbox.Workdir(code, None if uid is None else (uid, uid))
                if self.cgroup is not None:
                    limits = self.spec.limits
                    group = cgroups.EvaluationCgroup(
                        self.cgroup, f"eval-{os.getpid()}-{next(self._ids)}",
                        memory_bytes=limits.memory_mb and limits.memory_mb << 20, processes=limits.processes)
                pipes = sandbox.Pipes()
            except OSError as exc:
                if workdir is not None:  # nothing is launched: nothing else removes it
                    workdir.remove()
                raise InfrastructureError(f"sandbox setup failed: {exc}") from exc
            try:
                done = await self._launch(self._job(workdir, mode, uid, group and str(group.path)), pipes, workdir)
            finally:
                pipes.close_all()
                workdir.remove()
            payload = _payload(done.report)
            exit_seen = done.exit_seen
            if payload is not None and "infrastructure" in payload:
                raise InfrastructureError(_last_line(payload["infrastructure"]), payload["infrastructure"])
            return done
        finally:
            if group is not None:
                group.remove()
            if uid is not None:
                if exit_seen:
                    self.lease.release(uid)
                else:  # the job may still run as this uid: not reused while any process has it
                    self.lease.quarantine(uid)

    async def _run(self, code: str, mode: str) -> sandbox.Finished | EvalResult:
        """Run the job; infrastructure failures are retried, then returned as a result."""
        try:
            code.encode("utf-8")
        except UnicodeEncodeError as exc:
            return EvalResult(REJECTED, f"the candidate's text is not valid UTF-8 ({exc.reason} at {exc.start})")
        failures: list[InfrastructureError] = []
        for attempt in range(self.retries + 1):
            if attempt:
                await asyncio.sleep(0.1 * 4 ** (attempt - 1))
            try:
                return await self._run_once(code, mode)
            except InfrastructureError as exc:
                failures.append(exc)
            except (OSError, asyncio.TimeoutError, RuntimeError) as exc:
                failures.append(InfrastructureError(f"{type(exc).__name__}: {exc}"))
        last = failures[-1]
        detail = last.args[1] if len(last.args) > 1 else ""
        tries = f" ({len(failures)} attempts)" if len(failures) > 1 else ""
        return EvalResult(INFRASTRUCTURE, f"infrastructure: {last.args[0]}{tries}"[:500],
                          feedback={"traceback": detail} if detail else {})

    async def evaluate(self, code: str) -> EvalResult:
        done = await self._run(code, "evaluate")
        if isinstance(done, EvalResult):
            return done
        result = interpret(done, self.spec)
        if result.protections:
            self.last_protections = result.protections
            self.last_missing = dict((_payload(done.report) or {}).get("missing") or {})
        return result

    async def fingerprint(self, code: str) -> str | EvalResult:
        """The candidate's functional fingerprint, or why it could not be taken."""
        done = await self._run(code, "fingerprint")
        if isinstance(done, EvalResult):
            return done
        payload = _payload(done.report)
        if payload is not None and isinstance(payload.get("fingerprint"), str):
            return payload["fingerprint"]
        return interpret(done, self.spec)

    async def close(self) -> None:
        if self.lease is not None:
            self.lease.close()


class ProcessEvaluator(_SandboxedEvaluator):
    """A fresh interpreter per candidate: a one-job pool, with no preloaded modules.
    Slower; kept as the baseline the warm pool is measured against."""

    def __init__(self, spec: Spec, *, python: str = sandbox.PYTHON):
        super().__init__(spec)
        self.python = python

    async def _launch(self, job, pipes, workdir):
        pool = PoolEvaluator(dataclasses.replace(self.spec, preload=(), limits=dataclasses.replace(
            self.spec.limits, sandbox_uids=None)), python=self.python, warm=False)
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
        self.userns_error: str | None = None

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
                raise InfrastructureError(f"warm pool exited at start (code {self._server.wait()})")
            self.userns_error = json.loads(hello).get("userns_error")
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
            if "error" in message:
                for future in futures.values():
                    if not future.done():
                        future.set_exception(InfrastructureError(message["error"]))
                        future.exception()  # retrieved by whoever awaits it; no warning otherwise
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
                    future.set_exception(InfrastructureError("the warm pool server died"))
                    future.exception()
        self._kill_server()

    def _kill_server(self) -> None:
        if self._server is not None:
            if self._server.returncode is None:  # not reaped yet: its pid is still its own
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
            try:
                pid = await asyncio.wait_for(futures["pid"], 30)
            except asyncio.TimeoutError:
                raise InfrastructureError("the warm pool did not start the job within 30 s") from None
            return await sandbox.supervise(pipes, kill=lambda: self._kill_job(job["id"]), exited=futures["exit"],
                                           timeout=self.spec.timeout, start=start)
        finally:
            del self._waiting[job["id"]]

    def _kill_job(self, job_id: int) -> None:
        if self._sock is not None:
            self._sock.send(json.dumps({"kill": job_id}).encode())

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
        await super().close()


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
        if code in (-signal.SIGXCPU, 128 + signal.SIGXCPU) and cpu is not None:
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
    if payload.get("command_error"):
        return EvalResult(ERROR, payload["command_error"][:500], feedback=feedback, seconds=seconds,
                          protections=protections)
    if "exception" in payload:
        feedback["traceback"] = payload.get("traceback", "")
        entry = "main()" if spec.convention == "shinka" else "evaluate()"  # the function the user wrote
        if isinstance(payload.get("function"), str) and payload["function"].isidentifier():
            entry = payload["function"] + "()"                        # the one that raised (a stage)
        return EvalResult(ERROR, f"{entry} raised {payload['exception']}"[:500], feedback=feedback,
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
