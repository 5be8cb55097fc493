"""Circle packing, 26 circles in the unit square: score = sum of radii.

The score is rebuilt here from the circles the program returns; a number the
program reports is never trusted. A packing is valid when every circle lies in the
square and no two overlap, both up to TOL.
"""

import numpy as np

from cambrian.candidate import load

N = 26
TOL = 1e-9


def check(centers, radii):
    """Reason the packing is invalid, or None."""
    c = np.asarray(centers, dtype=float)
    r = np.asarray(radii, dtype=float)
    if c.shape != (N, 2) or r.shape != (N,):
        return f"expected centers of shape ({N}, 2) and radii of shape ({N},), got {c.shape} and {r.shape}"
    if not (np.isfinite(c).all() and np.isfinite(r).all()):
        return "non-finite coordinates or radii"
    if (r < 0).any():
        return "negative radius"
    if ((c - r[:, None]) < -TOL).any() or ((c + r[:, None]) > 1 + TOL).any():
        return "a circle leaves the unit square"
    d = np.sqrt(((c[:, None, :] - c[None, :, :]) ** 2).sum(-1))
    gap = d - (r[:, None] + r[None, :])
    np.fill_diagonal(gap, np.inf)
    if (gap < -TOL).any():
        i, j = np.unravel_index(np.argmin(gap), gap.shape)
        return f"circles {i} and {j} overlap by {-gap[i, j]:.3g}"
    return None


def evaluate(program_path):
    # The candidate runs in its own confined process; only arrays come back.
    centers, radii = load(program_path).construct()
    problem = check(centers, radii)
    if problem:
        return {"combined_score": 0.0, "valid": 0.0, "error": problem}
    return {"combined_score": float(np.sum(radii)), "valid": 1.0}
