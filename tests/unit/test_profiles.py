"""Heterogeneous islands: arms per island, instructions, and who contributed what."""

from __future__ import annotations

import pytest

from cambrian import config as config_mod
from cambrian.contributions import BUILTIN, contributions
from cambrian.errors import ConfigError
from cambrian.profiles import allowed, instructions, island_arms
from cambrian.strategy import Strategy

ARMS = {"perturb": (None, None), "llm:openai:a:diff": ("openai:a", "diff"),
        "llm:openai:a:rewrite": ("openai:a", "rewrite"), "llm:openai:b:diff": ("openai:b", "diff")}
MODELS = [{"model": "openai:a@http://127.0.0.1:1/v1"}, {"model": "openai:b@http://127.0.0.1:1/v1"}]


def profiles(*items):
    return config_mod.build({"llm": {"models": MODELS}, "islands": {"profiles": list(items)}}).islands.profiles


def test_a_profile_allows_its_models_formats_and_builtins():
    a, b, c = profiles({"models": ["openai:a"], "builtin": False}, {"models": ["openai:b"], "formats": ["diff"]}, {})
    assert allowed(a, ARMS) == {"llm:openai:a:diff", "llm:openai:a:rewrite"}
    assert allowed(b, ARMS) == {"perturb", "llm:openai:b:diff"}
    assert allowed(c, ARMS) == set(ARMS)


def test_bad_profiles_are_one_line_errors():
    with pytest.raises(ConfigError, match=r"islands.profiles\[0\].models: 'openai:zz' is not among llm.models"):
        profiles({"models": ["openai:zz"]})
    with pytest.raises(ConfigError, match=r"islands.profiles\[0\]: no operator of the run fits it"):
        island_arms(profiles({"models": ["openai:b"], "formats": ["rewrite"], "builtin": False}), ARMS)


def test_each_island_draws_only_its_own_arms():
    cfg = config_mod.build({"llm": {"models": MODELS}, "search": {"policy": "islands"}, "islands": {"count": 2}})
    sets = (frozenset({"llm:openai:a:diff"}), frozenset({"llm:openai:b:diff", "perturb"}))
    for bandit in (False, True):
        strategy = Strategy(cfg, arms={name: 1.0 for name in ARMS}, bandit=bandit, island_arms=sets)
        strategy.seed("root", 0.0, {})
        for seq in range(1, 60):
            proposal = strategy.ask(seq)
            assert proposal.operator in sets[proposal.island % 2]


def test_instructions_cycle_over_islands():
    ps = profiles({"instructions": "Be bold."}, {})
    assert [instructions(ps, i) for i in range(3)] == ["Be bold.", "", "Be bold."]
    assert instructions((), 5) == ""


def test_contributions_count_improvements_and_archive_share():
    rows = [  # seq, island, model, program, status, score, parent score
        (1, 0, "openai:a", "p1", "ok", 2.0, 1.0),     # improves, new best
        (2, 1, "openai:b", "p2", "ok", 1.5, 1.0),     # improves on parent, not a new best
        (3, 1, None, "p3", "error", None, 1.0),
        (4, 0, None, "p4", "ok", 3.0, 2.0),           # new best, by a built-in operator
        (5, 1, "openai:b", None, None, None, 1.0),    # no candidate
    ]
    by_island = contributions(rows, {"p1", "p4", "p2", "root"}, initial=1.0, maximize=True, by="island")
    assert [(c.key, c.candidates, c.valid, c.improved, c.new_bests, c.elites) for c in by_island] == [
        ("island 0", 2, 2, 2, 2, 2), ("island 1", 3, 1, 1, 0, 1)]
    assert by_island[0].share == pytest.approx(0.5)
    by_model = contributions(rows, set(), initial=1.0, maximize=True, by="model")
    assert [c.key for c in by_model] == ["openai:a", "openai:b", BUILTIN]
    assert [c.new_bests for c in by_model] == [1, 0, 1] and all(c.share == 0 for c in by_model)
