"""Online bin packing, FunSearch's setting: evolve the priority function.

Items arrive one at a time and are placed at once, never moved: each goes into the
open bin with the highest priority among those it fits (or a new bin, offered as a
bin with full capacity, last). Instances are generated here, reproducibly: item
sizes from a Weibull distribution (shape 3, scale 45), rounded to integers and
clipped to [1, CAPACITY], from fixed seeds.

Score (minimize): the mean over instances of the excess bins over the L1 lower
bound ceil(sum of sizes / capacity), in percent.

Certified: the program's fixed code runs the online loop in the candidate's process
(one call per item would cross processes thousands of times) and returns the bin
of every item; the evaluator checks that every item is in exactly one bin, that no
bin is over capacity and that bins are opened in order, counts the bins itself, and
replays SPOT_CHECKS decisions per instance against the program's own ``priority``
(called with the bins as they were) to check that the packing is the online
heuristic's. ``priority`` must be deterministic.
"""

import numpy as np

from cambrian.candidate import load
from cambrian.certify import Invalid, finite_score, integer_array, invalid, real_array, report, unchanged

CAPACITY = 100
ITEMS = 1000
SEEDS = (0, 1, 2, 3, 4)
SPOT_CHECKS = 8
BEST_KNOWN = 0.0                # the L1 bound itself; no packing of these instances can beat it
DIRECTION = "minimize"


def instance(seed):
    rng = np.random.default_rng(10_000 + seed)
    return np.clip(np.round(rng.weibull(3.0, ITEMS) * 45), 1, CAPACITY).astype(np.int64)


def l1_bound(items):
    return int(-(-int(items.sum()) // CAPACITY))


def bins_used(items, assignment):
    """Number of bins of a valid packing, or ``Invalid``."""
    a = integer_array(assignment, name="assignment", shape=(len(items),))
    if len(a) and a[0] != 0:
        raise Invalid("the first item must open bin 0")
    opened = np.maximum.accumulate(a)
    if (a < 0).any() or (a[1:] > opened[:-1] + 1).any():
        t = int(np.argmax((a < 0) | np.concatenate([[False], a[1:] > opened[:-1] + 1])))
        raise Invalid(f"item {t} goes to bin {a[t]}, which is not open and not the next new bin")
    loads = np.bincount(a, weights=items)
    if (loads > CAPACITY).any():
        b = int(np.argmax(loads))
        raise Invalid(f"bin {b} holds {loads[b]:g} > capacity {CAPACITY}")
    return int(a.max()) + 1 if len(a) else 0


def replay(items, assignment, priority, checks):
    """Check decisions ``checks`` of a valid packing against ``priority``, or ``Invalid``."""
    a = np.asarray(assignment)
    for t in sorted(checks):
        remaining = CAPACITY - np.bincount(a[:t], weights=items[:t], minlength=int(a[:t].max(initial=-1)) + 1)
        open_ids = np.flatnonzero(remaining >= items[t])
        offered = np.concatenate([remaining[open_ids], [CAPACITY]]).astype(float)
        ids = np.concatenate([open_ids, [len(remaining)]])
        pristine = offered.copy()
        offered.setflags(write=False)
        try:
            p = priority(int(items[t]), offered)
        except ValueError as exc:
            if "read-only" in str(exc):
                raise Invalid("the program modified its input bins") from None
            raise
        unchanged(pristine, offered, "bins")
        p = real_array(p, name=f"priority at item {t}", shape=(len(offered),))
        chosen = int(ids[int(np.argmax(p))])
        if chosen != a[t]:
            raise Invalid(f"item {t} went to bin {a[t]}, but the program's priority chooses bin {chosen}")


def excess(items, assignment, priority=None, checks=()):
    """Excess bins over the L1 bound, in percent, of a valid packing."""
    used = bins_used(items, assignment)
    if priority is not None:
        replay(items, assignment, priority, checks)
    lower = l1_bound(items)
    return 100.0 * (used - lower) / lower


def evaluate(program_path):
    # The candidate runs in its own confined process; only plain data and arrays come back.
    program = load(program_path)
    values = []
    for seed in SEEDS:
        items = instance(seed)
        assignment = program.pack(items.copy(), CAPACITY)
        checks = np.random.default_rng(seed).choice(np.arange(1, ITEMS), size=SPOT_CHECKS, replace=False)
        try:
            values.append(excess(items, assignment, program.priority, checks))
        except Invalid as exc:
            return invalid(f"instance {seed}: {exc}")
    score = finite_score(np.mean(values))
    return report(score, best_known=BEST_KNOWN, direction=DIRECTION,
                  **{f"excess_{seed}": v for seed, v in zip(SEEDS, values)})
