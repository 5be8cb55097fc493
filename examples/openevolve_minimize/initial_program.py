# EVOLVE-BLOCK-START
"""Local random search for the minimum of a bumpy two-dimensional function."""
import numpy as np


def search_algorithm(iterations=60, bounds=(-5, 5), seed=0):
    rng = np.random.default_rng(seed)
    best_x, best_y = rng.uniform(bounds[0], bounds[1], size=2)
    best_value = evaluate_function(best_x, best_y)
    step = 2.0
    for _ in range(iterations):
        x = float(np.clip(best_x + rng.normal(0, step), bounds[0], bounds[1]))
        y = float(np.clip(best_y + rng.normal(0, step), bounds[0], bounds[1]))
        value = evaluate_function(x, y)
        if value < best_value:
            best_x, best_y, best_value = x, y, value
        step = step * 0.99
    return best_x, best_y, best_value
# EVOLVE-BLOCK-END


def evaluate_function(x, y):
    """The function to minimize; it has many local minima."""
    return np.sin(x) * np.cos(y) + np.sin(x * y) + (x**2 + y**2) / 20


def run_search(seed=0):
    return search_algorithm(seed=seed)
