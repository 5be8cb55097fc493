"""TSP construction heuristic on seeded random instances: mean tour length (minimize).

Instances are generated here, reproducibly: INSTANCES sets of CITIES points
uniform in the unit square, from fixed seeds. The program's ``tour(points)``
returns an order in which to visit the cities; the tour closes back to its start.

Certified: the length is recomputed from the order the program returns, which
must be a permutation of 0..n-1 (integers; no repeats, none missing); the program
gets a copy of the points and one that modifies it is invalid.
"""

import numpy as np

from cambrian.candidate import load
from cambrian.certify import Invalid, anchor, finite_score, integer_array, invalid, report, unchanged

CITIES = 60
INSTANCES = (0, 1, 2, 3, 4, 5, 6, 7)
# Mean of the best tours found for these instances by 2-opt + Or-opt from 200
# random starts each (bench/tsp_reference.py); the optimum may be lower.
BEST_KNOWN = anchor("6.3144971")
DIRECTION = "minimize"


def instance(seed):
    return np.random.default_rng(20_000 + seed).random((CITIES, 2))


def tour_length(points, order):
    """Length of the closed tour, or ``Invalid``."""
    o = integer_array(order, name="tour", shape=(len(points),))
    if (o < 0).any() or (o >= len(points)).any():
        raise Invalid(f"tour: city {int(o[(o < 0) | (o >= len(points))][0])} does not exist")
    if len(np.unique(o)) != len(o):
        seen, dup = set(), None
        for c in o.tolist():
            if c in seen:
                dup = c
                break
            seen.add(c)
        raise Invalid(f"tour: city {dup} is visited twice (and another never)")
    p = points[o]
    return finite_score(np.sqrt(((p - np.roll(p, -1, axis=0)) ** 2).sum(1)).sum(), "tour length")


def tour_checked(tour, points):
    given = points.copy()
    given.setflags(write=False)
    try:
        out = tour(given)
    except ValueError as exc:
        if "read-only" in str(exc):
            raise Invalid("the program modified its input points") from None
        raise
    unchanged(points, given, "points")
    return out


def evaluate(program_path):
    # The candidate runs in its own confined process; only plain data and arrays come back.
    tour = load(program_path).tour
    lengths = []
    for seed in INSTANCES:
        points = instance(seed)
        try:
            lengths.append(tour_length(points, tour_checked(tour, points)))
        except Invalid as exc:
            return invalid(f"instance {seed}: {exc}")
    return report(finite_score(np.mean(lengths)), best_known=BEST_KNOWN, direction=DIRECTION)
