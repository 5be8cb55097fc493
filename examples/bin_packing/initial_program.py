"""Online bin packing: the priority with which an item goes into each bin.

``priority(item, bins)`` gets the item's size and the remaining capacities of the
bins it fits (the last one a new, empty bin) and returns one score per bin; the
item goes to the highest. The baseline is best fit: the fullest bin that fits.
"""

import numpy as np


def priority(item, bins):
    # EVOLVE-BLOCK-START
    return -(bins - item) + 0.0 * bins
    # EVOLVE-BLOCK-END


def pack(items, capacity):
    """The online loop: every item in turn, placed for good. Returns each item's bin."""
    remaining = []
    assignment = []
    for item in items:
        rem = np.array(remaining, dtype=float)
        open_ids = np.flatnonzero(rem >= item)
        offered = np.concatenate([rem[open_ids], [float(capacity)]])
        scores = np.asarray(priority(int(item), offered), dtype=float)
        k = int(np.argmax(scores))
        if k == len(open_ids):
            remaining.append(float(capacity) - item)
            assignment.append(len(remaining) - 1)
        else:
            b = int(open_ids[k])
            remaining[b] -= item
            assignment.append(b)
    return assignment
