"""First autocorrelation inequality: an upper bound on C1 (minimize).

For every non-negative f supported on [-1/4, 1/4],
    max_t (f * f)(t) >= C1 (integral of f)^2,
so any such f gives C1 <= max(f * f) / (integral f)^2. The program returns the heights
h_0..h_{n-1} >= 0 of a step function with n equal steps on [-1/4, 1/4]. Its
autoconvolution is piecewise linear with knots on the step grid, so the maximum is
attained at a knot and the bound is exact: C1 <= 2n max_k (h * h)_k / (sum h)^2.

Certified: recomputed from the heights after scaling them to max 1 (the bound is
scale-free, so no underflow or overflow can fake it); negative heights, non-finite,
complex or subnormal values, and more than MAX_STEPS steps are rejected.
"""

import numpy as np

from cambrian.candidate import load
from cambrian.certify import Invalid, anchor, finite_score, invalid, polish_enabled, real_array, report

MAX_STEPS = 10_000
BEST_KNOWN = anchor("1.5028609")
DIRECTION = "minimize"


def heights(values):
    """Clean heights scaled to max 1, or ``Invalid``."""
    h = real_array(values, name="heights", shape=(None,), min_len=1, max_len=MAX_STEPS)
    if (h < 0).any():
        k = int(np.argmin(h))
        raise Invalid(f"height {k} is negative ({h[k]:.3g}): f must be non-negative")
    top = h.max()
    if top == 0:
        raise Invalid("all heights are zero: the integral of f must be positive")
    return h / top


def bound(h):
    """2n max(h * h) / (sum h)^2 for clean heights."""
    return 2 * len(h) * np.convolve(h, h).max() / h.sum() ** 2


def score(values):
    return finite_score(bound(heights(values)))


def polish(values, max_iter=100, max_steps=1000):
    """A local optimum near the heights (SLSQP: minimize t with every (h * h)_k <= t,
    sum h fixed, h >= 0), from the heights and from a slightly jittered copy (a flat
    start is a stationary point); the better of the two. Deterministic. Opt-in;
    more than ``max_steps`` steps are returned unchanged."""
    h = heights(values)
    if len(h) > max_steps or len(h) < 2:
        return h
    jittered = h * (1 + 0.01 * np.random.default_rng(0).standard_normal(len(h)))
    return min((_slsqp(h, max_iter), _slsqp(np.maximum(jittered, 0), max_iter)), key=bound)


def _slsqp(h, max_iter):
    from scipy.optimize import minimize

    n = len(h)
    h = h / h.sum()

    def toeplitz(x):                       # d(x * x)_k / dx_i = 2 x_{k-i}
        J = np.zeros((2 * n - 1, n))
        for i in range(n):
            J[i:i + n, i] = 2 * x
        return J

    def cons(z):
        return z[n] - np.convolve(z[:n], z[:n])

    def jac(z):
        J = np.zeros((2 * n - 1, n + 1))
        J[:, :n] = -toeplitz(z[:n])
        J[:, n] = 1.0
        return J

    z0 = np.concatenate([h, [np.convolve(h, h).max()]])
    grad = np.zeros(n + 1)
    grad[n] = 1.0
    eq = np.concatenate([np.ones(n), [0.0]])
    res = minimize(lambda z: z[n], z0, jac=lambda z: grad, method="SLSQP",
                   bounds=[(0, None)] * n + [(0, None)],
                   constraints=[{"type": "ineq", "fun": cons, "jac": jac},
                                {"type": "eq", "fun": lambda z: z[:n].sum() - 1.0, "jac": lambda z: eq}],
                   options={"maxiter": max_iter, "ftol": 1e-15})
    out = np.maximum(res.x[:n], 0.0)
    return out if np.isfinite(out).all() and out.max() > 0 else h


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
