"""How long the certified check of each benchmark problem takes, apart from the program.

    python bench/problems.py

For every problem under examples/ (except the toy): the construction of its initial
program is built once, then its certified scoring function is timed on it (median
of repeated calls, in CPU time so that other load on the machine does not count). For symbolic regression and TSP the timed part is
the check of the program's output (predictions, tour) with its score, not the
program's own work; for bin packing it is the evaluator's online loop over one
instance with the initial priority called in-process (no process crossing). Prints a Markdown table headed by the machine and date.
"""

from __future__ import annotations

import importlib.util
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from _machine import header  # noqa: E402


def load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def checker(name: str, ev, prog):
    """A zero-argument function that runs the certified check once."""
    if name == "bin_packing":
        # The evaluator runs the online loop itself: timed with the priority in-process
        # (under Cambrian each priority call also crosses to the candidate's process).
        items = ev.instance(0)
        return lambda: ev.excess(items, prog.priority)
    if name == "symbolic_regression":
        X, y = ev.dataset("train")
        prediction = prog.predict(X)
        return lambda: ev.nmse(y, prediction)
    if name == "tsp":
        points = ev.instance(0)
        order = prog.tour(points)
        return lambda: ev.tour_length(points, order)
    construction = prog.construct()
    return lambda: ev.score(construction)


def main() -> None:
    rows = []
    for directory in sorted(p for p in (ROOT / "examples").iterdir() if (p / "evaluate.py").exists()):
        name = directory.name
        if name == "toy":
            continue
        ev = load(directory / "evaluate.py", f"ev_{name}")
        prog = load(directory / "initial_program.py", f"prog_{name}")
        run = checker(name, ev, prog)
        run()
        times = []
        for _ in range(9):
            start = time.process_time()
            for _ in range(50):
                run()
            times.append((time.process_time() - start) / 50)
        rows.append((name, statistics.median(times) * 1e6))
    print(header("Certified checks: time per construction"))
    print("| problem | check of one construction (µs of CPU time, median) |")
    print("|---|---:|")
    for name, us in rows:
        print(f"| {name} | {us:.0f} |")


if __name__ == "__main__":
    main()
