"""Bin packing, symbolic regression, TSP: reproducible instances, certified scores,
and every known exploit (including modifying the evaluator's inputs) rejected."""

import re

import numpy as np
import pytest

from cambrian.certify import Invalid
from tests.examples.helpers import evaluator, program


# -- bin packing --------------------------------------------------------------

def best_fit(item, bins):
    return -(bins - item)


def test_bin_packing_instances_are_reproducible_weibull():
    ev = evaluator("bin_packing")
    a, b = ev.instance(0), ev.instance(0)
    assert np.array_equal(a, b) and not np.array_equal(a, ev.instance(1))
    assert a.min() >= 1 and a.max() <= ev.CAPACITY and len(a) == ev.ITEMS
    assert 35 < a.mean() < 45          # Weibull(shape 3, scale 45) has mean 40.2


def test_bin_packing_scores_a_correct_packing():
    ev = evaluator("bin_packing")
    items = ev.instance(0)
    assignment = program("bin_packing").pack(items, ev.CAPACITY)
    used = max(assignment) + 1
    lower = int(np.ceil(items.sum() / ev.CAPACITY))
    checks = range(1, 200, 7)
    assert ev.excess(items, assignment, best_fit, checks) == pytest.approx(100 * (used - lower) / lower)


def _bad_packings(items):
    good = list(program("bin_packing").pack(items, 100))
    one_bin = [0] * len(items)
    skip = list(good)
    skip[5] = max(good[:5]) + 2
    float_ids = [float(b) for b in good]
    return {
        "everything in one bin": (one_bin, "capacity"),
        "an item missing": (good[:-1], "expected shape"),
        "a bin skipped": (skip, "not open"),
        "negative bin": ([0] + [-1] * (len(items) - 1), "not open"),
        "float bin ids": (float_ids, "not an integer"),
        "nan": ([np.nan] * len(items), "not an integer"),
        "claimed count": (len(good), "expected a list"),
    }


@pytest.mark.parametrize("case", ["everything in one bin", "an item missing", "a bin skipped", "negative bin",
                                  "float bin ids", "nan", "claimed count"])
def test_bin_packing_invalid_packings(case):
    ev = evaluator("bin_packing")
    items = ev.instance(0)[:300]
    bad, fragment = _bad_packings(items)[case]
    with pytest.raises(Invalid, match=re.escape(fragment)):
        ev.bins_used(items, bad)


def test_bin_packing_a_packing_the_priority_did_not_make_is_rejected():
    ev = evaluator("bin_packing")
    items = ev.instance(1)[:300]
    # a valid packing by another rule (one item per bin is valid but not best fit)
    lonely = list(range(len(items)))
    assert ev.bins_used(items, lonely) == len(items)
    with pytest.raises(Invalid, match="the program's priority chooses"):
        ev.replay(items, lonely, best_fit, range(1, 50))


@pytest.mark.parametrize("case", ["mutates bins", "nan priority", "wrong length", "complex"])
def test_bin_packing_hostile_priority(case):
    ev = evaluator("bin_packing")
    items = ev.instance(2)[:200]
    assignment = program("bin_packing").pack(items, ev.CAPACITY)

    def mutates(item, bins):
        bins[:] = 0
        return -bins

    priority, fragment = {
        "mutates bins": (mutates, "modified its input bins"),
        "nan priority": (lambda item, bins: bins * np.nan, "non-finite"),
        "wrong length": (lambda item, bins: np.ones(len(bins) + 1), "expected shape"),
        "complex": (lambda item, bins: bins + 1j, "complex"),
    }[case]
    with pytest.raises(Invalid, match=re.escape(fragment)):
        ev.replay(items, assignment, priority, range(1, 100, 9))


# -- symbolic regression ------------------------------------------------------

def test_symbolic_regression_data_are_deterministic_and_split():
    ev = evaluator("symbolic_regression")
    (Xa, ya), (Xb, yb) = ev.dataset("train"), ev.dataset("train")
    assert np.array_equal(Xa, Xb) and np.array_equal(ya, yb)
    Xh, _ = ev.dataset("heldout")
    assert not np.isin(Xh[:, 0], Xa[:, 0]).any()          # no held-out point is a training point


def test_symbolic_regression_truth_scores_the_noise_floor():
    ev = evaluator("symbolic_regression")
    X, y = ev.dataset("train")
    assert ev.nmse(y, ev.truth(X)) == pytest.approx(ev.BEST_KNOWN)
    assert ev.nmse(y, np.full(len(y), y.mean())) == pytest.approx(1.0)


def test_symbolic_regression_heldout_is_a_private_metric_not_the_objective():
    ev = evaluator("symbolic_regression")
    from tests.conftest import EXAMPLES

    result = ev.evaluate(str(EXAMPLES / "symbolic_regression" / "initial_program.py"))
    assert "private_heldout_nmse" in result and result["private_heldout_nmse"] != result["combined_score"]


@pytest.mark.parametrize("case", ["nan", "inf", "short", "complex", "2-d", "mutates X", "subnormal"])
def test_symbolic_regression_exploits(case):
    ev = evaluator("symbolic_regression")
    X, y = ev.dataset("train")

    def mutates(X):
        X[:, 0] = 0
        return X[:, 0]

    predict, fragment = {
        "nan": (lambda X: X[:, 0] * np.nan, "non-finite"),
        "inf": (lambda X: X[:, 0] / 0.0 if False else np.full(len(X), np.inf), "non-finite"),
        "short": (lambda X: X[:-1, 0], "expected shape"),
        "complex": (lambda X: X[:, 0] + 0j, "complex"),
        "2-d": (lambda X: X, "expected shape"),
        "mutates X": (mutates, "modified its input X"),
        "subnormal": (lambda X: np.full(len(X), 1e-310), "underflows"),
    }[case]
    with pytest.raises(Invalid, match=re.escape(fragment)):
        ev.nmse(y, ev.predict_checked(predict, X))


# -- TSP ----------------------------------------------------------------------

def test_tsp_length_of_a_known_tour():
    ev = evaluator("tsp")
    square = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], dtype=float)
    assert ev.tour_length(square, [0, 1, 2, 3]) == pytest.approx(4.0)
    assert ev.tour_length(square, [0, 2, 1, 3]) == pytest.approx(2 + 2 * np.sqrt(2))


def test_tsp_instances_are_reproducible():
    ev = evaluator("tsp")
    assert np.array_equal(ev.instance(3), ev.instance(3))
    assert ev.instance(3).shape == (ev.CITIES, 2)


@pytest.mark.parametrize("case", ["repeat", "missing", "out of range", "negative", "floats", "bools", "nan",
                                  "claimed length", "mutates points"])
def test_tsp_exploits(case):
    ev = evaluator("tsp")
    points = ev.instance(0)
    n = len(points)
    ok = list(range(n))

    def mutates(p):
        p[:] = 0
        return list(range(len(p)))

    tour, fragment = {
        "repeat": (lambda p: [0] + ok[:-1], "visited twice"),
        "missing": (lambda p: ok[:-1], "expected shape"),
        "out of range": (lambda p: ok[:-1] + [n], "does not exist"),
        "negative": (lambda p: [-1] + ok[1:], "does not exist"),
        "floats": (lambda p: [float(i) for i in ok], "not an integer"),
        "bools": (lambda p: [True] * n, "bool"),
        "nan": (lambda p: [np.nan] * n, "not an integer"),
        "claimed length": (lambda p: 0.1, "expected a list"),
        "mutates points": (mutates, "modified its input points"),
    }[case]
    with pytest.raises(Invalid, match=re.escape(fragment)):
        ev.tour_length(points, ev.tour_checked(tour, points))
