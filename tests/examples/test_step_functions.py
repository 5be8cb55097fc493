"""Autocorrelation C1 and C2, Erdős minimum overlap: exact bounds from step functions,
and every known exploit rejected with a reason."""

import re

import numpy as np
import pytest

from cambrian.certify import Invalid
from tests.examples.helpers import evaluator, program

STEPS = ("autocorrelation_c1", "autocorrelation_c2")


def dense_autoconvolution(h, half_width, samples=4001):
    """f * f on a fine grid, from the exact overlap of step pairs (independent of the evaluator)."""
    n = len(h)
    dx = 2 * half_width / n
    left = -half_width + dx * np.arange(n)
    t = np.linspace(-2 * half_width, 2 * half_width, samples)
    out = np.zeros_like(t)
    for i in range(n):
        for j in range(n):
            # overlap of [left_i, left_i + dx] with t - [left_j, left_j + dx]
            lo = np.maximum(left[i], t - left[j] - dx)
            hi = np.minimum(left[i] + dx, t - left[j])
            out += h[i] * h[j] * np.clip(hi - lo, 0, None)
    return t, out


def test_c1_matches_an_independent_computation():
    ev = evaluator("autocorrelation_c1")
    h = np.random.default_rng(0).random(7)
    t, g = dense_autoconvolution(h, 0.25, samples=6 * 7 * 8 + 1)   # the knots are on this grid
    integral = h.sum() * 0.5 / 7
    assert ev.score(h) == pytest.approx(g.max() / integral ** 2, rel=1e-9)


def test_c2_matches_an_independent_computation():
    ev = evaluator("autocorrelation_c2")
    h = np.random.default_rng(1).random(6)
    t, g = dense_autoconvolution(h, 0.25, samples=12 * 20_000 + 1)   # knots on the grid
    dt = t[1] - t[0]
    l2, l1 = (g ** 2).sum() * dt, g.sum() * dt
    assert ev.score(h) == pytest.approx(l2 / (l1 * g.max()), rel=1e-6)


@pytest.mark.parametrize("name", STEPS + ("erdos_min_overlap",))
def test_refining_the_grid_does_not_change_the_bound(name):
    ev = evaluator(name)
    h = program(name).construct()
    h = np.asarray(h) * (1 + 0.3 * np.sin(np.arange(len(h))))
    if name == "erdos_min_overlap":
        h = program(name).fit_integral(h)
    assert ev.score(np.repeat(h, 5)) == pytest.approx(ev.score(h), rel=1e-12)


@pytest.mark.parametrize("name", STEPS)
def test_scale_free_no_underflow_or_overflow(name):
    ev = evaluator(name)
    h = np.random.default_rng(2).random(30)
    for scale in (1e-200, 1e200):
        assert ev.score(h * scale) == pytest.approx(ev.score(h), rel=1e-12)


def test_c2_never_exceeds_one():
    ev = evaluator("autocorrelation_c2")
    rng = np.random.default_rng(3)
    for _ in range(50):
        assert 0 < ev.score(rng.random(rng.integers(1, 60)) ** 3) <= 1


@pytest.mark.parametrize("name", STEPS)
@pytest.mark.parametrize("case", ["negative", "zeros", "nan", "inf", "complex", "subnormal", "too many",
                                  "empty", "2-d", "bools", "string"])
def test_step_exploits_rejected(name, case):
    ev = evaluator(name)
    h = np.ones(10)
    bad, fragment = {
        "negative": (np.r_[h, -0.1], "negative"),
        "zeros": (np.zeros(10), "all heights are zero"),
        "nan": (np.r_[h, np.nan], "non-finite"),
        "inf": (np.r_[h, np.inf], "non-finite"),
        "complex": (h + 1e-3j, "complex"),
        "subnormal": (np.r_[h, 1e-310], "underflows"),
        "too many": (np.ones(ev.MAX_STEPS + 1), "at most"),
        "empty": ([], "at least"),
        "2-d": (np.ones((3, 3)), "expected shape"),
        "bools": ([True, False, True], "bool"),
        "string": ("1 1 1", "expected a list"),
    }[case]
    with pytest.raises(Invalid, match=re.escape(fragment)):
        ev.score(bad)


def test_erdos_correct_and_constraints():
    ev = evaluator("erdos_min_overlap")
    assert ev.score(np.full(20, 0.5)) == pytest.approx(0.5)
    # a direct, independent evaluation of the correlation at every grid shift
    h = program("erdos_min_overlap").fit_integral(np.random.default_rng(4).random(12))
    n = len(h)
    best = max(sum(h[i] * (1 - h[i + k]) for i in range(n) if 0 <= i + k < n) * 2 / n
               for k in range(-n + 1, n))
    assert ev.score(h) == pytest.approx(best, rel=1e-12)


@pytest.mark.parametrize("case", ["above one", "negative", "integral low", "integral high", "nan", "complex",
                                  "one step", "subnormal"])
def test_erdos_exploits_rejected(case):
    ev = evaluator("erdos_min_overlap")
    h = np.full(20, 0.5)
    bad, fragment = {
        "above one": (np.r_[np.full(9, 0.0), [1.0 + 1e-12] , np.full(10, 0.9)], "outside [0, 1]"),
        "negative": (np.r_[h[:-1], -1e-3], "outside [0, 1]"),
        "integral low": (h * (1 - 2e-9), "not 1"),
        "integral high": (h * (1 + 2e-9), "not 1"),
        "nan": (np.r_[h[:-1], np.nan], "non-finite"),
        "complex": (h.astype(complex), "complex"),
        "one step": ([1.0], "at least"),
        "subnormal": (np.r_[h[:-1], 1e-310], "underflows"),
    }[case]
    with pytest.raises(Invalid, match=re.escape(fragment)):
        ev.score(bad)


def test_erdos_integral_within_tolerance_is_rescaled():
    ev = evaluator("erdos_min_overlap")
    assert ev.score(np.full(20, 0.5) * (1 + 0.5e-9)) == pytest.approx(0.5, rel=1e-12)


@pytest.mark.parametrize("name", STEPS + ("erdos_min_overlap",))
def test_polish_improves_the_baseline(name):
    ev = evaluator(name)
    start = program(name).construct()
    polished = ev.score(ev.polish(start, max_iter=30))
    assert polished > ev.score(start) if ev.DIRECTION == "maximize" else polished < ev.score(start)
