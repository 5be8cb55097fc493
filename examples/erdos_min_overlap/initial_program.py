"""A step function giving an upper bound for Erdős' minimum overlap problem.

Return n step values of h on [0, 2], each in [0, 1], with integral 1; the bound is
max_k of the integral of h(x)(1 - h(x + k)), smaller is better. The evolve region
proposes raw values; the fixed code clips them to [0, 1] and scales them to
integral 1 (so every candidate is feasible). The baseline is h = 1/2: M <= 1/2.
"""

import numpy as np


def raw_values():
    # EVOLVE-BLOCK-START
    values = [
        0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5,
        0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5,
    ]
    return np.array(values, dtype=float)
    # EVOLVE-BLOCK-END


def fit_integral(h):
    """min(1, c h) with the c giving integral 1; h = 1/2 if too little of h is positive."""
    h = np.clip(np.nan_to_num(np.asarray(h, dtype=float)), 0.0, 1.0)
    n = len(h)
    if n < 2 or (h > 0).sum() * 2 / n < 1:
        return np.full(max(n, 2), 0.5)
    lo, hi = 0.0, 1e6
    for _ in range(200):
        c = (lo + hi) / 2
        lo, hi = (c, hi) if np.minimum(1.0, c * h).sum() * 2 / n < 1 else (lo, c)
    return np.minimum(1.0, hi * h)


def construct():
    return fit_integral(raw_values())
