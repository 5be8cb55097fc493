"""Run one candidate process: its own process group, a hard wall-clock timeout
that kills the whole group, captured output with a size cap, a scrubbed
environment and a fresh working directory.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

OUTPUT_CAP = 64 * 1024
REPORT_CAP = 16 * 1024 * 1024
# Variables a candidate may see; everything else (API keys above all) is dropped.
PASS_ENV = ("PATH", "LANG", "LC_ALL", "TZ", "SYSTEMROOT")
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


def clean_env(workdir: Path, allow: tuple[str, ...] = ()) -> dict[str, str]:
    env = {k: os.environ[k] for k in PASS_ENV + allow if k in os.environ}
    env.update(FIXED_ENV)
    env["HOME"] = str(workdir)
    env["TMPDIR"] = str(workdir)
    return env


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


async def run(argv: list[str], *, workdir: Path, timeout: float, env: dict[str, str]) -> Finished:
    """Run ``argv`` plus the report channel's fd number as the last argument, in ``workdir``."""
    loop = asyncio.get_running_loop()
    read_fd, write_fd = os.pipe()
    start = time.monotonic()
    try:
        proc = subprocess.Popen(
            argv + [str(write_fd)], cwd=workdir, env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True, pass_fds=(write_fd,),
        )
    except BaseException:
        os.close(read_fd)
        raise
    finally:
        os.close(write_fd)
    streams = [proc.stdout, proc.stderr, os.fdopen(read_fd, "rb", 0)]
    readers, transports = [], []
    for stream, cap in zip(streams, (OUTPUT_CAP, OUTPUT_CAP, REPORT_CAP)):
        reader = asyncio.StreamReader()
        transport, _ = await loop.connect_read_pipe(lambda r=reader: asyncio.StreamReaderProtocol(r), stream)
        transports.append(transport)
        readers.append(asyncio.ensure_future(_drain(reader, cap)))
    timed_out = False
    try:
        # Wait for the process itself, not its pipes: a child it left behind may hold them.
        await asyncio.wait_for(_exited(proc), timeout)
    except asyncio.TimeoutError:
        timed_out = True
    finally:
        # Always: a candidate's background children die with it, timeout or not.
        kill_group(proc.pid)
        proc.wait()
        await asyncio.wait(readers, timeout=2.0)
        for task in readers:
            task.cancel()
        for transport in transports:
            transport.close()
    out, err, report = (t.result() if t.done() and not t.cancelled() else b"" for t in readers)
    return Finished(
        returncode=None if timed_out else proc.returncode,
        timed_out=timed_out,
        stdout=out.decode("utf-8", "replace"),
        stderr=err.decode("utf-8", "replace"),
        report=report,
        seconds=time.monotonic() - start,
    )


async def _exited(proc: subprocess.Popen) -> None:
    """Resolve when ``proc`` exits (pidfd where the kernel has it, else a polling wait)."""
    loop = asyncio.get_running_loop()
    try:
        pidfd = os.pidfd_open(proc.pid)
    except (AttributeError, OSError):
        while proc.poll() is None:
            await asyncio.sleep(0.005)
        return
    done = loop.create_future()
    loop.add_reader(pidfd, lambda: done.done() or done.set_result(None))
    try:
        await done
    finally:
        loop.remove_reader(pidfd)
        os.close(pidfd)


PYTHON = sys.executable
