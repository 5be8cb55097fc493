"""The default search policy: exploit one island while it improves, split when it stalls."""

from cambrian import config
from cambrian.archive import AddStatus
from cambrian.strategy import Outcome, Strategy


def _strategy(**search) -> Strategy:
    strategy = Strategy(config.build({"seed": 3, "search": {"min_patience": 5, "patience": 3.0, **search}}))
    strategy.seed("p0", 1.0, {})
    return strategy


def _tell(strategy, seq, score, pid=None):
    proposal = strategy.ask(seq)
    strategy.tell(proposal, Outcome(pid or f"p{seq}", score))
    return proposal


def test_one_island_exploited_while_it_improves():
    strategy = _strategy()
    for seq in range(1, 30):
        proposal = _tell(strategy, seq, 1.0 + seq)  # every child improves
        assert proposal.island == 0 and proposal.parent_id == f"p{seq - 1}"
        assert proposal.inspiration_ids == ()
    assert strategy.island_count == 1


def test_a_stalled_leader_splits_off_an_island_from_the_initial_program():
    strategy = _strategy()
    for seq in range(1, 4):
        _tell(strategy, seq, 1.0 + seq)
    seq = 4
    while strategy.island_count == 1:
        _tell(strategy, seq, 0.5)  # worse children: the leader stalls
        seq += 1
    assert seq - 4 == 5  # min_patience (the mean gap, 1, times 3 is less)
    asked = [strategy.ask(s) for s in range(seq, seq + 40)]
    explorer = [p for p in asked if p.island == 1]
    leader = [p for p in asked if p.island == 0]
    assert explorer and leader  # the leader keeps a share while stalled
    assert all(p.parent_id == "p0" for p in explorer)  # the new island starts from the initial program
    # The new island is far below where the leader stood when it opened: not shown to the leader.
    assert all(p.inspiration_ids == () for p in leader)
    # A young island that has not stalled is kept apart: no inspirations.
    assert all(p.inspiration_ids == () for p in explorer)


def test_the_leader_is_shown_an_island_once_it_has_caught_up():
    strategy = _strategy()
    for seq in range(1, 4):
        _tell(strategy, seq, 1.0 + seq)  # the leader reaches 4.0
    seq = 4
    while strategy.island_count == 1:
        _tell(strategy, seq, 0.5)
        seq += 1
    while True:  # the new island climbs to where the leader stood (4.0), not past it
        proposal = strategy.ask(seq)
        strategy.tell(proposal, Outcome(f"p{seq}", 4.0 if proposal.island == 1 else 0.5))
        seq += 1
        if proposal.island == 1:
            break
    rival = f"p{seq - 1}"
    leader = [p for p in (strategy.ask(s) for s in range(seq, seq + 40)) if p.island == 0]
    assert leader and all(p.inspiration_ids == (rival,) and p.inspiration_islands == (1,) for p in leader)


def test_the_leader_gets_every_call_again_once_it_improves():
    strategy = _strategy()
    seq = 1
    while strategy.island_count == 1:
        _tell(strategy, seq, 0.5)
        seq += 1
    while True:
        proposal = strategy.ask(seq)
        if proposal.island == 0:
            strategy.tell(proposal, Outcome(f"p{seq}", 9.0))
            break
        strategy.tell(proposal, Outcome(None, None))
        seq += 1
    assert all(strategy.ask(s).island == 0 for s in range(seq + 1, seq + 30))


def test_explorers_that_stay_stuck_are_restarted_past_the_island_cap():
    strategy = _strategy(max_islands=2)
    for seq in range(1, 300):
        _tell(strategy, seq, 0.5)
    assert strategy.island_count == 2
    assert strategy.policy.resets > 0
    no_resets = _strategy(max_islands=2, resets=False)
    for seq in range(1, 300):
        _tell(no_resets, seq, 0.5)
    assert no_resets.policy.resets == 0


def test_a_reset_takes_the_explorer_stuck_longest_the_first_of_equals():
    """Islands taking turns (search.adapt off) are often equally stuck: which one a reset
    takes must not depend on how the choice is computed."""
    policy = _strategy(adapt=False, max_islands=4).policy
    assert policy.island_count == 4
    cases = [(0, [5, 3, 3, 2], 1), (2, [3, 2, 9, 3], 0), (1, [1.5, 9, 2.5, 2.5], 2), (3, [2, 2, 2, 9], 0),
             (0, [9, 1.9, 1.5, 1.2], None), (0, [9, 0.5, 5, 5], None)]  # under twice its patience; one improves
    for leader, stuck, reset in cases:
        policy.leader = leader
        for isle, value in zip(policy.islands, stuck):
            isle.stuck = value
        before = list(policy.islands)
        policy._split_or_reset()
        assert [i for i, isle in enumerate(policy.islands) if isle is not before[i]] == ([] if reset is None
                                                                                            else [reset])


def test_an_overtaking_explorer_becomes_the_leader():
    strategy = _strategy()
    seq = 1
    while strategy.island_count == 1:
        _tell(strategy, seq, 0.5)
        seq += 1
    while True:
        proposal = strategy.ask(seq)
        strategy.tell(proposal, Outcome(f"p{seq}", 5.0 if proposal.island == 1 else 0.5))
        seq += 1
        if proposal.island == 1:
            break
    assert strategy.policy.leader == 1 and strategy.best_id == f"p{seq - 1}"


def test_an_equal_scoring_child_becomes_the_parent_drift():
    strategy = _strategy()
    _tell(strategy, 1, 1.0)
    assert strategy.ask(2).parent_id == "p1"
    off = Strategy(config.build({"archive": {"replace_equal": False}}))
    off.seed("p0", 1.0, {})
    off.tell(off.ask(1), Outcome("p1", 1.0))
    assert off.ask(2).parent_id == "p0"


def test_with_drift_evidence_a_rare_tie_keeps_the_best_and_a_plateau_drifts():
    """drift_evidence 0.2: an equal-scoring child takes the best's place only once a fifth of
    the island's children have scored equal to its best."""
    strategy = _strategy(drift_evidence=0.2)
    for seq in range(1, 9):
        _tell(strategy, seq, 1.0 + seq)          # eight improvements: p8 is the best (9.0)
    _tell(strategy, 9, 9.0)                      # one tie in nine children: rare, no drift
    assert strategy.ask(10).parent_id == "p8"
    _tell(strategy, 10, 9.0)                     # two in ten: a plateau, drift
    assert strategy.ask(11).parent_id == "p10"


def test_drift_evidence_counts_failed_children_and_ties_at_an_earlier_best():
    """The share is of all the island's children (failed ones too), and ties at an earlier
    best still count once the best has improved (as the README and config say)."""
    failed = _strategy(drift_evidence=0.5)
    for seq in (1, 2):
        failed.tell(failed.ask(seq), Outcome(None, None))
    _tell(failed, 3, 1.0)                        # one tie in three children: below half
    assert failed.ask(4).parent_id == "p0"
    earlier = _strategy(drift_evidence=0.5)
    _tell(earlier, 1, 1.0)                       # a tie at the initial best: one in one, drift
    _tell(earlier, 2, 2.0)                       # the best improves: the count is kept
    _tell(earlier, 3, 2.0)                       # two ties in three children
    assert earlier.ask(4).parent_id == "p3"


def test_a_creep_below_min_gain_is_not_progress_but_becomes_the_best():
    """min_gain 0.001: gains of 0.0001 on a best of 1.0 move the island's best but not its
    stall clock, so the island stalls and a second opens; with min_gain 0 it never stalls."""
    for min_gain, opens in ((0.001, True), (0.0, False)):
        strategy = _strategy(min_gain=min_gain)
        for seq in range(1, 12):
            _tell(strategy, seq, 1.0 + 0.0001 * seq)
        assert strategy.best_id == "p11"
        assert (strategy.island_count == 2) is opens, min_gain
    strategy = _strategy(min_gain=0.001)
    for seq in range(1, 12):
        _tell(strategy, seq, 1.0 + 0.01 * seq)   # a gain of 1% each time: progress
    assert strategy.island_count == 1


def test_min_gain_is_a_share_of_the_best_s_magnitude_for_minimized_and_negative_scores():
    """The policy sees fitness with a minimized score's sign flipped, so its best is negative
    there: min_gain is a share of the best's magnitude, and an error that shrinks by 0.01% a
    step (or a negative score that rises by as little) is a creep, as on positive scores; 1% a
    step is progress."""
    for direction, start, sign in (("minimize", 1.0, -1), ("maximize", -1.0, 1)):
        for step, opens in ((0.0001, True), (0.01, False)):
            strategy = Strategy(config.build({"seed": 3, "direction": direction,
                                              "search": {"min_patience": 5, "patience": 3.0}}))
            strategy.seed("p0", start, {})
            for seq in range(1, 12):
                _tell(strategy, seq, start + sign * step * seq)
            assert strategy.best_id == "p11"
            assert (strategy.island_count == 2) is opens, (direction, step)


def test_without_adaptation_every_island_is_open_and_they_take_turns():
    strategy = _strategy(adapt=False, max_islands=3)
    assert strategy.island_count == 3
    assert [strategy.ask(s).island for s in range(1, 7)] == [1, 2, 0, 1, 2, 0]


def test_without_adaptation_stuck_islands_are_still_restarted():
    """search.resets applies to islands taking turns too (search.adapt off); with resets off
    they never restart."""
    for resets in (True, False):
        strategy = _strategy(adapt=False, max_islands=3, resets=resets)
        for seq in range(1, 120):
            _tell(strategy, seq, 0.5)   # worse than the initial program: every island stuck
        assert (strategy.policy.resets > 0) is resets and strategy.island_count == 3


def test_stalled_island_draws_parents_uniformly_over_map_elites_cells():
    cfg = config.build({"search": {"min_patience": 2}, "archive": {"features": [
        {"name": "x", "bins": 4, "min": 0, "max": 4}]}})
    strategy = Strategy(cfg)
    strategy.seed("p0", 1.0, {"x": 0.5})
    for seq, x in zip(range(1, 5), (1.5, 2.5, 3.5, 0.2)):
        strategy.tell(strategy.ask(seq), Outcome(f"p{seq}", 0.5, {"x": x}))
    grid = strategy.policy.islands[0].grid
    assert len(grid.occupied) == 4
    parents = {strategy.ask(s).parent_id for s in range(5, 200)}
    assert {"p1", "p2", "p3"} <= parents  # each occupied cell's best, not only the island's best


def test_replay_rebuilds_the_same_islands_and_proposals():
    def run():
        strategy = _strategy()
        asked = []
        for seq in range(1, 200):
            proposal = strategy.ask(seq)
            asked.append(proposal)
            strategy.tell(proposal, Outcome(f"p{seq}", float((seq * 37) % 101) / 10 if seq % 3 else None))
        return asked, strategy.island_count, strategy.policy.resets

    assert run() == run()


def test_tell_reports_what_the_archive_did():
    strategy = _strategy()
    policy = strategy.policy
    assert policy.tell(0, "a", 2.0, {}) == (AddStatus.ADDED, True)
    assert policy.tell(0, "b", 1.5, {}) == (AddStatus.ADDED, False)
    assert policy.tell(0, None, None, {}) == (None, False)


def test_coverage_and_qd_score_of_a_run():
    from cambrian.report import archive_summary

    features = [{"name": "x", "bins": 4, "min": 0, "max": 4}]
    rows = [(1.0, {"x": 0.5}), (3.0, {"x": 0.7}), (2.0, {"x": 2.5}), (0.5, {"x": 9})]
    assert archive_summary(rows, features, maximize=True) == (3, 4, (3.0 - 0.5) + (2.0 - 0.5) + 0.0)
    assert archive_summary(rows, features, maximize=False) == (3, 4, (3.0 - 1.0) + (3.0 - 2.0) + (3.0 - 0.5))
    assert archive_summary([], features, maximize=True) == (0, 4, 0.0)
    assert archive_summary(rows, [], maximize=True) == (1, 1, 2.5)


def test_a_snapshot_of_several_islands_continues_as_the_full_replay():
    """A resume from a snapshot (snapshot.dump / load) asks what the strategy it was taken
    from asks: islands, their bars (a rival or not) and the leader survive the round trip."""
    from cambrian import snapshot
    from cambrian.stats import Stats

    def tell_until(strategy, start, stop):
        asked = []
        for seq in range(start, stop):
            proposal = strategy.ask(seq)
            asked.append(proposal)
            strategy.tell(proposal, Outcome(f"p{seq}", 4.0 if proposal.island and seq % 7 == 0
                                            else 1.0 + seq / 100 if seq < 5 else 0.5))
        return asked

    original = _strategy(max_islands=3)
    tell_until(original, 1, 120)
    bars = [isle.bar for isle in original.policy.islands]
    assert original.island_count >= 2 and len(set(bars)) >= 2  # islands opened at different bars
    blob = snapshot.dump(snapshot.State(119, original, Stats(), "", 0), original.config)
    restored = snapshot.load(blob, original.config).strategy
    assert [isle.bar for isle in restored.policy.islands] == bars
    assert tell_until(restored, 120, 220) == tell_until(original, 120, 220)


def test_the_islands_shown_are_ranked_from_their_currents_after_every_open_reset_and_tell():
    """The ranking of the islands (best current first, ties by index) is kept in the state,
    not sorted per ask: after every tell, island opened and island restarted it must be the
    one sorted from scratch, and every prompt shows the others' bests in that order."""
    strategy = Strategy(config.build({"seed": 3, "islands": {"count": 4},
                                      "search": {"min_patience": 5, "patience": 2.0}}))
    strategy.seed("p0", 1.0, {})
    policy = strategy.policy
    shown = 0
    for seq in range(1, 800):
        proposal = strategy.ask(seq)
        islands = policy.islands
        leading = proposal.island == policy.leader
        others = sorted((-isle.current.fitness, i) for i, isle in enumerate(islands) if i != proposal.island
                        and (not leading or isle.current.fitness >= isle.bar))
        expected: list[tuple[str, int]] = []
        for _, i in others:
            pid = islands[i].current.program_id
            if pid != proposal.parent_id and pid not in [e[0] for e in expected]:
                expected.append((pid, i))
        expected = expected[:strategy.config.selection.inspirations]
        if proposal.inspiration_ids:
            assert list(zip(proposal.inspiration_ids, proposal.inspiration_islands)) == expected, seq
            shown += 1
        score = 1.0 + (seq * 7919 % 997) / 997 if seq % 9 else 0.5
        strategy.tell(proposal, Outcome(f"p{seq}", score))
        assert policy.ranked == sorted(range(len(islands)), key=lambda i: (-islands[i].current.fitness, i)), seq
    assert strategy.island_count == 4 and policy.resets > 0 and shown > 100
