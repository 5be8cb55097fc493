"""Score = 1 / (1 + mean squared error) against sin on [0, pi]; 1.0 is perfect."""

import importlib.util
import math


def evaluate(program_path):
    spec = importlib.util.spec_from_file_location("candidate", program_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    xs = [math.pi * i / 100 for i in range(101)]
    errors = []
    for x in xs:
        y = float(module.approximate(x))
        errors.append((y - math.sin(x)) ** 2)
    mse = sum(errors) / len(errors)
    return {"combined_score": 1.0 / (1.0 + mse), "mse": mse}
