"""Golden files: the exact prompts a model sees. Regenerate with CAMBRIAN_REGOLD=1 after a
deliberate template change, and read the diff."""

import os
from pathlib import Path

import pytest

from cambrian.operators.base import Tried
from cambrian.program import Program
from cambrian.prompt import build_insight_messages, build_messages, load_templates

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
CODE = "import math\n\ndef f(x):\n    # EVOLVE-BLOCK-START\n    return 0.5 * x\n    # EVOLVE-BLOCK-END\n"
PARENT = Program("p" * 16, CODE, None, "initial", 0, 0, "ok", score=0.75,
                 metrics={"combined_score": 0.75, "mse": 0.33}, feedback={"note": "too flat", "stderr": "warn"})
BROKEN = Program("b" * 16, CODE.replace("0.5", "1 / 0"), "p" * 16, "structural", 1, 0, "error",
                 reason="evaluate() raised ZeroDivisionError: division by zero",
                 feedback={"traceback": "Traceback (most recent call last):\n  ...\nZeroDivisionError: division by zero"})
TRIED = (Tried("perturb", "ok", "scored 0.7 (parent 0.75)"), Tried("llm:openai:m:diff", "failed",
                                                                    "SEARCH block 1 not found in the program"))


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
                              inspirations=[BROKEN], tried=TRIED, notes="- larger slopes helped")
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
