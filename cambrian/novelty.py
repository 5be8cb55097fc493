"""Novelty rejection: is a candidate too similar to programs already on its island?

MinHash signatures over token shingles of the evolve regions, indexed with
locality-sensitive hashing (bands of rows), so a check looks at a handful of
near neighbours whether the island holds a hundred programs or a hundred thousand.
Entries carry the sequence number they were told at; a query sees only entries up
to a horizon, so the answer depends on what was told, never on timing.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict

import numpy as np

from .program import Frame

_TOKEN = re.compile(r"\w+|[^\w\s]")
_PRIME = (1 << 61) - 1


class MinHasher:
    def __init__(self, *, num_perm: int = 64, shingle: int = 5, seed: int = 0):
        rng = np.random.default_rng(seed)
        self.a = rng.integers(1, _PRIME, size=num_perm, dtype=np.uint64)
        self.b = rng.integers(0, _PRIME, size=num_perm, dtype=np.uint64)
        self.shingle = shingle

    def signature(self, code: str) -> np.ndarray:
        try:
            text = "\n".join(Frame.parse(code).regions)
        except Exception:
            text = code
        tokens = _TOKEN.findall(text)
        k = self.shingle
        grams = {" ".join(tokens[i:i + k]) for i in range(max(1, len(tokens) - k + 1))}
        hashes = np.fromiter(
            (int.from_bytes(hashlib.blake2b(g.encode(), digest_size=8).digest(), "little") >> 3 for g in grams),
            dtype=np.uint64, count=len(grams))
        # (a * h + b) mod p, with wrap-around in uint64: a universal-enough family for MinHash.
        mixed = (self.a[:, None] * hashes[None, :] + self.b[:, None]) % np.uint64(_PRIME)
        return mixed.min(axis=1)


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Estimated Jaccard similarity of two signatures."""
    return float(np.mean(a == b))


class NoveltyIndex:
    def __init__(self, *, bands: int = 16, num_perm: int = 64, seed: int = 0):
        if num_perm % bands:
            raise ValueError("num_perm must be a multiple of bands")
        self.hasher = MinHasher(num_perm=num_perm, seed=seed)
        self.bands = bands
        self.rows = num_perm // bands
        self._buckets: dict[tuple[int, int, bytes], list[tuple[int, str]]] = defaultdict(list)
        self._signatures: dict[str, np.ndarray] = {}

    def _keys(self, island: int, sig: np.ndarray):
        for band in range(self.bands):
            yield island, band, sig[band * self.rows:(band + 1) * self.rows].tobytes()

    def add(self, island: int, program_id: str, code: str, seq: int) -> None:
        sig = self._signatures.get(program_id)
        if sig is None:
            sig = self._signatures[program_id] = self.hasher.signature(code)
        for key in self._keys(island, sig):
            self._buckets[key].append((seq, program_id))

    def similar(self, island: int, code: str, *, horizon: int, threshold: float,
                probe: int = 32) -> tuple[str, float] | None:
        """An indexed program told at or before ``horizon`` whose similarity reaches
        ``threshold``, or None. Each bucket is probed newest first, at most ``probe``
        entries, so the cost does not grow with the island."""
        sig = self.hasher.signature(code)
        seen: set[str] = set()
        for key in self._keys(island, sig):
            checked = 0
            for seq, pid in reversed(self._buckets.get(key, ())):
                if seq > horizon or pid in seen:
                    continue
                seen.add(pid)
                s = similarity(sig, self._signatures[pid])
                if s >= threshold:
                    return pid, s
                checked += 1
                if checked >= probe:
                    break
        return None
