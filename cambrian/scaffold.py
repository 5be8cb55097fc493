"""``cambrian init NAME``: a problem skeleton that runs as written."""

from __future__ import annotations

from pathlib import Path

from .errors import ProblemError

FILES = {
    "initial_program.py": '''"""The program Cambrian evolves. Only code between the EVOLVE-BLOCK markers changes."""


def solve():
    # EVOLVE-BLOCK-START
    x = 1.0
    y = -2.0
    return x, y
    # EVOLVE-BLOCK-END
''',
    "evaluate.py": '''"""Scores a candidate: return a dict of metrics."""

import math

from cambrian.candidate import load


def evaluate(program_path):
    # load() runs the candidate in a separate, confined process: it cannot touch
    # this evaluator's code or data. Only plain values and numpy arrays come back.
    x, y = load(program_path).solve()
    if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in (x, y)):
        # An invalid program: no objective, the reason under "invalid". It is stored
        # as invalid with this reason, and the reason is shown to the LLM operators.
        return {"invalid": f"solve() must return two finite numbers, got ({x!r}, {y!r})"}
    distance = (x - 3.0) ** 2 + (y - 0.5) ** 2
    # combined_score is the objective (maximized); other numbers are metrics,
    # strings are feedback.
    return {"combined_score": 1.0 / (1.0 + distance), "distance": distance}
''',
    "cambrian.yaml": '''# Every key is optional; unknown keys are errors. See the README for all of them.
budget: 100
seed: 0
evaluation:
  timeout: 10
''',
    "task.md": "Make solve() return the point (x, y) that maximizes the score.\n",
}


def init(target: str | Path) -> Path:
    path = Path(target)
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise ProblemError(f"{path} exists and is not an empty directory")
    path.mkdir(parents=True, exist_ok=True)
    for name, text in FILES.items():
        (path / name).write_text(text)
    return path
