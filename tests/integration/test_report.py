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
