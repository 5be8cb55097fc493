import numpy as np

from cambrian.bandit import Bandit, ucb_index


def test_unexplored_arms_first_then_the_best():
    b = Bandit(("a", "b", "c"))
    rng = np.random.default_rng(0)
    pulled = []
    for _ in range(3):
        arm = b.choose(rng)
        pulled.append(arm)
        b.update(arm, gain=1.0 if arm == "b" else None, cost=0.0)
    assert sorted(pulled) == ["a", "b", "c"]  # each arm once before any exploitation
    assert b.choose(rng) == "b"


def test_rewards_are_asymmetric_and_scaled():
    b = Bandit(("a",))
    b.update("a", gain=-5.0, cost=0.0)
    assert b.stats["a"].reward == 0.0 and b.stats["a"].pulls == 1
    b.update("a", gain=2.0, cost=0.0)
    b.update("a", gain=1.0, cost=0.0)
    assert b.stats["a"].reward == 1.5  # 2/2 + 1/2


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
    b.update("gone", gain=1.0, cost=1.0)
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
        b.update(arm, gain=1.0 if rng.random() < rates[arm] else None, cost=costs[arm])
    assert pulls["good"] > pulls["pricey"] > 0 and pulls["good"] > pulls["bad"]
