"""Every option of a benchmark script says what it does in --help."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


def undocumented(help_text: str) -> list[str]:
    """Options in argparse's --help output with no help text."""
    lines = help_text.split("options:", 1)[-1].splitlines()
    missing = []
    for i, line in enumerate(lines):
        m = re.match(r"^  (-[^ ].*?)(?:\s{2,}(\S.*))?$", line)
        if not m or m.group(1).startswith("-h,"):
            continue
        following = lines[i + 1] if i + 1 < len(lines) else ""
        if not m.group(2) and not re.match(r"^\s{6,}\S", following):
            missing.append(m.group(1))
    return missing


@pytest.mark.parametrize("script", ["sandbox.py", "evaluation.py", "executors.py", "search/simulate.py",
                                    "search/combine.py", "bookkeeping.py", "store_size.py", "loop.py", "startup.py"])
def test_every_option_has_help(script):
    done = subprocess.run([sys.executable, str(BENCH / script), "--help"], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert undocumented(done.stdout) == []


def test_the_check_sees_a_missing_help():
    text = "options:\n  -h, --help  show this\n  --n N       evaluations\n  --repeats REPEATS\n  --in-flight IN_FLIGHT\n"
    assert undocumented(text) == ["--repeats REPEATS", "--in-flight IN_FLIGHT"]


@pytest.mark.parametrize("args", [["--sizes", "0"], ["--sizes", "-5"], ["--sizes", "1000", "--samples", "0"],
                                  ["--sizes", "1000", "--batch", "0"], ["--sizes", "1000", "--samples", "50"]])
def test_bookkeeping_refuses_counts_it_cannot_measure_in_one_line(args):
    """No store, no timed candidates, or fewer candidates than one clocked batch: a one-line
    usage error before any work, not a traceback after the store is filled."""
    done = subprocess.run([sys.executable, str(BENCH / "bookkeeping.py"), *args], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("bookkeeping.py: error: "), done.stderr
