"""Synthetic landscape 'trap': three basins of different heights, far apart. Tune the constants."""

# EVOLVE-BLOCK-START
a = 0.500
b = 0.500
c = 0.500
d = 0.500
e = 0.500
f = 0.500
g = 0.500
h = 0.500
# EVOLVE-BLOCK-END


def params():
    return [a, b, c, d, e, f, g, h]
