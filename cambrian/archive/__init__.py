"""Where programs live between generations: MAP-Elites grids on islands, and the
pure selection rules that pick from them."""

from .islands import Islands
from .map_elites import AddStatus, Elite, Feature, Grid

__all__ = ["AddStatus", "Elite", "Feature", "Grid", "Islands"]
