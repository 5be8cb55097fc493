"""Golden files: the exact prompts a model sees. Regenerate with CAMBRIAN_REGOLD=1 after a
deliberate template change, and read the diff."""

import os
from pathlib import Path

import pytest

from cambrian.operators.base import Tried
from cambrian.program import Program
from cambrian.prompt import build_insight_messages, build_messages, load_templates, source_label

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
CODE = "import math\n\ndef f(x):\n    # EVOLVE-BLOCK-START\n    return 0.5 * x\n    # EVOLVE-BLOCK-END\n"
PARENT = Program("p" * 16, CODE, None, "initial", 0, 0, "ok", score=0.75,
                 metrics={"combined_score": 0.75, "mse": 0.33}, feedback={"note": "too flat", "stderr": "warn"})
BROKEN = Program("b" * 16, CODE.replace("0.5", "1 / 0"), "p" * 16, "structural", 1, 0, "error",
                 reason="evaluate() raised ZeroDivisionError: division by zero",
                 feedback={"traceback": "Traceback (most recent call last):\n  ...\nZeroDivisionError: division by zero"})
OTHER = Program("o" * 16, CODE.replace("0.5", "0.9"), "p" * 16, "llm:openai:m:diff", 3, 2, "ok", score=0.81,
                metrics={"combined_score": 0.81})
TRIED = (
    Tried("perturb", "ok", "scored 0.7 (parent 0.75)", program_id="c" * 16,
          diff="-    return 0.5 * x\n+    return 0.45 * x"),
    Tried("structural", "error", "evaluate() raised ZeroDivisionError: division by zero", program_id="b" * 16,
          diff="-    return 0.5 * x\n+    return 0.5 / 0 * x", times=2,
          error='  File "program.py", line 5, in f\n    return 0.5 / 0 * x\nZeroDivisionError: division by zero'),
    Tried("llm:openai:m:diff", "failed", "SEARCH block 1 not found in the program"),
)
SOURCES = ["the best of the current program's island", "the best of island 2, a separate lineage"]


def _render(messages):
    return "".join(f"=== {m['role']} ===\n{m['content']}\n" for m in messages)


def _check(name, text):
    path = GOLDEN / f"{name}.txt"
    if os.environ.get("CAMBRIAN_REGOLD"):
        path.write_text(text)
    assert path.exists(), f"missing golden file {path}"
    assert text == path.read_text()


@pytest.mark.parametrize("kind", ["diff", "rewrite", "crossover"])
def test_prompt_golden(kind):
    messages = build_messages(kind, templates=load_templates(), task="Approximate sin(x) on [0, pi].",
                              objective="combined_score", direction="maximize", parent=PARENT,
                              inspirations=[BROKEN, OTHER], tried=TRIED, notes="- larger slopes helped",
                              sources=SOURCES)
    _check(f"prompt_{kind}", _render(messages))


def test_insight_prompt_golden():
    messages = build_insight_messages(templates=load_templates(), task="Approximate sin(x) on [0, pi].",
                                      objective="combined_score", direction="maximize", best=PARENT,
                                      recent=TRIED, notes="")
    _check("prompt_insights", _render(messages))


def test_feedback_is_capped():
    huge = Program("h" * 16, CODE, None, "x", 0, 0, "error", reason="boom",
                   feedback={"traceback": "x" * 100_000, "note": "y" * 100_000})
    text = _render(build_messages("diff", templates=load_templates(), task="t", objective="s",
                                  direction="maximize", parent=huge, inspirations=[]))
    assert len(text) < 6000


def test_user_templates_replace_builtin_ones(tmp_path):
    (tmp_path / "diff.txt").write_text("MY TEMPLATE\n$parent\n")
    messages = build_messages("diff", templates=load_templates(tmp_path), task="t", objective="s",
                              direction="maximize", parent=PARENT, inspirations=[])
    assert messages[1]["content"].startswith("MY TEMPLATE")


def test_private_metrics_never_reach_the_prompt():
    from cambrian.prompt import describe_program

    held = Program("h" * 16, CODE, None, "initial", 0, 0, "ok", score=0.75,
                   metrics={"combined_score": 0.75, "mse": 0.33, "private_heldout_nmse": 0.123456})
    text = describe_program(held, title="Parent", objective="combined_score")
    assert "mse = 0.33" in text
    assert "private" not in text and "0.123456" not in text


def test_source_labels():
    assert source_label(0, home=0, best=True) == "the best of the current program's island"
    assert source_label(0, home=0, best=False) == "from the current program's island"
    assert source_label(3, home=0, best=True) == "the best of island 3, a separate lineage"
    assert source_label(3, home=1, best=False) == "from island 3, a separate lineage"


def test_history_is_capped():
    many = [Tried("perturb", "error", "x" * 5000, diff="+" + "y" * 5000, error="z" * 5000)] * 8
    text = _render(build_messages("diff", templates=load_templates(), task="t", objective="s",
                                  direction="maximize", parent=PARENT, inspirations=[], tried=many))
    assert len(text) < 16000


def test_inspiration_sources_from_the_context_or_the_program_record():
    from cambrian.operators.base import Context
    from cambrian.operators.llm import context_sources

    base = Context(task="t", objective="s", direction="maximize", island=1)
    mine = Program("m" * 16, CODE, None, "x", 0, 1, "ok", score=1.0)
    far = Program("f" * 16, CODE, None, "x", 0, 2, "ok", score=2.0)
    # Before a strategy says where it took them: the island each was born on.
    assert context_sources(base, PARENT, [mine, far]) == [
        "from the current program's island", "from island 2, a separate lineage"]
    told = Context(task="t", objective="s", direction="maximize", island=1, inspiration_islands=(1, 3),
                   island_bests=((1, "m" * 16), (3, "f" * 16)))
    assert context_sources(told, PARENT, [mine, far]) == [
        "the best of the current program's island", "the best of island 3, a separate lineage"]
