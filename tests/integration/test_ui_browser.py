"""The UI and the report in a real headless Chromium (Debian's ``chromium``, driven by Playwright).

Skipped, with the reason, only when Chromium or Playwright is missing (.ci/run installs both).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
if not os.path.exists(CHROMIUM):
    pytest.skip("Chromium is not installed (apt-get install -y chromium)", allow_module_level=True)
playwright = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed")
pytest.importorskip("starlette", reason="the ui extra is not installed")

from tests.runs import TOY  # noqa: E402

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
WAIT = 120_000  # ms: a generous ceiling on a loaded machine, never a timing assertion


@pytest.fixture(scope="module")
def browser():
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class UI:
    """``cambrian ui`` in its own process, on a free loopback port."""

    def __init__(self, root: Path):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.proc = subprocess.Popen([sys.executable, "-m", "cambrian.cli", "ui", str(root), "--port", str(self.port)],
                                     stderr=subprocess.DEVNULL)
        for _ in range(600):
            try:
                urllib.request.urlopen(self.url + "api/runs", timeout=5).close()
                return
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError("cambrian ui exited")
                time.sleep(0.05)
        raise RuntimeError("cambrian ui did not start")

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


@pytest.fixture
def ui_of():
    servers = []

    def start(root: Path) -> UI:
        servers.append(UI(root))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def test_click_a_program_in_the_lineage_shows_its_diff_and_metrics(browser, toy_run, ui_of):
    ui = ui_of(toy_run)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(ui.url)
    conn = sqlite3.connect(toy_run / "cambrian.db")
    best_id, best = conn.execute("SELECT id, score FROM programs WHERE status = 'ok'"
                                 " ORDER BY score DESC, seq LIMIT 1").fetchone()
    page.wait_for_selector("#kpi-best")
    assert float(page.inner_text("#kpi-best b")) == pytest.approx(best, rel=1e-9)
    page.wait_for_selector("#tree-plot circle.node", timeout=WAIT)
    page.wait_for_function("() => document.getElementById('program-id')?.textContent.length > 0", timeout=WAIT)
    nodes = page.eval_on_selector_all("#tree-plot circle.node", "els => els.map(e => e.dataset.id)")
    initial = conn.execute("SELECT id FROM programs WHERE seq = 0").fetchone()[0]
    target = next(n for n in reversed(nodes) if n not in (best_id, initial))
    page.click(f"#tree-plot circle.node[data-id='{target}']")
    page.wait_for_function(f"() => document.getElementById('program-id').textContent === '{target}'", timeout=WAIT)
    score, metrics = conn.execute("SELECT score, metrics FROM programs WHERE id = ?", (target,)).fetchone()
    assert page.locator("#program-pane pre.diff .add").count() >= 1
    assert page.locator("#program-pane pre.diff .del").count() >= 1
    metric_text = page.inner_text("#program-metrics")
    assert "combined_score" in metric_text and "mse" in metric_text
    assert f"{score:.12g}"[:8] in page.inner_text("#program-score")
    # A program an LLM made: its prompt and reply are one click away.
    page.select_option("#f-sort", "seq")
    row = page.locator("#programs tr.click", has_text="llm:openai:nudge:diff").first
    row.click()
    page.click("button[data-tab='llm']")
    page.wait_for_selector("#program-pane .msg", timeout=WAIT)
    assert "SEARCH" in page.inner_text("#program-pane") and "reply" in page.inner_text("#program-pane")
    assert not errors


def test_headline_numbers_are_not_cut(browser, toy_run, ui_of):
    """The headline numbers of a long run (here the toy run's, scaled up) fit their boxes."""
    ui = ui_of(toy_run)
    for width in (1400, 1000, 600):
        page = browser.new_page(viewport={"width": width, "height": 900})
        page.goto(ui.url)
        page.wait_for_selector("#kpi-best", timeout=WAIT)
        page.evaluate("""async () => {
            const s = await (await fetch("api/runs/" + encodeURIComponent(S.run) + "/summary")).json();
            Object.assign(s, {candidates: 100000, budget: 100000, evaluated: 98765, valid: 87654,
                              duplicates: 12345, no_candidate: 6789, llm_calls: 54321, spent: 123.4567,
                              first: s.last - 54321.5});
            renderSummary(s);
        }""")
        cut = page.eval_on_selector_all(".kpi b", "els => els.filter(e => e.scrollWidth > e.clientWidth)"
                                                  ".map(e => e.textContent)")
        assert cut == [], (width, cut)
        page.close()


def test_page_follows_a_run_as_it_goes(browser, tmp_path, ui_of):
    problem = tmp_path / "toy"
    shutil.copytree(TOY, problem)
    run = tmp_path / "runs" / "live"
    subprocess.run([sys.executable, "-m", "cambrian.cli", "run", str(problem), "--run-dir", str(run),
                    "--budget", "5", "--quiet"], check=True, capture_output=True)
    ui = ui_of(tmp_path / "runs")  # a directory of runs
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(ui.url)
    page.wait_for_function("() => document.querySelector('#kpi-candidates b')?.textContent === '5'", timeout=WAIT)
    page.evaluate("""() => { window.__marker = 'same page'; window.__seen = [];
        new MutationObserver(() => window.__seen.push(document.querySelector('#kpi-candidates b').textContent))
          .observe(document.getElementById('kpis'), {childList: true, subtree: true}); }""")
    plot_before = page.locator("#score-plot circle").count()
    # The run goes on in another process (a budget it will not reach: the test stops it).
    proc = subprocess.Popen([sys.executable, "-m", "cambrian.cli", "run", "--resume", str(run), "--budget", "100000",
                             "--quiet"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        count = "Number(document.querySelector('#kpi-candidates b').textContent.replace(/,/g, ''))"
        page.wait_for_function(f"() => {count} > 5", timeout=WAIT)
        first = page.evaluate(f"() => {count}")
        page.wait_for_function(f"() => {count} > {first}", timeout=WAIT)
        assert proc.poll() is None, "the run was still going while the page updated"
        page.wait_for_function("() => document.getElementById('state').textContent === 'running'", timeout=WAIT)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=120)
    final = sqlite3.connect(run / "cambrian.db").execute("SELECT COUNT(*) FROM attempts WHERE seq > 0").fetchone()[0]
    page.wait_for_function(f"() => {count} === {final}", timeout=WAIT)
    page.wait_for_function("() => document.getElementById('state').textContent.startsWith('stopped: interrupted')",
                           timeout=WAIT)
    assert page.evaluate("window.__marker") == "same page"  # updated in place, never reloaded
    seen = [int(s.replace(",", "")) for s in page.evaluate("window.__seen") if s]
    assert seen == sorted(seen) and len(set(seen)) >= 2  # it counted up, in place
    assert page.locator("#score-plot circle").count() > plot_before


def test_report_opens_with_no_network(browser, toy_run, tmp_path):
    out = tmp_path / "report.html"
    done = subprocess.run([sys.executable, "-m", "cambrian.cli", "report", str(toy_run), "-o", str(out)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    context = browser.new_context(offline=True, java_script_enabled=False)
    requests = []
    context.on("request", lambda r: requests.append(r.url))
    context.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file:")
                  else route.abort())
    page = context.new_page()
    page.goto(out.as_uri())
    assert requests == [out.as_uri()], requests  # nothing else was even asked for
    assert page.locator("h2", has_text="Lineage of the best program").count() == 1
    svgs = page.locator("svg")
    assert svgs.count() >= 5  # score x2, tree, grid, failures
    assert page.locator("svg path").count() >= 3 and page.locator("svg circle.node").count() >= 5
    assert page.locator("svg rect.cell").count() >= 1
    assert page.locator("details pre .add").count() >= 1  # a diff at each step of the lineage
    assert "llm:openai:nudge" in page.inner_text("body") and "Configuration that ran" in page.inner_text("body")
    box = page.locator("svg").first.bounding_box()
    assert box["width"] > 300 and box["height"] > 100  # drawn, not an empty box
    context.close()


def test_failure_examples_wrap_instead_of_being_cut(browser, tmp_path, ui_of):
    """The failures table's "first example" shows its whole first line, wrapped, at 1400 px."""
    import json as _json

    from tests.runs import synthetic_run

    run = synthetic_run(tmp_path / "long-reasons", 200)
    long = ("evaluate() raised CandidateError: ValueError: the candidate returned a list of 37 values where the"
            " evaluator expects exactly 36, one per test case, in the order given by cases.json")
    conn = sqlite3.connect(run / "cambrian.db")
    conn.execute("UPDATE programs SET reason = ? WHERE status = 'error'", (long,))
    conn.commit()
    conn.close()
    ui = ui_of(run)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(ui.url)
    page.wait_for_selector("#failures td.wrap", timeout=WAIT)
    cells = page.eval_on_selector_all(
        "#failures td.wrap", "els => els.map(e => [e.textContent, e.scrollWidth > e.clientWidth,"
                             " e.getBoundingClientRect().right])")
    assert long in [text for text, _, _ in cells]
    assert not any(cut for _, cut, _ in cells)
    assert all(right <= 1400 for _, _, right in cells), _json.dumps(cells)
    page.screenshot(path=str(tmp_path / "failures.png"), full_page=True)
