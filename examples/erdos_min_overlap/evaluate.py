"""Erdős' minimum overlap problem: an upper bound on the constant M (minimize).

Following AlphaEvolve's formulation: for a step function h on [0, 2] with values in
[0, 1] and integral 1,
    M <= max_k  integral of h(x) (1 - h(x + k)) dx,
where 1 - h(x + k) is taken as zero outside [0, 2]. The program returns the n step
values; the correlation of two step functions on one grid is piecewise linear in k
with knots on the grid, so the maximum over all real shifts k is attained at a
multiple of the step width and the bound is exact:
    M <= (2/n) max_k sum_i h_i (1 - h_{i+k}).

Certified: recomputed from the values. A value outside [0, 1], an integral off 1
by more than TOL (relative), non-finite, complex or subnormal values and more than
MAX_STEPS steps are rejected; within TOL the values are rescaled to integral exactly 1
before scoring.
"""

import numpy as np

from cambrian.candidate import load
from cambrian.certify import Invalid, anchor, finite_score, invalid, polish_enabled, real_array, report

MAX_STEPS = 10_000
TOL = 1e-9                      # on the integral of h
BEST_KNOWN = anchor("0.380876")
DIRECTION = "minimize"


def steps(values):
    """Clean values with integral exactly 1, or ``Invalid``."""
    h = real_array(values, name="h", shape=(None,), min_len=2, max_len=MAX_STEPS)
    if (h < 0).any() or (h > 1).any():
        k = int(np.argmax(np.maximum(-h, h - 1)))
        raise Invalid(f"h[{k}] = {h[k]!r} is outside [0, 1]")
    integral = h.sum() * 2 / len(h)
    if abs(integral - 1) > TOL:
        raise Invalid(f"the integral of h is {integral!r}, not 1 (tolerance {TOL:g})")
    return h / integral


def bound(h):
    """(2/n) max_k sum_i h_i (1 - h_{i+k}) for clean values."""
    return np.correlate(1 - h, h, "full").max() * 2 / len(h)


def score(values):
    return finite_score(bound(steps(values)))


def polish(values, max_iter=200, max_steps=600):
    """A local optimum near the values (SLSQP: minimize t with every correlation <= t,
    0 <= h <= 1, integral 1), from the values and from a slightly jittered copy; the
    better of the two. Deterministic. Opt-in; more than ``max_steps`` steps are
    returned unchanged."""
    h = steps(values)
    n = len(h)
    if n > max_steps:
        return h
    jittered = np.clip(h + 0.01 * np.random.default_rng(0).standard_normal(n), 0, 1)
    jittered = _fit_integral(jittered)
    return min((_slsqp(h, max_iter), _slsqp(jittered, max_iter)), key=_safe_score)


def _fit_integral(h):
    """min(1, c h) with the c giving integral 1 (bisection)."""
    n = len(h)
    if (h > 0).sum() * 2 / n < 1:
        return np.full(n, 0.5)
    lo, hi = 0.0, 1e6
    for _ in range(200):
        c = (lo + hi) / 2
        lo, hi = (c, hi) if np.minimum(1, c * h).sum() * 2 / n < 1 else (lo, c)
    return np.minimum(1, hi * h)


def _safe_score(values):
    try:
        return score(values)
    except Invalid:
        return np.inf


def _slsqp(h, max_iter):
    from scipy.optimize import minimize

    n = len(h)
    shifts = np.arange(-(n - 1), n)
    # corr_k = sum_i h_i (1 - h_{i+k}) over 0 <= i, i+k < n; rows k, columns i
    i = np.arange(n)
    valid = (i[None, :] + shifts[:, None] >= 0) & (i[None, :] + shifts[:, None] < n)
    partner = np.clip(i[None, :] + shifts[:, None], 0, n - 1)
    w = 2.0 / n

    def corr(x):
        return w * (valid * x[None, :] * (1 - x[partner])).sum(1)

    def jac(z):
        x = z[:n]
        J = np.zeros((len(shifts), n + 1))
        J[:, :n] = -w * valid * (1 - x[partner])          # d/dx_i of h_i (1 - h_{i+k})
        rows, cols = np.nonzero(valid)
        np.add.at(J, (rows, partner[rows, cols]), w * x[cols])   # d/dx_{i+k}: -h_i, negated
        J[:, n] = 1.0
        return J

    z0 = np.concatenate([h, [corr(h).max()]])
    grad = np.zeros(n + 1)
    grad[n] = 1.0
    eq = np.concatenate([np.full(n, w), [0.0]])
    res = minimize(lambda z: z[n], z0, jac=lambda z: grad, method="SLSQP",
                   bounds=[(0, 1)] * n + [(0, None)],
                   constraints=[{"type": "ineq", "fun": lambda z: z[n] - corr(z[:n]), "jac": jac},
                                {"type": "eq", "fun": lambda z: w * z[:n].sum() - 1.0, "jac": lambda z: eq}],
                   options={"maxiter": max_iter, "ftol": 1e-15})
    out = np.clip(res.x[:n], 0, 1)
    return out if np.isfinite(out).all() else h


def evaluate(program_path):
    # The candidate runs in its own confined process; only plain data and arrays come back.
    values = load(program_path).construct()
    try:
        value = score(values)
    except Invalid as exc:
        return invalid(str(exc))
    out = report(value, best_known=BEST_KNOWN, direction=DIRECTION, steps=float(len(values)))
    if polish_enabled():
        try:
            polished = min(value, score(polish(values)))
        except Invalid:
            polished = value
        out["score_polished"] = polished
        out["polish_gain"] = value - polished
    return out
