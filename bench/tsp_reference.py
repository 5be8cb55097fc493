"""The reference value of examples/tsp: best tours from 2-opt + Or-opt, many random starts.

    python bench/tsp_reference.py [--starts 200]

Prints the mean best length over the example's instances (its BEST_KNOWN) and
each instance's best. Slow by design (a reference, not a heuristic to evolve).
"""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def load_example():
    spec = importlib.util.spec_from_file_location("tsp_evaluate", ROOT / "examples" / "tsp" / "evaluate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def length(d, order):
    return d[order, np.roll(order, -1)].sum()


def local_search(d, order):
    """2-opt and Or-opt (segments of 1-3 cities) until no move improves."""
    n = len(order)
    improved = True
    while improved:
        improved = False
        for i in range(n - 1):
            a, b = order[i], order[i + 1]
            c, e = order[i + 2:], np.roll(order, -1)[i + 2:]
            if len(c) == 0:
                continue
            gain = d[a, b] + d[c, e] - d[a, c] - d[b, e]
            j = int(np.argmax(gain))
            if gain[j] > 1e-12 and not (i == 0 and j + i + 2 == n - 1):
                k = i + 2 + j
                order[i + 1:k + 1] = order[i + 1:k + 1][::-1]
                improved = True
        for seg in (1, 2, 3):
            for i in range(n):
                rolled = np.roll(order, -i)
                s, rest = rolled[:seg], rolled[seg:]
                prev, nxt = rest[-1], rest[0]
                remove = d[prev, s[0]] + d[s[-1], nxt] - d[prev, nxt]
                x, y = rest[:-1], rest[1:]
                add = np.minimum(d[x, s[0]] + d[s[-1], y], d[x, s[-1]] + d[s[0], y]) - d[x, y]
                j = int(np.argmin(add))
                if add[j] < remove - 1e-12:
                    piece = s if d[x[j], s[0]] + d[s[-1], y[j]] <= d[x[j], s[-1]] + d[s[0], y[j]] else s[::-1]
                    order = np.concatenate([rest[:j + 1], piece, rest[j + 1:]])
                    improved = True
                    break
    return order


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--starts", type=int, default=200)
    args = parser.parse_args()
    ev = load_example()
    bests = []
    for seed in ev.INSTANCES:
        p = ev.instance(seed)
        d = np.sqrt(((p[:, None] - p[None]) ** 2).sum(-1))
        rng = np.random.default_rng(seed)
        best = min(length(d, local_search(d, rng.permutation(len(p)))) for _ in range(args.starts))
        bests.append(best)
        print(f"instance {seed}: {best:.7f}", flush=True)
    print(f"mean: {np.mean(bests):.7f}")


if __name__ == "__main__":
    main()
