"""``cambrian report``: one HTML file, nothing outside it (the browser test opens it offline)."""

from __future__ import annotations

import re

from tests.integration.test_cli import cambrian


def test_report_is_one_self_contained_file(toy_run, tmp_path):
    out = tmp_path / "r.html"
    done = cambrian("report", toy_run, "-o", out)
    assert done.returncode == 0 and str(out) in done.stdout, done.stderr
    html = out.read_text()
    assert not re.search(r"(src|href|url)\s*[=(]\s*[\"']?(https?:|//)", html)
    assert "<script" not in html and "<link" not in html
    assert html.count("<svg") >= 5
    for section in ("Score", "Lineage of the best program", "Operators", "Models and cost", "Failures",
                    "Configuration that ran", "MAP-Elites grid"):
        assert f"<h2>{section}" in html
    assert "llm:openai:nudge:diff" in html and "objective: combined_score" in html
    assert "class='add'" in html  # diffs along the lineage


def test_default_location_and_errors(toy_run, tmp_path):
    import shutil

    run = tmp_path / "copy"
    shutil.copytree(toy_run, run)
    done = cambrian("report", run)
    assert done.returncode == 0 and (run / "report.html").is_file()
    missing = cambrian("report", tmp_path / "nope")
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1 and "no store" in missing.stderr
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "cambrian.db").write_text("not a database")
    broken = cambrian("report", bad)
    assert broken.returncode == 2 and "not a Cambrian store" in broken.stderr


HOSTILE = "</script><img src=x onerror=alert(1)>"


def hostile_run(run_dir):
    """A tiny store whose code, failure reason, model name and LLM exchange all carry markup."""
    from cambrian.program import Program, program_id
    from cambrian.store import NEW, Attempt, Store

    store = Store.create(run_dir / Store.FILE, {"problem": "/p", "config": {
        "objective": "combined_score", "direction": "maximize", "budget": 3}})
    store.event("started", budget=3, workers=1, islands=1)
    root = f"# {HOSTILE}\ndef f():\n    return 0\n"
    child = f"# {HOSTILE}\ndef f():\n    return 1  # {HOSTILE}\n"
    bad = f"def f():\n    return '{HOSTILE}'\n"
    model = f"openai:{HOSTILE}"
    store.record(Attempt(0, 0, None, (), "initial", program_id(root), NEW),
                 Program(program_id(root), root, None, "initial", 0, 0, "ok", score=0.1,
                         metrics={"combined_score": 0.1}, seq=0))
    store.record_call(seq=1, attempt=0, model=model, request=f'[{{"role": "user", "content": "{HOSTILE}"}}]',
                      request_hash="1", reply=HOSTILE, tokens_in=1, tokens_out=1, cost=0.001)
    store.record(Attempt(1, 0, program_id(root), (), f"llm:{model}:diff", program_id(child), NEW, "", 0.01, 0.001,
                         model),
                 Program(program_id(child), child, program_id(root), f"llm:{model}:diff", 1, 0, "ok", score=0.2,
                         metrics={"combined_score": 0.2}, feedback={"stdout": HOSTILE}, seq=1))
    store.record(Attempt(2, 0, program_id(child), (), "perturb", program_id(bad), NEW, f"error: {HOSTILE}"),
                 Program(program_id(bad), bad, program_id(child), "perturb", 2, 0, "error", f"error: {HOSTILE}",
                         seq=2))
    store.event("stopped", reason="budget")
    store.close()
    return run_dir


def test_report_escapes_what_comes_from_a_run(tmp_path):
    from cambrian.html_report import render
    from cambrian.runview import RunView

    html = render(RunView(hostile_run(tmp_path)))
    assert "<img" not in html and "</script>" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html  # shown, as text
