import numpy as np
import pytest

from cambrian.archive import selection

F = np.array([1.0, 3.0, 2.0, 0.5])


def test_power_law_prefers_rank_and_alpha_zero_is_uniform():
    p = selection.power_law_probs(F, alpha=1.0)
    assert np.argmax(p) == 1 and np.argmin(p) == 3
    assert p[1] == pytest.approx(2 * p[2])  # rank 1 vs rank 2
    assert np.allclose(selection.power_law_probs(F, alpha=0.0), 0.25)


def test_weighted_penalizes_children():
    base = selection.weighted_probs(F, np.zeros(4), lam=10.0)
    busy = selection.weighted_probs(F, np.array([0, 9, 0, 0.0]), lam=10.0)
    assert np.argmax(base) == 1
    assert busy[1] < base[1]
    assert np.isclose(busy.sum(), 1.0)


def test_weighted_handles_equal_fitness():
    p = selection.weighted_probs(np.ones(3), np.zeros(3), lam=10.0)
    assert np.allclose(p, 1 / 3)


def test_boltzmann_temperature_sharpens():
    hot = selection.boltzmann_probs(F, temperature=10.0)
    cold = selection.boltzmann_probs(F, temperature=0.01)
    assert cold[1] > 0.99
    assert hot.max() - hot.min() < 0.1


def test_tournament_returns_best_entrant():
    rng = np.random.default_rng(0)
    picks = [selection.tournament(F, rng, size=4) for _ in range(200)]
    assert max(set(picks), key=picks.count) == 1
    assert selection.tournament(F, rng, size=1000) == 1


@pytest.mark.parametrize("method", ["power_law", "weighted", "tournament", "boltzmann"])
def test_select_is_seeded(method):
    a = [selection.select(method, F, np.zeros(4), np.random.default_rng(7)) for _ in range(5)]
    b = [selection.select(method, F, np.zeros(4), np.random.default_rng(7)) for _ in range(5)]
    assert a == b and all(0 <= i < 4 for i in a)


def test_select_rejects_empty_and_unknown():
    with pytest.raises(ValueError):
        selection.select("power_law", np.array([]), np.array([]), np.random.default_rng(0))
    with pytest.raises(ValueError, match="unknown"):
        selection.select("roulette", F, np.zeros(4), np.random.default_rng(0))
