"""Online bin packing, FunSearch's setting: evolve the priority function.

Items arrive one at a time and are placed at once, never moved: each goes into the
open bin with the highest priority among those it fits (or a new bin, offered as a
bin with full capacity, last). Item sizes come from a Weibull distribution (shape 3,
scale 45), rounded to integers and clipped to [1, CAPACITY].

Score (minimize): the mean over INSTANCES instances of the excess bins over the L1
lower bound ceil(sum of sizes / capacity), in percent.

Certified: the online loop runs here, in the evaluator's process. The candidate's
``priority(item, bins)`` is called across the process boundary (through
``cambrian.candidate.load``) once per item, with that item's size and the remaining
capacities of the bins it fits: future items never exist in the candidate's process,
so it cannot read them (from a calling frame, say) and pack offline. The instances
are drawn per evaluation from a secret seed (``secrets``, in this process, which the
candidate cannot read), so it cannot regenerate them either. Scores are therefore
noisy across evaluations; the README states by how much. ``evaluate(path, seed=...)``
gives a reproducible evaluation for tests and by hand.
"""

import secrets

import numpy as np

from cambrian.candidate import load
from cambrian.certify import Invalid, finite_score, invalid, real_array, report

CAPACITY = 100
INSTANCES = 5
ITEMS = 300
BEST_KNOWN = 0.0                # the L1 bound itself; no packing of these instances can beat it
DIRECTION = "minimize"


def instance(seed):
    """The items of one instance, reproducibly from ``seed``."""
    rng = np.random.default_rng(seed)
    return np.clip(np.round(rng.weibull(3.0, ITEMS) * 45), 1, CAPACITY).astype(np.int64)


def l1_bound(items):
    return int(-(-int(items.sum()) // CAPACITY))


def pack(items, priority):
    """Run the online loop here; ``priority`` sees one item at a time. Returns the number
    of bins, or raises ``Invalid`` for a priority that returns garbage."""
    remaining = np.empty(0, dtype=float)
    for t, item in enumerate(items):
        open_ids = np.flatnonzero(remaining >= item)
        offered = np.append(remaining[open_ids], float(CAPACITY))
        # A fresh copy each call: whatever the program does to it, the loop's state is ours.
        p = real_array(priority(int(item), offered.copy()), name=f"priority at item {t}",
                       shape=(len(offered),))
        k = int(np.argmax(p))
        if k == len(open_ids):
            remaining = np.append(remaining, float(CAPACITY - item))
        else:
            remaining[open_ids[k]] -= item
    return len(remaining)


def excess(items, priority):
    """Excess bins over the L1 bound, in percent, of the online packing ``priority`` makes."""
    lower = l1_bound(items)
    return 100.0 * (pack(items, priority) - lower) / lower


def evaluate(program_path, seed=None):
    # The candidate runs in its own confined process; only its priorities come back.
    priority = load(program_path).priority
    root = secrets.randbits(64) if seed is None else seed
    seeds = np.random.SeedSequence(root).generate_state(INSTANCES)
    values = []
    for i, s in enumerate(seeds):
        try:
            values.append(excess(instance(int(s)), priority))
        except Invalid as exc:
            return invalid(f"instance {i}: {exc}")
    score = finite_score(np.mean(values))
    return report(score, best_known=BEST_KNOWN, direction=DIRECTION,
                  **{f"excess_{i}": v for i, v in enumerate(values)})
