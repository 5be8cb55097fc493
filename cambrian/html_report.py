"""``cambrian report``: one self-contained HTML file about a run.

Plots are inline SVG, the style is inline, there is no script and no external
reference of any kind, so the file opens offline, in a mail client or attached to
a paper or an issue, and shows the same thing in ten years.
"""

from __future__ import annotations

import datetime as dt
import platform
from html import escape
from pathlib import Path
from typing import Any

from . import plots
from .plots import fmt
from .runview import RunView

MAX_STEPS = 200  # lineage steps shown with their diffs (the newest ones when there are more)

STYLE = """
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0 auto;max-width:1000px;padding:18px;color:#222}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:3px}
.sub{color:#666} .kpis{display:flex;flex-wrap:wrap;gap:10px;margin:14px 0}
.kpi{border:1px solid #ddd;border-radius:6px;padding:6px 12px;min-width:110px}
.kpi b{display:block;font-size:18px} .kpi span{color:#666;font-size:12px}
table{border-collapse:collapse;font-size:13px;margin:6px 0} th,td{padding:3px 8px;border-bottom:1px solid #eee;text-align:right}
th{background:#f6f6f6} td.l,th.l{text-align:left}
pre{background:#f8f8f8;border:1px solid #e4e4e4;padding:8px;overflow:auto;font-size:12px;line-height:1.35}
.add{color:#116329;background:#e6ffec;display:block} .del{color:#82071e;background:#ffebe9;display:block}
.hunk{color:#0550ae;display:block} details{margin:4px 0} summary{cursor:pointer}
code{font-size:12px} .ok{color:#116329} .bad{color:#82071e}
"""


def diff_html(text: str) -> str:
    """A unified diff with added, removed and hunk lines marked (escaped)."""
    out = []
    for line in text.splitlines():
        cls = ("add" if line.startswith("+") and not line.startswith("+++") else
               "del" if line.startswith("-") and not line.startswith("---") else
               "hunk" if line.startswith("@@") else "")
        out.append(f"<span class='{cls}'>{escape(line)}</span>" if cls else escape(line) + "\n")
    return "<pre>" + "".join(out) + "</pre>"


def _table(headers: list[str], rows: list[list[Any]], left: int = 1) -> str:
    head = "".join(f"<th class='{'l' if i < left else ''}'>{escape(h)}</th>" for i, h in enumerate(headers))
    body = "".join("<tr>" + "".join(f"<td class='{'l' if i < left else ''}'>{escape(str(c))}</td>"
                                    for i, c in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _when(t: float | None) -> str:
    return "—" if not t else dt.datetime.fromtimestamp(t, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _money(v: float | None) -> str:
    return "—" if v is None else f"${v:.4f}"


def render(view: RunView) -> str:
    s = view.summary()
    curve = view.curve()
    objective = s["objective"]
    best, initial = s["best"], s["initial"]
    parts: list[str] = []
    title = f"Cambrian run {s['run']} ({s['problem']})"
    parts.append(f"<h1>{escape(title)}</h1>")
    stop = f": {s['stop_reason']}" if s["stop_reason"] and s["state"] == "stopped" else ""
    parts.append(f"<div class='sub'>{escape(s['state'] + stop)} · {escape(objective)} "
                 f"({escape(s['direction'])}) · {_when(s['first'])} → {_when(s['last'])} · "
                 f"{s['sessions']} session(s)</div>")
    valid_pct = 100.0 * s["valid"] / s["evaluated"] if s["evaluated"] else 0.0
    gain = (best["score"] - initial["score"]) if best and initial and initial["score"] is not None else None
    kpis = [("best " + objective, fmt(best["score"], 10) if best else "—"),
            ("initial", fmt(initial["score"], 10) if initial else "—"),
            ("gain", fmt(gain, 6) if gain is not None else "—"),
            ("candidates", f"{s['candidates']}" + (f" / {s['budget']}" if s["budget"] else "")),
            ("valid", f"{s['valid']} ({valid_pct:.0f}%)"),
            ("duplicates", str(s["duplicates"])), ("no candidate", str(s["no_candidate"])),
            ("islands", fmt(s["islands"])), ("LLM cost", _money(s["spent"]))]
    parts.append("<div class='kpis'>" + "".join(f"<div class='kpi'><b>{escape(v)}</b><span>{escape(k)}</span></div>"
                                                for k, v in kpis) + "</div>")

    parts.append("<h2>Score</h2>")
    parts.append(plots.score_plot(curve, x="seq", objective=objective))
    parts.append(plots.score_plot(curve, x="t", objective=objective, height=220))

    parts.append("<h2>Lineage of the best program</h2>")
    if best:
        chain = view.lineage(best["id"])
        shown = chain[-MAX_STEPS:]
        if len(chain) > len(shown):
            parts.append(f"<p class='sub'>{len(chain)} steps; the last {len(shown)} are shown.</p>")
        rows = []
        prev = None
        for p in chain:
            step_gain = p["score"] - prev if p["score"] is not None and prev is not None else None
            rows.append([p["generation"], p["seq"], p["id"], p["operator"], p["model"] or "", p["island"],
                         fmt(p["score"], 10), fmt(step_gain, 4) if step_gain is not None else ""])
            prev = p["score"] if p["score"] is not None else prev
        parts.append(_table(["gen", "candidate", "id", "operator", "model", "island", objective, "gain"],
                            [r for r in rows[-MAX_STEPS:]], left=0))
        opened = " open" if len(shown) <= 30 else ""  # short lineages print with every diff visible
        for p in shown[1:]:
            parts.append(f"<details{opened}><summary>gen {p['generation']} · {escape(p['operator'])} · "
                         f"{escape(fmt(p['score'], 10))} · <code>{escape(p['id'])}</code></summary>"
                         f"{diff_html(p['diff'])}</details>")
        parts.append("<details><summary>best program</summary><pre>" + escape(chain[-1]["code"]) +
                     "</pre></details>")
    else:
        parts.append("<p>No valid program.</p>")
    parts.append("<h2>Lineage tree (ancestry of the 30 best)</h2>")
    parts.append(plots.tree_plot(view.tree(30), maximize=view.maximize))

    grid = view.grid()
    if grid["axes"]:
        parts.append("<h2>MAP-Elites grid (best per cell, all islands)</h2>")
        parts.append(plots.grid_plot(grid, label=objective))

    parts.append("<h2>Operators</h2>")
    arms = view.arms()
    parts.append(_table(
        ["operator", "candidates", "no candidate", "duplicates", "valid", "improved on parent", "success %",
         "new bests", "cost", "cost / improvement"],
        [[a["arm"], a["candidates"], a["no_candidate"], a["duplicates"], a["valid"], a["improved"],
          f"{100 * a['success_rate']:.1f}", a["new_best"], _money(a["cost"]), _money(a["cost_per_improvement"])]
         for a in arms]))
    models = view.models()
    parts.append("<h2>Models and cost</h2>")
    if models:
        parts.append(_table(
            ["model", "requests", "failed", "tokens in", "tokens out", "cost", "improvements", "cost / improvement"],
            [[m["model"], m["requests"], m["failed"] or 0, m["tokens_in"] or 0, m["tokens_out"] or 0,
              _money(m["cost"]), m["improved"], _money(m["cost_per_improvement"])] for m in models]))
    else:
        parts.append("<p>No LLM was used (built-in operators only).</p>")
    if s["llm_calls"]:
        parts.append(f"<p>LLM cost: {_money(s['spent'])} in {s['llm_calls']} requests"
                 + (f"; {_money(s['spent'] / s['valid'])} per valid program" if s["valid"] and s["spent"] else "")
                 + ".</p>")

    parts.append("<h2>Failures</h2>")
    failures = view.failures()
    if failures:
        parts.append(plots.bar_plot([(f["kind"], f["count"]) for f in failures[:15]]))
        parts.append(_table(["kind", "count", "share %", "first example"],
                            [[f["kind"], f["count"], f"{100 * f['share']:.1f}",
                              (f["example"] or "").splitlines()[0][:160] if f["example"] else ""]
                             for f in failures]))
    else:
        parts.append("<p>None: every candidate gave a valid program.</p>")

    parts.append("<h2>Configuration that ran</h2>")
    import yaml

    parts.append("<pre>" + escape(yaml.safe_dump(view.config(), sort_keys=False)) + "</pre>")
    from . import __version__

    parts.append(f"<p class='sub'>Written by cambrian {escape(__version__)} report on {escape(platform.node())}, "
                 f"{_when(s['now'])}, from {escape(str(view.run_dir))}.</p>")
    return ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; style-src 'unsafe-inline'; "
            "img-src data:\">"
            f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>"
            + "\n".join(parts) + "</body></html>\n")


def write(run_dir: Path, output: Path | None = None) -> Path:
    view = RunView(run_dir)
    try:
        html = render(view)
    finally:
        view.close()
    out = Path(output) if output is not None else view.run_dir / "report.html"
    out.write_text(html, encoding="utf-8")
    return out
