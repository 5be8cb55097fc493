from cambrian.llm import CallBudget


def test_no_request_past_the_limit_and_reservations_hold_room():
    calls = CallBudget(3, used=1)
    calls.reserve(10)
    calls.reserve(11)
    assert calls.exhausted  # 1 sent + 2 reserved: no room for another proposal
    assert not calls.take(12)  # an unreserved request (a retry, another candidate) is refused
    assert calls.take(10) and calls.take(11)
    assert calls.used == 3 and not calls.take(10)


def test_release_frees_an_unused_reservation():
    calls = CallBudget(2)
    calls.reserve(1)
    calls.reserve(2)
    calls.release(2)  # that proposal ended without a request
    assert not calls.exhausted and calls.take(5) and calls.take(1) and calls.used == 2


def test_without_a_limit_it_only_counts():
    calls = CallBudget(None, used=7)
    calls.reserve(1)
    assert not calls.exhausted and all(calls.take(s) for s in range(100)) and calls.used == 107
