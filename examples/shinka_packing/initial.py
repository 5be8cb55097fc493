# EVOLVE-BLOCK-START
"""Places 6 circles in the unit square, maximizing the sum of their radii."""
import numpy as np


def construct_packing():
    centers = np.array([[0.25, 0.25], [0.75, 0.25], [0.25, 0.75],
                        [0.75, 0.75], [0.5, 0.5], [0.5, 0.08]])
    radii = np.array([0.2, 0.2, 0.2, 0.2, 0.12, 0.05])
    return centers, radii
# EVOLVE-BLOCK-END


def run_packing():
    centers, radii = construct_packing()
    return centers, radii, float(np.sum(radii))
