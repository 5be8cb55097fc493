from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def write_problem(root: Path, program: str, evaluator: str, config: str | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "initial_program.py").write_text(textwrap.dedent(program))
    (root / "evaluate.py").write_text(textwrap.dedent(evaluator))
    if config is not None:
        (root / "cambrian.yaml").write_text(textwrap.dedent(config))
    return root


LOADER = """
import importlib.util

def load(path):
    spec = importlib.util.spec_from_file_location("candidate", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
"""

QUADRATIC_PROGRAM = """
def solve():
    # EVOLVE-BLOCK-START
    x = 1.0
    y = -2.0
    return x, y
    # EVOLVE-BLOCK-END
"""

QUADRATIC_EVALUATOR = LOADER + """
def evaluate(path):
    x, y = load(path).solve()
    d = (x - 3.0) ** 2 + (y - 0.5) ** 2
    return {"combined_score": 1.0 / (1.0 + d), "distance": d}
"""


@pytest.fixture
def quadratic(tmp_path: Path) -> Path:
    return write_problem(tmp_path / "quadratic", QUADRATIC_PROGRAM, QUADRATIC_EVALUATOR)


@pytest.fixture
def drop_dir():
    """A directory evaluations may write to (name it in ``evaluation.writable``: everything
    else is read-only to them); world-writable, since each runs as its own uid under root."""
    import os
    import shutil
    import tempfile

    path = Path(tempfile.mkdtemp(prefix="cambrian-test-"))
    os.chmod(path, 0o777)
    yield path
    shutil.rmtree(path, ignore_errors=True)
