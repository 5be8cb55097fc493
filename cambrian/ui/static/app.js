// Cambrian UI: polls the read-only API and redraws what changed. No dependencies.
"use strict";

const S = { run: null, version: null, x: "seq", top: 30, selected: null, offset: 0, limit: 25, parent: null,
            gridX: null, gridY: null, tab: "diff" };
const $ = (id) => document.getElementById(id);

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "onclick") el.addEventListener("click", v);
    else if (k === "cls") el.className = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function num(v, digits = 6) {
  if (v === null || v === undefined) return "—";
  if (typeof v !== "number") return String(v);
  if (!isFinite(v)) return String(v);
  if (Number.isInteger(v) && Math.abs(v) < 1e15) return v.toLocaleString("en-US");
  return Number(v.toPrecision(digits)).toString();
}
const money = (v) => (v === null || v === undefined ? "—" : "$" + v.toFixed(4));
const pct = (v) => (100 * v).toFixed(1) + "%";
function ago(seconds) {
  if (seconds < 60) return Math.round(seconds) + " s";
  if (seconds < 3600) return (seconds / 60).toFixed(1) + " min";
  if (seconds < 86400) return (seconds / 3600).toFixed(1) + " h";
  return (seconds / 86400).toFixed(1) + " d";
}

async function api(path, type = "json") {
  const res = await fetch(`api/runs/${encodeURIComponent(S.run)}/${path}`, { cache: "no-store" });
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
  return type === "json" ? res.json() : res.text();
}

function setSvg(el, svg) {
  // The SVG is built by the server from escaped text (cambrian/plots.py).
  el.innerHTML = svg;
}

// -- summary ------------------------------------------------------------------
function renderSummary(s) {
  const state = $("state");
  state.textContent = s.state + (s.stop_reason && s.state === "stopped" ? ": " + s.stop_reason : "");
  state.title = state.textContent;
  state.className = "badge " + ({ running: "running", stopped: "stopped", "no activity": "idle" }[s.state]
                                || (s.state.startsWith("initial program failed") ? "failed" : ""));
  $("title").textContent = `${s.problem} · ${s.run}`;
  document.title = `${s.state === "running" ? "▶ " : ""}${num(s.best && s.best.score)} · ${s.run} · Cambrian`;
  const best = s.best ? s.best.score : null;
  const initial = s.initial ? s.initial.score : null;
  const gain = best !== null && initial !== null ? best - initial : null;
  const validPct = s.evaluated ? s.valid / s.evaluated : 0;
  const elapsed = s.first && s.last ? s.last - s.first : 0;
  const perSecond = elapsed > 0 ? s.candidates / elapsed : 0;
  const rate = perSecond >= 1 ? num(perSecond, 3) + "/s" : num(perSecond * 60, 3) + "/min";
  const kpis = [
    { label: `best ${s.objective} (${s.direction})`, value: num(best, 10), hero: true, id: "kpi-best",
      click: s.best ? () => select(s.best.id) : null },
    { label: `gain over the initial ${num(initial, 6)}`, value: gain === null ? "—" : (gain >= 0 ? "+" : "") + num(gain, 6) },
    { label: "candidates" + (s.budget ? ` of ${num(s.budget)}` : ""), value: num(s.candidates), id: "kpi-candidates",
      bar: s.budget ? Math.min(1, s.candidates / s.budget) : null },
    { label: `valid of ${num(s.evaluated)} evaluated`, value: `${num(s.valid)} (${pct(validPct)})` },
    { label: "duplicates · no candidate", value: `${num(s.duplicates)} · ${num(s.no_candidate)}` },
    { label: "islands", value: num(s.islands) },
    { label: "LLM cost" + (s.llm_calls ? ` (${num(s.llm_calls)} requests)` : ""), value: money(s.spent) },
    { label: "elapsed · rate", value: `${ago(elapsed)} · ${rate}` },
  ];
  const box = $("kpis");
  box.replaceChildren(...kpis.map((k) => {
    const el = h("div", { cls: "kpi" + (k.hero ? " hero" : ""), id: k.id, title: k.click ? "show this program" : null },
      h("b", {}, k.value), h("span", {}, k.label));
    if (k.bar !== null && k.bar !== undefined) el.append(h("div", { cls: "bar" }, h("i", { style: `width:${100 * k.bar}%` })));
    if (k.click) { el.style.cursor = "pointer"; el.addEventListener("click", k.click); }
    return el;
  }));
  $("updated").textContent = s.last ? `last activity ${ago(Math.max(0, s.now - s.last))} ago` : "";
}

// -- tables -------------------------------------------------------------------
function table(headers, rows, opts = {}) {
  const left = opts.left ?? 1;
  const thead = h("tr", {}, headers.map((t, i) => h("th", { cls: i < left ? "l" : "" }, t)));
  const body = rows.map((r) => {
    const tr = h("tr", { cls: r.onclick ? "click" : "" },
      r.cells.map((c, i) => (c instanceof Node ? h("td", { cls: i < left ? "l" : "" }, c)
                                               : h("td", { cls: (i < left ? "l" : "") + (r.cls && r.cls[i] ? " " + r.cls[i] : ""), title: r.titles && r.titles[i] }, c))));
    if (r.onclick) tr.addEventListener("click", r.onclick);
    return tr;
  });
  return h("table", {}, thead, body);
}

function renderArms(arms, models) {
  $("arms").replaceChildren(arms.length ? table(
    ["operator / arm", "candidates", "no candidate", "duplicates", "valid", "improved", "success", "new bests",
     "bandit reward / pull", "cost", "cost / improvement"],
    arms.map((a) => ({ cells: [a.arm, num(a.candidates), num(a.no_candidate), num(a.duplicates), num(a.valid),
      num(a.improved), pct(a.success_rate), num(a.new_best), a.mean_reward.toFixed(3), money(a.cost),
      money(a.cost_per_improvement)] }))) : h("p", { cls: "muted" }, "No candidate yet."));
  $("models").replaceChildren(models.length ? table(
    ["model", "requests", "failed", "tokens in", "tokens out", "mean latency", "cost", "improvements", "cost / improvement"],
    models.map((m) => ({ cells: [m.model, num(m.requests), num(m.failed || 0), num(m.tokens_in || 0),
      num(m.tokens_out || 0), (m.latency || 0).toFixed(2) + " s", money(m.cost), num(m.improved),
      money(m.cost_per_improvement)] }))) : h("p", { cls: "muted" }, "No LLM in this run (built-in operators only)."));
}

async function renderFailures(failures) {
  const box = $("failures");
  if (!failures.length) { box.replaceChildren(h("p", { cls: "muted" }, "None: no candidate failed.")); return; }
  const plot = h("div", { cls: "plot" });
  setSvg(plot, await api("plot/failures.svg", "text"));
  box.replaceChildren(plot, table(["kind", "count", "share", "first example"], failures.map((f) => ({
    cells: [f.kind, num(f.count), pct(f.share), (f.example || "").split("\n")[0].slice(0, 400)],
    cls: { 3: "wrap" }, titles: { 3: f.example || "" },
    onclick: f.example_id ? () => select(f.example_id) : null,
  }))));
}

async function renderPrograms() {
  const q = new URLSearchParams({ offset: S.offset, limit: S.limit, sort: $("f-sort").value });
  if ($("f-status").value) q.set("status", $("f-status").value);
  if ($("f-island").value) q.set("island", $("f-island").value);
  if (S.parent) q.set("parent", S.parent);
  const page = await api("programs?" + q);
  $("programs").replaceChildren(table(
    ["#", "id", "score", "status", "operator", "model", "island", "gen", "eval s", "reason"],
    page.rows.map((p) => ({
      cells: [num(p.seq), h("span", { cls: "id" }, p.id), num(p.score, 10), p.status, p.operator, p.model || "",
              num(p.island), num(p.generation), p.eval_seconds.toFixed(3), (p.reason || "").split("\n")[0].slice(0, 80)],
      cls: { 3: p.status === "ok" ? "status-ok" : "status-bad", 9: "reason" }, titles: { 9: p.reason },
      onclick: () => select(p.id),
    })), { left: 2 }));
  const last = Math.min(page.total, S.offset + page.rows.length);
  $("page").textContent = page.total ? `${num(S.offset + 1)}–${num(last)} of ${num(page.total)}` : "no program";
  $("prev").disabled = S.offset === 0;
  $("next").disabled = last >= page.total;
  const chip = $("f-parent");
  chip.hidden = !S.parent;
  chip.textContent = S.parent ? `children of ${S.parent} ✕` : "";
}

function renderEvents(events) {
  $("events").replaceChildren(table(["time", "event", "details"], events.slice(0, 15).map((e) => {
    const { t, kind, ...rest } = e;
    const details = Object.entries(rest).map(([k, v]) => `${k}=${typeof v === "number" ? num(v, 8) : JSON.stringify(v)}`).join("  ");
    return { cells: [new Date(t * 1000).toLocaleString(), kind, details.slice(0, 160)], titles: { 2: details } };
  }), { left: 3 }));
}

// -- plots ----------------------------------------------------------------------
async function renderGridAxes(islands) {
  const grid = await api("grid?" + new URLSearchParams(Object.fromEntries(Object.entries({ x: S.gridX, y: S.gridY }).filter(([, v]) => v))));
  const box = $("grid-axes");
  box.hidden = grid.features.length < 3;  // with one or two features the grid shows them all
  if (!box.hidden) {
    for (const [id, axis] of [["grid-x", 0], ["grid-y", 1]]) {
      const sel = $(id);
      if (sel.options.length !== grid.features.length) sel.replaceChildren(...grid.features.map((f) => h("option", {}, f)));
      sel.value = grid.axes[axis] ? grid.axes[axis].name : "";
    }
  }
  const isl = $("f-island");
  if (isl.options.length !== islands + 1) {
    const keep = isl.value;
    isl.replaceChildren(h("option", { value: "" }, "any island"),
      ...Array.from({ length: islands }, (_, i) => h("option", { value: String(i) }, `island ${i}`)));
    isl.value = keep;
  }
}

async function renderPlots() {
  const [score, tree, grid] = await Promise.all([
    api(`plot/score.svg?x=${S.x}`, "text"),
    api(`plot/tree.svg?top=${S.top}` + (S.selected ? `&selected=${S.selected}` : ""), "text"),
    api(`plot/grid.svg?` + new URLSearchParams(Object.fromEntries(Object.entries({ x: S.gridX, y: S.gridY }).filter(([, v]) => v))), "text"),
  ]);
  setSvg($("score-plot"), score);
  setSvg($("tree-plot"), tree);
  setSvg($("grid-plot"), grid);
}

// -- one program ------------------------------------------------------------------
function diffView(text) {
  if (!text) return h("p", { cls: "muted" }, "No parent: this is the initial program.");
  return h("pre", { cls: "diff" }, text.split("\n").map((line) => {
    const cls = line.startsWith("+++") || line.startsWith("---") ? "" : line.startsWith("+") ? "add"
      : line.startsWith("-") ? "del" : line.startsWith("@@") ? "hunk" : "";
    return cls ? h("span", { cls }, line) : line + "\n";
  }));
}

function pidLink(id) {
  return h("a", { cls: "pid id", onclick: (e) => { e.preventDefault(); select(id); } }, id);
}

function renderProgram(p) {
  const box = $("program");
  box.className = "";
  const metrics = Object.entries(p.metrics || {});
  const gain = p.gain === null ? "" : ` (${p.gain >= 0 ? "+" : ""}${num(p.gain, 4)} on parent)`;
  const rows = [
    ["score", h("b", { id: "program-score" }, num(p.score, 12) + gain)],
    ["status", h("span", { cls: p.status === "ok" ? "status-ok" : "status-bad" }, p.status + (p.reason ? ": " + p.reason.split("\n")[0].slice(0, 200) : ""))],
    ["operator", p.operator + (p.model ? ` · ${p.model}` : "")],
    ["made", `candidate #${p.seq} · island ${p.island} · generation ${p.generation}` +
             (p.attempt ? ` · ${p.attempt.outcome}` : "")],
    ["parent", p.parent ? h("span", {}, pidLink(p.parent.id), ` ${num(p.parent.score, 10)}`) : "none (initial program)"],
    ["inspirations", p.inspirations.length ? h("span", {}, p.inspirations.flatMap((i, k) => [k ? ", " : "", pidLink(i)])) : "—"],
    ["children", h("span", {}, `${num(p.children)} programs from ${num(p.tried_from)} tries `,
      p.children ? h("a", { cls: "pid", onclick: () => { S.parent = p.id; S.offset = 0; renderPrograms(); $("programs").scrollIntoView(); } }, "list them") : "")],
    ["cost", `${money(p.cost)} · evaluation ${p.eval_seconds.toFixed(3)} s` + (p.made_again ? ` · made again ${p.made_again}×` : "")],
  ];
  const meta = h("table", { cls: "meta" }, rows.map(([k, v]) => h("tr", {}, h("td", {}, k), h("td", {}, v))));
  const metricTable = h("table", { cls: "meta", id: "program-metrics" },
    metrics.map(([k, v]) => h("tr", {}, h("td", {}, k), h("td", {}, typeof v === "number" ? num(v, 12) : JSON.stringify(v)))));
  const fb = Object.entries(p.feedback || {});
  const tabs = {
    diff: () => diffView(p.diff),
    code: () => h("pre", {}, p.code),
    feedback: () => fb.length ? h("div", {}, fb.map(([k, v]) => h("div", { cls: "msg" }, h("b", {}, k),
      h("pre", {}, typeof v === "string" ? v : JSON.stringify(v, null, 2))))) : h("p", { cls: "muted" }, "No evaluator feedback."),
    llm: () => p.llm_calls.length ? h("div", {}, p.llm_calls.map((c, i) => h("div", {},
      h("p", {}, h("b", {}, `exchange ${i + 1} · ${c.model}`),
        ` · ${num(c.tokens_in)} in / ${num(c.tokens_out)} out · ${money(c.cost)} · ${(c.latency || 0).toFixed(2)} s` +
        (c.finish ? ` · finish ${c.finish}` : "") + (c.replayed ? " · replayed" : "")),
      c.error ? h("pre", { cls: "status-bad" }, c.error) : null,
      (Array.isArray(c.request) ? c.request : [{ role: "request", content: String(c.request) }]).map((m) =>
        h("div", { cls: "msg" }, h("b", {}, m.role), h("pre", {}, typeof m.content === "string" ? m.content : JSON.stringify(m.content, null, 2)))),
      h("div", { cls: "msg" }, h("b", {}, "reply"), h("pre", {}, c.reply || "(empty)"))))) :
      h("p", { cls: "muted" }, "Not made by an LLM (no prompt or reply recorded)."),
  };
  const labels = { diff: "diff vs parent", code: "code", feedback: `feedback (${fb.length})`, llm: `prompt & reply (${p.llm_calls.length})` };
  const pane = h("div", { id: "program-pane" });
  const bar = h("div", { cls: "tabs" }, Object.keys(tabs).map((k) => h("button", {
    cls: k === S.tab ? "on" : "", "data-tab": k,
    onclick: () => { S.tab = k; bar.querySelectorAll("button").forEach((b) => b.classList.toggle("on", b.dataset.tab === k)); pane.replaceChildren(tabs[k]()); },
  }, labels[k])));
  pane.replaceChildren(tabs[S.tab]());
  box.replaceChildren(h("div", { cls: "id", id: "program-id" }, p.id), meta,
    metrics.length ? h("h3", {}, "metrics") : null, metricTable, bar, pane);
}

async function select(id) {
  S.selected = id;
  const p = await api(`programs/${encodeURIComponent(id)}`);
  renderProgram(p);
  setSvg($("tree-plot"), await api(`plot/tree.svg?top=${S.top}&selected=${id}`, "text"));
  if (window.innerWidth < 1000) $("detail").scrollIntoView();
}

// -- refresh loop -------------------------------------------------------------------
async function refresh() {
  const [summary, arms, models, failures, events] = await Promise.all([
    api("summary"), api("arms"), api("models"), api("failures"), api("events")]);
  renderSummary(summary);
  renderArms(arms, models);
  await renderGridAxes(summary.islands || 1);
  await Promise.all([renderPlots(), renderFailures(failures), renderPrograms()]);
  renderEvents(events);
  if (!S.selected && summary.best) await select(summary.best.id);
}

async function loadRuns() {
  const res = await fetch("api/runs", { cache: "no-store" });
  const data = await res.json();
  const sel = $("run-select");
  const names = data.runs.map((r) => r.name);
  const wanted = new URLSearchParams(location.search).get("run");
  const healthy = data.runs.filter((r) => !r.error).map((r) => r.name);
  if (!S.run || !names.includes(S.run)) S.run = names.includes(wanted) ? wanted : healthy[healthy.length - 1] || null;
  const key = names.join("\n");
  if (sel.dataset.key !== key) {
    sel.dataset.key = key;
    sel.replaceChildren(...data.runs.map((r) => h("option", { value: r.name },
      r.error ? `${r.name} · unreadable: ${r.error}` :
        `${r.name} · ${r.state} · ${num(r.candidates)} cand. · best ${num(r.best)}`)));
  }
  sel.value = S.run || "";
  sel.hidden = names.length < 2;
  const msg = $("message");
  msg.hidden = !!S.run;
  msg.textContent = S.run ? "" : `No run in ${data.root} yet: this page shows it as soon as one starts.`;
  $("report-link").href = S.run ? `api/runs/${encodeURIComponent(S.run)}/report.html` : "#";
}

async function tick() {
  try {
    await loadRuns();
    if (S.run) {
      const { version } = await api("version");
      if (version !== S.version) {
        S.version = version;
        await refresh();
      } else {
        const s = await api("summary");
        renderSummary(s);
      }
    }
  } catch (err) {
    const msg = $("message");
    msg.hidden = false;
    msg.textContent = "Cannot reach the server: " + err.message + " (retrying)";
  }
  setTimeout(tick, 1500);
}

function wire() {
  document.querySelectorAll(".toggle button").forEach((b) => b.addEventListener("click", async () => {
    S.x = b.dataset.x;
    document.querySelectorAll(".toggle button").forEach((o) => o.classList.toggle("on", o === b));
    setSvg($("score-plot"), await api(`plot/score.svg?x=${S.x}`, "text"));
  }));
  $("tree-top").addEventListener("change", async (e) => { S.top = e.target.value; await renderPlots(); });
  for (const plot of ["tree-plot", "grid-plot"]) {
    $(plot).addEventListener("click", (e) => {
      const node = e.target.closest("[data-id]");
      if (node) select(node.dataset.id);
    });
  }
  $("run-select").addEventListener("change", (e) => {
    S.run = e.target.value; S.version = null; S.selected = null; S.offset = 0; S.parent = null;
    history.replaceState(null, "", "?run=" + encodeURIComponent(S.run));
  });
  $("f-status").addEventListener("change", () => { S.offset = 0; renderPrograms(); });
  $("f-island").addEventListener("change", () => { S.offset = 0; renderPrograms(); });
  for (const [id, key] of [["grid-x", "gridX"], ["grid-y", "gridY"]]) {
    $(id).addEventListener("change", async (e) => {
      S[key] = e.target.value;
      setSvg($("grid-plot"), await api("plot/grid.svg?" + new URLSearchParams(Object.fromEntries(Object.entries({ x: S.gridX, y: S.gridY }).filter(([, v]) => v))), "text"));
    });
  }
  $("f-sort").addEventListener("change", () => { S.offset = 0; renderPrograms(); });
  $("f-parent").addEventListener("click", () => { S.parent = null; S.offset = 0; renderPrograms(); });
  $("prev").addEventListener("click", () => { S.offset = Math.max(0, S.offset - S.limit); renderPrograms(); });
  $("next").addEventListener("click", () => { S.offset += S.limit; renderPrograms(); });
  tick();
}

document.addEventListener("DOMContentLoaded", wire);
