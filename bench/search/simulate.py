"""A fast, in-process approximation of the search benchmark, for designing searches.

Same strategy code, same prompts (``cambrian.prompt``), same weak model replies and
edit application, same landscapes; no HTTP, no sandbox, no store. Proposals are told
with the same lag as ``workers: 2`` (a proposal sees every tell but the previous one's).
A rejected reply (no usable edit, a program shown or already evaluated) is asked
again once with the reason, and the budget counts calls, as in the runner. A run costs about 0.3 CPU seconds instead of ~15 through the real
pipeline (HTTP, SDK, sandboxed evaluation, SQLite), so every system can be tried on
every landscape with many seeds in minutes; ``run.py`` runs the same comparison
through the real pipeline.

    python bench/search/simulate.py [--seeds 10] [--systems cambrian,greedy] [--set KEY=VALUE] [--jobs 2]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import yaml  # noqa: E402
from cambrian.landscapes import score  # noqa: E402
from weak_llm import reply  # noqa: E402
from _machine import commit, header  # noqa: E402
from _args import check  # noqa: E402

from cambrian import benchmark, config  # noqa: E402
from cambrian.errors import CambrianError  # noqa: E402
from cambrian.edits import EditFailure, apply_rewrite, apply_search_replace  # noqa: E402
from cambrian.program import Program, program_id  # noqa: E402
from cambrian.prompt import build_messages, load_templates  # noqa: E402
from cambrian.strategy import OPERATOR_STREAM, Outcome, Strategy, rng_for  # noqa: E402

LANDSCAPES = ("smooth", "rugged", "rotated", "trap", "plateau", "needle", "mixed", "noisy")
TEMPLATES = load_templates()
FORMATS = {"llm:weak:diff": 0.6, "llm:weak:rewrite": 0.3, "llm:weak:crossover": 0.1}


def constants(code: str) -> list[float]:
    """What a landscape program's ``params()`` returns (it raises for a program that does not run)."""
    namespace: dict = {}
    exec(compile(code, "<candidate>", "exec"), namespace)
    return [float(v) for v in namespace["params"]()]


def evaluate(name: str, code: str) -> tuple[float, float] | None:
    try:
        return score(name, constants(code), code)
    except Exception:
        return None


def _child(name: str, parent: Program, proposal, seed: int, resample: int, shown: list[Program],
           messages: list, known: dict) -> tuple[str | None, list]:
    """One request to the weak model and its edit: (child code or None, the messages so far)."""
    fmt = proposal.operator.rsplit(":", 1)[1]
    rng = rng_for(seed, proposal.seq, OPERATOR_STREAM)
    text = reply({"messages": messages, "seed": int(rng.integers(2**31)) + resample})
    child = apply_search_replace(parent.code, text) if fmt == "diff" else apply_rewrite(parent.code, text)
    if isinstance(child, EditFailure):
        reason = child.reason
    elif child == parent.code or any(child == p.code for p in shown):
        reason = "the edit leaves a program shown unchanged"
    elif program_id(child) in known:
        reason = "a program already evaluated"
    else:
        try:
            compile(child, "<candidate>", "exec")
            return child, messages
        except SyntaxError as exc:
            reason = f"does not parse: {exc.msg}"
    retry = [{"role": "assistant", "content": text},
             {"role": "user", "content": TEMPLATES["retry"].substitute(reason=reason)}]
    return None, messages + retry


def simulate(name: str, overrides: dict, seed: int, budget: int = 300, lag: int = 2) -> benchmark.RunResult:
    """One run: ``budget`` LLM calls (a rejected reply is asked again once, as the runner does)."""
    import time

    started = time.process_time()
    cfg = config.build({"budget": 3 * budget, "max_calls": budget, "seed": seed,
                        "llm": {"models": [{"model": "openai:weak"}]},
                        "operators": {"perturb": {"weight": 0}, "crossover": {"weight": 0},
                                      "structural": {"weight": 0}}}, overrides)
    strategy = Strategy(cfg, mate_operators=frozenset({"llm:weak:crossover"}), arms=FORMATS, bandit=True)
    code = (HERE / "landscapes" / name / "initial_program.py").read_text()
    observed, true = evaluate(name, code)
    programs = {program_id(code): Program(program_id(code), code, None, "initial", 0, 0, "ok", score=observed)}
    truth = {program_id(code): true}
    strategy.seed(program_id(code), observed, {"code_length": float(len(code))})
    pending: list = []
    calls = seq = 0
    best, hits, reached_calls = observed, {}, {}
    while calls < budget:
        seq += 1
        while len(pending) >= lag:
            strategy.tell(*pending.pop(0))
        proposal = strategy.ask(seq)
        parent = programs[proposal.parent_id]
        shown = [programs[i] for i in proposal.inspiration_ids]
        fmt = proposal.operator.rsplit(":", 1)[1]
        messages = build_messages(fmt, templates=TEMPLATES, task="", objective="combined_score",
                                  direction="maximize", parent=parent, inspirations=shown)
        child = None
        for resample in range(2):
            if calls >= budget:
                break
            calls += 1
            child, messages = _child(name, parent, proposal, seed, resample, shown, messages, programs)
            if child is not None:
                break
        outcome = Outcome(None, None, cost=0.0)
        if child is not None:
            pid = program_id(child)
            if pid not in programs:
                result = evaluate(name, child)
                if result is not None:
                    programs[pid] = Program(pid, child, parent.id, proposal.operator, parent.generation + 1,
                                            proposal.island, "ok", score=result[0])
                    truth[pid] = result[1]
                    outcome = Outcome(pid, result[0], {"code_length": float(len(child))})
                    if result[0] > best:
                        best = result[0]
                        for level in benchmark.LEVELS:
                            if str(level) not in hits and benchmark.reached(result[1], 1.0, level, maximize=True):
                                hits[str(level)], reached_calls[str(level)] = seq, calls
        pending.append((proposal, outcome))
    for item in pending:
        strategy.tell(*item)
    return benchmark.RunResult(
        problem=name, system="", seed=seed, best=truth[strategy.best_id], best_score=strategy.best_score,
        candidates=seq, calls=calls, seconds=time.process_time() - started,
        to_reach={str(lv): hits.get(str(lv)) for lv in benchmark.LEVELS},
        calls_to_reach={str(lv): reached_calls.get(str(lv)) for lv in benchmark.LEVELS},
        stop_reason=f"{strategy.island_count} islands, {getattr(strategy.policy, 'resets', 0)} resets")


def _one(job: tuple) -> benchmark.RunResult:
    name, system, overrides, seed, budget = job
    result = simulate(name, overrides, seed, budget)
    result.system = system
    return result


def _jobs(parser: argparse.ArgumentParser, args: argparse.Namespace) -> list[tuple]:
    """The runs asked for, or a one-line error (parser.error exits 2) for any bad argument."""
    landscapes, systems = check(parser, args, LANDSCAPES, benchmark.SYSTEMS)
    common = {}
    for item in args.set:
        key, eq, value = item.partition("=")
        if not eq or not key:
            parser.error(f"--set {item}: expected KEY=VALUE")
        common[key] = yaml.safe_load(value)
    for system in systems:  # a bad override is refused here, not in a worker's traceback
        try:
            config.build({"llm": {"models": [{"model": "openai:weak"}]}}, {**common, **benchmark.SYSTEMS[system]})
        except CambrianError as exc:
            parser.error(str(exc).splitlines()[0])
    return [(name, system, {**common, **benchmark.SYSTEMS[system]}, seed, args.budget)
            for name in landscapes for system in systems
            for seed in range(args.first_seed, args.first_seed + args.seeds)]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=10, help="seeds per landscape and system")
    parser.add_argument("--first-seed", type=int, default=0, help="seeds FIRST .. FIRST+SEEDS-1")
    parser.add_argument("--budget", type=int, default=300, help="LLM calls per run, retries included")
    parser.add_argument("--systems", default=",".join(benchmark.SYSTEMS),
                        help="comma-separated systems (default: all, baselines and ablations)")
    parser.add_argument("--landscapes", default=",".join(LANDSCAPES), help="comma-separated landscapes")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="a config override for every system (repeatable)")
    parser.add_argument("--jobs", type=int, default=2, help="runs in parallel")
    parser.add_argument("--out", default="runs/bench-search-sim", help="directory for results.md and results.json")
    args = parser.parse_args(argv)
    jobs = _jobs(parser, args)
    from multiprocessing import Pool

    import os

    load_before = os.getloadavg()[0]
    with Pool(args.jobs) as pool:
        results = pool.map(_one, jobs, chunksize=1)
    load = f" Load average (1 min) {load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end."
    title = "Search benchmark, in-process replica: weak scripted LLM, LLM proposals only"
    command = (f"{commit()}. `python bench/search/simulate.py --seeds {args.seeds} --budget {args.budget}"
               + (f" --first-seed {args.first_seed}" if args.first_seed else "")
               + (f" --systems {args.systems}" if args.systems != ",".join(benchmark.SYSTEMS) else "")
               + (f" --landscapes {args.landscapes}" if args.landscapes != ",".join(LANDSCAPES) else "") + "`"
               + "".join(f" `--set {item}`" for item in args.set)
               + f"; budget {args.budget} LLM calls per run (retries included); 'wall s' is CPU seconds." + load)
    _, md = benchmark.write(results, Path(args.out), title=title,
                            header=header(title).split("\n", 2)[2] + "\n" + command,
                            meta={"seeds": args.seeds, "first_seed": args.first_seed, "budget": args.budget,
                                  "set": args.set})
    print(md.read_text())


if __name__ == "__main__":
    main()
