"""The UI's API: read-only, paged, aggregated on the server, guarded (Starlette TestClient),
and once through a real uvicorn server on 127.0.0.1."""

from __future__ import annotations

import hashlib
import json
import re
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip("starlette")
from starlette.testclient import TestClient  # noqa: E402

from cambrian.runview import RunView  # noqa: E402
from cambrian.ui.app import STATIC, create_app  # noqa: E402

LOCAL = "http://127.0.0.1"


def client(root: Path, **kw) -> TestClient:
    return TestClient(create_app(root, **kw), base_url=LOCAL)


def digest(run: Path) -> str:
    """The store's content, every row of every table (not its files: SQLite may checkpoint
    the WAL into the database when the run's own connection closes, and every reader takes
    read marks in -shm, neither of which changes a row)."""
    conn = sqlite3.connect(f"file:{run / 'cambrian.db'}?mode=ro", uri=True)
    try:
        return hashlib.sha256("\n".join(conn.iterdump()).encode("utf-8", "surrogatepass")).hexdigest()
    finally:
        conn.close()


def test_ten_thousand_programs_are_paged_and_aggregated(big_run):
    c = client(big_run)
    runs = c.get("/api/runs").json()["runs"]
    assert [r["name"] for r in runs] == ["big"] and runs[0]["candidates"] == 10_000
    s = c.get("/api/runs/big/summary").json()
    assert s["candidates"] == 10_000 and s["state"] == "stopped" and s["islands"] == 4
    assert s["valid"] + sum(n for k, n in s["statuses"].items() if k != "ok") + s["duplicates"] + s["no_candidate"] \
        == 10_000
    total = c.get("/api/runs/big/programs?limit=1").json()["total"]
    conn = sqlite3.connect(big_run / "cambrian.db")
    assert total == conn.execute("SELECT COUNT(*) FROM programs").fetchone()[0]
    last = c.get(f"/api/runs/big/programs?offset={total - 7}&limit=50&sort=seq").json()
    assert len(last["rows"]) == 7 and last["rows"][-1]["seq"] == conn.execute("SELECT MAX(seq) FROM programs").fetchone()[0]
    assert "code" not in last["rows"][0]  # pages carry no code
    by_score = c.get("/api/runs/big/programs?sort=-score&limit=500").json()["rows"]
    assert len(by_score) == 500
    assert [p["score"] for p in by_score] == sorted((p["score"] for p in by_score), reverse=True)
    errors = c.get("/api/runs/big/programs?status=error&limit=5").json()
    assert errors["total"] == s["statuses"]["error"] and {p["status"] for p in errors["rows"]} == {"error"}
    # Aggregates stay small whatever the run's size.
    curve = c.get("/api/runs/big/curve").json()
    assert len(curve["sample"]) <= 1500 and set(curve["islands"]) == {"0", "1", "2", "3"}
    steps = [p[2] for p in curve["overall"]]
    assert steps == sorted(steps) and steps[-1] == s["best"]["score"]
    tree = c.get("/api/runs/big/tree?top=30").json()
    assert 30 <= len(tree["nodes"]) < 2000 and tree["best_path"][-1] == s["best"]["id"]
    assert tree["best_path"][0] == s["initial"]["id"]
    assert tree["compressed"] and tree["generations"] > 100  # long chains drawn as one edge
    shown = {n["id"] for n in tree["nodes"]}
    assert all(n["shown_parent"] in shown for n in tree["nodes"] if n["shown_parent"])
    grid = c.get("/api/runs/big/grid").json()
    assert [a["name"] for a in grid["axes"]] == ["x", "code_length"]
    assert sum(cell["count"] for cell in grid["cells"]) == s["valid"] + 1  # and the initial program
    failures = c.get("/api/runs/big/failures").json()
    assert sum(f["count"] for f in failures) == 10_000 - s["valid"] - s["duplicates"]
    assert failures[0]["kind"] == "error: ZeroDivisionError"
    arms = {a["arm"]: a for a in c.get("/api/runs/big/arms").json()}
    assert sum(a["candidates"] for a in arms.values()) == 10_000
    assert arms["llm:openai:m1:diff"]["cost"] == pytest.approx(2500 * 0.001)
    models = c.get("/api/runs/big/models").json()
    assert models[0]["model"] == "openai:m1" and models[0]["requests"] == 2500
    for plot in ("score", "tree", "grid", "failures"):
        r = c.get(f"/api/runs/big/plot/{plot}.svg")
        assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg+xml")
        assert r.text.startswith("<svg") and len(r.text) < 400_000


def test_a_program_shows_code_diff_metrics_feedback_and_how_it_was_made(toy_run):
    c = client(toy_run)
    conn = sqlite3.connect(toy_run / "cambrian.db")
    pid, parent, seq = conn.execute("SELECT id, parent_id, seq FROM programs WHERE operator LIKE 'llm:%diff'"
                                    " AND status = 'ok' ORDER BY seq LIMIT 1").fetchone()
    p = c.get(f"/api/runs/toy/programs/{pid}").json()
    assert p["parent"]["id"] == parent and p["diff"].startswith("--- parent")
    assert re.search(r"^\+\s+a\d = ", p["diff"], re.M) and re.search(r"^-\s+a\d = ", p["diff"], re.M)
    assert set(p["metrics"]) >= {"combined_score", "mse"}
    assert p["llm_calls"] and p["llm_calls"][0]["model"] == "openai:nudge"
    assert p["llm_calls"][0]["request"][0]["role"] == "system" and "SEARCH" in p["llm_calls"][-1]["reply"]
    assert p["cost"] == pytest.approx(conn.execute("SELECT cost FROM attempts WHERE seq = ?", (seq,)).fetchone()[0])
    assert p["cost"] > 0
    assert c.get("/api/runs/toy/programs/nosuchprogram").status_code == 404


def test_nothing_can_change_the_store(toy_run):
    before = digest(toy_run)
    c = client(toy_run)
    for method in ("post", "put", "patch", "delete"):
        for path in ("/", "/api/runs", "/api/runs/toy/summary", "/api/runs/toy/programs"):
            r = getattr(c, method)(path)
            assert r.status_code == 405, (method, path)
    assert c.get("/api/runs/toy/programs?sort=score;DROP TABLE programs").status_code == 400
    assert c.get("/api/runs/toy/programs?offset=x").status_code == 400
    assert c.get("/api/runs/toy/programs?status=ok' OR 1=1 --").json()["total"] == 0
    assert c.get("/api/runs/toy/summary").json()["candidates"] == 60
    view = RunView(toy_run)
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        view.conn.execute("DELETE FROM programs")
    assert digest(toy_run) == before


def test_guards(toy_run, tmp_path):
    c = client(toy_run)
    assert c.get("/", headers={"host": "evil.example:8765"}).status_code == 400  # DNS rebinding
    r = c.get("/")
    assert r.status_code == 200 and "default-src 'self'" in r.headers["content-security-policy"]
    assert c.get("/api/runs/..%2F..%2Fetc/summary").status_code == 404
    assert c.get("/api/runs/nosuchrun/summary").status_code == 404
    t = TestClient(create_app(toy_run, token="s3cret", loopback_only=False), base_url="http://192.0.2.1")
    assert t.get("/api/runs").status_code == 401
    assert t.get("/?token=wrong").status_code == 401
    first = t.get("/?token=s3cret")
    assert first.status_code == 200 and "cambrian_token" in first.headers["set-cookie"]
    assert t.get("/api/runs/toy/summary").status_code == 200  # the cookie from then on
    assert TestClient(t.app).get("/api/runs", headers={"authorization": "Bearer s3cret"}).status_code == 200
    # A second UI on the same host (another port, another token): cookies do not tell ports apart,
    # so each UI's cookie must survive the other's.
    a = TestClient(create_app(toy_run, token="aaa", loopback_only=False), base_url="http://192.0.2.1:8001")
    b = TestClient(create_app(toy_run, token="bbb", loopback_only=False), base_url="http://192.0.2.1:8002")
    jar = {}
    for ui, token in ((a, "aaa"), (b, "bbb")):
        r = ui.get(f"/?token={token}")
        name, value = r.headers["set-cookie"].split(";")[0].split("=", 1)
        jar[name] = value
    for ui in (a, b):
        ui.cookies.clear()
        assert ui.get("/api/runs", headers={"cookie": "; ".join(f"{k}={v}" for k, v in jar.items())}).status_code == 200
    empty = client(tmp_path)
    assert empty.get("/api/runs").json()["runs"] == []


def test_the_page_ships_everything_it_needs():
    files = {p.name for p in STATIC.iterdir()}
    assert {"index.html", "app.js", "style.css"} <= files
    for name in files:
        text = (STATIC / name).read_text()
        assert not re.search(r"(src|href)=[\"']?(https?:)?//", text), name
        assert "@import" not in text and "fetch(\"http" not in text


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_real_server_on_loopback(toy_run):
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "cambrian.cli", "ui", str(toy_run), "--port", str(port)],
                            stderr=subprocess.PIPE, text=True)
    try:
        banner = proc.stderr.readline() + proc.stderr.readline()
        assert f"http://127.0.0.1:{port}/" in banner and "token" not in banner
        body = None
        for _ in range(200):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/runs/toy/summary", timeout=5) as r:
                    body = r.read().decode()
                break
            except OSError:
                time.sleep(0.05)
        assert body is not None and '"candidates":60' in body
        listening = subprocess.run(["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True).stdout
        if listening:  # the local address column: loopback only
            assert {line.split()[3] for line in listening.splitlines()} == {f"127.0.0.1:{port}"}
        req = urllib.request.Request(f"http://127.0.0.1:{port}/api/runs", method="POST")
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(req, timeout=5)
        assert err.value.code == 405
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_ui_misuse_is_one_line(tmp_path):
    from tests.integration.test_cli import cambrian

    r = cambrian("ui", tmp_path / "missing")
    assert r.returncode == 2 and r.stderr.strip().count("\n") == 0 and "no such directory" in r.stderr
    r = cambrian("ui", tmp_path, "--port", "70000")
    assert r.returncode == 2 and "--port" in r.stderr
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        r = cambrian("ui", tmp_path, "--port", taken.getsockname()[1])
    assert r.returncode == 2 and "cannot listen on 127.0.0.1" in r.stderr and "Traceback" not in r.stderr


def test_slow_aggregates_are_recomputed_at_most_every_five_times_their_cost(toy_run, monkeypatch):
    import cambrian.runview as rv

    clock = [1000.0]
    monkeypatch.setattr(rv.time, "monotonic", lambda: clock[0])
    view = RunView(toy_run)
    versions = iter(f"v{i}" for i in range(100))
    monkeypatch.setattr(view, "version", lambda: next(versions))  # the run changes before every call
    calls = []

    def compute():
        calls.append(clock[0])
        clock[0] += 1.0  # this aggregate costs one second
        return len(calls)

    assert view._cached(("k",), compute) == 1
    clock[0] += 3.0
    assert view._cached(("k",), compute) == 1  # 4 s after a 1 s computation: still cached
    clock[0] += 1.5
    assert view._cached(("k",), compute) == 2  # 5.5 s: recomputed
    cheap = []
    for _ in range(3):
        assert view._cached(("cheap",), lambda: cheap.append(1) or len(cheap)) == len(cheap)
    assert len(cheap) == 3  # instant aggregates follow every change


def test_a_broken_run_beside_good_ones(toy_run, tmp_path):
    import shutil

    root = tmp_path / "runs"
    shutil.copytree(toy_run, root / "good")
    (root / "bad").mkdir()
    (root / "bad" / "cambrian.db").write_text("not a database")
    shutil.copytree(toy_run, root / "bench" / "toy" / "greedy" / "seed-0")  # `cambrian bench` layout
    c = client(root)
    runs = {r["name"]: r for r in c.get("/api/runs").json()["runs"]}
    assert set(runs) == {"good", "bad", "bench/toy/greedy/seed-0"}
    assert runs["good"]["candidates"] == 60 and "not a Cambrian store" in runs["bad"]["error"]
    assert c.get("/api/runs/bench%2Ftoy%2Fgreedy%2Fseed-0/summary").json()["candidates"] == 60
    assert c.get("/api/runs/bench/toy/greedy/seed-0/programs?limit=1").json()["total"] > 0
    assert c.get("/api/runs/bad/summary").status_code == 503
    assert c.get("/api/runs/good/summary").status_code == 200


def test_other_interfaces_need_a_token(toy_run, monkeypatch, capsys):
    import uvicorn

    from cambrian.ui import serve as serve_mod

    assert serve_mod.is_loopback("127.0.0.1") and serve_mod.is_loopback("::1") and serve_mod.is_loopback("localhost")
    assert not serve_mod.is_loopback("0.0.0.0") and not serve_mod.is_loopback("192.0.2.7")

    started = {}
    monkeypatch.setattr(serve_mod, "check_port", lambda host, port: None)  # binds nothing here
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: started.update(app=app, **kw))
    serve_mod.serve(toy_run, host="0.0.0.0", port=8765)
    banner = capsys.readouterr().err
    token = re.search(r"\?token=([\w-]+)", banner).group(1)
    assert len(token) >= 24 and started["host"] == "0.0.0.0" and "token above is required" in banner
    app = TestClient(started["app"], base_url="http://192.0.2.1")
    assert app.get("/api/runs").status_code == 401
    assert app.get(f"/api/runs?token={token}").status_code == 200
    serve_mod.serve(toy_run, host="127.0.0.1", port=8765)
    assert "token" not in capsys.readouterr().err
    local = TestClient(started["app"], base_url="http://127.0.0.1:8765")
    assert local.get("/api/runs").status_code == 200
    from cambrian.errors import CambrianError

    monkeypatch.setenv("CAMBRIAN_UI_TOKEN", "chosen-by-the-environment")
    serve_mod.serve(toy_run, host="0.0.0.0", port=8765)
    assert "?token=chosen-by-the-environment" in capsys.readouterr().err
    monkeypatch.delenv("CAMBRIAN_UI_TOKEN")
    with pytest.raises(CambrianError, match="empty token"):
        serve_mod.serve(toy_run, host="0.0.0.0", port=8765, token="")
    serve_mod.serve(toy_run, host="127.0.0.2", port=8765)  # loopback too: the printed URL must work
    assert "open http://127.0.0.2:8765/" in capsys.readouterr().err
    other = TestClient(started["app"], base_url="http://127.0.0.2:8765")
    assert other.get("/api/runs").status_code == 200
    assert other.get("/api/runs", headers={"host": "evil.example:8765"}).status_code == 400


def test_grid_axes_are_chosen_among_the_features(tmp_path):
    from tests.runs import synthetic_run

    features = [{"name": "x", "bins": 4, "min": 0.0, "max": 1.0}, {"name": "code_length", "bins": 3, "min": 0, "max": 90},
                {"name": "combined_score", "bins": 5, "min": 0.0, "max": 1.0}]
    run = synthetic_run(tmp_path / "three", 300, features=features)
    c = client(run)
    first = c.get("/api/runs/three/grid").json()
    assert first["features"] == ["x", "code_length", "combined_score"]
    assert [a["name"] for a in first["axes"]] == ["x", "code_length"]
    chosen = c.get("/api/runs/three/grid?x=combined_score&y=x").json()
    assert [a["name"] for a in chosen["axes"]] == ["combined_score", "x"]
    assert all(0 <= cell["cell"][0] < 5 and 0 <= cell["cell"][1] < 4 for cell in chosen["cells"])
    assert sum(cell["count"] for cell in chosen["cells"]) == sum(cell["count"] for cell in first["cells"])
    assert "combined_score" in c.get("/api/runs/three/plot/grid.svg?x=combined_score&y=x").text


def test_state_follows_the_clock_without_writes(toy_run, tmp_path, monkeypatch):
    """A session that started and never stopped (SIGKILL) is running while it writes,
    then "no activity", even though nothing in the store changes."""
    import shutil

    import cambrian.runview as rv

    run = tmp_path / "killed"
    shutil.copytree(toy_run, run)
    conn = sqlite3.connect(run / "cambrian.db")
    with conn:
        conn.execute("DELETE FROM events WHERE kind = 'stopped'")
    conn.close()
    view = RunView(run)
    last = view.summary()["last"]
    monkeypatch.setattr(rv.time, "time", lambda: last + 5)
    assert view.summary()["state"] == "running"
    monkeypatch.setattr(rv.time, "time", lambda: last + 500)
    s = view.summary()
    assert s["state"] == "no activity" and s["stop_reason"] is None
    assert RunView(toy_run).summary()["state"] == "stopped"


def test_plots_and_report_of_a_hostile_run_carry_no_markup(tmp_path):
    from tests.integration.test_report import hostile_run

    c = client(hostile_run(tmp_path / "h"))
    for path in ("plot/score.svg", "plot/tree.svg", "plot/grid.svg", "plot/failures.svg", "report.html"):
        r = c.get(f"/api/runs/h/{path}")
        assert r.status_code == 200 and "<img" not in r.text and "</script>" not in r.text, path
    assert "&lt;img" in c.get("/api/runs/h/plot/tree.svg").text  # the model name is there, escaped


def test_a_run_whose_initial_program_failed_says_so(failed_initial_run):
    c = client(failed_initial_run)
    s = c.get("/api/runs/run/summary").json()
    assert s["state"].startswith("initial program failed: ") and "ZeroDivisionError" in s["state"], s["state"]
    assert s["candidates"] == 0 and s["best"] is None
    listed = c.get("/api/runs").json()["runs"]
    assert listed[0]["state"] == s["state"]
    # Failures are candidates' failures, shared over the candidates: the initial program is not one of them.
    failures = c.get("/api/runs/run/failures").json()
    assert all(0.0 <= f["share"] <= 1.0 for f in failures) and sum(f["count"] for f in failures) == 0


def test_failure_shares_add_up_over_the_candidates(big_run):
    failures = client(big_run).get("/api/runs/big/failures").json()
    s = RunView(big_run).summary()
    failed = s["candidates"] - s["valid"] - s["duplicates"]
    assert sum(f["count"] for f in failures) == failed
    assert abs(sum(f["share"] for f in failures) - failed / s["candidates"]) < 1e-9


def test_a_feature_name_with_quotes_is_data_not_sql(tmp_path):
    from tests.runs import synthetic_run

    features = [{"name": "it's \"odd\"", "bins": 4, "min": 0.0, "max": 1.0},
                {"name": "code_length", "bins": 4, "min": 0, "max": 200}]
    run = synthetic_run(tmp_path / "quotes", 50, features=features)
    # synthetic_run stores the metric as "x": give it the odd name too.
    conn = sqlite3.connect(run / "cambrian.db")
    for pid, metrics in conn.execute("SELECT id, metrics FROM programs WHERE status = 'ok'").fetchall():
        conn.execute("UPDATE programs SET metrics = ? WHERE id = ?",
                     (json.dumps({**json.loads(metrics), features[0]["name"]: 0.6}), pid))
    conn.commit()
    conn.close()
    c = client(run)
    grid = c.get("/api/runs/quotes/grid").json()
    assert grid["axes"][0]["name"] == features[0]["name"]
    assert sum(cell["count"] for cell in grid["cells"]) > 0
    assert all(cell["cell"][0] == 2 for cell in grid["cells"])  # 0.6 of [0, 1) in 4 bins
    assert c.get("/api/runs/quotes/plot/grid.svg").status_code == 200
    from cambrian.html_report import render

    assert "<html" in render(RunView(run)).lower()


def test_a_wildcard_address_prints_a_url_that_can_be_opened():
    from cambrian.ui.serve import display_url

    url, note = display_url("0.0.0.0", 8765, "tok", hostname="box.example")
    assert url == "http://box.example:8765/?token=tok" and "0.0.0.0" in note and "address" in note
    url, note = display_url("::", 9000, None, hostname="box")
    assert url == "http://box:9000/" and note
    assert display_url("192.0.2.7", 1, None) == ("http://192.0.2.7:1/", "")
    assert display_url("::1", 1, None) == ("http://[::1]:1/", "")
