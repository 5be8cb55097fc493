"""Circle packing, 26 circles in the unit square: score = sum of radii (maximize).

Certified: the score is recomputed from the centers and radii the program returns,
and a packing counts only if every circle lies in the square and no two overlap,
each up to TOL. The pure functions (``check``, ``score``, ``polish``) are what the
tests call; ``evaluate`` only fetches the construction from the candidate's process.
"""

import numpy as np

from cambrian.candidate import load
from cambrian.certify import Invalid, anchor, finite_score, invalid, polish_enabled, real_array, report

N = 26
TOL = 1e-9                      # on containment and on pairwise overlap
BEST_KNOWN = anchor("2.6359830")          # strictly feasible (see README)
DIRECTION = "maximize"


def check(construction):
    """Clean (centers, radii) arrays and the worst violation (<= TOL), or ``Invalid``."""
    if not isinstance(construction, (tuple, list)) or len(construction) != 2:
        raise Invalid("construct() must return (centers, radii)")
    c = real_array(construction[0], name="centers", shape=(N, 2))
    r = real_array(construction[1], name="radii", shape=(N,))
    if (r < 0).any():
        raise Invalid(f"radius {int(np.argmin(r))} is negative ({r.min():.3g})")
    v = violation(c, r)
    if v > TOL:
        raise Invalid(describe_violation(c, r))
    return c, r, max(v, 0.0)


def violation(c, r):
    """The largest amount by which a circle leaves the square or two circles overlap."""
    wall = np.concatenate([r - c[:, 0], c[:, 0] + r - 1, r - c[:, 1], c[:, 1] + r - 1])
    d = np.sqrt(((c[:, None, :] - c[None, :, :]) ** 2).sum(-1))
    overlap = (r[:, None] + r[None, :]) - d
    iu = np.triu_indices(len(r), 1)
    return float(max(wall.max(), overlap[iu].max() if len(r) > 1 else -np.inf))


def describe_violation(c, r):
    wall = np.stack([r - c[:, 0], c[:, 0] + r - 1, r - c[:, 1], c[:, 1] + r - 1], 1).max(1)
    d = np.sqrt(((c[:, None, :] - c[None, :, :]) ** 2).sum(-1))
    overlap = (r[:, None] + r[None, :]) - d
    np.fill_diagonal(overlap, -np.inf)
    i, j = np.unravel_index(np.argmax(overlap), overlap.shape)
    if wall.max() >= overlap[i, j]:
        k = int(np.argmax(wall))
        return f"circle {k} leaves the unit square by {wall[k]:.3g} (tolerance {TOL:g})"
    return f"circles {i} and {j} overlap by {overlap[i, j]:.3g} (tolerance {TOL:g})"


def score(construction):
    """Sum of radii of a valid packing (feasible up to TOL)."""
    _, r, _ = check(construction)
    return finite_score(r.sum())


def score_at_tolerance_zero(construction):
    """Sum of radii after shrinking every radius by the worst violation: feasible at tolerance 0."""
    _, r, v = check(construction)
    return float(np.maximum(r - v, 0.0).sum())


def polish(construction, max_iter=200):
    """A local optimum near the construction, strictly feasible (violation <= 0): the
    better of SLSQP from the construction and a penalty method (L-BFGS-B, growing
    weights) followed by SLSQP. Opt-in; scored apart from the program's own result."""
    c, r, _ = check(construction)
    tries = [_slsqp(c, r, max_iter)]
    p, q = _penalty(c, r)
    tries.append(_slsqp(p, q, max_iter))
    tries.append((p, q))
    return max(tries, key=lambda t: t[1].sum() if violation(*t) <= 0 else -1.0)


def _shrink(p, q):
    q = np.maximum(q, 0.0)
    v = violation(p, q)
    return (p, np.maximum(q - v, 0.0)) if v > 0 else (p, q)


def _penalty(c, r):
    from scipy.optimize import minimize

    n = len(r)
    iu, ju = np.triu_indices(n, 1)

    def f(z, mu):
        p, q = z[: 2 * n].reshape(n, 2), z[2 * n:]
        g = np.zeros_like(z)
        gp, gq = g[: 2 * n].reshape(n, 2), g[2 * n:]
        val = -q.sum()
        gq -= 1
        for axis in range(2):
            for sign, excess in ((-1, q - p[:, axis]), (1, p[:, axis] + q - 1)):
                m = excess > 0
                val += mu * (excess[m] ** 2).sum()
                gq[m] += 2 * mu * excess[m]
                gp[m, axis] += sign * 2 * mu * excess[m]
        diff = p[iu] - p[ju]
        d = np.sqrt((diff ** 2).sum(1)) + 1e-300
        over = q[iu] + q[ju] - d
        m = over > 0
        val += mu * (over[m] ** 2).sum()
        w = 2 * mu * over[m]
        np.add.at(gq, iu[m], w)
        np.add.at(gq, ju[m], w)
        u = diff[m] / d[m][:, None]
        np.add.at(gp, iu[m], -w[:, None] * u)
        np.add.at(gp, ju[m], w[:, None] * u)
        return val, g

    z = np.concatenate([c.ravel(), r])
    bounds = [(0, 1)] * (2 * n) + [(0, 0.5)] * n
    for mu in (1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8):
        z = minimize(f, z, args=(mu,), jac=True, method="L-BFGS-B", bounds=bounds,
                     options={"maxiter": 500}).x
    return _shrink(z[: 2 * n].reshape(n, 2), z[2 * n:])


def _slsqp(c, r, max_iter):
    from scipy.optimize import minimize

    n = len(r)
    iu, ju = np.triu_indices(n, 1)
    m = len(iu)
    rows = 4 * n + np.arange(m)
    k = np.arange(n)

    def cons(z):
        p, q = z[: 2 * n].reshape(n, 2), z[2 * n:]
        walls = np.concatenate([p[:, 0] - q, 1 - p[:, 0] - q, p[:, 1] - q, 1 - p[:, 1] - q])
        diff = p[iu] - p[ju]
        return np.concatenate([walls, (diff ** 2).sum(1) - (q[iu] + q[ju]) ** 2])

    def jac(z):
        p, q = z[: 2 * n].reshape(n, 2), z[2 * n:]
        J = np.zeros((4 * n + m, 3 * n))
        for w, (axis, sign) in enumerate([(0, 1), (0, -1), (1, 1), (1, -1)]):
            J[w * n + k, 2 * k + axis] = sign
            J[w * n + k, 2 * n + k] = -1
        diff = p[iu] - p[ju]
        for axis in range(2):
            J[rows, 2 * iu + axis] = 2 * diff[:, axis]
            J[rows, 2 * ju + axis] = -2 * diff[:, axis]
        s = 2 * (q[iu] + q[ju])
        J[rows, 2 * n + iu] = -s
        J[rows, 2 * n + ju] = -s
        return J

    grad = np.concatenate([np.zeros(2 * n), -np.ones(n)])
    res = minimize(lambda z: -z[2 * n:].sum(), np.concatenate([c.ravel(), r]), jac=lambda z: grad,
                   method="SLSQP", bounds=[(0, 1)] * (2 * n) + [(0, 0.5)] * n,
                   constraints=[{"type": "ineq", "fun": cons, "jac": jac}],
                   options={"maxiter": max_iter, "ftol": 1e-15})
    if not np.isfinite(res.x).all():
        return c, r
    return _shrink(res.x[: 2 * n].reshape(n, 2), res.x[2 * n:])


def evaluate(program_path):
    # The candidate runs in its own confined process; only plain data and arrays come back.
    construction = load(program_path).construct()
    try:
        c, r, v = check(construction)
    except Invalid as exc:
        return invalid(str(exc))
    total = finite_score(r.sum())
    out = report(total, best_known=BEST_KNOWN, direction=DIRECTION, violation=v,
                 score_tol0=float(np.maximum(r - v, 0.0).sum()))
    if polish_enabled():
        try:
            polished = score(polish((c, r)))
        except Invalid:
            polished = total
        out["score_polished"] = max(total, polished)
        out["polish_gain"] = out["score_polished"] - total
    return out
