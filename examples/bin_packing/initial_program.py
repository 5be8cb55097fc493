"""Online bin packing: the priority with which an item goes into each bin.

``priority(item, bins)`` gets the item's size and the remaining capacities of the
bins it fits (the last one a new, empty bin) and returns one score per bin; the
item goes to the highest. The evaluator runs the online loop and calls this once
per item. The baseline is best fit: the fullest bin that fits.
"""

import numpy as np


def priority(item, bins):
    # EVOLVE-BLOCK-START
    return -(bins - item) + 0.0 * bins
    # EVOLVE-BLOCK-END
