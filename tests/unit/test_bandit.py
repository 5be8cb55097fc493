import numpy as np

from cambrian.archive import AddStatus
from cambrian.bandit import Bandit, reward, ucb_index


def test_unexplored_arms_first_then_the_best():
    b = Bandit(("a", "b", "c"))
    rng = np.random.default_rng(0)
    pulled = []
    for _ in range(3):
        arm = b.choose(rng)
        pulled.append(arm)
        b.update(arm, reward=1.0 if arm == "b" else 0.0, cost=0.0)
    assert sorted(pulled) == ["a", "b", "c"]  # each arm once before any exploitation
    assert b.choose(rng) == "b"


def test_rewards_come_from_what_the_archive_did_and_never_from_arrival_order():
    assert reward(AddStatus.IMPROVED, improved_island=True) == 1.0
    assert reward(AddStatus.NEW_CELL, improved_island=False) == 0.5
    assert reward(AddStatus.IMPROVED, improved_island=False) == 0.3
    assert reward(AddStatus.NOT_ADDED, improved_island=False) == 0.0
    assert reward(None, improved_island=False) == 0.0
    # The same children told in another order leave the same record.
    told = [(AddStatus.IMPROVED, True), (AddStatus.NEW_CELL, False), (None, False), (AddStatus.ADDED, False)]
    a, b = Bandit(("x",)), Bandit(("x",))
    for status, best in told:
        a.update("x", reward=reward(status, improved_island=best), cost=0.01)
    for status, best in reversed(told):
        b.update("x", reward=reward(status, improved_island=best), cost=0.01)
    assert a.stats == b.stats


def test_a_tie_that_displaces_an_elite_earns_the_displacement_reward():
    """What the README says: with archive.replace_equal (the default) an equal-scoring
    child displaces the elite of a full cell, and earns 0.3 like a better one."""
    from cambrian.archive import Elite, Feature
    from cambrian.archive.map_elites import Grid

    for replace_equal, want in ((True, 0.3), (False, 0.0)):
        grid = Grid([Feature("x", 4, 0.0, 1.0)], 1, replace_equal=replace_equal)
        grid.add(Elite("a", 0.5), {"x": 0.1})
        assert reward(grid.add(Elite("b", 0.5), {"x": 0.1}), improved_island=False) == want


def test_cost_term_is_in_absolute_dollars():
    # Two arms that both cost little: the cost term barely matters, whatever their ratio.
    cheap = ucb_index(np.array([0.5, 0.4]), np.array([10.0, 10.0]), np.array([0.0002, 0.00001]),
                      exploration=1.0, cost_weight=10.0)
    assert cheap[0] > cheap[1]
    # A dollar per call costs ten reward units at the default weight.
    pricey = ucb_index(np.array([0.5, 0.4]), np.array([10.0, 10.0]), np.array([1.0, 0.0]),
                       exploration=1.0, cost_weight=10.0)
    assert pricey[1] > pricey[0]
    assert np.isclose(pricey[1] - pricey[0], 10.0 - 0.1)


def test_cost_term_prefers_the_cheaper_of_equal_arms():
    idx = ucb_index(np.array([0.5, 0.5]), np.array([10.0, 10.0]), np.array([0.0, 1.0]),
                    exploration=1.0, cost_weight=1.0)
    assert idx[0] > idx[1]
    free = ucb_index(np.array([0.5, 0.5]), np.array([10.0, 10.0]), np.array([0.0, 1.0]),
                     exploration=1.0, cost_weight=0.0)
    assert free[0] == free[1]


def test_exploration_bonus_shrinks_with_pulls():
    idx = ucb_index(np.array([0.5, 0.5]), np.array([2.0, 50.0]), np.zeros(2), exploration=1.0, cost_weight=1.0)
    assert idx[0] > idx[1]


def test_unknown_arm_updates_are_ignored_and_allowed_is_respected():
    b = Bandit(("a", "b"))
    b.update("gone", reward=1.0, cost=1.0)
    assert "gone" not in b.stats
    rng = np.random.default_rng(1)
    assert all(b.choose(rng, ("b",)) == "b" for _ in range(5))


def test_bandit_finds_the_better_arm_in_a_simulation():
    rng = np.random.default_rng(0)
    rates = {"good": 0.3, "bad": 0.05, "pricey": 0.3}
    costs = {"good": 0.0, "bad": 0.0, "pricey": 1.0}
    b = Bandit(tuple(rates))
    pulls = {a: 0 for a in rates}
    for _ in range(600):
        arm = b.choose(rng)
        pulls[arm] += 1
        b.update(arm, reward=1.0 if rng.random() < rates[arm] else 0.0, cost=costs[arm])
    assert pulls["good"] > pulls["pricey"] > 0 and pulls["good"] > pulls["bad"]
