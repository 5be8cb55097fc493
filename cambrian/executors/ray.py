"""Evaluations as Ray tasks on a cluster (the optional ``ray`` extra).

Each evaluation is one Ray task that runs the local evaluation machinery on its node
(``executors.ray_worker``: sandbox, limits, validation), in the problem directory Ray
ships with the job (``runtime_env.working_dir``). The driver keeps the store, the
strategy and the LLM calls; this executor only turns code into results.

Exactly once: each call returns one result, whatever happens to the nodes. A task
whose node or worker process was lost is submitted again (up to ``resubmits`` times;
the runner never sees it); a task with no answer long past its timeout is submitted a
second time (a hedge) and the first answer wins. Every submission carries a token,
and an answer for a call that has already returned (a late duplicate from a node that
came back, a hedge's loser) is dropped and counted, never returned.

Back-pressure: evaluations in flight stay within what the alive nodes can hold at the
configured resources per evaluation (CPUs, memory, GPUs) and within what is free on the
cluster now (another job's tasks leave less room), re-read as nodes come and go.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import os
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Awaitable, Callable, Iterator

from ..errors import CambrianError
from ..evaluation import INFRASTRUCTURE, EvalResult, Spec
from .base import InFlight

REFRESH = 2.0           # seconds between reads of the cluster's nodes
HEDGE_MARGIN = 60.0     # seconds past the evaluation's own timeout before a task is submitted again
EXCLUDES = ["runs/", ".git/", "__pycache__/", "*.db", "*.db-wal", "*.db-shm", ".venv/"]
# Ray errors that mean the task's node, worker process or result was lost: not the candidate's doing.
LOST = ("WorkerCrashedError", "NodeDiedError", "LocalRayletDiedError", "ObjectLostError", "OwnerDiedError",
        "ObjectFetchTimedOutError", "ObjectReconstructionFailedError", "OutOfMemoryError", "RaySystemError",
        "ActorDiedError", "ActorUnavailableError", "TaskCancelledError")


class ExecutorError(CambrianError, RuntimeError):
    """The executor cannot start (Ray missing, cluster unreachable, no node fits an evaluation)."""


def _task(spec: Spec, pool: bool, code: str, mode: str, token: int) -> tuple[int, str, Any]:
    """Runs on a node: (token, node id, fingerprint or EvalResult)."""
    import ray

    from .ray_worker import evaluate

    return token, ray.get_runtime_context().get_node_id(), evaluate(spec, pool, code, mode)


def fits(resources: dict[str, float], *, cpus: float, memory_mb: int | None, gpus: float) -> int:
    """How many evaluations a node with ``resources`` (Ray's names) holds at once."""
    counts = [resources.get("CPU", 0.0) / cpus]
    if gpus:
        counts.append(resources.get("GPU", 0.0) / gpus)
    if memory_mb:
        counts.append(resources.get("memory", 0.0) / (memory_mb * 1024 * 1024))
    return max(0, int(min(counts) + 1e-9))


@contextlib.contextmanager
def _stderr_kept() -> Iterator[Callable[[], str]]:
    """Whatever is written to file descriptor 2 meanwhile (Ray's C++ logs included) is kept
    aside; the caller reads it with the function it is given and decides what to show."""
    sys.stderr.flush()
    saved = os.dup(2)
    kept = tempfile.TemporaryFile()
    text = ""
    try:
        os.dup2(kept.fileno(), 2)
        yield lambda: text
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        kept.seek(0)
        text = kept.read().decode(errors="replace")
        kept.close()


def _reachable(address: str | None, timeout: float = 10.0) -> None:
    """A HOST:PORT nobody answers on is one line now (Ray itself retries for minutes)."""
    if not address or "://" in address or address == "auto":
        return
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise ExecutorError(f"executor ray: address {address!r}: expected HOST:PORT")
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as exc:
        raise ExecutorError(f"executor ray: no Ray cluster answers at {address}: {exc.strerror or exc}") from None


class RayBackend:
    """The part that talks to Ray, so the executor's logic runs against a fake in tests."""

    def __init__(self, *, address: str | None, problem_dir: Path, options: dict[str, Any]):
        try:
            import ray
        except ImportError:
            raise ExecutorError("executor ray: Ray is not installed (pip install 'cambrian[ray]')") from None
        self.ray = ray
        _reachable(address or os.environ.get("RAY_ADDRESS"))
        self.lost = tuple(getattr(ray.exceptions, name) for name in LOST if hasattr(ray.exceptions, name))
        where = address or "$RAY_ADDRESS"
        with _stderr_kept() as said:  # Ray's C++ client retries for a while, a warning a second
            try:
                info = ray.init(address=address or "auto", namespace="cambrian", log_to_driver=False,
                                logging_level="WARNING", configure_logging=False,
                                runtime_env={"working_dir": str(problem_dir), "excludes": EXCLUDES})
            except Exception as exc:  # ConnectionError, TimeoutError, RuntimeError, ValueError (working_dir too big)
                failure = exc
            else:
                failure = None
        if failure is not None:
            if "InvalidAuthToken" in said():
                raise ExecutorError(f"executor ray: the cluster at {where} refused this process's auth token: set "
                                    f"RAY_AUTH_MODE=token and the cluster's RAY_AUTH_TOKEN in this environment")
            first = " ".join(str(failure).split())[:300]
            raise ExecutorError(f"executor ray: cannot join the cluster at {where}: "
                                f"{type(failure).__name__}: {first}")
        sys.stderr.write(said())  # joined: what Ray said on the way is shown, as it would have been
        self.address = address or getattr(info, "address_info", {}).get("gcs_address", "auto")
        self.remote = ray.remote(_task).options(max_retries=0, retry_exceptions=False, **options)

    def submit(self, spec: Spec, pool: bool, code: str, mode: str, token: int) -> tuple[Awaitable, Any]:
        ref = self.remote.remote(spec, pool, code, mode, token)
        return asyncio.wrap_future(ref.future()), ref

    def cancel(self, handle: Any) -> None:
        try:
            self.ray.cancel(handle, force=True)
        except Exception:  # already finished, or its node is gone: nothing left to stop
            pass

    def nodes(self) -> list[dict[str, Any]]:
        """Alive nodes' total resources."""
        return [dict(n.get("Resources") or {}) for n in self.ray.nodes() if n.get("Alive")]

    def available(self) -> dict[str, float]:
        """The cluster's free resources now (other jobs' tasks and ours already running excluded)."""
        return dict(self.ray.available_resources())

    def close(self) -> None:
        self.ray.shutdown()


class RayExecutor:
    """The ``Executor`` for a Ray cluster. ``backend`` is built from the config by ``connect``."""

    def __init__(self, spec: Spec, backend: Any, *, pool: bool = True, cpus: float = 1.0,
                 memory_mb: int | None = None, gpus: float = 0.0, max_in_flight: int | None = None,
                 resubmits: int = 3, hedge_after: float | None = None, clock: Callable[[], float] = time.monotonic):
        self.spec = spec
        self.backend = backend
        self.pool = pool
        self.resources = {"cpus": cpus, "memory_mb": memory_mb, "gpus": gpus}
        self.max_in_flight = max_in_flight
        self.resubmits = resubmits
        stages = max(1, len(spec.stages))
        self.hedge_after = hedge_after if hedge_after is not None else spec.timeout * stages + HEDGE_MARGIN
        self.clock = clock
        self.in_flight = InFlight(clock)
        self.resubmitted = self.hedged = self.late_ignored = 0
        self.node_answers: dict[str, int] = {}
        self._tokens = itertools.count(1)
        self._capacity = 0      # what may be in flight now (free room included)
        self._total = 0         # what the alive nodes hold at these resources
        self._nodes = 0
        self._read_at = -REFRESH
        self._changed = asyncio.Condition()
        self._refresh(force=True)
        if self._total == 0:
            need = ", ".join(f"{k} {v:g}" for k, v in self.resources.items() if v)
            raise ExecutorError(f"executor ray: no node of the cluster can hold one evaluation ({need}; "
                                f"{self._nodes} node(s) alive); lower executor.cpus/memory_mb/gpus or add nodes")

    @classmethod
    def connect(cls, spec: Spec, *, problem_dir: Path, config: Any, pool: bool = True) -> "RayExecutor":
        """Join the cluster at ``config.address`` with the problem directory as the job's working dir."""
        options: dict[str, Any] = {"num_cpus": config.cpus, "num_gpus": config.gpus, "scheduling_strategy": "SPREAD"}
        if config.memory_mb:
            options["memory"] = config.memory_mb * 1024 * 1024
        root = problem_dir.resolve()
        # Not resolved: an evaluator may be a symlink out of the directory (Ray ships its target).
        relative = Path(os.path.abspath(spec.evaluator_path)).relative_to(root)
        spec = dataclasses.replace(spec, evaluator_path=relative)  # found again under the node's copy
        backend = RayBackend(address=config.address, problem_dir=root, options=options)
        try:
            return cls(spec, backend, pool=pool, cpus=config.cpus, memory_mb=config.memory_mb, gpus=config.gpus,
                       max_in_flight=config.max_in_flight, resubmits=config.resubmits)
        except BaseException:
            backend.close()
            raise

    # -- capacity ------------------------------------------------------------
    @property
    def slots(self) -> int:
        return max(1, self._capacity)

    def _refresh(self, *, force: bool = False) -> None:
        now = self.clock()
        if not force and now - self._read_at < REFRESH:
            return
        self._read_at = now
        nodes = self.backend.nodes()
        self._nodes = len(nodes)
        total = sum(fits(n, **self.resources) for n in nodes)
        self._total = total if self.max_in_flight is None else min(total, self.max_in_flight)
        # What runs now (ours included) plus what the free resources hold: another job's
        # tasks on the same cluster leave less room, and ours never queue behind them.
        self._capacity = min(self._total, self.in_flight.now + fits(self.backend.available(), **self.resources))

    async def _admit(self) -> None:
        """Wait until one more evaluation fits the alive nodes."""
        async with self._changed:
            while True:
                self._refresh()
                if self.in_flight.now < self.slots:
                    self.in_flight.enter()
                    if self.in_flight.now < self.slots:
                        self._changed.notify()  # room grew (a node joined, a job ended): the next one too
                    return
                try:
                    await asyncio.wait_for(self._changed.wait(), REFRESH)
                except asyncio.TimeoutError:
                    pass

    async def _leave(self) -> None:
        async with self._changed:
            self.in_flight.leave()
            self._changed.notify()

    # -- evaluations ---------------------------------------------------------
    async def run(self, code: str) -> EvalResult:
        return await self._call(code, "evaluate")

    async def fingerprint(self, code: str) -> str | EvalResult:
        return await self._call(code, "fingerprint")

    async def _call(self, code: str, mode: str) -> Any:
        await self._admit()
        try:
            return await self._answered(code, mode)
        finally:
            await asyncio.shield(self._leave())

    async def _answered(self, code: str, mode: str) -> Any:
        """The first answer to any submission of this evaluation; the others are dropped."""
        pending: dict[asyncio.Future, Any] = {}
        lost = hedges = 0

        def submit() -> None:
            future, handle = self.backend.submit(self.spec, self.pool, code, mode, next(self._tokens))
            pending[asyncio.ensure_future(future)] = handle

        submit()
        try:
            while True:
                done, _ = await asyncio.wait(pending, timeout=self.hedge_after, return_when=asyncio.FIRST_COMPLETED)
                if not done:  # no answer long past the timeout: its node may be gone unnoticed
                    if hedges >= self.resubmits:
                        return EvalResult(INFRASTRUCTURE, f"infrastructure: no answer from {len(pending)} "
                                                          f"submissions of the evaluation in {self.hedge_after:g} s")
                    hedges += 1
                    self.hedged += 1
                    submit()
                    continue
                for future in done:
                    handle = pending.pop(future)
                    try:
                        _, node, value = future.result()
                    except self.backend.lost as exc:
                        lost += 1
                        self._refresh(force=True)
                        if pending:
                            continue
                        if lost > self.resubmits:
                            return EvalResult(INFRASTRUCTURE, f"infrastructure: the evaluation's node was lost "
                                                              f"{lost} times (last: {type(exc).__name__})")
                        self.resubmitted += 1
                        submit()
                        continue
                    except Exception as exc:  # the task itself failed (a bug, a broken runtime env)
                        if pending:
                            continue
                        text = " ".join(str(exc).split())
                        return EvalResult(INFRASTRUCTURE, f"infrastructure: ray task failed: "
                                                          f"{type(exc).__name__}: {text}"[:500])
                    self.node_answers[node] = self.node_answers.get(node, 0) + 1
                    return value
        finally:
            for future, handle in pending.items():  # losers and cancelled work: stopped, answers dropped
                future.add_done_callback(self._late)
                self.backend.cancel(handle)

    def _late(self, future: asyncio.Future) -> None:
        if not future.cancelled() and future.exception() is None:
            self.late_ignored += 1

    def summary(self, workers: int) -> str:
        """One line for the start of a run: where evaluations go, and whether ``workers`` uses the room."""
        res = ", ".join(f"{k} {v:g}" for k, v in self.resources.items() if v)
        line = (f"evaluating on the Ray cluster at {self.backend.address}: {self._nodes} node(s) alive, room for "
                f"{self._total} evaluation(s) at once ({res} each); {workers} candidate(s) in flight (workers)")
        if workers < self._total:
            line += f": raise --workers to {self._total} or more to use the whole cluster"
        return line

    def describe(self) -> dict[str, Any]:
        return {"kind": "ray", "address": getattr(self.backend, "address", None), "nodes_alive": self._nodes,
                "nodes_answered": len(self.node_answers), "capacity": self._total,
                "resources": {k: v for k, v in self.resources.items() if v},
                "resubmitted": self.resubmitted, "hedged": self.hedged, "late_ignored": self.late_ignored,
                **self.in_flight.describe()}

    async def close(self) -> None:
        self.backend.close()
