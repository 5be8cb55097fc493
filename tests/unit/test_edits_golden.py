"""Golden files: real replies' quirks and the child each becomes (or why it fails).

Each ``tests/golden/edits/*.txt`` holds a format line, the program, the reply and the
expected child (``FAILURE: reason`` when the reply must not apply). Regenerate with
CAMBRIAN_REGOLD=1 after a deliberate change, and read the diff."""

import os
from pathlib import Path

import pytest

from cambrian.edits import EditFailure, apply_reply
from cambrian.program import outside_change

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "edits"
CASES = sorted(p.stem for p in GOLDEN.glob("*.txt"))


def _read(name):
    text = (GOLDEN / f"{name}.txt").read_bytes().decode("utf-8")
    head, rest = text.split("=== program ===\n", 1)
    program, rest = rest.split("=== reply ===\n", 1)
    reply, child = rest.split("=== child ===\n", 1)
    return head.split(":", 1)[1].strip(), program, reply, child, head


def test_there_are_golden_cases():
    assert len(CASES) >= 30


@pytest.mark.parametrize("name", CASES)
def test_reply_golden(name):
    fmt, program, reply, expected, head = _read(name)
    child = apply_reply(program, reply, fmt=fmt)
    got = f"FAILURE: {child.reason}\n" if isinstance(child, EditFailure) else child
    if os.environ.get("CAMBRIAN_REGOLD"):
        data = head + "=== program ===\n" + program + "=== reply ===\n" + reply + "=== child ===\n" + got
        (GOLDEN / f"{name}.txt").write_bytes(data.encode("utf-8"))
        expected = got
    assert got == expected
    if not isinstance(child, EditFailure):
        assert child != program
        assert outside_change(program, child) is None
        compile(child, name, "exec")
