"""Second autocorrelation inequality: a lower bound on C2 (maximize).

For every non-negative f,
    ||f * f||_2^2 <= C2 ||f * f||_1 ||f * f||_inf,
so any such f gives C2 >= ||f * f||_2^2 / (||f * f||_1 ||f * f||_inf). The program
returns the heights h_0..h_{n-1} >= 0 of a step function with n equal steps (the
bound does not depend on the interval). Its autoconvolution g = f * f is piecewise
linear with knots on the step grid, zero at both ends, with knot values
proportional to (h * h)_k, so all three norms are exact: on each piece from a to b,
the integral of g^2 is (a^2 + ab + b^2)/3 and of g is (a + b)/2, times the width
(which cancels), and the maximum is at a knot.

Certified: recomputed from the heights after scaling them to max 1 (scale-free:
no underflow or overflow can fake it); negative heights, non-finite, complex or
subnormal values and more than MAX_STEPS steps are rejected.
"""

import numpy as np

from cambrian.candidate import load
from cambrian.certify import Invalid, anchor, finite_score, invalid, polish_enabled, real_array, report

MAX_STEPS = 10_000
BEST_KNOWN = anchor("0.96264")
DIRECTION = "maximize"


def heights(values):
    """Clean heights scaled to max 1, or ``Invalid``."""
    h = real_array(values, name="heights", shape=(None,), min_len=1, max_len=MAX_STEPS)
    if (h < 0).any():
        k = int(np.argmin(h))
        raise Invalid(f"height {k} is negative ({h[k]:.3g}): f must be non-negative")
    top = h.max()
    if top == 0:
        raise Invalid("all heights are zero: f * f must not vanish")
    return h / top


def bound(h):
    """||g||_2^2 / (||g||_1 ||g||_inf) for g = h * h, exact for piecewise linear g."""
    g = np.convolve(h, h)
    y = np.concatenate([[0.0], g, [0.0]])
    l2 = ((y[:-1] ** 2 + y[:-1] * y[1:] + y[1:] ** 2) / 3).sum()
    l1 = ((y[:-1] + y[1:]) / 2).sum()
    return l2 / (l1 * g.max())


def score(values):
    return finite_score(bound(heights(values)))


def polish(values, max_iter=200, max_steps=1000):
    """A local optimum near the heights (SLSQP on h >= 0 and t >= every (h * h)_k,
    maximizing log ||g||_2^2 - log ||g||_1 - log t), from the heights and from a
    slightly jittered copy; the better of the two. Deterministic. Opt-in; more than
    ``max_steps`` steps are returned unchanged."""
    h = heights(values)
    if len(h) > max_steps or len(h) < 2:
        return h
    jittered = np.maximum(h * (1 + 0.01 * np.random.default_rng(0).standard_normal(len(h))), 0)
    return max((_slsqp(h, max_iter), _slsqp(jittered, max_iter)), key=bound)


def _slsqp(h, max_iter):
    from scipy.optimize import minimize

    n = len(h)

    def toeplitz(x):
        J = np.zeros((2 * n - 1, n))
        for i in range(n):
            J[i:i + n, i] = 2 * x
        return J

    def objective(z):
        x, t = z[:n], z[n]
        g = np.convolve(x, x)
        y = np.concatenate([[0.0], g, [0.0]])
        l2 = (2 * (g ** 2).sum() + (y[:-1] * y[1:]).sum()) / 3
        l1 = g.sum()
        dl2 = (4 * g + y[:-2] + y[2:]) / 3
        G = toeplitz(x)
        grad = np.zeros(n + 1)
        grad[:n] = -(dl2 @ G) / l2 + (np.ones_like(g) @ G) / l1
        grad[n] = 1.0 / t
        return -np.log(l2) + np.log(l1) + np.log(t), grad

    def cons(z):
        return z[n] - np.convolve(z[:n], z[:n])

    def jac(z):
        J = np.zeros((2 * n - 1, n + 1))
        J[:, :n] = -toeplitz(z[:n])
        J[:, n] = 1.0
        return J

    z0 = np.concatenate([h, [np.convolve(h, h).max()]])
    res = minimize(objective, z0, jac=True, method="SLSQP", bounds=[(0, 1)] * n + [(1e-12, None)],
                   constraints=[{"type": "ineq", "fun": cons, "jac": jac}],
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
            polished = max(value, score(polish(values)))
        except Invalid:
            polished = value
        out["score_polished"] = polished
        out["polish_gain"] = polished - value
    return out
