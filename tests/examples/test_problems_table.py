"""The README's table of the benchmark problems is what bench/problems_table.py prints from the
published results (bench/results/problems*), cell for cell."""

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def table(monkeypatch, capsys, tmp_path):
    import shutil

    spec = importlib.util.spec_from_file_location("problems_table", ROOT / "bench" / "problems_table.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    dirs = []
    for name in ("problems", "problems_tune"):   # the script re-renders results.md in place: work on copies
        shutil.copytree(ROOT / "bench" / "results" / name, tmp_path / name)
        dirs.append(str(tmp_path / name))
    monkeypatch.setattr(sys, "argv", ["problems_table.py", *dirs])
    module.main()
    return [line for line in capsys.readouterr().out.splitlines() if line.startswith("| ")]


def test_the_readme_problems_table_is_what_the_script_prints(table):
    readme = (ROOT / "README.md").read_text().splitlines()
    assert len(table) == 12   # the head and the eleven problems
    for row in table:
        if row.startswith("| symbolic_regression |"):
            # Its "initial" is the median of fresh evaluations (new held-out points each): every other cell.
            cells = row.split(" | ")
            found = [line for line in readme if line.startswith("| symbolic_regression | ")
                     and line.split(" | ")[2:] == cells[2:]]
            assert len(found) == 1, row
        else:
            assert row in readme, row
