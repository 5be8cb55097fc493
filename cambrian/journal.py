"""The store's pending log: each candidate's rows appended in one write(2), folded into
SQLite in batches (store.py says when).

What a write(2) returned is in the kernel's page cache: a process killed right after
(kill -9, an OOM kill, a crash) loses none of it, as with SQLite's WAL at
synchronous=NORMAL, which does not fsync either. Each entry is a 4-byte length, a
4-byte CRC-32 and the rows (``marshal``: tuples of str, int, float and None). A tail
that fails its check (the process killed inside the write, a full disk) is dropped:
that candidate's write never returned, so nothing was told about it. Damage anywhere
else (whole entries after a bad one), a file that does not start with ``MAGIC`` or an
entry of another shape is ``Damaged``: nothing is dropped, the opener stops.
"""

from __future__ import annotations

import marshal
import os
import struct
import zlib
from pathlib import Path
from typing import Any

_HEAD = struct.Struct("<II")
MAGIC = b"cambrian pending log 1\n"   # the first bytes of every non-empty log


class Damaged(ValueError):
    """The log is not one this version wrote, or is damaged before its last entry."""


def frame(entry: Any) -> bytes:
    """One entry as written: its length, its CRC-32, its marshalled rows."""
    data = marshal.dumps(entry)
    return _HEAD.pack(len(data), zlib.crc32(data)) + data


class Journal:
    def __init__(self, path: Path):
        self.path = path
        self._fd: int | None = None
        self._size = 0

    def append(self, entry: Any) -> None:
        """One entry, in one write; on a failed or short write the file is cut back to
        where it was (a later entry must never follow a torn one) and OSError raised."""
        blob = frame(entry)
        if self._fd is None:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
            self._size = os.fstat(self._fd).st_size
        if self._size == 0:
            blob = MAGIC + blob
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


def read(path: Path) -> list[tuple[tuple | None, tuple]]:
    """The entries of a journal, each (program row or None, attempt row), up to a torn
    last entry (cut short by a kill, or zeroed by a power cut); Damaged otherwise."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    if not data.startswith(MAGIC):
        if MAGIC.startswith(data):  # the first write, cut short
            return []
        raise Damaged("not a cambrian pending log")
    entries, at = [], len(MAGIC)
    while at < len(data):
        if not data[at:].strip(b"\0"):
            break  # a zeroed tail: blocks a power cut allocated and never wrote
        entry = _entry(data, at)
        if entry is None:
            if _end(data, at) >= len(data):
                break  # the last entry, torn: its write never returned
            raise Damaged(f"entry {len(entries) + 1} (byte {at}) is damaged and whole entries follow it")
        entries.append(entry)
        at = _end(data, at)
    return entries


def _end(data: bytes, at: int) -> int:
    """Where the entry at ``at`` ends, as its header says (the end of data for a torn header)."""
    return at + _HEAD.size + _HEAD.unpack_from(data, at)[0] if at + _HEAD.size <= len(data) else len(data)


def _entry(data: bytes, at: int) -> tuple | None:
    """The entry at ``at`` if it is whole and passes its check, else None (Damaged if its
    check passes but it is not a candidate's rows)."""
    if at + _HEAD.size > len(data):
        return None
    length, crc = _HEAD.unpack_from(data, at)
    body = data[at + _HEAD.size: at + _HEAD.size + length]
    if len(body) != length or zlib.crc32(body) != crc:
        return None
    try:
        entry = marshal.loads(body)
    except (ValueError, EOFError, TypeError):
        entry = None
    if not (type(entry) is tuple and len(entry) == 2 and type(entry[1]) is tuple and len(entry[1]) == 12
            and type(entry[1][0]) is int and (entry[0] is None or type(entry[0]) is tuple and len(entry[0]) == 17)):
        raise Damaged(f"the entry at byte {at} is not a candidate's rows")
    return entry
