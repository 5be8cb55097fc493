"""Per-evaluation cgroup v2 limits (memory, processes, CPU), where a delegated subtree exists.

Cambrian never creates a cgroup hierarchy of its own and never moves its own
processes: it uses a cgroup v2 directory that was delegated to it (named by
``CAMBRIAN_CGROUP``, e.g. a systemd unit started with ``Delegate=yes`` whose
``cgroup.subtree_control`` enables ``memory pids``), creates one child per
evaluation there and removes it afterwards. Anywhere else (cgroup v1 machines
above all) ``delegated()`` says why not, the per-evaluation PID namespace, uid and
rlimits do the work, and ``cambrian doctor`` shows which applies.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

ENV = "CAMBRIAN_CGROUP"
NEEDED = ("memory", "pids")


def _cgroup2_mounts() -> list[str]:
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return []
    mounts = []
    for line in lines:
        left, _, right = line.partition(" - ")
        if right.split(" ")[:1] == ["cgroup2"]:
            mounts.append(left.split(" ")[4])
    return mounts


def delegated() -> tuple[Path | None, str]:
    """(the delegated directory, "") or (None, why there is none)."""
    mounts = _cgroup2_mounts()
    if not mounts:
        return None, "no cgroup v2 hierarchy is mounted (this machine uses cgroup v1)"
    with_controllers = [m for m in mounts if set(NEEDED) <= set(_controllers(Path(m)))]
    if not with_controllers:
        return None, (f"the cgroup v2 hierarchy ({', '.join(mounts)}) lacks the memory and pids controllers: "
                      f"they are on cgroup v1 here")
    name = os.environ.get(ENV)
    if not name:
        return None, f"cgroup v2 is mounted, but no delegated subtree is named (set {ENV})"
    path = Path(name)
    if not any(str(path.resolve()).startswith(m.rstrip("/") + "/") for m in mounts):
        return None, f"{ENV}={name} is not in a cgroup v2 hierarchy"
    try:
        enabled = (path / "cgroup.subtree_control").read_text().split()
    except OSError as exc:
        return None, f"{ENV}={name}: {exc.strerror}"
    missing = [c for c in NEEDED if c not in enabled]
    if missing:
        return None, f"{ENV}={name}: controllers not enabled for children: {', '.join(missing)}"
    if not os.access(path, os.W_OK):
        return None, f"{ENV}={name} is not writable by uid {os.geteuid()}"
    return path, ""


def _controllers(path: Path) -> list[str]:
    try:
        return (path / "cgroup.controllers").read_text().split()
    except OSError:
        return []


class EvaluationCgroup:
    """One child cgroup with the evaluation's limits; the job process moves itself in."""

    def __init__(self, parent: Path, name: str, *, memory_bytes: int | None, processes: int | None,
                 cpus: float | None = 1.0):
        self.path = parent / name
        self.path.mkdir()
        settings = {"memory.max": memory_bytes, "memory.swap.max": 0 if memory_bytes else None,
                    "pids.max": processes,
                    "cpu.max": f"{int(cpus * 100000)} 100000" if cpus else None}
        for key, value in settings.items():
            if value is not None and (self.path / key).exists():
                (self.path / key).write_text(str(value))

    def remove(self) -> None:
        """Kill whatever is left in it and remove it."""
        kill = self.path / "cgroup.kill"
        for _ in range(50):
            try:
                if kill.exists():
                    kill.write_text("1")
                self.path.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError:
                time.sleep(0.02)
