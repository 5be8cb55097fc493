"""What a prompt's "already tried" shows, read from a real store: the parent's children with
their changed lines, failed children with their reason and traceback tail, repeats merged."""

from cambrian.history import changed_lines, tried
from cambrian.program import Program, program_id
from cambrian.store import Attempt, Store

PARENT_CODE = "def f(x):\n    # EVOLVE-BLOCK-START\n    a = 0.5\n    return a * x\n    # EVOLVE-BLOCK-END\n"


def _program(code, seq, status="ok", score=None, reason="", feedback=None):
    return Program(program_id(code), code, program_id(PARENT_CODE), "llm:openai:m:diff", 1, 0, status,
                   reason=reason, score=score, feedback=feedback or {}, seq=seq)


def test_children_come_with_their_diffs_errors_and_repeats(tmp_path):
    store = Store.create(tmp_path / "cambrian.db", {"config": {}})
    parent = Program(program_id(PARENT_CODE), PARENT_CODE, None, "initial", 0, 0, "ok", score=0.75)
    store.record(Attempt(0, 0, None, (), "initial", parent.id, "new"), parent)
    good = _program(PARENT_CODE.replace("0.5", "0.6"), 1, score=0.8)
    store.record(Attempt(1, 0, parent.id, (), "perturb", good.id, "new"), good)
    tb = 'Traceback (most recent call last):\n  File "evaluate.py", line 3\n  File "p.py", line 4, in f\n' \
         '    return a / 0\nZeroDivisionError: division by zero\n'
    bad = _program(PARENT_CODE.replace("a * x", "a / 0"), 2, status="error",
                   reason="evaluate() raised ZeroDivisionError: division by zero", feedback={"traceback": tb})
    store.record(Attempt(2, 0, parent.id, (), "llm:openai:m:diff", bad.id, "new", bad.reason), bad)
    store.record(Attempt(3, 0, parent.id, (), "llm:openai:m:diff", None, "failed",
                         "SEARCH block 1 not found in the program"))
    store.record(Attempt(4, 0, parent.id, (), "llm:openai:m:rewrite", good.id, "duplicate",
                         "same code as a stored program"))
    store.record(Attempt(5, 0, good.id, (), "perturb", None, "failed", "not this parent's child"))

    got = tried(store, parent=parent, upto=5, limit=10)
    assert [(t.operator, t.outcome, t.times) for t in got] == [
        ("llm:openai:m:rewrite", "duplicate", 2),
        ("llm:openai:m:diff", "failed", 1),
        ("llm:openai:m:diff", "error", 1),
    ]
    assert got[0].detail == "same code as an earlier program (scored 0.8)"
    assert got[0].diff == "-    a = 0.5\n+    a = 0.6"
    assert got[1].diff == "" and got[1].program_id is None
    assert got[2].detail == "evaluate() raised ZeroDivisionError: division by zero"
    assert got[2].error.splitlines() == ['  File "evaluate.py", line 3', '  File "p.py", line 4, in f',
                                         "    return a / 0", "ZeroDivisionError: division by zero"]
    assert tried(store, parent=parent, upto=1, limit=10)[0].detail == "scored 0.8 (parent 0.75)"


def test_changed_lines_are_capped():
    before = "".join(f"x{i} = {i}\n" for i in range(30))
    after = "".join(f"x{i} = {i + 1}\n" for i in range(30))
    lines = changed_lines(before, after, limit=8).splitlines()
    assert len(lines) == 9 and lines[-1] == "... (52 more changed lines)"


def test_a_candidate_that_raised_shows_its_own_traceback_tail(tmp_path):
    """A candidate that raised through cambrian.candidate has its own traceback first, then
    the evaluator's: the tail shown is the candidate's (the line that raised), not the
    evaluator's frames that merely called it."""
    from cambrian.evaluation.worker import failure
    from cambrian.candidate import CandidateError

    own = 'Traceback (most recent call last):\n  File "program.py", line 4, in f\n    return a / 0\n' \
          'ZeroDivisionError: division by zero\n'
    try:
        try:
            raise CandidateError("ZeroDivisionError: division by zero", kind="ZeroDivisionError", tail=own)
        except CandidateError as exc:
            raise exc
    except CandidateError as exc:
        tb = failure(exc)["traceback"]
    assert tb.startswith(own) and len(tb.splitlines()) > 4   # the evaluator's part follows
    store = Store.create(tmp_path / "cambrian.db", {"config": {}})
    parent = Program(program_id(PARENT_CODE), PARENT_CODE, None, "initial", 0, 0, "ok", score=0.75)
    store.record(Attempt(0, 0, None, (), "initial", parent.id, "new"), parent)
    bad = _program(PARENT_CODE.replace("a * x", "a / 0"), 1, status="error",
                   reason="evaluate() raised ZeroDivisionError: division by zero (in the candidate)",
                   feedback={"traceback": tb})
    store.record(Attempt(1, 0, parent.id, (), "llm:openai:m:diff", bad.id, "new", bad.reason), bad)
    assert tried(store, parent=parent, upto=1, limit=10)[0].error.splitlines() == [
        '  File "program.py", line 4, in f', "    return a / 0", "ZeroDivisionError: division by zero"]
