"""The one documented way for an evaluator to say "invalid, because X": the reason under
``invalid``. It holds with or without the objective, and ``cambrian init``'s skeleton uses it."""


from cambrian import certify
from cambrian.evaluation.result import validate
from cambrian.scaffold import FILES
from cambrian.stats import failure_kind


def test_reason_under_invalid_makes_the_program_invalid_even_with_a_score():
    for raw in ({"invalid": "circle 3 is outside the square"},
                {"invalid": "circle 3 is outside the square", "combined_score": 0.934, "n": 26},
                certify.invalid("circle 3 is outside the square", n=26)):
        result = validate(raw, objective="combined_score")
        assert result.status == "invalid" and result.score is None
        assert result.reason == "the evaluator says: circle 3 is outside the square"
        assert "combined_score" not in result.metrics
        assert failure_kind(result.status, result.reason) == "invalid: the evaluator says"
    scored = validate({"invalid": "bad", "combined_score": 0.934}, objective="combined_score")
    assert scored.feedback["combined_score_not_counted"] == 0.934   # kept for people, never counted


def test_true_is_a_verdict_without_a_reason_and_a_number_is_a_metric():
    assert validate({"invalid": True, "combined_score": 1.0}, objective="combined_score").reason == \
        "the evaluator says: invalid (no reason given)"
    counted = validate({"invalid": 3, "combined_score": 1.0}, objective="combined_score")
    assert counted.status == "ok" and counted.metrics["invalid"] == 3.0
    for empty in ("", "  ", False, None):
        assert validate({"invalid": empty, "combined_score": 1.0}, objective="combined_score").ok


def test_init_skeleton_says_why_a_program_is_invalid(tmp_path, monkeypatch):
    (tmp_path / "evaluate.py").write_text(FILES["evaluate.py"])
    (tmp_path / "program.py").write_text("def solve():\n    return float('nan'), 1.0\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import importlib

    module = importlib.import_module("evaluate")
    try:
        raw = module.evaluate(str(tmp_path / "program.py"))  # run by hand, load() simply imports
    finally:
        import sys

        sys.modules.pop("evaluate", None)
    result = validate(raw, objective="combined_score")
    assert result.status == "invalid" and "solve() must return two finite numbers" in result.reason
    assert "nan" in raw["invalid"]


def test_the_reason_reaches_the_prompt():
    from cambrian.program import Program
    from cambrian.prompt import describe_program

    result = validate({"invalid": "circle 3 is outside the square"}, objective="combined_score")
    p = Program("b" * 16, "x = 1\n", None, "perturb", 1, 0, result.status, reason=result.reason,
                metrics=result.metrics, feedback=result.feedback)
    assert "invalid: the evaluator says: circle 3 is outside the square" in describe_program(
        p, title="t", objective="combined_score")
