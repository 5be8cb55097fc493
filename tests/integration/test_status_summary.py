"""`cambrian status` answers from a running fold (summary.py): the same numbers as
counting every row, whether the fold is computed from the start, saved part-way by a
run, or saved and then followed by more candidates."""

from __future__ import annotations

import json
import shutil

import pytest

from cambrian import summary
from cambrian.contributions import from_store
from cambrian.report import FailureGroup, archive_summary, status
from cambrian.runview import RunView
from cambrian.stats import failure_kind
from cambrian.store import Store


def counted(store: Store) -> dict:
    """Status's numbers, counted over every row with SQL (the way status did before the fold)."""
    maximize = (store.meta("config") or {}).get("direction", "maximize") == "maximize"
    groups: dict[str, list] = {}
    for st, reason, example in store.rows(
            "SELECT p.status, p.reason, p.id FROM attempts a JOIN programs p ON p.id = a.program_id"
            " WHERE a.seq > 0 AND a.outcome = 'new' AND p.status != 'ok'"
            " UNION ALL SELECT 'no candidate', reason, 'candidate ' || seq || ' (' || operator || ')'"
            " FROM attempts WHERE outcome = 'failed' ORDER BY 3"):
        groups.setdefault(failure_kind(st, reason), [0, example, reason])[0] += 1
    valid = [(score, {**json.loads(metrics), "code_length": float(length)}) for score, metrics, length in store.rows(
        "SELECT score, metrics, length(code) FROM programs WHERE status = 'ok' AND score IS NOT NULL")]
    view = RunView(store.path)
    try:
        arms = [(a["arm"], a["candidates"], a["valid"], a["improved"]) for a in view.arms()]
    finally:
        view.close()
    return {
        "candidates": store.scalar("SELECT COUNT(*) FROM attempts WHERE seq > 0"),
        "evaluated": store.scalar("SELECT COUNT(*) FROM attempts WHERE seq > 0 AND outcome = 'new' AND"
                                  " program_id IN (SELECT id FROM programs WHERE status != 'rejected')"),
        "valid": store.scalar("SELECT COUNT(*) FROM attempts a JOIN programs p ON p.id = a.program_id"
                              " WHERE a.seq > 0 AND a.outcome = 'new' AND p.status = 'ok'"),
        "duplicates": store.scalar("SELECT COUNT(*) FROM attempts WHERE outcome = 'duplicate'"),
        "no_candidate": store.scalar("SELECT COUNT(*) FROM attempts WHERE outcome = 'failed'"),
        "builtin": store.scalar("SELECT COUNT(*) FROM attempts WHERE seq > 0 AND operator NOT LIKE 'llm:%'"
                                 " AND operator != 'seed'"),
        "islands": store.scalar("SELECT COUNT(DISTINCT island) FROM attempts WHERE seq > 0"),
        "statuses": dict(store.rows("SELECT status, COUNT(*) FROM programs WHERE seq > 0 GROUP BY status")),
        "calls": store.calls_sent(),
        "spent": round(store.spent(), 9),
        "operators": arms,
        "failures": [FailureGroup(k, n, e, r) for k, (n, e, r) in sorted(groups.items(), key=lambda i: (-i[1][0], i[0]))],
        "archive": archive_summary(valid, ((store.meta("config") or {}).get("archive") or {}).get("features") or [],
                                   maximize=maximize),
        "contributions": from_store(store, maximize=maximize),
    }


def shown(store: Store) -> dict:
    st = status(store)
    return {
        "candidates": st.candidates, "evaluated": st.evaluated, "valid": st.valid, "duplicates": st.duplicates,
        "no_candidate": st.no_candidate, "builtin": st.builtin, "islands": st.islands, "statuses": st.statuses,
        "calls": st.calls, "spent": round(st.spent, 9),
        "operators": [(r.operator, r.candidates, r.valid, r.improved) for r in st.operators],
        "failures": st.failures, "archive": (st.cells, st.total_cells, pytest.approx(st.qd_score)),
        "contributions": (list(st.by_island), list(st.by_model)),
    }


@pytest.mark.parametrize("run", ["toy_run", "big_run"])
def test_status_from_the_fold_counts_what_every_row_counts(run, request, tmp_path):
    source = request.getfixturevalue(run)
    copy = tmp_path / "run"
    shutil.copytree(source, copy)
    store = Store.open(copy)
    try:
        store.set_meta(summary.KEY, None)  # folded from the start
        expected = counted(store)
        assert expected["candidates"] > 0 and expected["failures"] and expected["operators"]
        assert shown(store) == expected
        last = store.scalar("SELECT MAX(seq) FROM attempts")
        for upto in (last // 3, 2 * last // 3, last):  # saved part-way (as a run does), then the rest
            summary.save(store, upto)
            assert store.meta(summary.KEY)["seq"] <= upto
            assert shown(store) == expected, upto
        summary.save(store, last // 2)  # a session resumed from an earlier snapshot: the fold stays
        assert store.meta(summary.KEY)["seq"] == store.scalar("SELECT MAX(seq) FROM attempts WHERE seq <= ?", last)
        assert shown(store) == expected
    finally:
        store.close()


def test_a_run_saves_the_fold_with_its_snapshots(toy_run):
    store = Store.open(toy_run)
    try:
        saved = store.meta(summary.KEY)
        assert saved is not None and saved["seq"] >= 1, "the run saved no summary"
    finally:
        store.close()


@pytest.mark.parametrize("damage", [
    lambda saved: saved.pop("counts"),
    lambda saved: saved.update(counts=5),
    lambda saved: saved["counts"].pop("valid"),
    lambda saved: saved.update(cells=[]),
])
def test_a_damaged_saved_fold_is_folded_again_from_the_start(damage, toy_run, tmp_path):
    """The fold is derived from the rows: a saved one with this version but missing or
    mistyped parts is ignored (status counts from the rows), not a KeyError traceback."""
    copy = tmp_path / "run"
    shutil.copytree(toy_run, copy)
    store = Store.open(copy)
    try:
        store.set_meta(summary.KEY, None)
        expected = counted(store)
        summary.save(store, store.scalar("SELECT MAX(seq) FROM attempts") // 2)
        saved = store.meta(summary.KEY)
        damage(saved)
        store.set_meta(summary.KEY, saved)
        assert shown(store) == expected
        summary.save(store, store.scalar("SELECT MAX(seq) FROM attempts"))
        assert shown(store) == expected
    finally:
        store.close()
