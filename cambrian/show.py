"""One program of a run, in full: ``cambrian show RUN_DIR PROGRAM_ID``."""

from __future__ import annotations

import difflib
import json

from .errors import CambrianError
from .program import Program
from .runner import WORK_PROGRAM
from .store import Store


def find(store: Store, prefix: str) -> Program:
    """The program whose id starts with ``prefix`` (unique prefixes are enough)."""
    prefix = prefix.strip()
    if not prefix or any(c not in "0123456789abcdef" for c in prefix.lower()):
        raise CambrianError(f"not a program id: {prefix!r} (ids are hexadecimal, see cambrian status)")
    ids = [row[0] for row in store.rows("SELECT id FROM programs WHERE id LIKE ? ORDER BY seq LIMIT 6",
                                        prefix.lower() + "%")]
    if not ids:
        raise CambrianError(f"no program {prefix} in {store.path.parent}")
    if len(ids) > 1:
        raise CambrianError(f"{prefix} is ambiguous: {', '.join(ids[:5])}{', ...' if len(ids) > 5 else ''}")
    program = store.program(ids[0])
    assert program is not None
    return program


def describe(store: Store, program: Program) -> str:
    """Code, diff from the parent, metrics, full reason, feedback and traceback."""
    parent = store.program(program.parent_id) if program.parent_id else None
    score = "-" if program.score is None else f"{program.score:.10g}"
    lines = [
        f"program {program.id}",
        f"  status     {program.status}",
        f"  score      {score}",
        f"  candidate  {program.seq}   operator {program.operator}   generation {program.generation}"
        f"   island {program.island}   evaluated in {program.eval_seconds:.2f} s",
        f"  parent     {parent.id if parent else '-'}"
        + (f" (score {parent.score:.10g})" if parent is not None and parent.score is not None else ""),
    ]
    if program.reason:
        lines += ["", "reason:", _indent(program.reason)]
    if program.metrics:
        lines += ["", "metrics:", _indent(json.dumps(program.metrics, indent=2, sort_keys=True))]
    feedback = dict(program.feedback) if isinstance(program.feedback, dict) else {}
    for key in ("traceback", "stderr", "stdout"):
        text = feedback.pop(key, None)
        if text:
            text = WORK_PROGRAM.sub(f"program {program.id}", str(text))  # its work directory is gone
            lines += ["", f"{key}:", _indent(text.rstrip())]
    if feedback:
        lines += ["", "feedback:", _indent(json.dumps(feedback, indent=2, sort_keys=True, default=str))]
    if parent is not None:
        diff = difflib.unified_diff(parent.code.splitlines(), program.code.splitlines(),
                                    f"parent {parent.id}", f"program {program.id}", lineterm="")
        lines += ["", "diff from parent:", *diff]
    lines += ["", "code:", program.code.rstrip()]
    return "\n".join(lines) + "\n"


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())
