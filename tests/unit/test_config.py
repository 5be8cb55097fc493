import pytest

from cambrian import config
from cambrian.errors import ConfigError


def test_defaults_are_valid_and_hashable():
    cfg = config.build({})
    assert cfg.objective == "combined_score"
    assert cfg.digest() == config.build({}).digest()
    assert cfg.digest() != config.build({"seed": 1}).digest()


@pytest.mark.parametrize("data, fragment", [
    ({"budgt": 5}, "budgt: unknown key (did you mean 'budget'?)"),
    ({"selection": {"methd": "tournament"}}, "selection.methd: unknown key (did you mean 'method'?)"),
    ({"budget": "many"}, "budget: Input should be a valid integer"),
    ({"budget": 0}, "budget: Input should be greater than or equal to 1"),
    ({"target": float("nan")}, "target: Value error, not a number"),
    ({"target": float("-inf")}, "target: -inf is reached by any score when the direction is maximize"),
    ({"target": float("inf"), "direction": "minimize"}, "target: inf is reached by any score"),
    ({"selection": {"method": "roulette"}}, "selection.method: Input should be"),
    ({"islands": {"count": 0}}, "count must be >= 1"),
    ({"archive": {"features": [{"name": "x", "min": 2, "max": 1}]}}, "archive.features.0"),
    ({"archive": {"features": [{"name": "x", "min": 0, "max": 1}, {"name": "x", "min": 0, "max": 2}]}},
     "archive.features: Value error, 'x' is given twice"),
    ({"operators": {"perturb": {"weight": 0}, "crossover": {"weight": 0}, "structural": {"weight": 0}}},
     "at least one operator"),
])
def test_errors_name_the_key(data, fragment):
    with pytest.raises(ConfigError) as err:
        config.build(data)
    assert fragment in str(err.value)
    assert "\n" not in str(err.value)


def test_env_interpolation(monkeypatch):
    monkeypatch.setenv("CAMBRIAN_TEST_OBJ", "loss")
    assert config.build({"objective": "${CAMBRIAN_TEST_OBJ}"}).objective == "loss"
    with pytest.raises(ConfigError, match=r"objective: environment variable \$\{NOPE_NOT_SET\}"):
        config.build({"objective": "${NOPE_NOT_SET}"})


def test_overrides_win_over_the_file(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("budget: 10\nselection:\n  method: tournament\n")
    cfg = config.load(path, {"budget": 20, "selection.tournament_size": 5, "seed": None})
    assert (cfg.budget, cfg.selection.method, cfg.selection.tournament_size) == (20, "tournament", 5)


def test_bad_yaml_is_one_line(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("budget: [1,\n")
    with pytest.raises(ConfigError, match="invalid YAML"):
        config.load(path)
    path.write_text("- 1\n")
    with pytest.raises(ConfigError, match="expected a mapping"):
        config.load(path)


def test_auto_islands_scale_with_budget_for_the_fixed_island_search():
    fixed = {"search": {"policy": "islands"}}
    assert config.build({"budget": 100, **fixed}).island_count == 1
    assert config.build({"budget": 1000, **fixed}).island_count == 4
    assert config.build({"budget": 100000, **fixed}).island_count == 5
    assert config.build({"islands": {"count": 3}, **fixed}).island_count == 3


def test_the_adaptive_search_caps_islands_whatever_the_budget():
    assert config.build({"budget": 100}).island_count == 4
    assert config.build({"budget": 100000}).island_count == 4
    assert config.build({"islands": {"count": 2}}).island_count == 2


def test_an_infinite_target_never_reached_is_no_target():
    """inf (-inf when minimizing) is never reached: the one way to drop a target from the
    command line, a resume's included (--set target=null is an override of nothing)."""
    saved = config.build({"target": 0.9}).to_dict()
    assert config.build(saved, {"target": float("inf")}).target == float("inf")
    assert config.build({"direction": "minimize"}, {"target": float("-inf")}).target == float("-inf")
