"""Pack 32 circles in the unit square, maximizing the sum of their radii.

The evolve region chooses the centers (initially six rows of 6, 5, 6, 5, 6 and 4); the fixed code below gives each circle the
largest radius the others allow (a linear program), so every candidate is feasible
by construction and the search is over layouts.
"""

import numpy as np
from scipy.optimize import linprog

N = 32


def centers():
    # EVOLVE-BLOCK-START
    points = [
        (0.0833, 0.0833),
        (0.2500, 0.0833),
        (0.4167, 0.0833),
        (0.5833, 0.0833),
        (0.7500, 0.0833),
        (0.9167, 0.0833),
        (0.1000, 0.2500),
        (0.3000, 0.2500),
        (0.5000, 0.2500),
        (0.7000, 0.2500),
        (0.9000, 0.2500),
        (0.0833, 0.4167),
        (0.2500, 0.4167),
        (0.4167, 0.4167),
        (0.5833, 0.4167),
        (0.7500, 0.4167),
        (0.9167, 0.4167),
        (0.1000, 0.5833),
        (0.3000, 0.5833),
        (0.5000, 0.5833),
        (0.7000, 0.5833),
        (0.9000, 0.5833),
        (0.0833, 0.7500),
        (0.2500, 0.7500),
        (0.4167, 0.7500),
        (0.5833, 0.7500),
        (0.7500, 0.7500),
        (0.9167, 0.7500),
        (0.1250, 0.9167),
        (0.3750, 0.9167),
        (0.6250, 0.9167),
        (0.8750, 0.9167),
    ]
    return np.clip(np.array(points, dtype=float), 0.0, 1.0)
    # EVOLVE-BLOCK-END


def radii_for(c):
    """Largest sum of radii for fixed centers: r_i + r_j <= d_ij, r_i <= distance to walls."""
    n = len(c)
    rows, bounds = [], []
    for i in range(n):
        for j in range(i + 1, n):
            row = np.zeros(n)
            row[i] = row[j] = 1.0
            rows.append(row)
            bounds.append(np.hypot(*(c[i] - c[j])))
    wall = np.minimum(np.minimum(c[:, 0], 1 - c[:, 0]), np.minimum(c[:, 1], 1 - c[:, 1]))
    res = linprog(-np.ones(n), A_ub=np.array(rows), b_ub=np.array(bounds),
                  bounds=[(0, max(w, 0)) for w in wall], method="highs")
    r = res.x if res.success else np.zeros(n)
    return np.maximum(r - 1e-9, 0.0)  # stay strictly inside the evaluator's tolerance


def construct():
    c = centers()
    return c, radii_for(c)
