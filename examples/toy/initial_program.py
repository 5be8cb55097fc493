"""Approximate sin(x) on [0, pi] with a cubic polynomial."""


def approximate(x):
    # EVOLVE-BLOCK-START
    a0 = 0.0
    a1 = 0.5
    a2 = 0.0
    a3 = 0.0
    return a0 + a1 * x + a2 * x * x + a3 * x * x * x
    # EVOLVE-BLOCK-END
