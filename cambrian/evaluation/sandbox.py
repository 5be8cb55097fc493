"""Supervise one candidate's job: a hard wall-clock timeout that kills its process
group (and with its PID-namespace init, everything in the namespace), captured output with a size cap, a scrubbed environment and a fresh
working directory. Where the process comes from is the pool's business; what
happens inside it is ``jail``'s.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Awaitable, Callable

OUTPUT_CAP = 64 * 1024
REPORT_CAP = 16 * 1024 * 1024
PYTHON = sys.executable
# Variables a candidate may see; everything else (API keys above all) is dropped.
PASS_ENV = ("PATH", "LANG", "LC_ALL", "TZ")
FIXED_ENV = {
    "PYTHONHASHSEED": "0",
    "PYTHONDONTWRITEBYTECODE": "1",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}


@dataclass(frozen=True)
class Finished:
    returncode: int | None     # None: killed on timeout
    timed_out: bool
    stdout: str
    stderr: str
    report: bytes
    seconds: float
    exit_seen: bool = True     # False: the job's end was never reported (its uid may still run)


def clean_env(home: Path, allow: tuple[str, ...] = ()) -> dict[str, str]:
    env = {k: os.environ[k] for k in PASS_ENV + tuple(allow) if k in os.environ}
    env.update(FIXED_ENV)
    env["HOME"] = str(home)
    env["TMPDIR"] = str(home)
    return env


class Workdir:
    """A fresh directory per evaluation (mode 0700), owned by the evaluation's uid, removed afterwards."""

    def __init__(self, code: str, ids: tuple[int, int] | None):
        from .. import tree

        self.path = Path(tempfile.mkdtemp(prefix="cambrian-"))
        # program.py; or, for a bundle, program.c (one file) or the tree under program/
        self.program = self.path / tree.program_name(code)
        try:
            written = tree.write(code, self.program)
            if ids is not None:
                for path in [self.path, *written]:
                    os.chown(path, *ids)
        except BaseException:
            self.remove()
            raise

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


async def _drain(stream: asyncio.StreamReader, cap: int) -> bytes:
    """Read to EOF keeping the first ``cap`` bytes: a flood cannot block the child or fill memory."""
    kept = bytearray()
    dropped = 0
    while chunk := await stream.read(65536):
        room = cap - len(kept)
        kept += chunk[:room]
        dropped += max(0, len(chunk) - room)
    if dropped:
        kept += f"\n[... {dropped} more bytes dropped]".encode()
    return bytes(kept)


def kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


class Pipes:
    """stdout, stderr and report pipes: write ends go to the child, read ends are drained here."""

    def __init__(self) -> None:
        self.read_fds: list[int] = []
        self.write_fds: list[int] = []
        try:
            for _ in range(3):
                r, w = os.pipe()
                self.read_fds.append(r)
                self.write_fds.append(w)
        except BaseException:  # out of descriptors: the pipes made so far are not leaked
            self.close_all()
            raise

    def close_write_ends(self) -> None:
        for fd in self.write_fds:
            os.close(fd)
        self.write_fds = []

    def close_all(self) -> None:
        self.close_write_ends()
        for fd in self.read_fds:
            os.close(fd)
        self.read_fds = []


async def supervise(pipes: Pipes, *, kill: Callable[[], None], exited: Awaitable[int], timeout: float,
                    start: float) -> Finished:
    """Drain the pipes while waiting for ``exited`` (the exit code); on timeout ``kill`` the job.

    ``kill`` is the pool server's: only the process that reaps the job knows its pid is not
    yet reaped (a process group killed after its leader is reaped may be someone else's).
    The server kills the group itself, before reaping, when the job ends."""
    loop = asyncio.get_running_loop()
    readers, transports = [], []
    fds, pipes.read_fds = list(pipes.read_fds), []  # owned here now: each closed once, below or by its transport
    caps = [OUTPUT_CAP, OUTPUT_CAP, REPORT_CAP]
    try:
        while fds:
            reader = asyncio.StreamReader()
            pipe = os.fdopen(fds.pop(0), "rb", 0)
            # A cancel while connecting: connect_read_pipe closes the transport it made, and so ``pipe``.
            transport, _ = await loop.connect_read_pipe(lambda r=reader: asyncio.StreamReaderProtocol(r), pipe)
            transports.append(transport)
            readers.append(asyncio.ensure_future(_drain(reader, caps.pop(0))))
    except BaseException:
        for fd in fds:
            os.close(fd)
        for task in readers:
            task.cancel()
        for transport in transports:
            transport.close()
        raise
    exit_task = asyncio.ensure_future(exited)
    timed_out = False
    returncode: int | None = None
    try:
        # Wait for the process itself, not its pipes: a child it left behind may hold them.
        returncode = await asyncio.wait_for(asyncio.shield(exit_task), timeout)
    except asyncio.TimeoutError:
        timed_out = True
    finally:
        if not exit_task.done():
            try:
                kill()
            except OSError:
                pass
            try:
                await asyncio.wait_for(asyncio.shield(exit_task), 10.0)
            except (asyncio.TimeoutError, Exception):
                pass
        exit_seen = exit_task.done() and not exit_task.cancelled() and exit_task.exception() is None
        await asyncio.wait(readers, timeout=2.0)
        for task in readers:
            task.cancel()
        for transport in transports:
            transport.close()
        if not exit_task.done():
            exit_task.cancel()
    out, err, report = (t.result() if t.done() and not t.cancelled() else b"" for t in readers)
    return Finished(
        returncode=None if timed_out else returncode,
        timed_out=timed_out,
        stdout=out.decode("utf-8", "replace"),
        stderr=err.decode("utf-8", "replace"),
        report=report,
        seconds=time.monotonic() - start,
        exit_seen=exit_seen,
    )
