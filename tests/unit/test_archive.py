from cambrian.archive import AddStatus, Elite, Feature, Grid, Islands


def test_single_cell_is_an_elitist_population():
    grid = Grid([], capacity=2)
    assert grid.add(Elite("a", 1.0), {}) is AddStatus.NEW_CELL
    assert grid.add(Elite("b", 3.0), {}) is AddStatus.ADDED
    assert grid.add(Elite("c", 0.5), {}) is AddStatus.NOT_ADDED
    assert grid.add(Elite("d", 2.0), {}) is AddStatus.IMPROVED
    assert [e.program_id for e in grid.elites()] == ["b", "d"]
    assert "a" not in grid and len(grid) == 2
    assert grid.add(Elite("b", 3.0), {}) is AddStatus.PRESENT


def test_features_bin_and_clip():
    f = Feature("x", bins=4, low=0.0, high=1.0)
    assert [f.bin(v) for v in (-5, 0.0, 0.26, 0.99, 1.0, 7, float("nan"))] == [0, 0, 1, 3, 3, 3, 0]


def test_a_huge_finite_feature_value_goes_to_an_edge_bin():
    # (value - low) / span * bins overflows to infinity: an edge bin, as for any value outside
    f = Feature("x", bins=8, low=0.0, high=0.05)
    assert [f.bin(v) for v in (1e307, -1e307, 1.7e308, -1.7e308)] == [7, 0, 7, 0]
    assert Feature("y", bins=4, low=-1e308, high=1e308).bin(1e308) in range(4)  # the span itself is infinite
    grid = Grid([f], capacity=1)
    assert grid.add(Elite("a", 1.0), {"x": 1e307}) is AddStatus.NEW_CELL


def test_a_grid_cell_is_each_feature_s_bin_and_a_missing_value_its_low_end():
    """Grid.cell_of writes the binning out (once per tell): it must agree with Feature.bin
    everywhere, edges, NaN and infinities included; a missing feature is its low end."""
    x, y = Feature("x", bins=5, low=-3.0, high=7.0), Feature("y", bins=3, low=2.0, high=2.5)
    grid = Grid([x, y], capacity=1)
    values = (-1e308, -4.0, -3.0, -1.0, 0.0, 2.0, 2.2, 2.5, 6.99, 7.0, 9.0, 1e308, float("inf"), float("-inf"),
              float("nan"))
    for a in values:
        for b in values:
            assert grid.cell_of({"x": a, "y": b}) == (x.bin(a), y.bin(b)), (a, b)
    assert grid.cell_of({}) == (x.bin(-3.0), y.bin(2.0)) == (0, 0)
    assert grid.cell_of({"y": 2.4}) == (0, 2) and grid.cell_of({"x": 6.0}) == (4, 0)


def test_map_elites_keeps_one_elite_per_cell():
    grid = Grid([Feature("x", 2, 0, 1), Feature("y", 2, 0, 1)], capacity=1)
    assert grid.add(Elite("a", 1.0), {"x": 0.1, "y": 0.1}) is AddStatus.NEW_CELL
    assert grid.add(Elite("b", 0.5), {"x": 0.9, "y": 0.1}) is AddStatus.NEW_CELL
    assert grid.add(Elite("c", 0.9), {"x": 0.2, "y": 0.2}) is AddStatus.NOT_ADDED
    assert grid.add(Elite("d", 2.0), {"x": 0.2, "y": 0.2}) is AddStatus.IMPROVED
    assert sorted(grid.cells) == [(0, 0), (1, 0)]
    assert grid.best()[0].program_id == "d"


def test_equal_fitness_keeps_the_elder_first():
    grid = Grid([], capacity=3)
    for pid in "abc":
        grid.add(Elite(pid, 1.0), {})
    assert [e.program_id for e in grid.elites()] == ["a", "b", "c"]


def test_ring_migration_copies_best_to_next_island():
    islands = Islands(3, [], capacity=5)
    islands.add(0, Elite("a", 5.0), {})
    islands.add(1, Elite("b", 1.0), {})
    islands.add(2, Elite("c", 2.0), {})
    moved = islands.migrate(1)
    assert moved == [(0, 1, "a"), (1, 2, "b"), (2, 0, "c")]
    assert "a" in islands.grids[1] and "a" not in islands.grids[2]


def test_islands_stay_isolated_without_migration():
    islands = Islands(2, [], capacity=5)
    islands.add(0, Elite("a", 5.0), {})
    assert "a" not in islands.grids[1]
    assert Islands(1, [], 5).migrate(3) == []
