"""Heilbronn's problem, 11 points in a triangle of unit area: score = the smallest
area of a triangle formed by three of the points (maximize).

The triangle is the equilateral one with corners (0, 0), (1, 0), (1/2, sqrt(3)/2);
the score is the smallest triangle's area divided by that triangle's area, so it is
the value for a unit-area triangle. Certified: the areas are recomputed from the
points the program returns; a point outside the triangle by more than TOL is
invalid, and one outside by less is moved onto the boundary before scoring, so the
score is that of a construction feasible at tolerance 0.
"""

import itertools

import numpy as np

from cambrian.candidate import load
from cambrian.certify import Invalid, anchor, finite_score, invalid, polish_enabled, real_array, report

N = 11
TOL = 1e-9                      # distance outside the triangle that is projected back, not rejected
BEST_KNOWN = anchor("0.0365298899")
DIRECTION = "maximize"
SQRT3 = np.sqrt(3.0)
CORNERS = np.array([[0.0, 0.0], [1.0, 0.0], [0.5, SQRT3 / 2]])
AREA = SQRT3 / 4
TRIPLES = np.array(list(itertools.combinations(range(N), 3)))


def edge_distances(x):
    """Signed distances to the three edges (positive inside), one row per point."""
    return np.stack([x[:, 1], (SQRT3 * x[:, 0] - x[:, 1]) / 2, (SQRT3 * (1 - x[:, 0]) - x[:, 1]) / 2], 1)


def inside(points):
    """The points as a clean array inside the triangle (projected if within TOL), or ``Invalid``."""
    x = real_array(points, name="points", shape=(N, 2))
    dist = edge_distances(x)
    worst = dist.min(1)
    k = int(np.argmin(worst))
    if worst[k] < -TOL:
        raise Invalid(f"point {k} lies {-worst[k]:.3g} outside the triangle (tolerance {TOL:g})")
    if worst[k] < 0:
        bary = np.linalg.solve(np.vstack([CORNERS.T, np.ones(3)]), np.vstack([x.T, np.ones(N)])).T
        bary = np.clip(bary, 0.0, None)
        x = (bary / bary.sum(1, keepdims=True)) @ CORNERS
    return x


def signed_areas(x):
    """Twice the signed area of every triple."""
    a, b, c = x[TRIPLES[:, 0]], x[TRIPLES[:, 1]], x[TRIPLES[:, 2]]
    return (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (c[:, 0] - a[:, 0]) * (b[:, 1] - a[:, 1])


def score(points):
    """Smallest triangle area / area of the containing triangle."""
    x = inside(points)
    return finite_score(np.abs(signed_areas(x)).min() / 2 / AREA)


def polish(points, max_iter=300):
    """A local optimum near the points (SLSQP: maximize t with every oriented area >= t,
    the points inside). The orientation of each triple is the one it has at the start. Opt-in."""
    from scipy.optimize import minimize

    x = inside(points)
    sign = np.where(signed_areas(x) >= 0, 1.0, -1.0)
    i, j, k = TRIPLES.T
    rows = np.arange(len(TRIPLES))
    n = 2 * N

    def cons(z):
        p = z[:n].reshape(N, 2)
        return np.concatenate([sign * signed_areas(p) - z[n], edge_distances(p).ravel()])

    def jac(z):
        p = z[:n].reshape(N, 2)
        J = np.zeros((len(TRIPLES) + 3 * N, n + 1))
        X, Y = p[:, 0], p[:, 1]
        for (u, v, w) in ((i, j, k), (j, k, i), (k, i, j)):   # d(area2)/d(point u) = (y_v - y_w, x_w - x_v)
            J[rows, 2 * u] += sign * (Y[v] - Y[w])
            J[rows, 2 * u + 1] += sign * (X[w] - X[v])
        J[rows, n] = -1.0
        base = len(TRIPLES)
        for q in range(N):
            J[base + 3 * q, 2 * q + 1] = 1.0
            J[base + 3 * q + 1, 2 * q:2 * q + 2] = [SQRT3 / 2, -0.5]
            J[base + 3 * q + 2, 2 * q:2 * q + 2] = [-SQRT3 / 2, -0.5]
        return J

    z0 = np.concatenate([x.ravel(), [np.abs(signed_areas(x)).min()]])
    grad = np.zeros(n + 1)
    grad[n] = -1.0
    res = minimize(lambda z: -z[n], z0, jac=lambda z: grad, method="SLSQP",
                   constraints=[{"type": "ineq", "fun": cons, "jac": jac}],
                   options={"maxiter": max_iter, "ftol": 1e-16})
    p = res.x[:n].reshape(N, 2)
    return p if np.isfinite(p).all() else x


def evaluate(program_path):
    # The candidate runs in its own confined process; only plain data and arrays come back.
    points = load(program_path).construct()
    try:
        value = score(points)
    except Invalid as exc:
        return invalid(str(exc))
    out = report(value, best_known=BEST_KNOWN, direction=DIRECTION)
    if polish_enabled():
        try:
            polished = max(value, score(polish(points)))
        except Invalid:
            polished = value
        out["score_polished"] = polished
        out["polish_gain"] = polished - value
    return out
