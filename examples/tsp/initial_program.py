"""A TSP construction heuristic: the order in which to visit cities in the unit square.

``tour(points)`` gets an array of shape (n, 2) and returns a permutation of
0..n-1 (the tour closes back to its start). The baseline is nearest neighbour from
city 0; the evolve region scores the candidate next cities.
"""

import numpy as np


def next_city_scores(dist_from_current, dist_to_start, step, n):
    # EVOLVE-BLOCK-START
    return dist_from_current + 0.0 * dist_to_start
    # EVOLVE-BLOCK-END


def tour(points):
    """Greedy construction: from city 0, repeatedly go to the lowest-scoring unvisited city."""
    points = np.asarray(points, dtype=float)
    n = len(points)
    dist = np.sqrt(((points[:, None, :] - points[None, :, :]) ** 2).sum(-1))
    order = [0]
    unvisited = np.ones(n, dtype=bool)
    unvisited[0] = False
    for step in range(1, n):
        candidates = np.flatnonzero(unvisited)
        scores = np.asarray(next_city_scores(dist[order[-1], candidates], dist[0, candidates], step, n))
        city = int(candidates[int(np.argmin(scores))])
        order.append(city)
        unvisited[city] = False
    return order
