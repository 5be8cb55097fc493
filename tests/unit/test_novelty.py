from cambrian.novelty import MinHasher, NoveltyIndex, similarity

BASE = "def f(x):\n    # EVOLVE-BLOCK-START\n" + "".join(
    f"    v{i} = {i}.5 * x + {i}\n" for i in range(30)) + "    return v1\n    # EVOLVE-BLOCK-END\n"
OTHER = "def f(x):\n    # EVOLVE-BLOCK-START\n    return sorted(x)[::-1]\n    # EVOLVE-BLOCK-END\n"


def test_signature_is_deterministic_and_region_only():
    h = MinHasher(seed=3)
    assert (h.signature(BASE) == MinHasher(seed=3).signature(BASE)).all()
    assert similarity(h.signature(BASE), h.signature("import os\n" + BASE)) == 1.0


def test_similar_finds_near_copies_only():
    idx = NoveltyIndex()
    idx.add(0, "base", BASE, seq=1)
    near = BASE.replace("v3 = 3.5", "v3 = 3.75")
    hit = idx.similar(0, near, horizon=10, threshold=0.8)
    assert hit is not None and hit[0] == "base" and hit[1] >= 0.8
    assert idx.similar(0, OTHER, horizon=10, threshold=0.5) is None


def test_horizon_and_islands_isolate():
    idx = NoveltyIndex()
    idx.add(0, "base", BASE, seq=7)
    assert idx.similar(0, BASE, horizon=6, threshold=0.9) is None  # told later than the horizon
    assert idx.similar(1, BASE, horizon=99, threshold=0.9) is None  # another island
    assert idx.similar(0, BASE, horizon=7, threshold=0.9) == ("base", 1.0)
