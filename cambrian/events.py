"""Run events: one JSON line each in events.jsonl (for tail -f and tools) and a row in the store."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from .store import Store


class EventLog:
    def __init__(self, store: Store, path: Path | None):
        self.store = store
        self.path = path

    def emit(self, kind: str, **data: Any) -> None:
        self.store.event(kind, **data)
        if self.path is not None:
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(json.dumps({"t": round(time.time(), 3), "kind": kind, **data}) + "\n")
