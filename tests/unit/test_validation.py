import pytest

from cambrian.evaluation import INVALID, OK, validate


def test_valid_result_splits_metrics_and_feedback():
    r = validate({"combined_score": 2, "size": 3.5, "note": "fine", "artifacts": {"a": 1}},
                 objective="combined_score")
    assert r.status == OK and r.score == 2.0
    assert r.metrics == {"combined_score": 2.0, "size": 3.5}
    assert r.feedback == {"note": "fine", "artifacts": {"a": 1}}


@pytest.mark.parametrize("value, fragment", [
    ({"__float__": "nan"}, "nan"),
    ({"__float__": "inf"}, "inf"),
    ({"__unsupported__": "complex (1+2j)"}, "complex"),
    ({"__unsupported__": "array of shape (3,)"}, "array"),
    (True, "bool"),
    ("1.0", "'1.0'"),
    ([1.0], "[1.0]"),
    (None, "None"),
])
def test_bad_objective_is_invalid_with_reason(value, fragment):
    r = validate({"combined_score": value}, objective="combined_score")
    assert r.status == INVALID
    assert fragment in r.reason


def test_missing_objective_and_non_dict():
    r = validate({"score": 1.0}, objective="combined_score")
    assert r.status == INVALID and "missing" in r.reason and "score" in r.reason
    assert validate(3.0, objective="combined_score").status == INVALID
