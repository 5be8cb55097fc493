import inspect

import pytest

from cambrian.errors import ProblemError
from cambrian.program import Frame, outside_change, program_id

CODE = """import math
# EVOLVE-BLOCK-START
a = 1.0
# EVOLVE-BLOCK-END
def f():
    # EVOLVE-BLOCK-START
    return a * 2
    # EVOLVE-BLOCK-END
"""


def test_frame_round_trips_and_finds_every_region():
    frame = Frame.parse(CODE)
    assert frame.code == CODE
    assert frame.regions == ("a = 1.0\n", "    return a * 2\n")
    starts = [CODE[a:b] for a, b in frame.region_spans()]
    assert starts == list(frame.regions)


def test_join_replaces_regions_only():
    frame = Frame.parse(CODE)
    child = frame.join(["a = 2.0", "    return a\n"])
    assert "a = 2.0\n# EVOLVE-BLOCK-END" in child
    assert outside_change(CODE, child) is None


@pytest.mark.parametrize("code, message", [
    ("x = 1\n", "no evolve region"),
    ("# EVOLVE-BLOCK-START\nx = 1\n", "never closed"),
    ("x = 1\n# EVOLVE-BLOCK-END\n", "without a matching"),
    ("# EVOLVE-BLOCK-START\n# EVOLVE-BLOCK-START\n# EVOLVE-BLOCK-END\n", "inside an open"),
])
def test_bad_markers_are_errors(code, message):
    with pytest.raises(ProblemError, match=message):
        Frame.parse(code)


def test_edit_outside_regions_is_detected():
    child = CODE.replace("import math", "import os")
    assert "outside the evolve regions" in outside_change(CODE, child)
    removed_marker = CODE.replace("    # EVOLVE-BLOCK-END\n", "", 1)
    assert outside_change(CODE, removed_marker) is not None


def test_program_id_is_a_content_hash():
    assert program_id(CODE) == program_id(str(CODE))
    assert program_id(CODE) != program_id(CODE + " ")
    assert len(program_id(CODE)) == 16


def test_a_program_cannot_be_changed_once_made():
    """Operators, plugins included, get the store's cached Program: an assignment must fail,
    not change the program for every later reader of the session."""
    import dataclasses

    from cambrian.program import Program

    program = Program("a" * 16, "x = 1\n", None, "initial", 0, 0, "ok", score=1.0)
    assert program.metrics == {} and program.feedback == {}
    with pytest.raises(dataclasses.FrozenInstanceError):
        program.code = "x = 2\n"
    # Its __init__ is written out (cheaper than a frozen dataclass's own): the same parameters
    # as the fields, in order, with the same defaults, and what it makes equals what replace() makes.
    params = list(inspect.signature(Program.__init__).parameters.values())[1:]
    assert [(p.name, p.default) for p in params] == [
        (f.name, inspect.Parameter.empty if f.default is dataclasses.MISSING else f.default)
        for f in dataclasses.fields(Program)]
    full = Program("b" * 16, "y\n", "a" * 16, "perturb", 2, 3, "error", "boom", None, {"m": 1.0}, {"f": "x"}, 7, 0.5, "fp")
    assert dataclasses.replace(program, **{f.name: getattr(full, f.name) for f in dataclasses.fields(Program)}) == full
    assert vars(full) == {"id": "b" * 16, "code": "y\n", "parent_id": "a" * 16, "operator": "perturb", "generation": 2,
                          "island": 3, "status": "error", "reason": "boom", "score": None, "metrics": {"m": 1.0},
                          "feedback": {"f": "x"}, "seq": 7, "eval_seconds": 0.5, "fingerprint": "fp"}
