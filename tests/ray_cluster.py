"""A real 2-node Ray cluster on this machine, for the integration test and the bench.

Head on 127.0.0.2, worker on 127.0.0.3 (Ray rewrites 127.0.0.1), one shared auth
token for every process (a joining worker hangs otherwise), a short temp dir per node
(unix socket paths are limited to 108 bytes). Each node is ``ray start --block`` in a
session of its own, and is ended by the PIDs of that process and its descendants,
never with ``ray stop`` (which ends every Ray process on the host).
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HEAD_IP, WORKER_IP = "127.0.0.2", "127.0.0.3"


def ray_available() -> bool:
    return shutil.which("ray", path=str(Path(sys.executable).parent)) is not None


def descendants(pid: int, *, tree: bool = True) -> list[int]:
    """``pid``, every process below it, and every process of the session it leads (one
    re-parented away from it stays in its session), read from /proc."""
    children: dict[int, list[int]] = {}
    session: list[int] = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            ppid, sid = int(fields[1]), int(fields[3])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
        if sid == pid:
            session.append(int(entry))
    out, todo = [], [pid] if tree else []
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return list(dict.fromkeys(out + session))


def _free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class LoopbackCluster:
    """``with LoopbackCluster() as c:`` a head (``head_cpus``) and one worker node (``worker_cpus``)."""

    def __init__(self, *, head_cpus: int = 1, worker_cpus: int = 2, log_dir: Path | None = None):
        self.head_cpus, self.worker_cpus = head_cpus, worker_cpus
        self.token = secrets.token_hex(16)
        self.port = _free_port(HEAD_IP)
        self.address = f"{HEAD_IP}:{self.port}"
        self.temp = Path(tempfile.mkdtemp(prefix="r", dir="/tmp"))   # short: socket paths <= 108 bytes
        self.log_dir = log_dir or self.temp
        self.nodes: dict[str, subprocess.Popen] = {}

    @property
    def env(self) -> dict[str, str]:
        """The environment every process of the cluster needs, the driver's included."""
        return {**os.environ, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": self.token,
                "RAY_USAGE_STATS_ENABLED": "0", "RAY_ADDRESS": self.address}

    def _start(self, name: str, args: list[str]) -> None:
        ray = str(Path(sys.executable).parent / "ray")
        log = open(self.log_dir / f"{name}.log", "wb")
        temp = self.temp / name[0]
        temp.mkdir(exist_ok=True)
        self.nodes[name] = subprocess.Popen(
            [ray, "start", "--block", "--disable-usage-stats", f"--temp-dir={temp}", *args],
            env={k: v for k, v in self.env.items() if k != "RAY_ADDRESS"}, stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()

    def start(self, timeout: float = 180.0) -> "LoopbackCluster":
        self._start("head", ["--head", f"--node-ip-address={HEAD_IP}", f"--port={self.port}",
                             f"--num-cpus={self.head_cpus}", "--include-dashboard=false"])
        self._wait_port(timeout)
        self._start("worker", [f"--address={self.address}", f"--node-ip-address={WORKER_IP}",
                               f"--num-cpus={self.worker_cpus}"])
        self.wait_nodes(2, timeout)
        return self

    def _wait_port(self, timeout: float) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.nodes["head"].poll() is not None:
                raise RuntimeError(f"ray head exited: {(self.log_dir / 'head.log').read_text()[-2000:]}")
            try:
                socket.create_connection((HEAD_IP, self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError("ray head did not open its port")

    def wait_nodes(self, alive: int, timeout: float = 180.0) -> None:
        """Until ``alive`` nodes are alive (asked by a short-lived driver, not this process)."""
        code = ("import ray, time, sys\n"
                "ray.init(logging_level='ERROR', log_to_driver=False)\n"
                f"end = time.monotonic() + {timeout}\n"
                f"while sum(n['Alive'] for n in ray.nodes()) != {alive} and time.monotonic() < end:\n"
                "    time.sleep(0.5)\n"
                f"sys.exit(0 if sum(n['Alive'] for n in ray.nodes()) == {alive} else 1)\n")
        done = subprocess.run([sys.executable, "-c", code], env=self.env, capture_output=True, text=True,
                              timeout=timeout + 60)
        if done.returncode != 0:
            raise RuntimeError(f"the cluster did not reach {alive} alive nodes: {done.stderr[-2000:]}")

    def kill(self, name: str) -> None:
        """End a node at once (SIGKILL to the ``ray start`` process and all below it), as a crash would."""
        node = self.nodes.pop(name, None)
        if node is None:
            return
        for _ in range(3):  # again: a process may have started one while we killed
            # Once reaped, its pid may be someone else's: only its session counts then.
            for pid in reversed(descendants(node.pid, tree=node.returncode is None)):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            node.wait()

    def stop(self) -> None:
        """Every node, by PID; then the temp dirs."""
        for name in list(self.nodes):
            self.kill(name)
        shutil.rmtree(self.temp, ignore_errors=True)

    def __enter__(self) -> "LoopbackCluster":
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()
