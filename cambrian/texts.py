"""LLM exchanges stored compactly: content-addressed, compressed parts.

Every prompt repeats most of the one before it: the same system text, the same task,
often the same parent and inspirations; only the history and the reply are new. A
message is cut into parts at its markdown sections (a line starting ``## ``); each
part is stored once, zlib-compressed, in ``texts`` under the hash of its text, and an
exchange keeps only the list of part hashes. ``llm_calls.request`` of such a row is a
JSON object ``{"messages": [[role, [hash, ...]], ...], "reply": [hash, ...]}`` and
its ``reply`` column is empty; a row written before (a JSON list of messages and the
reply in full) reads the same way. Reading an exchange back gives the exact text sent
and received, so replay, resume, branches and the UI do not see the difference.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import zlib
from typing import Any

SCHEMA = "CREATE TABLE IF NOT EXISTS texts (hash TEXT PRIMARY KEY, body BLOB NOT NULL)"

_SECTION = re.compile(r"(?=^## )", re.MULTILINE)


def split(text: str) -> list[str]:
    """The text cut before each line that starts a markdown section: joined, it is the text."""
    return [part for part in _SECTION.split(text) if part] or [""]


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:24]


def _put(conn: sqlite3.Connection, text: str) -> list[str]:
    hashes = []
    for part in split(text):
        key = text_hash(part)
        conn.execute("INSERT OR IGNORE INTO texts VALUES (?, ?)",
                     (key, zlib.compress(part.encode("utf-8", "surrogatepass"), 6)))
        hashes.append(key)
    return hashes


def encode(conn: sqlite3.Connection, messages: Any, reply: str) -> tuple[str, str]:
    """(request, reply) column values for an exchange; its parts go into ``texts``. A
    request that is not a list of text messages is kept whole, as it came."""
    if not all(isinstance(m, dict) and set(m) == {"role", "content"} and isinstance(m["content"], str)
               and isinstance(m["role"], str) for m in messages):
        return json.dumps(messages), reply
    packed = {"messages": [[m["role"], _put(conn, m["content"])] for m in messages],
              "reply": _put(conn, reply) if reply else []}
    return json.dumps(packed, separators=(",", ":")), ""


def _get(conn: sqlite3.Connection, hashes: list[str]) -> str:
    out = []
    for key in hashes:
        row = conn.execute("SELECT body FROM texts WHERE hash = ?", (key,)).fetchone()
        if row is None:
            raise ValueError(f"text part {key} is missing")
        try:
            part = zlib.decompress(row[0]).decode("utf-8", "surrogatepass")
        except zlib.error as exc:
            raise ValueError(f"text part {key} is damaged ({exc})") from None
        if text_hash(part) != key:  # damaged, or another text: never answer with it
            raise ValueError(f"text part {key} is damaged (its text has another hash)")
        out.append(part)
    return "".join(out)


def decode(conn: sqlite3.Connection, request: str, reply: str) -> tuple[list[dict[str, str]], str]:
    """The messages sent and the reply received, from a row's (request, reply) columns.
    Raises ValueError for a damaged row."""
    data: Any = json.loads(request)
    if isinstance(data, list):  # written whole, before parts
        return data, reply
    messages = [{"role": role, "content": _get(conn, hashes)} for role, hashes in data["messages"]]
    return messages, _get(conn, data["reply"])


def referenced(request: str) -> list[str]:
    """The part hashes a row's request column names (none for a row written whole)."""
    try:
        data = json.loads(request)
    except ValueError:
        return []
    if not isinstance(data, dict):
        return []
    return [h for _, hashes in data.get("messages", []) for h in hashes] + list(data.get("reply", []))
