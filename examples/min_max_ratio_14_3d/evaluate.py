"""Max/min distance ratio, 14 points in space: score = (max distance / min distance)^2 (minimize).

Certified: the ratio is recomputed from the points the program returns, after
centering and scaling them (the ratio does not change; underflow and overflow
cannot). The pure functions (``normalize``, ``score``, ``polish``) are what the
tests call; ``evaluate`` only fetches the points from the candidate's process.
"""

import numpy as np

from cambrian.candidate import load
from cambrian.certify import Invalid, anchor, finite_score, invalid, polish_enabled, real_array, report

N, DIM = 14, 3
BEST_KNOWN = anchor("4.1657884")
DIRECTION = "minimize"
MIN_SEPARATION = 1e-6           # closest pair, relative to the point set's extent: closer counts as coincident


def normalize(points):
    """The points, centered and scaled into [-1, 1]^DIM, or ``Invalid``."""
    x = real_array(points, name="points", shape=(N, DIM))
    x = x - x.mean(0)
    extent = np.abs(x).max()
    if extent == 0:
        raise Invalid("all points coincide")
    return x / extent


def squared_distances(x):
    iu, ju = np.triu_indices(len(x), 1)
    return ((x[iu] - x[ju]) ** 2).sum(1), iu, ju


def score(points):
    """(max pairwise distance / min pairwise distance) squared."""
    x = normalize(points)
    d2, iu, ju = squared_distances(x)
    k = int(np.argmin(d2))
    if d2[k] < MIN_SEPARATION ** 2:
        raise Invalid(f"points {iu[k]} and {ju[k]} coincide (distance {np.sqrt(d2[k]):.3g} of the extent)")
    return finite_score(d2.max() / d2[k])


def polish(points, max_iter=300):
    """A local optimum near the points (SLSQP: minimize t with 1 <= d_ij^2 <= t), from the
    points as given and from a slightly jittered copy (a symmetric layout can be a
    saddle); the better of the two. Deterministic. Opt-in."""
    x = normalize(points)
    jittered = x + 1e-3 * np.random.default_rng(0).standard_normal(x.shape)
    tries = [_slsqp(x, max_iter), _slsqp(jittered, max_iter)]
    return min(tries, key=_safe_score)


def _safe_score(points):
    try:
        return score(points)
    except Invalid:
        return np.inf


def _slsqp(x, max_iter):
    from scipy.optimize import minimize

    d2, iu, ju = squared_distances(x)
    x = x / np.sqrt(d2.min())
    n, m = N * DIM, len(iu)
    rows = np.arange(m)

    def split(z):
        return z[:n].reshape(N, DIM), z[n]

    def cons(z):
        p, t = split(z)
        d = ((p[iu] - p[ju]) ** 2).sum(1)
        return np.concatenate([d - 1.0, t - d])

    def jac(z):
        p, _ = split(z)
        diff = 2 * (p[iu] - p[ju])
        J = np.zeros((2 * m, n + 1))
        for a in range(DIM):
            J[rows, iu * DIM + a] = diff[:, a]
            J[rows, ju * DIM + a] = -diff[:, a]
        J[m:, :n] = -J[:m, :n]
        J[m:, n] = 1.0
        return J

    z0 = np.concatenate([x.ravel(), [((x[iu] - x[ju]) ** 2).sum(1).max()]])
    grad = np.zeros(n + 1)
    grad[n] = 1.0
    res = minimize(lambda z: z[n], z0, jac=lambda z: grad, method="SLSQP",
                   constraints=[{"type": "ineq", "fun": cons, "jac": jac}],
                   options={"maxiter": max_iter, "ftol": 1e-16})
    p, _ = split(res.x)
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
            polished = min(value, score(polish(points)))
        except Invalid:
            polished = value
        out["score_polished"] = polished
        out["polish_gain"] = value - polished
    return out
