"""The unprivileged uid each evaluation runs as: one per evaluation in flight, never shared.

Uids come from a configured range (``evaluation.sandbox_uids``) and need no account.
A uid is held with an ``flock`` on a file in a root-only directory, so two runs on
the same machine never hand out the same uid; within a run a uid goes back to the
lease when its evaluation's PID namespace is gone (every process of that uid is
then dead), and is reused by the next evaluation; if the end of the evaluation was
never seen, the uid is quarantined until no process on the machine has it. A uid that belongs to an account
in the password database is skipped. Because the uid is the evaluation's own,
``RLIMIT_NPROC`` counts that evaluation's processes only.
"""

from __future__ import annotations

import fcntl
import os
import pwd
import stat
from pathlib import Path

from ..errors import ConfigError

LOCK_DIR = Path("/run/cambrian-uids")
FALLBACK_LOCK_DIR = Path("/tmp/.cambrian-uids")


def _lock_dir() -> Path:
    for path in (LOCK_DIR, FALLBACK_LOCK_DIR):
        try:
            path.mkdir(mode=0o700, exist_ok=True)
            info = path.lstat()
        except OSError:
            continue
        # Only a root-owned directory others cannot write counts: nobody else can hold our locks.
        # Not a symlink: /tmp/.cambrian-uids planted by a user could point at any root directory.
        if stat.S_ISDIR(info.st_mode) and info.st_uid == 0 and not info.st_mode & 0o022:
            return path
    raise OSError(f"no private directory for uid locks ({LOCK_DIR} or {FALLBACK_LOCK_DIR})")


class UidLease:
    """Uids from ``[first, last]``, one per evaluation in flight."""

    def __init__(self, first: int, last: int):
        if not 0 < first <= last:
            raise ConfigError(f"config: evaluation.sandbox_uids: expected [first, last] with 0 < first <= last, "
                              f"got [{first}, {last}]")
        self.first, self.last = first, last
        self._held: dict[int, int] = {}     # uid -> fd of its lock file
        self._free: list[int] = []
        self._quarantined: list[int] = []  # held, not free: a process may still run as it
        self._next = first
        self._dir: Path | None = None

    @property
    def held(self) -> tuple[int, ...]:
        """Every uid this lease holds, in use or free."""
        return tuple(sorted(self._held))

    def acquire(self) -> int:
        if self._quarantined:
            running = _running_uids()
            for uid in [u for u in self._quarantined if u not in running]:
                self._quarantined.remove(uid)
                self._free.append(uid)
        if self._free:
            return self._free.pop()
        if self._dir is None:
            self._dir = _lock_dir()
        span = self.last - self.first + 1
        for _ in range(span):
            uid, self._next = self._next, self.first + (self._next - self.first + 1) % span
            if uid in self._held or _is_account(uid):
                continue
            fd = os.open(self._dir / str(uid), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            self._held[uid] = fd
            return uid
        raise OSError(f"every uid in evaluation.sandbox_uids [{self.first}, {self.last}] is in use "
                      f"by an evaluation (widen the range)")

    def release(self, uid: int) -> None:
        if uid in self._held and uid not in self._free:
            self._free.append(uid)

    def quarantine(self, uid: int) -> None:
        """An evaluation whose end was not seen: its uid is freed only once no process has it."""
        if uid in self._held and uid not in self._free and uid not in self._quarantined:
            self._quarantined.append(uid)

    def close(self) -> None:
        for fd in self._held.values():
            os.close(fd)
        self._held.clear()
        self._free.clear()
        self._quarantined.clear()


def _running_uids() -> set[int]:
    """The real, effective and saved uids of every process on the machine."""
    uids: set[int] = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/status") as f:
                    for line in f:
                        if line.startswith("Uid:"):
                            uids.update(int(x) for x in line.split()[1:])
                            break
            except (OSError, ValueError):
                pass
    return uids


def _is_account(uid: int) -> bool:
    try:
        pwd.getpwuid(uid)
        return True
    except KeyError:
        return False
