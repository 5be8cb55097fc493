"""The synthetic landscapes of the search benchmark: score(name, x) in [0, 1], 1.0 optimal.

Eight kinds, each with 8 parameters in [0, 1] (values outside are clipped), designed so
that no single fixed search wins them all:

- smooth: one round basin. Exploiting the best program pays every call.
- rugged: the same basin under a cosine ripple: local optima one small step apart.
- rotated: an ill-conditioned ellipsoid in rotated coordinates: the parameters are
  coupled, so changing one at a time makes slow progress.
- trap: three basins of different heights (1.0, 0.75, 0.5) in three corners of the
  cube, far apart (four parameters differ by 0.6): from the start the tallest pulls a
  little less than the others. A climber stays in the first basin it enters (with the
  benchmark's weak model, the tallest in 6 of 40 seeds); separate lineages enter
  different ones and the best of them wins.
- plateau: the smooth basin cut into ten flat terraces: most changes score the same,
  and only a search that keeps equal-scoring programs can walk across a terrace.
- needle: a broad hill (0.6 at its top) away from the start and a narrow spike (1.0)
  one lucky edit from the start: sampling around the start finds it, climbing leaves.
- mixed: an integer mode (0 to 9) and 7 continuous parameters whose best values depend
  on the mode; the best mode is far from the start and neighbouring modes disagree.
- noisy: the smooth basin, evaluated with noise (sd 0.03, fixed per program text): the
  best observed score flatters a lucky program. Reported: the noise-free value.
"""

from __future__ import annotations

import hashlib
import math

D = 8
_T = [0.23, 0.71, 0.64, 0.18, 0.82, 0.37, 0.55, 0.29]


def _clip(x):
    return [min(1.0, max(0.0, float(v))) for v in x]


def _sq(x, t):
    return sum((a - b) ** 2 for a, b in zip(x, t))


def smooth(x):
    return 1.0 / (1.0 + 4.0 * _sq(x, _T))


def rugged(x):
    d = [a - b for a, b in zip(x, _T)]
    g = sum(v * v for v in d) + 0.08 * sum(1 - math.cos(2 * math.pi * 5 * v) for v in d)
    return 1.0 / (1.0 + 4.0 * g)


def _rotation():
    # A fixed orthonormal basis (Gram-Schmidt of a fixed matrix): no randomness at import.
    rows = [[math.sin(1.7 * (i + 1) * (j + 2) + 0.3 * i) for j in range(D)] for i in range(D)]
    basis = []
    for r in rows:
        v = r[:]
        for b in basis:
            dot = sum(p * q for p, q in zip(v, b))
            v = [p - dot * q for p, q in zip(v, b)]
        n = math.sqrt(sum(p * p for p in v))
        basis.append([p / n for p in v])
    return basis


_R = _rotation()
_LAMBDA = [10 ** (2.0 * i / (D - 1)) for i in range(D)]  # condition number 100
_LAMBDA_MEAN = sum(_LAMBDA) / D


def rotated(x):
    d = [a - b for a, b in zip(x, _T)]
    y = [sum(r * v for r, v in zip(row, d)) for row in _R]
    g = sum(lam * v * v for lam, v in zip(_LAMBDA, y)) / _LAMBDA_MEAN
    return 1.0 / (1.0 + 4.0 * g)


# Basin corners: any two differ in four parameters (distance 1.2). Heights, and what each
# basin scores at the start (its width follows): the tallest pulls a little less.
_CORNERS = [[1, 1, 1, 1, -1, -1, -1, -1], [1, -1, 1, -1, 1, -1, 1, -1], [-1, -1, 1, 1, 1, 1, -1, -1]]
HEIGHTS, PULLS, SPREADS = (1.0, 0.75, 0.5), (0.2, 0.25, 0.25), (0.3, 0.3, 0.3)


def basins(heights, pulls, spreads):
    """(height, centre, width) of each basin: its centre 0.5 +- spread in its corner; its
    width such that it scores ``pull`` at the start (the centre of the cube)."""
    return [(h, [0.5 + spread * s for s in signs], D * spread ** 2 / math.log(h / pull))
            for signs, h, pull, spread in zip(_CORNERS, heights, pulls, spreads)]


def basins_value(x, shape):
    """The score of ``x`` (values in [0, 1]) under basins ``shape``: the highest basin there."""
    return max(h * math.exp(-_sq(x, c) / w) for h, c, w in shape)


_BASINS = basins(HEIGHTS, PULLS, SPREADS)


def trap(x):
    return basins_value(x, _BASINS)


def plateau(x):
    return math.floor(10.0 * smooth(x)) / 10.0


_N = [0.5, 0.5, 0.5, 0.8, 0.5, 0.5, 0.5, 0.5]
_HILL = [0.05, 0.95, 0.1, 0.2, 0.9, 0.05, 0.95, 0.1]


def needle(x):
    hill = 0.6 / (1.0 + 4.0 * _sq(x, _HILL))
    spike = 1.0 if max(abs(a - b) for a, b in zip(x, _N)) < 0.035 else 0.0
    return max(hill, spike)


def mixed(x, mode):
    mode = int(mode)
    if not 0 <= mode <= 9:
        return 0.0
    shift = 0.09 * (mode - 7) * (-1) ** mode  # neighbouring modes want the parameters apart
    t = [min(1.0, max(0.0, v + shift)) for v in _T[1:]]
    weight = 0.55 + 0.45 * math.exp(-((mode - 7) ** 2) / 2.0)
    return weight / (1.0 + 4.0 * _sq(x, t))


def score(name, values, text=""):
    """(observed score, true score) of parameters ``values`` under landscape ``name``."""
    if name == "mixed":
        mode, x = values[0], _clip(values[1:])
        value = mixed(x, mode)
    else:
        x = _clip(values)
        if len(x) != D:
            raise ValueError(f"expected {D} parameters, got {len(x)}")
        value = {"smooth": smooth, "rugged": rugged, "rotated": rotated, "trap": trap, "plateau": plateau,
                 "needle": needle, "noisy": smooth}[name](x)
    if name != "noisy":
        return value, value
    digest = hashlib.sha256(text.encode()).digest()
    u1 = (int.from_bytes(digest[:8], "little") + 1) / 2.0 ** 64
    u2 = int.from_bytes(digest[8:16], "little") / 2.0 ** 64
    noise = 0.03 * math.sqrt(-2 * math.log(u1)) * math.cos(2 * math.pi * u2)
    return value + noise, value
