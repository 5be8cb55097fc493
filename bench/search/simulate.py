"""A fast, in-process approximation of the search benchmark, for designing searches.

Same strategy code, same prompts (``cambrian.prompt``), same weak model replies and
edit application, same landscapes; no HTTP, no sandbox, no store. Proposals are told
with the same lag as ``workers: 2`` (a proposal sees every tell but the previous one's).
It runs a landscape in well under a second, so a change to the search can be tried
over all landscapes and many seeds in a minute. The numbers the README quotes come
from ``run.py`` (the real pipeline), not from here.

    python bench/search/simulate.py [--seeds 10] [--systems cambrian,greedy] [--set KEY=VALUE]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE / "landscapes"))

import yaml  # noqa: E402
from _functions import score  # noqa: E402
from weak_llm import reply  # noqa: E402

from cambrian import benchmark, config  # noqa: E402
from cambrian.edits import EditFailure, apply_rewrite, apply_search_replace  # noqa: E402
from cambrian.program import Program, program_id  # noqa: E402
from cambrian.prompt import build_messages, load_templates  # noqa: E402
from cambrian.strategy import OPERATOR_STREAM, Outcome, Strategy, rng_for  # noqa: E402

LANDSCAPES = ("smooth", "rugged", "rotated", "trap", "plateau", "needle", "mixed", "noisy")
TEMPLATES = load_templates()
FORMATS = {"llm:weak:diff": 0.6, "llm:weak:rewrite": 0.3, "llm:weak:crossover": 0.1}


def evaluate(name: str, code: str) -> tuple[float, float] | None:
    namespace: dict = {}
    try:
        exec(compile(code, "<candidate>", "exec"), namespace)
        return score(name, [float(v) for v in namespace["params"]()], code)
    except Exception:
        return None


def simulate(name: str, overrides: dict, seed: int, budget: int = 300, lag: int = 2) -> tuple[float, list[int]]:
    """(true score of the best program, island count over time) of one run."""
    cfg = config.build({"budget": budget, "seed": seed, "llm": {"models": [{"model": "openai:weak"}]},
                        "operators": {"perturb": {"weight": 0}, "crossover": {"weight": 0},
                                      "structural": {"weight": 0}}}, overrides)
    strategy = Strategy(cfg, mate_operators=frozenset({"llm:weak:crossover"}), arms=FORMATS, bandit=True)
    code = (HERE / "landscapes" / name / "initial_program.py").read_text()
    observed, true = evaluate(name, code)
    programs = {program_id(code): Program(program_id(code), code, None, "initial", 0, 0, "ok", score=observed)}
    truth = {program_id(code): true}
    strategy.seed(program_id(code), observed, {"code_length": float(len(code))})
    pending: list = []
    islands = []
    for seq in range(1, budget + 1):
        while len(pending) >= lag:
            strategy.tell(*pending.pop(0))
        proposal = strategy.ask(seq)
        parent = programs[proposal.parent_id]
        shown = [programs[i] for i in proposal.inspiration_ids]
        fmt = proposal.operator.rsplit(":", 1)[1]
        messages = build_messages(fmt, templates=TEMPLATES, task="", objective="combined_score",
                                  direction="maximize", parent=parent, inspirations=shown)
        rng = rng_for(seed, seq, OPERATOR_STREAM)
        text = reply({"messages": messages, "seed": int(rng.integers(2**31))})
        child = apply_search_replace(parent.code, text) if fmt == "diff" else apply_rewrite(parent.code, text)
        outcome = Outcome(None, None, cost=0.0)
        if not isinstance(child, EditFailure) and child != parent.code:
            pid = program_id(child)
            if pid not in programs:
                result = evaluate(name, child)
                if result is not None:
                    programs[pid] = Program(pid, child, parent.id, proposal.operator, parent.generation + 1,
                                            proposal.island, "ok", score=result[0])
                    truth[pid] = result[1]
                    outcome = Outcome(pid, result[0], {"code_length": float(len(child))})
        pending.append((proposal, outcome))
        islands.append(strategy.island_count)
    for item in pending:
        strategy.tell(*item)
    return truth[strategy.best_id], islands


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--budget", type=int, default=300)
    parser.add_argument("--systems", default="cambrian,greedy,lineages,best_of_n,random_parent")
    parser.add_argument("--landscapes", default=",".join(LANDSCAPES))
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    common = {k: yaml.safe_load(v) for k, v in (item.split("=", 1) for item in args.set)}
    systems = args.systems.split(",")
    table = benchmark.SYSTEMS
    print(f"{'':10}" + "".join(f"{s[:13]:>14}" for s in systems))
    means = {s: [] for s in systems}
    for name in args.landscapes.split(","):
        row = []
        for system in systems:
            values = [simulate(name, {**common, **table[system]}, seed, args.budget)[0] for seed in range(args.seeds)]
            med = float(np.median(values))
            means[system].append(med)
            row.append(med)
        top = max(row)
        print(f"{name:10}" + "".join(f"{v:>13.3f}{'*' if v >= top - 1e-9 else ' '}" for v in row), flush=True)
    print(f"{'mean':10}" + "".join(f"{np.mean(means[s]):>13.3f} " for s in systems))


if __name__ == "__main__":
    main()
