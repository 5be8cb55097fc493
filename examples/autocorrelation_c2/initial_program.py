"""A step function giving a lower bound on the second autocorrelation constant C2.

Return the heights (non-negative) of a step function with equal steps; the
bound is ||f*f||_2^2 / (||f*f||_1 ||f*f||_inf), larger is better. The
baseline is the constant function: C2 >= 2/3.
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
