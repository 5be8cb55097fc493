"""Synthetic landscape 'mixed': an integer mode and seven continuous parameters whose best values depend on it. Tune the constants."""

# EVOLVE-BLOCK-START
mode = 2
b = 0.500
c = 0.500
d = 0.500
e = 0.500
f = 0.500
g = 0.500
h = 0.500
# EVOLVE-BLOCK-END


def params():
    return [mode, b, c, d, e, f, g, h]
