"""Arm choice under a budget, simulated: how much improvement each rule buys.

Four arms with made-up but typical shapes: a free built-in operator that rarely
improves, a cheap model, a strong expensive model and a model whose edits rarely
apply. Each proposal improves its parent with the arm's probability, by an
exponentially distributed gain. A run stops at 400 proposals or $3. This is a
stationary toy: it shows whether a rule finds the arm that pays, not how a real
search behaves.

    python bench/bandit.py [--seeds 200]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import header  # noqa: E402

from cambrian.bandit import Bandit  # noqa: E402

ARMS = {  # name: (improvement probability, dollars per proposal)
    "built-in perturb": (0.06, 0.0),
    "cheap model": (0.14, 0.002),
    "strong model": (0.22, 0.03),
    "model whose edits rarely apply": (0.02, 0.01),
}
PROPOSALS, DOLLARS = 400, 3.0


def run(rule: str, seed: int) -> tuple[float, int, float, dict[str, int]]:
    rng = np.random.default_rng(seed)
    names = tuple(ARMS)
    bandit = Bandit(names, cost_weight=0.0 if rule == "UCB, no cost term" else 10.0)
    sums = {a: 0.0 for a in names}
    pulls = {a: 0 for a in names}
    gain_total, improvements, spent = 0.0, 0, 0.0
    for _ in range(PROPOSALS):
        if rule == "uniform":
            arm = names[int(rng.integers(len(names)))]
        elif rule == "UCB1 on raw gain":
            fresh = [a for a in names if pulls[a] == 0]
            if fresh:
                arm = fresh[0]
            else:
                total = sum(pulls.values())
                arm = max(names, key=lambda a: sums[a] / pulls[a] + np.sqrt(2 * np.log(total) / pulls[a]))
        else:
            arm = bandit.choose(rng)
        p, cost = ARMS[arm]
        if spent + cost > DOLLARS:
            break
        spent += cost
        pulls[arm] += 1
        gain = float(rng.exponential()) if rng.random() < p else None
        if gain is not None:
            gain_total += gain
            improvements += 1
            sums[arm] += gain
        bandit.update(arm, reward=1.0 if gain is not None else 0.0, cost=cost)
    return gain_total, improvements, spent, pulls


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=200)
    args = parser.parse_args()
    rules = ["uniform", "UCB1 on raw gain", "UCB, no cost term", "asymmetric UCB + cost (Cambrian)"]
    print(header(f"Arm choice, simulated: {PROPOSALS} proposals or ${DOLLARS:g}, mean of {args.seeds} seeds"))
    print("| rule | total gain | improvements | dollars | gain per dollar | share of strong / cheap / free |")
    print("|---|---:|---:|---:|---:|---|")
    for rule in rules:
        results = [run(rule, seed) for seed in range(args.seeds)]
        gain = np.mean([r[0] for r in results])
        imp = np.mean([r[1] for r in results])
        spent = np.mean([r[2] for r in results])
        share = {a: np.mean([r[3][a] / max(1, sum(r[3].values())) for r in results]) for a in ARMS}
        print(f"| {rule} | {gain:.1f} | {imp:.1f} | {spent:.2f} | {gain / spent:.1f} | "
              f"{share['strong model']:.0%} / {share['cheap model']:.0%} / {share['built-in perturb']:.0%} |")


if __name__ == "__main__":
    main()
