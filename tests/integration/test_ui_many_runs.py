"""``cambrian ui`` over a directory of many runs: the run list is served from a cache (the
tree is walked again only every ``rescan`` seconds or when asked, a run's summary is read
again only when its store files changed) and at most ``max_open`` SQLite connections are open."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest.importorskip("starlette")
from starlette.testclient import TestClient  # noqa: E402

import cambrian.ui.app as app_mod  # noqa: E402
from cambrian.runview import RunView  # noqa: E402
from cambrian.store import Store  # noqa: E402
from tests.runs import synthetic_run  # noqa: E402

N, K = 300, 8


def open_stores(root: Path) -> int:
    """This process's open file descriptors on a store database under ``root``."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith(str(root)) and target.endswith(Store.FILE):
            count += 1
    return count


@pytest.fixture(scope="module")
def many(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("many")
    for i in range(N):
        synthetic_run(root / f"group-{i // 50}" / f"run-{i:03d}", n=3, seed=i)
    return root


def test_three_hundred_runs_are_listed_from_a_cache_with_few_connections(many, monkeypatch):
    walks, reads = [], []
    real_find, real_summary = app_mod.find_runs, RunView._summary
    monkeypatch.setattr(app_mod, "find_runs", lambda root: walks.append(1) or real_find(root))
    monkeypatch.setattr(RunView, "_summary", lambda self: reads.append(self.run_dir.name) or real_summary(self))
    app = app_mod.create_app(many, rescan=3600, max_open=K)
    c = TestClient(app, base_url="http://127.0.0.1")
    before = open_stores(many)
    runs = c.get("/api/runs").json()["runs"]
    assert len(runs) == N and all(r["candidates"] == 3 and r["state"] == "stopped" for r in runs)
    assert len(walks) == 1 and len(reads) == N
    assert app.state.runs.open_connections() <= K and open_stores(many) - before <= K
    # The page polls: nothing changed, so neither the tree nor any store is read again.
    for _ in range(3):
        assert c.get("/api/runs").json()["runs"] == runs
    assert len(walks) == 1 and len(reads) == N
    # One run is written to: only that one is read again.
    store = Store.open(many / "group-2" / "run-123" / Store.FILE)
    store.event("started", budget=3)
    store.close()
    again = c.get("/api/runs").json()["runs"]
    assert reads[N:] == ["run-123"] and len(walks) == 1
    assert next(r for r in again if r["name"] == "group-2/run-123")["state"] != "stopped"
    # A new run shows up when the tree is walked again: on asking (?refresh=1), or after `rescan` seconds.
    synthetic_run(many / "group-9" / "late", n=3)
    assert len(c.get("/api/runs").json()["runs"]) == N
    assert len(c.get("/api/runs?refresh=1").json()["runs"]) == N + 1 and len(walks) == 2
    # Looking at many runs' pages still keeps at most K connections open, and an evicted run answers again.
    for r in runs[:40]:
        assert c.get(f"/api/runs/{r['name']}/summary").json()["candidates"] == 3
    assert app.state.runs.open_connections() <= K and open_stores(many) - before <= K
    assert c.get(f"/api/runs/{runs[0]['name']}/programs?limit=2").json()["total"] >= 1
    app.state.runs.close()
    assert open_stores(many) == before
