"""Resume snapshots: a resume that starts from a snapshot reaches the same state, and
makes the same next proposals, as one that replays every stored attempt; a snapshot
from another configuration or another version of Cambrian is ignored, not trusted."""

from __future__ import annotations

import asyncio
import enum
import json
import shutil
import signal
import sqlite3

import numpy as np
import pytest

from cambrian import session, snapshot
from cambrian.strategy import Reseeded
from tests.integration.test_resume import _attempts, _cambrian, _start_run
from tests.runs import FEATURES, TOY

POLICIES = {
    "adaptive, bandit": dict(operator_choice="bandit"),
    "islands, grid, migration": dict(search__policy="islands", islands__count=3, archive__features=FEATURES,
                                     islands__migration_interval=7),
}


def plain(obj, seen=None):
    """Everything a strategy holds, as plain data (its config and scratch left out); dict
    and grid orders kept, since iteration order is part of the state."""
    if isinstance(obj, (str, int, float, bool, type(None))):
        return obj
    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (list, tuple)):
        return [plain(x) for x in obj]
    if isinstance(obj, (set, frozenset)):
        return sorted(plain(x) for x in obj)
    if isinstance(obj, dict):
        return [[plain(k), plain(v)] for k, v in obj.items()]
    if isinstance(obj, Reseeded):
        return "scratch"
    return {type(obj).__name__: {k: plain(v) for k, v in vars(obj).items() if k != "config"}}


def _resume(run_dir, monkeypatch, **overrides):
    """Resume ``run_dir``; the runner, to look at its state afterwards."""
    runners = []
    build = session.build_runner

    def keep(*args, **kwargs):
        runners.append(build(*args, **kwargs))
        return runners[-1]

    monkeypatch.setattr(session, "build_runner", keep)
    problem, config, store, path = session.prepare(resume=run_dir, overrides=overrides)
    result = asyncio.run(session.execute(problem, config, store, path))
    result.store.close()
    return runners[0]


def _events(run_dir, kind):
    conn = sqlite3.connect(run_dir / "cambrian.db")
    try:
        return [json.loads(d) for (d,) in conn.execute("SELECT data FROM events WHERE kind = ? ORDER BY id", (kind,))]
    finally:
        conn.close()


def _drop_snapshots(run_dir):
    conn = sqlite3.connect(run_dir / "cambrian.db")
    with conn:
        conn.execute("DELETE FROM snapshots")
    conn.close()


@pytest.mark.parametrize("policy", POLICIES)
def test_resume_from_a_snapshot_equals_a_full_replay(tmp_path, monkeypatch, policy):
    monkeypatch.setattr(snapshot, "EVERY", 10)
    first = session.evolve(TOY, run_dir=tmp_path / "run", budget=45, workers=3, seed=5, **POLICIES[policy])
    first.store.close()
    full, snap = tmp_path / "full", tmp_path / "snap"
    shutil.copytree(tmp_path / "run", full)
    shutil.copytree(tmp_path / "run", snap)
    _drop_snapshots(full)

    a = _resume(full, monkeypatch, budget=70)
    b = _resume(snap, monkeypatch, budget=70)

    # 10, 20, 30, 40 every 10 tells (the newest two kept); 42 when the last candidate
    # (45) was asked, 3 workers: the state candidates 46.. are asked from.
    assert _events(snap, "resumed_from_snapshot") == [{"seq": 42}]
    assert _events(full, "resumed_from_snapshot") == []
    assert plain(a.strategy) == plain(b.strategy)
    assert a.stats.candidates == b.stats.candidates == 70
    for name in ("valid", "evaluated", "duplicates", "failures", "best_score", "best_id", "spent"):
        assert getattr(a.stats, name) == getattr(b.stats, name), name
    assert a.stats.session_candidates == b.stats.session_candidates == 25
    assert _attempts(full / "cambrian.db") == _attempts(snap / "cambrian.db")  # the next proposals too


def test_a_snapshot_of_another_configuration_or_version_is_ignored(tmp_path, monkeypatch):
    monkeypatch.setattr(snapshot, "EVERY", 10)
    session.evolve(TOY, run_dir=tmp_path / "run", budget=25, workers=2, seed=2).store.close()
    other = tmp_path / "other"
    shutil.copytree(tmp_path / "run", other)

    # A setting a resume may change, which changes how the strategy is built.
    _resume(tmp_path / "run", monkeypatch, **{"budget": 30, "selection.inspirations": 1})
    assert _events(tmp_path / "run", "resumed_from_snapshot") == []
    (ignored,) = _events(tmp_path / "run", "snapshot_ignored")
    assert all("another configuration" in why for why in ignored["reasons"]), ignored

    # The same configuration, another version of the code a tell runs through.
    monkeypatch.setattr(snapshot, "_code_digest", lambda: b"another version")
    _resume(other, monkeypatch, budget=30)
    assert _events(other, "resumed_from_snapshot") == []
    assert _events(other, "snapshot_ignored")


def test_sigkill_between_checkpoints_then_resume_from_the_snapshot(tmp_path, drop_dir):
    proc, run_dir, log = _start_run(tmp_path, drop_dir, 18, snapshots_every=5)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    full = tmp_path / "full"
    shutil.copytree(run_dir, full)
    _drop_snapshots(full)
    conn = sqlite3.connect(run_dir / "cambrian.db")
    saved = [seq for (seq,) in conn.execute("SELECT seq FROM snapshots")]
    conn.close()
    assert saved and all(seq % 5 == 0 for seq in saved), saved

    for where in (run_dir, full):
        done = _cambrian("run", "--resume", str(where), "--quiet", log=log, snapshots_every=5)
        out, err = done.communicate(timeout=180)
        assert done.returncode == 0, err
    (used,) = _events(run_dir, "resumed_from_snapshot")
    assert used["seq"] in saved
    assert _events(full, "resumed_from_snapshot") == []
    after = _attempts(run_dir / "cambrian.db")
    assert [row[0] for row in after] == list(range(31))
    assert after == _attempts(full / "cambrian.db")
