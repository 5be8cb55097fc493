"""Compare searches the way a user would: same problems, same operators, same budget.

``cambrian bench PROBLEM_DIR... --budget N --seeds S --systems cambrian,greedy`` runs
every (problem, system, seed) as an ordinary run (same runner, operators, evaluator
and store; a system is only a set of config overrides, e.g. ``search.policy: greedy``)
and writes ``results.json`` and ``results.md``: the best score per seed, median and
interquartile range, how many candidates (and LLM calls, when a model is set) each
seed needed to come within 1% and 0.1% of the problem's reference value, wall time
and candidates per second.

A problem states its reference in an optional ``benchmark.yaml`` next to
``initial_program.py``::

    reference: 1.0          # best known value of the objective
    metric: true_score      # optional: report this metric of the best program instead
                            # of the objective (e.g. the noise-free value of a noisy one)
"""

from __future__ import annotations

import asyncio
import json
import math
import shutil
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

from .errors import ConfigError

BENCHMARK_FILE = "benchmark.yaml"

# A system is a name for a set of config overrides (dotted keys).
SYSTEMS: dict[str, dict[str, Any]] = {
    "cambrian": {},
    "greedy": {"search.policy": "greedy"},
    "lineages": {"search.policy": "lineages"},
    "best_of_n": {"search.policy": "best_of_n"},
    "random_parent": {"search.policy": "random_parent"},
    "fixed-islands": {"search.policy": "islands"},  # the default before the adaptive search
    # What each part of the default search buys: the default with one part switched off.
    "no-adaptation": {"search.adapt": False},
    "no-cross-inspirations": {"search.cross_inspirations": False},
    "no-resets": {"search.resets": False},
}
ABLATIONS = ("no-adaptation", "no-cross-inspirations", "no-resets")
BASELINES = ("greedy", "lineages", "best_of_n", "random_parent")
LEVELS = (0.99, 0.999)


@dataclass(frozen=True)
class Reference:
    value: float | None = None
    metric: str | None = None

    @classmethod
    def load(cls, problem_dir: Path) -> "Reference":
        from .config import read_yaml

        path = Path(problem_dir) / BENCHMARK_FILE
        if not path.is_file():
            return cls()
        data = read_yaml(path)
        unknown = sorted(set(data) - {"reference", "metric"})
        if unknown:
            raise ConfigError(f"{path}: unknown key {unknown[0]!r} (expected reference, metric)")
        value = data.get("reference")
        if value is not None and not isinstance(value, (int, float)):
            raise ConfigError(f"{path}: reference must be a number, got {value!r}")
        metric = data.get("metric")
        if metric is not None and not isinstance(metric, str):
            raise ConfigError(f"{path}: metric must be a metric name, got {metric!r}")
        return cls(None if value is None else float(value), metric)


@dataclass
class RunResult:
    problem: str
    system: str
    seed: int
    best: float | None            # the reported quality of the best program (metric or objective)
    best_score: float | None      # its objective, as the search saw it
    candidates: int
    calls: int                    # LLM calls, retries included
    seconds: float
    to_reach: dict[str, int | None] = field(default_factory=dict)        # level -> candidates
    calls_to_reach: dict[str, int | None] = field(default_factory=dict)  # level -> LLM calls
    stop_reason: str = ""
    run_dir: str = ""
    maximize: bool = True

    @property
    def rate(self) -> float:
        return self.candidates / self.seconds if self.seconds > 0 else 0.0


def reached(value: float, reference: float, level: float, *, maximize: bool) -> bool:
    """Within (1 - level) of the reference, relative to its magnitude, in the objective's direction."""
    slack = (1 - level) * abs(reference)
    return value >= reference - slack if maximize else value <= reference + slack


def trajectory(store: Any, *, maximize: bool, metric: str | None) -> list[tuple[int, float, float]]:
    """(seq, best objective so far, quality of that best program) after each new best."""
    rows = store.rows("SELECT seq, score, metrics FROM programs WHERE status = 'ok' AND score IS NOT NULL"
                      " ORDER BY seq")
    out: list[tuple[int, float, float]] = []
    best = None
    for seq, score, metrics in rows:
        if best is None or (score > best if maximize else score < best):
            best = score
            quality = score if metric is None else json.loads(metrics).get(metric, math.nan)
            out.append((seq, score, float(quality)))
    return out


def summarize_run(store: Any, *, problem: str, system: str, seed: int, seconds: float,
                  reference: Reference, run_dir: str = "") -> RunResult:
    config = store.meta("config") or {}
    maximize = config.get("direction", "maximize") == "maximize"
    path = trajectory(store, maximize=maximize, metric=reference.metric)
    calls_by_seq = dict(store.rows("SELECT seq, COUNT(*) FROM llm_calls GROUP BY seq"))
    candidates = store.scalar("SELECT COUNT(*) FROM attempts WHERE seq > 0") or 0
    to_reach: dict[str, int | None] = {}
    calls_to_reach: dict[str, int | None] = {}
    if reference.value is not None:
        for level in LEVELS:
            hit = next((seq for seq, _, q in path
                        if q == q and reached(q, reference.value, level, maximize=maximize)), None)
            to_reach[str(level)] = hit
            calls_to_reach[str(level)] = (None if hit is None else
                                          sum(n for s, n in calls_by_seq.items() if s <= hit))
    stop = store.rows("SELECT data FROM events WHERE kind = 'stopped' ORDER BY id DESC LIMIT 1")
    return RunResult(
        problem=problem, system=system, seed=seed,
        best=path[-1][2] if path else None, best_score=path[-1][1] if path else None,
        candidates=candidates, calls=sum(calls_by_seq.values()), seconds=seconds,
        to_reach=to_reach, calls_to_reach=calls_to_reach,
        stop_reason=json.loads(stop[0][0]).get("reason", "") if stop else "", run_dir=run_dir,
        maximize=maximize)


@dataclass(frozen=True)
class Job:
    problem_dir: str
    system: str
    seed: int
    overrides: dict[str, Any]
    run_dir: str


def run_job(job: Job) -> RunResult:
    """One ordinary run, then its summary (in a worker process when ``jobs`` > 1)."""
    from .session import execute, prepare

    run_dir = Path(job.run_dir)
    if run_dir.exists():
        shutil.rmtree(run_dir)
    problem, config, store, run_path = prepare(job.problem_dir, overrides=job.overrides, run_dir=run_dir)
    started = time.monotonic()
    try:
        asyncio.run(execute(problem, config, store, run_path))
        seconds = time.monotonic() - started
        return summarize_run(store, problem=problem.name, system=job.system, seed=job.seed, seconds=seconds,
                             reference=Reference.load(problem.root), run_dir=str(run_dir))
    finally:
        store.close()


def plan(problem_dirs: Sequence[str | Path], *, systems: Sequence[str], seeds: Sequence[int], budget: int,
         out: Path, models: Sequence[str] = (), overrides: dict[str, Any] | None = None,
         system_overrides: dict[str, dict[str, Any]] | None = None) -> list[Job]:
    """Every run of a benchmark; checks problems and systems before anything runs."""
    from .problem import Problem

    table = {**SYSTEMS, **(system_overrides or {})}
    unknown = [s for s in systems if s not in table]
    if unknown:
        raise ConfigError(f"unknown system {unknown[0]!r} (known: {', '.join(table)})")
    problems = [Problem.load(p) for p in problem_dirs]
    names = [p.name for p in problems]
    if len(set(names)) != len(names):
        raise ConfigError("two problem directories share a name; the results would collide")
    jobs = []
    for problem in problems:
        Reference.load(problem.root)  # a malformed benchmark.yaml fails now
        for system in systems:
            for seed in seeds:
                flat = {"budget": budget, **(overrides or {}), **table[system], "seed": seed}
                if models:
                    flat["llm.models"] = [{"model": m} for m in models]
                jobs.append(Job(str(problem.root), system, seed, flat,
                                str(out / problem.name / system / f"seed-{seed}")))
    return jobs


def job_key(job: Job) -> str:
    import hashlib

    data = json.dumps([job.problem_dir, job.system, job.seed, job.overrides], sort_keys=True, default=str)
    return hashlib.sha256(data.encode()).hexdigest()[:16]


def run(jobs: Sequence[Job], *, parallel: int = 1, on_result: Any = None, log: Path | None = None,
        resume: bool = False) -> list[RunResult]:
    """Run every job (``parallel`` at a time, each in its own process); results in plan order.

    Each finished run is appended to ``log`` (JSON lines) at once, so an interrupted
    benchmark keeps what it finished; with ``resume``, runs found in the log with the
    same problem, system, seed and settings are not run again."""
    done: dict[str, RunResult] = {}
    if log is not None and resume and log.exists():
        for line in log.read_text().splitlines():
            try:
                entry = json.loads(line)
                done[entry["key"]] = RunResult(**entry["result"])
            except (ValueError, KeyError, TypeError):
                continue  # a line cut short by a kill
    elif log is not None and log.exists():
        log.unlink()

    def finished(job: Job, result: RunResult) -> None:
        done[job_key(job)] = result
        if log is not None:
            log.parent.mkdir(parents=True, exist_ok=True)
            with log.open("a") as f:
                f.write(json.dumps({"key": job_key(job), "result": asdict(result)}) + "\n")
        if on_result:
            on_result(result)

    todo = [job for job in jobs if job_key(job) not in done]
    if parallel <= 1:
        for job in todo:
            finished(job, run_job(job))
    else:
        import multiprocessing
        from concurrent.futures import as_completed

        with ProcessPoolExecutor(parallel, mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = {pool.submit(run_job, job): job for job in todo}
            for future in as_completed(futures):
                finished(futures[future], future.result())
    return [done[job_key(job)] for job in jobs]


# -- tables -----------------------------------------------------------------

def quantiles(values: Sequence[float]) -> tuple[float, float, float]:
    """(first quartile, median, third quartile), linear interpolation."""
    import numpy as np

    q1, med, q3 = np.quantile(np.asarray(values, dtype=float), [0.25, 0.5, 0.75])
    return float(q1), float(med), float(q3)


def aggregate(results: Sequence[RunResult]) -> dict[str, dict[str, dict[str, Any]]]:
    """problem -> system -> summary over seeds."""
    groups: dict[tuple[str, str], list[RunResult]] = {}
    for r in results:
        groups.setdefault((r.problem, r.system), []).append(r)
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for (problem, system), runs in groups.items():
        runs = sorted(runs, key=lambda r: r.seed)
        bests = [r.best for r in runs if r.best is not None and r.best == r.best]
        q1, med, q3 = quantiles(bests) if bests else (math.nan,) * 3
        row: dict[str, Any] = {
            "seeds": len(runs), "best_per_seed": [r.best for r in runs], "median": med, "q1": q1, "q3": q3,
            "candidates": sum(r.candidates for r in runs), "calls": sum(r.calls for r in runs),
            "seconds": sum(r.seconds for r in runs), "maximize": runs[0].maximize,
        }
        row["rate"] = row["candidates"] / row["seconds"] if row["seconds"] > 0 else 0.0
        for level in LEVELS:
            key = str(level)
            hits = [r.to_reach.get(key) for r in runs if r.to_reach.get(key) is not None]
            calls = [r.calls_to_reach.get(key) for r in runs if r.calls_to_reach.get(key) is not None]
            row[f"reached_{key}"] = len(hits)
            row[f"to_{key}"] = quantiles(hits)[1] if hits else None
            row[f"calls_to_{key}"] = quantiles(calls)[1] if calls else None
        out.setdefault(problem, {})[system] = row
    return out


def mann_whitney_less(a: Sequence[float], b: Sequence[float]) -> float:
    """Pure: one-sided p-value that the values ``a`` tend to be lower than ``b``
    (Mann-Whitney U, normal approximation with tie and continuity corrections)."""
    n_a, n_b = len(a), len(b)
    if not n_a or not n_b:
        return math.nan
    pooled = sorted([(v, 0) for v in a] + [(v, 1) for v in b])
    n = n_a + n_b
    rank_a, ties, i = 0.0, 0.0, 0
    while i < n:
        j = i
        while j + 1 < n and pooled[j + 1][0] == pooled[i][0]:
            j += 1
        mid = (i + j) / 2 + 1  # average rank of a tied group
        rank_a += mid * sum(1 for k in range(i, j + 1) if pooled[k][1] == 0)
        ties += (j - i + 1) ** 3 - (j - i + 1)
        i = j + 1
    u = rank_a - n_a * (n_a + 1) / 2
    var = n_a * n_b / 12 * ((n + 1) - ties / (n * (n - 1)))
    if var <= 0:
        return 1.0
    z = (u - n_a * n_b / 2 + 0.5) / math.sqrt(var)
    return 0.5 * math.erfc(-z / math.sqrt(2))


TOLERANCE = 0.005  # "at least as good": a median at most this share of the baseline's below it ...
SIGNIFICANCE = 0.05  # ... and no shortfall beyond the seeds' spread at this level


def verdict(summary: dict[str, dict[str, dict[str, Any]]], *, ours: str = "cambrian",
            baselines: Sequence[str] = BASELINES, tolerance: float = TOLERANCE) -> list[str]:
    """Markdown lines: per problem, ``ours`` against the baseline with the best median.

    At least as good: our median is not below it, or below it by at most ``tolerance``
    of its magnitude with the one-sided Mann-Whitney test finding no shortfall beyond
    the seed-to-seed spread (p >= 0.05): two runs of one system on two sets of 20 seeds
    differ by more than that (bench/search/README.md), so a strict median comparison
    would be a coin toss between equals. The strict comparison is reported beside it."""
    rows = []
    for problem, by_system in summary.items():
        mine = by_system.get(ours)
        present = [s for s in baselines if s in by_system]
        if mine is None or not present:
            continue
        maximize = mine["maximize"]
        sign = 1.0 if maximize else -1.0
        best = max(present, key=lambda s: sign * by_system[s]["median"])
        theirs = by_system[best]
        a = [sign * v for v in mine["best_per_seed"] if v is not None and v == v]
        b = [sign * v for v in theirs["best_per_seed"] if v is not None and v == v]
        p = mann_whitney_less(a, b)
        gap = sign * (mine["median"] - theirs["median"])  # > 0: ours is better
        if gap >= -1e-12:
            status = "met"
        elif -gap <= tolerance * abs(theirs["median"]) and p >= SIGNIFICANCE:
            status = (f"met within {tolerance:.1%} (median {-gap / abs(theirs['median']):.2%} below, "
                      "within the seeds' spread)")
        else:
            status = f"not met ({'beyond' if p < SIGNIFICANCE else 'within'} the seeds' spread)"
        mean = (lambda v: sum(v) / len(v) if v else math.nan)
        rows.append(f"| {problem} | {_num(mine['median'], 4)} | {_num(mean(a) * sign, 4)} | {best} | "
                    f"{_num(theirs['median'], 4)} | {_num(mean(b) * sign, 4)} | {p:.2f} | {status} |")
    if not rows:
        return []
    means = {s: [by[s]["median"] for by in summary.values() if s in by] for s in (ours, *baselines)}
    means = {s: sum(v) / len(v) for s, v in means.items() if len(v) == len(summary)}
    rival = max((s for s in means if s != ours), key=lambda s: means[s], default=None)
    average = ([f"", f"Mean of medians: {ours} {_num(means[ours], 3)}, best baseline ({rival}) "
                f"{_num(means[rival], 3)}: {'better' if means[ours] > means[rival] else 'not better'} on average."]
               if ours in means and rival is not None
               and all(by[ours]["maximize"] for by in summary.values() if ours in by) else [])
    return ["", f"## {ours} against the best baseline", "",
            f"Best baseline: the one of {', '.join(baselines)} with the best median on that problem. "
            f"At least as good: our median not below its median, or below it by at most {tolerance:.1%} "
            "with no shortfall beyond the seed-to-seed spread. p: one-sided Mann-Whitney test that "
            f"our scores are lower (below {SIGNIFICANCE}: the shortfall is beyond the spread).", "",
            f"| problem | {ours} median | {ours} mean | best baseline | its median | its mean | p | at least as good |",
            "|---" * 8 + "|", *rows, *average]


def _num(x: float | None, digits: int | None = None) -> str:
    """Scores with 6 significant digits (problems range from 0.0365 to 12.889: fixed
    decimals hide the differences); counts with ``digits`` decimals."""
    if x is None or x != x:
        return "—"
    return f"{x:.6g}" if digits is None else f"{x:.{digits}f}"


def markdown(results: Sequence[RunResult], *, title: str, header: str = "") -> str:
    summary = aggregate(results)
    systems = list(dict.fromkeys(r.system for r in results))
    problems = list(dict.fromkeys(r.problem for r in results))
    seeds = max((row["seeds"] for p in summary.values() for row in p.values()), default=0)
    lines = [f"# {title}", "", header.strip(), "",
             f"Median best score over {seeds} seeds [interquartile range]; best median in bold.", "",
             "| problem | " + " | ".join(systems) + " |", "|---" * (len(systems) + 1) + "|"]
    for problem in problems:
        rows = summary[problem]
        medians = [rows[s]["median"] for s in systems if s in rows]
        maximize = next(iter(rows.values()))["maximize"]
        top = (max if maximize else min)(m for m in medians if m == m) if any(m == m for m in medians) else None
        cells = []
        for s in systems:
            row = rows.get(s)
            if row is None:
                cells.append("")
                continue
            text = f"{_num(row['median'])} [{_num(row['q1'])}, {_num(row['q3'])}]"
            cells.append(f"**{text}**" if top is not None and abs(row["median"] - top) < 1e-12 else text)
        lines.append(f"| {problem} | " + " | ".join(cells) + " |")
    means = []
    for s in systems:
        vals = [summary[p][s]["median"] for p in problems if s in summary[p]]
        means.append(_num(sum(vals) / len(vals)) if vals else "—")
    if len(problems) > 1:
        lines.append("| *mean of medians* | " + " | ".join(means) + " |")
    lines += verdict(summary)
    lines += ["", "## Detail", "",
              "| problem | system | median | IQR | reached 99% | cands to 99% | calls to 99% | reached 99.9% |"
              " cands to 99.9% | calls to 99.9% | candidates | LLM calls | wall s | cands/s |",
              "|---" * 14 + "|"]
    for problem in problems:
        for s in systems:
            row = summary[problem].get(s)
            if row is None:
                continue
            lines.append(
                f"| {problem} | {s} | {_num(row['median'])} | {_num(row['q1'])}–{_num(row['q3'])} | "
                f"{row['reached_0.99']}/{row['seeds']} | {_num(row['to_0.99'], 0)} | "
                f"{_num(row['calls_to_0.99'], 0)} | {row['reached_0.999']}/{row['seeds']} | "
                f"{_num(row['to_0.999'], 0)} | {_num(row['calls_to_0.999'], 0)} | {row['candidates']} | "
                f"{row['calls']} | {row['seconds']:.1f} | {row['rate']:.1f} |")
    lines += ["", "Best score per seed:", ""]
    for problem in problems:
        for s in systems:
            row = summary[problem].get(s)
            if row is not None:
                lines.append(f"- {problem} / {s}: " + ", ".join(_num(b) for b in row["best_per_seed"]))
    return "\n".join(lines) + "\n"


def write(results: Sequence[RunResult], out: Path, *, title: str, header: str = "",
          meta: dict[str, Any] | None = None) -> tuple[Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    data = {"meta": meta or {}, "runs": [{**asdict(r), "rate": r.rate} for r in results],
            "summary": aggregate(results)}
    js, md = out / "results.json", out / "results.md"
    js.write_text(json.dumps(data, indent=1, sort_keys=True))
    md.write_text(markdown(results, title=title, header=header))
    return js, md
