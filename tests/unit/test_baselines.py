"""The baseline policies behind ``search.policy``: each does what its name says."""

import pytest

from cambrian import config
from cambrian.strategy import Outcome, Strategy


def _strategy(policy: str, **cfg) -> Strategy:
    strategy = Strategy(config.build({"search": {"policy": policy}, **cfg}))
    strategy.seed("p0", 1.0, {})
    return strategy


def test_greedy_always_changes_the_best_and_keeps_only_strict_improvements():
    strategy = _strategy("greedy")
    scores = {1: 2.0, 2: 1.5, 3: 2.0, 4: 3.0}
    for seq, score in scores.items():
        proposal = strategy.ask(seq)
        assert proposal.parent_id == ("p0" if seq == 1 else "p1" if seq < 5 else "p4")
        assert proposal.inspiration_ids == ()
        strategy.tell(proposal, Outcome(f"p{seq}", score))
    assert strategy.ask(5).parent_id == "p4"


def test_lineages_take_turns_and_see_each_other_late():
    strategy = _strategy("lineages", budget=12, search={"policy": "lineages", "lineages": 3, "late_share": 0.5})
    for seq in range(1, 7):
        proposal = strategy.ask(seq)
        assert proposal.island == seq % 3
        assert proposal.inspiration_ids == ()
        strategy.tell(proposal, Outcome(f"p{seq}", 1.0 + seq))  # every child improves its lineage
    late = strategy.ask(7)
    assert late.island == 1 and late.parent_id == "p4"
    assert late.inspiration_ids == ("p6", "p5") and late.inspiration_islands == (0, 2)


def test_best_of_n_always_starts_from_the_initial_program():
    strategy = _strategy("best_of_n")
    for seq in range(1, 6):
        proposal = strategy.ask(seq)
        assert proposal.parent_id == "p0"
        strategy.tell(proposal, Outcome(f"p{seq}", float(seq)))
    assert strategy.best_id == "p5"


def test_random_parent_draws_from_every_valid_program():
    strategy = _strategy("random_parent")
    parents = set()
    for seq in range(1, 80):
        proposal = strategy.ask(seq)
        parents.add(proposal.parent_id)
        # Worse children are kept as parents too; failures are not.
        strategy.tell(proposal, Outcome(f"p{seq}" if seq % 2 else None, 0.5 if seq % 2 else None))
    assert "p0" in parents and len(parents) > 10
    assert all(p == "p0" or int(p[1:]) % 2 == 1 for p in parents)


@pytest.mark.parametrize("policy", ["islands", "greedy", "lineages", "best_of_n", "random_parent"])
def test_replaying_tells_rebuilds_the_same_proposals(policy):
    def run():
        strategy = _strategy(policy, seed=7, budget=30)
        asked = []
        for seq in range(1, 31):
            proposal = strategy.ask(seq)
            asked.append(proposal)
            strategy.tell(proposal, Outcome(f"p{seq}", float((seq * 7) % 11)))
        return asked

    assert run() == run()
