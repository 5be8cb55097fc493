"""Resume snapshots: the state a replay rebuilds, saved at checkpoints, so a resume
replays only the attempts after the newest usable one.

What a resume rebuilds by replaying every stored attempt in order is the strategy
(its policy's islands and archive, the bandit's record, children counts, the best so
far), the runner's counters (``Stats``) and the insight notes. Every ``EVERY`` tells
and at a graceful stop the runner saves that state, right after the tell of candidate
``seq``: every attempt it covers (1..seq) is stored already and is never changed
afterwards, so a snapshot is never ahead of the store. A kill between checkpoints
loses nothing: the attempts after the snapshot are replayed.

A snapshot is used only if it is the state a full replay would reach:

* its digest matches: the source of every module a tell runs through, and what the
  strategy is built from (the config without the settings that only stop or pace a
  session, the operators and their weights, the run's shape). A snapshot written by
  another version of Cambrian or under another configuration is ignored (full replay),
  never trusted;
* every candidate up to ``seq + workers - 1`` is stored: the loop asks candidate n
  after the tell of n - workers, so a candidate missing that early would have been
  asked from an earlier state than the snapshot's;
* neither the resume's ``target`` nor its ``patience`` would have stopped a full
  replay before ``seq``.

The state is pickled (the store is the user's own file) with the config left out
(it is the resuming session's, equal in everything the digest covers) and read back
with an unpickler that only builds Cambrian's own classes and plain containers.
Runs with novelty rejection keep replaying in full (its index holds a signature per
program: too big to save every few thousand candidates).
"""

from __future__ import annotations

import hashlib
import io
import json
import pickle
import zlib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from .config import Config
from .stats import Stats

EVERY = 1000   # tells between snapshots

# Settings that stop or pace a session and never change what a tell does. Under the
# lineages policy the horizon (max_calls or budget) places the late phase: kept there.
_PACING = ("budget", "max_time", "target", "patience", "workers", "max_cost", "max_calls", "executor")
_HORIZON = ("budget", "max_calls")

# Modules a tell (and the replay around it) runs through: a change to any of them may
# change the state a replay reaches.
_MODULES = ("strategy.py", "adaptive.py", "bandit.py", "baselines.py", "archive/__init__.py", "archive/islands.py",
            "archive/map_elites.py", "archive/selection.py", "runner.py", "stats.py", "store.py", "snapshot.py",
            "resume.py")
_ROOT = Path(__file__).resolve().parent


@dataclass
class State:
    seq: int                 # the last candidate told
    strategy: Any
    stats: Stats
    notes: str
    max_since: int           # the longest run without improvement up to seq (for a resume's patience)


def _read_code_digest() -> bytes:
    h = hashlib.sha256()
    for name in _MODULES:
        h.update(name.encode() + b"\0" + (_ROOT / name).read_bytes())
    return h.digest()


# Read once, when the code is loaded: the digest names the code that runs, even if the
# source files are edited during a run (and no snapshot re-reads 13 files).
_CODE_DIGEST = _read_code_digest()


def _code_digest() -> bytes:
    return _CODE_DIGEST


def digest(config: Config, strategy: Any) -> str:
    """What a snapshot's state depends on besides the stored attempts (see the module doc)."""
    settings = config.to_dict()
    for key in _PACING:
        if not (key in _HORIZON and config.search.policy == "lineages"):
            settings.pop(key, None)
    built = {"operators": list(strategy._operators), "weights": {f"{k[0]},{k[1]}": v for k, v in strategy._cumulative.items()},
             "mate": sorted(strategy._mate_operators), "island_arms": [sorted(a) for a in strategy._island_arms],
             "bandit": strategy.bandit is not None, "shape": strategy.shape.to_dict()}
    h = hashlib.sha256(_code_digest())
    h.update(json.dumps([settings, built], sort_keys=True, default=str).encode())
    return h.hexdigest()[:32]


class _Pickler(pickle.Pickler):
    def __init__(self, file: io.BytesIO, config: Config):
        super().__init__(file, protocol=5)
        self.config = config

    def persistent_id(self, obj: Any) -> str | None:
        return "config" if obj is self.config else None


# What the unpickler may build: Cambrian's own classes, plain containers, numbers.
_SAFE = {"collections": {"Counter", "defaultdict", "OrderedDict"}, "builtins": {"set", "frozenset", "complex"},
         "copyreg": {"_reconstructor"}}


class _Unpickler(pickle.Unpickler):
    def __init__(self, file: io.BytesIO, config: Config):
        super().__init__(file)
        self.config = config

    def persistent_load(self, pid: Any) -> Any:
        if pid != "config":
            raise pickle.UnpicklingError(f"unknown reference {pid!r}")
        return self.config

    def find_class(self, module: str, name: str) -> Any:
        if module.startswith("cambrian.") and "." not in name:
            found = super().find_class(module, name)
            # a class defined in Cambrian itself: never a function (a REDUCE would call it) nor
            # something a module merely imported (os, subprocess...)
            if isinstance(found, type) and found.__module__.startswith("cambrian."):
                return found
        elif name in _SAFE.get(module, ()) or (
                module.startswith("numpy") and name in {"_reconstruct", "ndarray", "dtype", "scalar",
                                                         "__randomstate_ctor", "__generator_ctor",
                                                         "__bit_generator_ctor", "_frombuffer"}):
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"a snapshot may not build {module}.{name}")


def dump(state: State, config: Config) -> bytes:
    buffer = io.BytesIO()
    _Pickler(buffer, config).dump(state)
    return zlib.compress(buffer.getvalue(), 1)


def load(blob: bytes, config: Config) -> State:
    """The state saved by ``dump``, its config the resuming session's. Raises ValueError
    (or a pickle error) on a damaged snapshot: the caller then replays in full."""
    state = _Unpickler(io.BytesIO(zlib.decompress(blob)), config).load()
    if not isinstance(state, State):
        raise ValueError("not a snapshot")
    return state


def fresh_session(stats: Stats) -> Stats:
    """The saved counters, with this session's own (candidates, dollars, clock) at zero."""
    out = Stats(**{f.name: getattr(stats, f.name) for f in fields(Stats)
                   if f.name not in ("started", "session_candidates", "session_spent", "stop_reason")})
    return out
