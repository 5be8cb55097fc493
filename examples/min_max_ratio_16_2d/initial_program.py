"""Place 16 points in the plane, minimizing (max distance / min distance)^2.

The baseline is the 4 x 4 square grid: ratio^2 = 18.
"""

import numpy as np


def construct():
    # EVOLVE-BLOCK-START
    points = [
        (0.0, 0.0), (1.0, 0.0), (2.0, 0.0), (3.0, 0.0),
        (0.0, 1.0), (1.0, 1.0), (2.0, 1.0), (3.0, 1.0),
        (0.0, 2.0), (1.0, 2.0), (2.0, 2.0), (3.0, 2.0),
        (0.0, 3.0), (1.0, 3.0), (2.0, 3.0), (3.0, 3.0),
    ]
    return np.array(points, dtype=float)
    # EVOLVE-BLOCK-END
