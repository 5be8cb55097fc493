"""SVG plots: pure functions of the run view's data; every text from a run is escaped."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from cambrian import plots

HOSTILE = "<script>alert('x')</script>&"


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # well-formed XML, or this raises


def test_ticks_are_round_and_cover_the_range():
    assert plots.ticks(0, 1, 5) == [0, 0.2, 0.4, 0.6, 0.8, 1.0]
    t = plots.ticks(0.7509, 0.9937, 5)
    assert t[0] >= 0.7509 and t[-1] <= 0.9937 and len(t) >= 3
    assert plots.ticks(3, 3) == [3]


def test_viridis_ends():
    assert plots.viridis(0) == "#440154" and plots.viridis(1) == "#fde725"
    assert plots.viridis(float("nan")) == "#440154" and plots.viridis(7) == "#fde725"


def test_plots_escape_what_comes_from_a_run():
    tree = {"nodes": [
        {"id": "a", "seq": 0, "parent_id": None, "operator": "initial", "model": None, "island": 0,
         "generation": 0, "status": "ok", "score": 1.0, "depth": 0, "row": 0.0},
        {"id": "b", "seq": 1, "parent_id": "a", "operator": HOSTILE, "model": HOSTILE, "island": 0,
         "generation": 1, "status": "ok", "score": 2.0, "depth": 1, "row": 0.0}],
        "best_path": ["a", "b"], "rows": 1, "top": ["b"]}
    svg = plots.tree_plot(tree)
    parse(svg)
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    bars = plots.bar_plot([(HOSTILE, 3)])
    parse(bars)
    assert "<script>" not in bars
    grid = {"axes": [{"name": HOSTILE, "bins": 3, "min": 0, "max": 1}], "cells": [{"cell": [1], "best": 1.0,
                                                                                     "id": "b", "count": 2}]}
    parse(plots.grid_plot(grid, label=HOSTILE))


def test_score_plot_steps_and_empty():
    curve = {"overall": [[0, 0.0, 1.0], [5, 2.0, 2.0]], "islands": {"0": [[0, 0.0, 1.0]], "1": [[0, 0.0, 1.0],
             [5, 2.0, 2.0]]}, "sample": [[0, 0.0, 1.0, 0], [3, 1.0, 0.5, 1], [5, 2.0, 2.0, 1]], "last_seq": 9,
             "last_t": 4.0, "best": 2.0, "initial": 1.0, "maximize": True, "valid": 3}
    root = parse(plots.score_plot(curve, objective=HOSTILE))
    paths = [e for e in root.iter() if e.tag.endswith("path")]
    assert len(paths) == 3  # best overall + one per island
    assert "no valid program yet" in plots.score_plot({"overall": []})
    assert "no MAP-Elites features" in plots.grid_plot({"axes": []})


def test_scores_below_the_axis_are_marked_not_drawn_as_real():
    sample = [[k, float(k), 1.0 + k / 100, 0] for k in range(100)] + [[50, 50.0, -1e6, 1], [60, 60.0, -5.0, 0]]
    curve = {"overall": [[0, 0.0, 1.0], [99, 99.0, 1.99]], "islands": {"0": [[0, 0.0, 1.0], [99, 99.0, 1.99]]},
             "sample": sample, "last_seq": 99, "last_t": 99.0, "best": 1.99, "initial": 1.0, "maximize": True}
    root = parse(plots.score_plot(curve))
    marks = [e for e in root.iter() if e.tag.endswith("polygon") and e.get("class") == "clipped"]
    assert len(marks) == 2 and all("below the axis" in "".join(m.itertext()) for m in marks)
    note = [e for e in root.iter() if e.get("class") == "clipped-note"]
    assert len(note) == 1 and "2 below axis" in "".join(note[0].itertext())
    dots = [e for e in root.iter() if e.tag.endswith("circle") and e.get("r") == "1.8"]
    assert len(dots) == 100  # the real ones only
    curve["sample"] = sample[:100]
    assert "clipped" not in plots.score_plot(curve)


def test_the_best_programs_label_is_clear_of_its_children(tmp_path):
    import re

    from cambrian.program import Program, program_id
    from cambrian.runview import RunView
    from cambrian.store import NEW, Attempt, Store

    store = Store.create(tmp_path / Store.FILE, {"problem": "p", "config": {"direction": "maximize"}})
    # A deep chain up to the best (generations close together), then its single child and a chain below it.
    chain = [k / 100 for k in range(30)] + [0.9, 0.8, 0.85, 0.7]
    parent = None
    for seq, score in enumerate(chain):
        code = f"x = {seq}\n"
        pid = program_id(code)
        store.record(Attempt(seq, 0, parent, (), "perturb" if seq else "initial", pid, NEW),
                     Program(pid, code, parent, "perturb" if seq else "initial", seq, 0, "ok", score=score,
                             metrics={"combined_score": score}, seq=seq))
        parent = pid
    store.close()
    svg = plots.tree_plot(RunView(tmp_path).tree(30))
    circles = [(float(x), float(y)) for x, y in re.findall(r"<circle class='node'[^>]* cx='([\d.]+)' cy='([\d.]+)'", svg)]
    labels = re.findall(r"<text x='([\d.]+)' y='([\d.]+)' fill='#333'>([^<]+)</text>", svg)
    assert len(circles) == len(chain) and labels
    for x, y, text in labels:
        x, y = float(x), float(y)
        right = x + 6.5 * len(text)
        hit = [(cx, cy) for cx, cy in circles if x - 4 <= cx <= right + 4 and y - 14 <= cy <= y + 4]
        assert not hit, (text, hit)
