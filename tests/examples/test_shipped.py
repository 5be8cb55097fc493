"""Every shipped benchmark problem: the initial program scores what its README says,
is a baseline (worse than the best known value), and its README states the best known
value, the initial value and the tolerance."""

import math
import re

import pytest

from tests.conftest import EXAMPLES
from tests.examples.helpers import INITIAL, NUMERIC, SEEDED, evaluator


def states_in(text, value):
    """Whether ``text`` shows ``value`` to the 7 significant digits READMEs use."""
    numbers = [float(x) for x in re.findall(r"(?<![\w.])\d+(?:\.\d+)?(?:e-?\d+)?", text.replace(",", ""))]
    return any(x == pytest.approx(value, rel=5e-7) for x in numbers)


def states(path, value):
    return states_in(path.read_text(), value)


@pytest.mark.parametrize("name", sorted(INITIAL))
def test_initial_program_scores_what_the_readme_says(name):
    ev = evaluator(name)
    seeded = {"seed": SEEDED[name]} if name in SEEDED else {}
    result = ev.evaluate(str(EXAMPLES / name / "initial_program.py"), **seeded)
    assert "invalid" not in result, result
    assert result["combined_score"] == pytest.approx(INITIAL[name], rel=1e-12)
    assert result["record"] == 0.0
    assert states(EXAMPLES / name / "README.md", INITIAL[name]), f"initial value missing from {name}/README.md"


@pytest.mark.parametrize("name", sorted(INITIAL))
def test_initial_program_is_a_baseline_not_the_best_known(name):
    ev = evaluator(name)
    worse = INITIAL[name] < ev.BEST_KNOWN if ev.DIRECTION == "maximize" else INITIAL[name] > ev.BEST_KNOWN
    assert worse
    gap = abs(INITIAL[name] - ev.BEST_KNOWN) / max(abs(ev.BEST_KNOWN), 1e-12)
    assert gap > 0.01


@pytest.mark.parametrize("name", sorted(INITIAL))
def test_readme_states_best_known_source_and_tolerance(name):
    ev = evaluator(name)
    text = (EXAMPLES / name / "README.md").read_text()
    assert "Best known" in text or "best known" in text
    assert "olerance" in text
    assert "ource" in text          # "Source(s):"
    assert states(EXAMPLES / name / "README.md", ev.BEST_KNOWN), f"best known missing from {name}/README.md"


@pytest.mark.parametrize("name", sorted(INITIAL))
def test_config_direction_matches_the_evaluator(name):
    import yaml

    config = yaml.safe_load((EXAMPLES / name / "cambrian.yaml").read_text())
    assert config.get("direction", "maximize") == evaluator(name).DIRECTION
    low, high = config["evaluation"]["objective_range"]
    assert low <= INITIAL[name] <= high and low <= evaluator(name).BEST_KNOWN <= high


@pytest.mark.parametrize("name", sorted(INITIAL))
def test_evolve_regions_hold_constants_for_the_built_in_operators(name):
    from cambrian.operators.local import constants

    assert len(constants((EXAMPLES / name / "initial_program.py").read_text())) >= 1


@pytest.mark.parametrize("name", NUMERIC)
def test_record_gate_covers_the_published_precision(name):
    """The gate is 1e-8 relative or half a unit in the last published digit, whichever is
    larger: a value that merely rounds to the published number is no record."""
    from cambrian.certify import is_record

    ev = evaluator(name)
    best = ev.BEST_KNOWN
    assert best.text in (EXAMPLES / name / "README.md").read_text()      # the anchor as published
    margin = max(1e-8 * abs(best), best.half_unit)
    sign = 1 if ev.DIRECTION == "maximize" else -1
    assert not is_record(best + sign * 0.9 * margin, best, direction=ev.DIRECTION)
    assert is_record(best + sign * 1.1 * margin, best, direction=ev.DIRECTION)
    assert not math.isnan(best)


def test_main_readme_indexes_every_problem():
    text = (EXAMPLES.parent / "README.md").read_text()
    index = text[text.index("## Benchmark problems"):]
    for name, value in INITIAL.items():
        row = re.search(rf"^\| `{name}`.*$", index, re.M)
        assert row, f"{name} missing from the README's problem index"
        assert states_in(row.group(0), value) and states_in(row.group(0), evaluator(name).BEST_KNOWN), row.group(0)
