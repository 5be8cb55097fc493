"""Circle packing (26, 32), min/max distance ratio (2D, 3D), Heilbronn: each evaluator
scores a correct construction and rejects every known exploit with a reason."""

import re

import numpy as np
import pytest

from cambrian.certify import Invalid
from tests.examples.helpers import evaluator, program

CIRCLES = ("circle_packing", "circle_packing_32")


def grid_packing(n):
    """n equal circles on a k x k grid (a valid, simple packing)."""
    k = int(np.ceil(np.sqrt(n)))
    r = 0.5 / k
    centers = np.array([((i % k) * 2 * r + r, (i // k) * 2 * r + r) for i in range(n)])
    return centers, np.full(n, r)


@pytest.mark.parametrize("name", CIRCLES)
def test_circles_correct_construction(name):
    ev = evaluator(name)
    c, r = grid_packing(ev.N)
    assert ev.score((c, r)) == pytest.approx(ev.N * r[0], rel=1e-12)
    assert ev.score((c.tolist(), r.tolist())) == ev.score((c, r))     # lists are fine
    out = ev.score((c, r))
    assert out < ev.BEST_KNOWN


def _exploits(n):
    c, r = grid_packing(n)
    big = r.copy()
    big[0] = 5.0
    nan = r.copy()
    nan[3] = np.nan
    inf = c.copy()
    inf[1, 0] = np.inf
    neg = r.copy()
    neg[2] = -0.01
    cplx = r.astype(complex)
    sub = r.copy()
    sub[4] = 1e-310
    over = r.copy()
    over[:] = r * 1.0 + 2e-9 / 2 + 1e-12          # neighbours overlap by just over 2e-9... > tolerance
    out = c.copy()
    out[0, 0] = r[0] - 2e-9                        # leaves the square by 2e-9
    return {
        "a 4.01 packing (huge radius)": ((c, big), "leaves the unit square"),
        "NaN radius": ((c, nan), "non-finite"),
        "inf center": ((inf, r), "non-finite"),
        "negative radius": ((c, neg), "negative"),
        "complex radii": ((c, cplx), "complex"),
        "subnormal radius": ((c, sub), "underflows"),
        "wrong count": ((c[:-1], r[:-1]), "expected shape"),
        "wrong shape": ((np.hstack([c, c[:, :1]]), r), "expected shape"),
        "bool radii": ((c, r > 0), "booleans"),
        "strings": ((c, ["0.1"] * n), "not a real number"),
        "score instead of a packing": (2.7, "(centers, radii)"),
        "self-reported score": ((c, r, 99.0), "(centers, radii)"),
        "ragged centers": (([[0.5, 0.5]] * (n - 1) + [[0.5]], r), "is not a real number"),
        "overlap beyond tolerance": ((c, over), "overlap"),
        "outside beyond tolerance": ((out, r), "leaves the unit square"),
    }


@pytest.mark.parametrize("name", CIRCLES)
@pytest.mark.parametrize("case", list(_exploits(26)))
def test_circles_exploit_rejected_with_reason(name, case):
    ev = evaluator(name)
    construction, fragment = _exploits(ev.N)[case]
    with pytest.raises(Invalid, match=re.escape(fragment)):
        ev.score(construction)
    result = ev.evaluate.__globals__["invalid"]("x")          # the documented invalid form
    assert "combined_score" not in result


@pytest.mark.parametrize("name", CIRCLES)
def test_circles_tolerance_and_score_at_tolerance_zero(name):
    ev = evaluator(name)
    c, r = grid_packing(ev.N)
    slack = r + 0.8e-9 / 2                      # neighbours overlap by 0.8e-9: inside the tolerance
    assert ev.score((c, slack)) == pytest.approx(slack.sum())
    zero = ev.score_at_tolerance_zero((c, slack))
    assert zero < ev.score((c, slack))
    assert ev.violation(c, np.maximum(slack - ev.violation(c, slack), 0)) <= 1e-15   # feasible at 0
    assert ev.score((c, slack)) - zero <= ev.N * ev.TOL
    assert ev.score_at_tolerance_zero((c, r)) == pytest.approx(ev.score((c, r)), rel=1e-12)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["circle_packing"])   # circle_packing_32's evaluate.py differs only in N
def test_circles_polish_is_feasible_at_tolerance_zero_and_not_worse(name):
    ev = evaluator(name)
    c, r = program(name).construct()
    p, q = ev.polish((c, r), max_iter=30)
    assert ev.violation(p, q) <= 0
    assert ev.score((p, q)) >= ev.score((c, r))


def test_circle_evaluators_differ_only_in_n_and_best_known():
    from tests.conftest import EXAMPLES

    a = (EXAMPLES / "circle_packing" / "evaluate.py").read_text().splitlines()
    b = (EXAMPLES / "circle_packing_32" / "evaluate.py").read_text().splitlines()
    differing = [(x, y) for x, y in zip(a, b) if x != y]
    assert len(a) == len(b) and len(differing) == 3, differing     # docstring title, N, BEST_KNOWN


def test_circles_do_not_trust_the_caller_arrays():
    ev = evaluator("circle_packing")
    c, r = grid_packing(26)
    c0, r0 = c.copy(), r.copy()
    ev.score((c, r))
    assert np.array_equal(c, c0) and np.array_equal(r, r0)


RATIOS = ("min_max_ratio_16_2d", "min_max_ratio_14_3d")


@pytest.mark.parametrize("name", RATIOS)
def test_ratio_correct_and_scale_free(name):
    ev = evaluator(name)
    x = np.random.default_rng(0).random((ev.N, ev.DIM))
    d = np.sqrt(((x[:, None] - x[None]) ** 2).sum(-1))
    expected = (d.max() / d[np.triu_indices(ev.N, 1)].min()) ** 2
    assert ev.score(x) == pytest.approx(expected, rel=1e-12)
    for scale in (1e-300, 1e300, -3.0):                       # no underflow, no overflow
        assert ev.score(x * scale + 7.0 * (scale == -3.0)) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("name", RATIOS)
@pytest.mark.parametrize("case", ["coincident", "all equal", "nan", "complex", "count", "dims", "subnormal",
                                  "bools"])
def test_ratio_exploits_rejected(name, case):
    ev = evaluator(name)
    x = np.random.default_rng(1).random((ev.N, ev.DIM))
    bad, fragment = {
        "coincident": (np.vstack([x[:-1], x[:1]]), "coincide"),
        "all equal": (np.zeros((ev.N, ev.DIM)), "coincide"),
        "nan": (np.where(np.arange(ev.N)[:, None] == 2, np.nan, x), "non-finite"),
        "complex": (x + 0j, "complex"),
        "count": (x[:-1], "expected shape"),
        "dims": (np.hstack([x, x]), "expected shape"),
        "subnormal": (x * 1e-310, "underflows"),
        "bools": (x > 0.5, "booleans"),
    }[case]
    with pytest.raises(Invalid, match=re.escape(fragment)):
        ev.score(bad)


@pytest.mark.parametrize("name", RATIOS)
def test_ratio_polish_improves_the_baseline(name):
    ev = evaluator(name)
    start = program(name).construct()
    assert ev.score(ev.polish(start, max_iter=50)) < ev.score(start)


def test_heilbronn_correct_construction():
    ev = evaluator("heilbronn_triangle_11")
    x = ev.CORNERS[0] + np.random.default_rng(0).dirichlet([1, 1, 1], 11) @ (ev.CORNERS - ev.CORNERS[0])
    import itertools

    def area(a, b, c):
        return abs((b[0] - a[0]) * (c[1] - a[1]) - (c[0] - a[0]) * (b[1] - a[1])) / 2

    areas = [area(x[i], x[j], x[k]) for i, j, k in itertools.combinations(range(11), 3)]
    assert ev.score(x) == pytest.approx(min(areas) / (np.sqrt(3) / 4), rel=1e-9)


def test_heilbronn_tolerance_projects_and_rejects():
    ev = evaluator("heilbronn_triangle_11")
    x = program("heilbronn_triangle_11").construct()
    x[0] = [0.3, -0.5e-9]                         # outside by 0.5e-9: projected onto the edge
    assert ev.inside(x)[0, 1] == 0.0
    ev.score(x)
    x[0] = [0.3, -2e-9]
    with pytest.raises(Invalid, match="outside the triangle"):
        ev.score(x)


@pytest.mark.parametrize("case", ["collinear", "nan", "count", "complex", "far outside"])
def test_heilbronn_exploits(case):
    ev = evaluator("heilbronn_triangle_11")
    x = program("heilbronn_triangle_11").construct()
    if case == "collinear":                       # valid, but scores zero
        x[:3] = [[0.2, 0.1], [0.3, 0.1], [0.4, 0.1]]
        assert ev.score(x) == 0.0
        return
    bad, fragment = {"nan": (np.where(x == x[0, 0], np.nan, x), "non-finite"), "count": (x[:10], "expected shape"),
                     "complex": (x.astype(complex), "complex"),
                     "far outside": (x * 10, "outside the triangle")}[case]
    with pytest.raises(Invalid, match=re.escape(fragment)):
        ev.score(bad)


def test_heilbronn_polish_improves_and_stays_inside():
    ev = evaluator("heilbronn_triangle_11")
    start = program("heilbronn_triangle_11").construct()
    assert ev.score(ev.polish(start, max_iter=50)) > ev.score(start)


@pytest.mark.parametrize("name", ("min_max_ratio_16_2d", "min_max_ratio_14_3d"))
def test_ratio_objective_range_holds_every_valid_construction(name):
    # The worst valid layout: the closest pair just above MIN_SEPARATION of the extent, the
    # farthest at the diagonal of [-1, 1]^DIM. A valid score must not fall outside the range.
    import yaml

    from tests.conftest import EXAMPLES

    ev = evaluator(name)
    x = np.random.default_rng(0).uniform(-0.5, 0.5, (ev.N, ev.DIM))
    x[0], x[1] = -1.0, 1.0
    x[2] = x[3] + 1.01 * ev.MIN_SEPARATION
    worst = ev.score(x)
    assert worst > 1e12
    low, high = yaml.safe_load((EXAMPLES / name / "cambrian.yaml").read_text())["evaluation"]["objective_range"]
    assert low <= worst <= high
