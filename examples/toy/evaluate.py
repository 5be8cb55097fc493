"""Score = 1 / (1 + mean squared error) against sin on [0, pi]; 1.0 is perfect."""

import math

from cambrian.candidate import load


def evaluate(program_path):
    approximate = load(program_path).approximate  # runs in the candidate's own process
    xs = [math.pi * i / 100 for i in range(101)]
    errors = [(float(approximate(x)) - math.sin(x)) ** 2 for x in xs]
    mse = sum(errors) / len(errors)
    return {"combined_score": 1.0 / (1.0 + mse), "mse": mse}
