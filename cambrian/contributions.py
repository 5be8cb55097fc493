"""Who contributed what: per island and per model, the candidates, the valid ones, the
improvements (on the parent, and new bests of the run) and the share of the archive.

The archive share counts the distinct elites of the last saved archive (every island's)
by where each was born: an elite that migrated still counts for its island and model
of origin. Pure over rows, so it is tested without a store."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

BUILTIN = "built-in operators"
SEEDED = "seeds (--from)"   # programs carried over from another run: no operator's work here


def source(operator: str, model: str | None) -> str:
    """Who made a candidate, as the model table says: its model, the built-in operators,
    or the run it was seeded from."""
    return model or (SEEDED if operator == "seed" else BUILTIN)


def builtin(operator: str) -> bool:
    """A candidate of a built-in operator (not a model's, not a seed carried over)."""
    return not operator.startswith("llm:") and operator != "seed"


@dataclass(frozen=True)
class Contribution:
    key: str
    candidates: int
    valid: int
    improved: int     # valid children better than their parent
    new_bests: int    # candidates that raised the run's best
    elites: int       # elites of the archive born here
    share: float      # elites / all elites (0 when no archive is saved)


def contributions(rows: Iterable[tuple], elites: set[str], *, initial: float | None, maximize: bool,
                  by: str) -> list[Contribution]:
    """``rows``: (seq, island, model, program_id, status, score, parent_score) in seq order,
    ``by``: 'island' or 'model'."""
    sign = 1.0 if maximize else -1.0
    best = initial
    acc: dict[str, list[int]] = {}
    for _, island, model, pid, status, score, parent_score in rows:
        key = f"island {island}" if by == "island" else (model or BUILTIN)
        a = acc.setdefault(key, [0, 0, 0, 0, 0])
        a[0] += 1
        if status == "ok" and score is not None:
            a[1] += 1
            a[2] += parent_score is not None and sign * (score - parent_score) > 0
            if best is None or sign * (score - best) > 0:
                best = score
                a[3] += 1
        a[4] += pid is not None and pid in elites
    total = len(elites)
    return [Contribution(k, *a, share=a[4] / total if total else 0.0)
            for k, a in sorted(acc.items(), key=lambda kv: (kv[0] == BUILTIN, kv[0]))]


def from_store(store, *, maximize: bool) -> tuple[list[Contribution], list[Contribution]]:
    """(per island, per model) for a run's store."""
    rows = store.rows(
        "SELECT a.seq, a.island, COALESCE(a.model, CASE WHEN a.operator = 'seed' THEN ? END), p.id, p.status,"
        " p.score, parent.score FROM attempts a"
        " LEFT JOIN programs p ON p.id = a.program_id AND a.outcome = 'new'"
        " LEFT JOIN programs parent ON parent.id = a.parent_id WHERE a.seq > 0 ORDER BY a.seq", SEEDED)
    initial = store.scalar("SELECT score FROM programs WHERE seq = 0")
    archive = (store.meta("state") or {}).get("archive") or []
    elites = {pid for island in archive for pid in island}
    return (contributions(rows, elites, initial=initial, maximize=maximize, by="island"),
            contributions(rows, elites, initial=initial, maximize=maximize, by="model"))
