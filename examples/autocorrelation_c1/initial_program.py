"""A step function giving an upper bound on the first autocorrelation constant C1.

Return the heights (non-negative) of a step function with equal steps on
[-1/4, 1/4]; the bound is 2n max(h * h) / (sum h)^2, smaller is better. The
baseline is the constant function: C1 <= 2.
"""

import numpy as np


def construct():
    # EVOLVE-BLOCK-START
    heights = [
        1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0,
        1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0,
    ]
    return np.maximum(np.array(heights, dtype=float), 0.0)
    # EVOLVE-BLOCK-END
