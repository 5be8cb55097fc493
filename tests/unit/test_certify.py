"""The strict checks every certified evaluator uses."""

import numpy as np
import pytest

from cambrian import certify
from cambrian.certify import Invalid


@pytest.mark.parametrize("value, fragment", [
    ([1.0, float("nan")], "non-finite"),
    ([1.0, float("inf")], "non-finite"),
    (np.array([1.0, -np.inf]), "non-finite"),
    ([1.0, 2j], "complex"),
    (np.array([1.0 + 0j]), "complex"),
    ([True, 1.0], "bool"),
    (np.array([True]), "booleans"),
    ([1.0, 1e-310], "underflows"),
    ([1.0, "2"], "not a real number"),
    ([1.0, None], "not a real number"),
    ("1.0", "expected a list"),
    (3.0, "expected a list"),
    ({"a": 1}, "expected a list"),
    ([10 ** 400], "does not fit"),
    (np.array(["a"]), "not real numbers"),
])
def test_real_array_rejects(value, fragment):
    with pytest.raises(Invalid, match=fragment):
        certify.real_array(value, name="x")


def test_real_array_shapes_and_copies():
    a = np.arange(6.0).reshape(3, 2)
    out = certify.real_array(a, name="x", shape=(3, 2))
    out[0, 0] = 99
    assert a[0, 0] == 0                                  # a fresh copy
    assert certify.real_array([[1, 2], [3, 4]], name="x", shape=(None, 2)).dtype == np.float64
    with pytest.raises(Invalid, match=r"expected shape \(3, 3\), got \(3, 2\)"):
        certify.real_array(a, name="x", shape=(3, 3))
    with pytest.raises(Invalid, match="at most 2"):
        certify.real_array([1, 2, 3], name="x", max_len=2)
    assert certify.real_array([0.0, -0.0, 1e-300], name="x").tolist() == [0.0, -0.0, 1e-300]


def test_integer_array_and_real_number():
    assert certify.integer_array([1, 2, np.int32(3)], name="t").tolist() == [1, 2, 3]
    for bad in ([1.0, 2.0], [True], [1, 2.5], [np.nan]):
        with pytest.raises(Invalid):
            certify.integer_array(bad, name="t")
    assert certify.real_number(np.float32(2.5), name="s") == 2.5
    for bad in (True, 1j, float("nan"), "1", [1.0], 1e-310, 10 ** 400):
        with pytest.raises(Invalid):
            certify.real_number(bad, name="s")


@pytest.mark.parametrize("direction, best, score, expected", [
    ("maximize", 2.0, 2.0 * (1 + 2e-8), True),
    ("maximize", 2.0, 2.0 * (1 + 5e-9), False),
    ("maximize", 2.0, 2.0, False),
    ("minimize", 0.38, 0.38 * (1 - 2e-8), True),
    ("minimize", 0.38, 0.38 * (1 - 5e-9), False),
])
def test_record_gate(direction, best, score, expected):
    assert certify.is_record(score, best, direction=direction) is expected
    out = certify.report(score, best_known=best, direction=direction)
    assert out["record"] == (1.0 if expected else 0.0)
    assert ("record:" in out["note"]) is expected


@pytest.mark.parametrize("direction, text, score, expected", [
    # a value that rounds to the published number only matches it (the review's case)
    ("maximize", "0.96264", 0.9626404, False),
    ("maximize", "0.96264", 0.962645, False),          # exactly at the gate: not past it
    ("maximize", "0.96264", 0.9626451, True),
    ("minimize", "0.380876", 0.3808755, False),
    ("minimize", "0.380876", 0.3808754, True),
    ("minimize", "1.5028609", 1.50286085, False),
    ("minimize", "1.5028609", 1.5028608, True),
    ("maximize", "2.6359830", 2.63598304, False),       # trailing zero: published to 1e-7
    ("maximize", "2.6359830", 2.63598306, True),
    # many published digits: 1e-8 relative is the larger margin
    ("maximize", "0.0365298899", 0.0365298899 * (1 + 5e-9), False),
    ("maximize", "0.0365298899", 0.0365298899 * (1 + 2e-8), True),
])
def test_record_gate_covers_the_anchors_published_precision(direction, text, score, expected):
    best = certify.anchor(text)
    assert certify.is_record(score, best, direction=direction) is expected
    out = certify.report(score, best_known=best, direction=direction)
    assert out["record"] == (1.0 if expected else 0.0) and text in out["note"]


def test_anchor_keeps_its_published_precision():
    a = certify.anchor("0.96264")
    assert a == 0.96264 and a.half_unit == pytest.approx(5e-6) and a.text == "0.96264"
    assert certify.anchor("2.6359830").half_unit == pytest.approx(5e-8)
    assert certify.anchor("12").half_unit == pytest.approx(0.5)
    assert certify.record_margin(certify.anchor("0.96264")) == pytest.approx(5e-6)
    assert certify.record_margin(certify.anchor("0.0365298899")) == pytest.approx(0.0365298899e-8)
    assert certify.record_margin(2.0) == pytest.approx(2e-8)         # a float is exact
    assert "half a unit in its last published digit" in certify.report(
        0.96, best_known=a, direction="maximize")["note"]
    for bad in ("abc", "nan", "inf"):
        with pytest.raises(ValueError):
            certify.anchor(bad)
    with pytest.raises(TypeError):
        certify.anchor(0.96264)


def test_report_and_invalid_forms_validate_as_documented():
    from cambrian.evaluation.result import validate

    ok = validate(certify.report(1.5, best_known=2.0, direction="maximize"), objective="combined_score")
    assert ok.status == "ok" and ok.score == 1.5 and ok.metrics["score_raw"] == 1.5
    bad = validate(certify.invalid("circles 1 and 2 overlap"), objective="combined_score")
    assert bad.status == "invalid" and bad.feedback["invalid"] == "circles 1 and 2 overlap"
    # The reason is the evaluator's, where status, show and the failure groups look (it was
    # "objective 'combined_score' missing from evaluate() result (keys: invalid)", grouped
    # as "invalid: objective 'combined_score' missing from evaluate() result (keys").
    assert bad.reason == "the evaluator says: circles 1 and 2 overlap"
    from cambrian.stats import failure_kind

    assert failure_kind(bad.status, bad.reason) == "invalid: the evaluator says"
    missing = validate({"other": 1.0}, objective="combined_score")
    assert missing.status == "invalid" and "(keys: other)" in missing.reason
    assert failure_kind(missing.status, missing.reason) == \
        "invalid: objective 'combined_score' missing from evaluate() result"


def test_unchanged_and_polish_switch(monkeypatch):
    a = np.arange(3.0)
    certify.unchanged(a, a.copy(), "x")
    with pytest.raises(Invalid, match="modified its input x"):
        certify.unchanged(a, a + 1, "x")
    monkeypatch.delenv(certify.POLISH_ENV, raising=False)
    assert not certify.polish_enabled()
    monkeypatch.setenv(certify.POLISH_ENV, "1")
    assert certify.polish_enabled()
