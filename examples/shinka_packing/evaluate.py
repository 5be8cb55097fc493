"""ShinkaEvolve-style evaluator: main(program_path, results_dir) through run_shinka_eval."""

import argparse
import os

import numpy as np

from shinka.core import run_shinka_eval

N = 6


def validate(run_output, atol=1e-9):
    """(is_valid, message): every circle inside the square, no two overlapping."""
    centers, radii, reported = run_output
    centers, radii = np.asarray(centers, dtype=float), np.asarray(radii, dtype=float)
    if centers.shape != (N, 2) or radii.shape != (N,):
        return False, f"expected {N} centers and radii, got shapes {centers.shape} and {radii.shape}"
    if not (np.all(np.isfinite(centers)) and np.all(np.isfinite(radii))) or np.any(radii < 0):
        return False, "non-finite or negative values"
    for i, ((x, y), r) in enumerate(zip(centers, radii)):
        if x - r < -atol or x + r > 1 + atol or y - r < -atol or y + r > 1 + atol:
            return False, f"circle {i} (x={x:.4f}, y={y:.4f}, r={r:.4f}) is outside the unit square"
    for i in range(N):
        for j in range(i + 1, N):
            if np.linalg.norm(centers[i] - centers[j]) < radii[i] + radii[j] - atol:
                return False, f"circles {i} and {j} overlap"
    return True, "valid packing"


def aggregate(results):
    centers, radii, reported = results[0]
    # Like ShinkaEvolve's own examples, the score is kept even when validation fails.
    return {"combined_score": float(np.sum(radii)),
            "public": {"num_circles": int(len(radii)), "smallest_radius": float(np.min(radii))},
            "private": {"reported_sum": float(reported)},
            "text_feedback": "sum of radii %.6f" % float(np.sum(radii))}


def main(program_path, results_dir):
    os.makedirs(results_dir, exist_ok=True)
    metrics, correct, error = run_shinka_eval(
        program_path=program_path, results_dir=results_dir, experiment_fn_name="run_packing", num_runs=1,
        get_experiment_kwargs=lambda i: {}, validate_fn=validate, aggregate_metrics_fn=aggregate)
    print("correct" if correct else f"incorrect: {error}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--program_path", default="initial.py")
    parser.add_argument("--results_dir", default="results")
    args = parser.parse_args()
    main(args.program_path, args.results_dir)
