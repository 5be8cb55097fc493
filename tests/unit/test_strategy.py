import pytest

from cambrian import config
from cambrian.strategy import Outcome, Strategy


def _run(seed: int, steps: int = 40, **cfg):
    strategy = Strategy(config.build({"seed": seed, **cfg}), mate_operators=frozenset({"crossover"}))
    strategy.seed("p0", 1.0, {})
    asked = []
    for seq in range(1, steps + 1):
        proposal = strategy.ask(seq)
        asked.append(proposal)
        # A fake "evaluation": the score is a function of the sequence number.
        strategy.tell(proposal, Outcome(f"p{seq}", float(seq % 7), {}))
    return strategy, asked


def test_same_seed_same_proposals():
    assert _run(3)[1] == _run(3)[1]
    assert _run(3)[1] != _run(4)[1]


def _state(strategy) -> bytes:
    import pickle

    return pickle.dumps(strategy.__dict__)


@pytest.mark.parametrize("bandit", [False, True])
def test_ask_does_not_change_state(bandit):
    """A strategy that was asked many times is indistinguishable from one never asked:
    same state, same next proposals, same responses to the same tells."""
    def make():
        strategy = Strategy(config.build({"seed": 0}), mate_operators=frozenset({"crossover"}),
                            bandit=bandit, arms={"perturb": 0.5, "crossover": 0.2, "structural": 0.3})
        strategy.seed("p0", 1.0, {})
        for seq in range(1, 6):
            strategy.tell(strategy.ask(seq), Outcome(f"p{seq}", float(seq % 3), {}))
        return strategy

    asked, fresh = make(), make()
    before = _state(asked)
    for seq in range(6, 40):
        asked.ask(seq)
    assert _state(asked) == before == _state(fresh)
    for seq in range(6, 12):
        a, b = asked.ask(seq), fresh.ask(seq)
        assert a == b
        asked.tell(a, Outcome(f"q{seq}", float(seq), {}))
        fresh.tell(b, Outcome(f"q{seq}", float(seq), {}))
    assert _state(asked) == _state(fresh)


def test_tell_tracks_best_and_patience():
    strategy, _ = _run(0, steps=20)
    assert strategy.best_score == 6.0
    assert strategy.since_improvement == 20 - 6
    assert strategy.told == 20


def test_minimize_flips_fitness():
    strategy = Strategy(config.build({"direction": "minimize"}))
    strategy.seed("p0", 5.0, {})
    told = strategy.tell(strategy.ask(1), Outcome("p1", 3.0, {}))
    assert told.new_best and strategy.best_id == "p1"
    told = strategy.tell(strategy.ask(2), Outcome("p2", 4.0, {}))
    assert not told.new_best


def test_crossover_not_asked_without_a_mate():
    strategy = Strategy(config.build({"operators": {"crossover": {"weight": 100.0}}}),
                        mate_operators=frozenset({"crossover"}))
    strategy.seed("p0", 1.0, {})
    assert all(strategy.ask(seq).operator != "crossover" for seq in range(1, 30))


def test_islands_round_robin_and_migration():
    strategy, asked = _run(0, steps=10, islands={"count": 2, "migration_interval": 5},
                           search={"policy": "islands"})
    assert [p.island for p in asked[:4]] == [1, 0, 1, 0]
    # After migration, island 0 holds island 1's best and vice versa.
    best = {g.best()[0].program_id for g in strategy.policy.islands.grids}
    assert len(best) == 1


def test_failed_outcome_counts_as_a_child_but_not_an_elite():
    strategy = Strategy(config.build({"search": {"policy": "islands"}}))
    strategy.seed("p0", 1.0, {})
    proposal = strategy.ask(1)
    strategy.tell(proposal, Outcome(None, None))
    assert strategy.children["p0"] == 1
    assert len(strategy.policy.islands.grids[0]) == 1


def test_reseeded_draws_depend_only_on_their_key():
    """The re-seeded generator gives the same draws for a key whatever was drawn before,
    and other draws for another seed, candidate or stream."""
    from cambrian.strategy import Reseeded

    a, b = Reseeded(), Reseeded()
    first = a.at(7, 100, 0).random(4).tolist()
    b.at(7, 99, 0).random(50)
    assert b.at(7, 100, 0).random(4).tolist() == first
    others = [a.at(8, 100, 0).random(4).tolist(), a.at(7, 101, 0).random(4).tolist(), a.at(7, 100, 1).random(4).tolist()]
    assert all(o != first for o in others)


def test_reseeded_draws_are_numpys_bit_for_bit():
    """random() and integers(n) computed in Python give numpy's PCG64 draws exactly, in any
    mix, and numpy takes over from the same state for any other draw."""
    import random

    from cambrian.strategy import Reseeded

    ours, numpys = Reseeded(), Reseeded()
    pick = random.Random(1)
    for _ in range(3000):
        key = (pick.randrange(100), pick.randrange(10**6), pick.randrange(3))
        a, b = ours.at(*key), numpys.at(*key).numpy()
        for _ in range(pick.randrange(8)):
            if pick.random() < 0.5:
                assert a.random() == b.random()
            else:
                n = pick.choice([1, 2, 3, 7, 40, 100, 2**31 + 5, 2**32, pick.randrange(1, 10**6)])
                x, y = a.integers(n), b.integers(n)
                assert (x, type(x)) == (y, type(y))
        assert a.random(3).tolist() == b.random(3).tolist()
        assert a.integers(0, 10, size=4).tolist() == b.integers(0, 10, size=4).tolist()
