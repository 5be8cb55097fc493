"""The store's pending log: each candidate's rows appended in one write(2), folded into
SQLite in batches (store.py says when).

What a write(2) returned is in the kernel's page cache: a process killed right after
(kill -9, an OOM kill, a crash) loses none of it, as with SQLite's WAL at
synchronous=NORMAL, which does not fsync either. Each entry is a 4-byte length, a
4-byte CRC-32 and the rows (``marshal``: tuples of str, int, float and None). A tail
that fails its check (the process killed inside the write, a full disk) is dropped:
that candidate's write never returned, so nothing was told about it.
"""

from __future__ import annotations

import marshal
import os
import struct
import zlib
from pathlib import Path
from typing import Any

_HEAD = struct.Struct("<II")


class Journal:
    def __init__(self, path: Path):
        self.path = path
        self._fd: int | None = None
        self._size = 0

    def append(self, entry: Any) -> None:
        """One entry, in one write; on a failed or short write the file is cut back to
        where it was (a later entry must never follow a torn one) and OSError raised."""
        data = marshal.dumps(entry)
        blob = _HEAD.pack(len(data), zlib.crc32(data)) + data
        if self._fd is None:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
            self._size = os.fstat(self._fd).st_size
        try:
            written = os.write(self._fd, blob)
            if written != len(blob):
                raise OSError(f"{self.path}: short write ({written} of {len(blob)} bytes; disk full?)")
        except OSError:
            os.ftruncate(self._fd, self._size)
            raise
        self._size += len(blob)

    @property
    def writing(self) -> bool:
        """Whether this process has appended to the log (a reader never does)."""
        return self._fd is not None

    def clear(self) -> None:
        """Everything written so far is in the database now."""
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            self._size = 0
        elif self.path.exists():
            os.truncate(self.path, 0)

    def close(self, *, remove: bool) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if remove:
            try:
                self.path.unlink()
            except FileNotFoundError:
                pass


def read(path: Path) -> list[Any]:
    """The entries of a journal, up to the first incomplete or damaged one."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    entries, at = [], 0
    while at + _HEAD.size <= len(data):
        length, crc = _HEAD.unpack_from(data, at)
        body = data[at + _HEAD.size: at + _HEAD.size + length]
        if len(body) != length or zlib.crc32(body) != crc:
            break
        try:
            entries.append(marshal.loads(body))
        except (ValueError, EOFError, TypeError):
            break
        at += _HEAD.size + length
    return entries
