"""Place 14 points in space, minimizing (max distance / min distance)^2.

The baseline is a cube's 8 corners and 6 face centers: ratio^2 = 12 / 2 = 6.
"""

import numpy as np


def construct():
    # EVOLVE-BLOCK-START
    points = [
        (-1.0, -1.0, -1.0), (-1.0, -1.0, 1.0), (-1.0, 1.0, -1.0), (-1.0, 1.0, 1.0),
        (1.0, -1.0, -1.0), (1.0, -1.0, 1.0), (1.0, 1.0, -1.0), (1.0, 1.0, 1.0),
        (-1.0, 0.0, 0.0), (1.0, 0.0, 0.0), (0.0, -1.0, 0.0), (0.0, 1.0, 0.0),
        (0.0, 0.0, -1.0), (0.0, 0.0, 1.0),
    ]
    return np.array(points, dtype=float)
    # EVOLVE-BLOCK-END
