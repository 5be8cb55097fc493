import sqlite3

import pytest

from cambrian.errors import StoreError
from cambrian.program import Program
from cambrian.store import FAILED, NEW, Attempt, Store


def _store(tmp_path):
    return Store.create(tmp_path / "cambrian.db", {"problem": "/x", "config": {"budget": 3}})


def test_record_and_read_back(tmp_path):
    store = _store(tmp_path)
    p0 = Program("a" * 16, "code0", None, "initial", 0, 0, "ok", score=1.0, metrics={"m": 1.0})
    store.record(Attempt(0, 0, None, (), "initial", p0.id, NEW), p0)
    p1 = Program("b" * 16, "code1", p0.id, "perturb", 1, 0, "ok", score=2.0, seq=1)
    store.record(Attempt(1, 0, p0.id, (p0.id,), "perturb", p1.id, NEW), p1)
    store.record(Attempt(2, 0, p1.id, (), "structural", None, FAILED, "no site"))
    assert store.program(p1.id).parent_id == p0.id
    assert [p.id for p in store.lineage(p1.id)] == [p1.id, p0.id]
    assert [a.seq for a in store.attempts()] == [0, 1, 2]
    assert store.attempt(1).inspirations == (p0.id,)
    assert store.attempt(2).reason == "no site"
    assert store.top(1)[0].id == p1.id
    assert store.top(1, maximize=False)[0].id == p0.id
    assert store.meta("config") == {"budget": 3}


def test_duplicate_program_id_is_refused_atomically(tmp_path):
    store = _store(tmp_path)
    p = Program("a" * 16, "code", None, "initial", 0, 0, "ok", score=1.0)
    store.record(Attempt(0, 0, None, (), "initial", p.id, NEW), p)
    with pytest.raises(sqlite3.IntegrityError):
        store.record(Attempt(1, 0, p.id, (), "x", p.id, NEW), p)
    assert store.attempt(1) is None  # the whole transaction rolled back


def test_reopen_and_refuse_existing(tmp_path):
    _store(tmp_path).close()
    assert Store.open(tmp_path).meta("problem") == "/x"
    with pytest.raises(StoreError, match="already exists"):
        _store(tmp_path)


def test_foreign_and_corrupt_stores_are_refused(tmp_path):
    foreign = tmp_path / "foreign.db"
    sqlite3.connect(foreign).execute("CREATE TABLE t (x)")
    with pytest.raises(StoreError, match="not a Cambrian store"):
        Store.open(foreign)
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(StoreError, match="not a Cambrian store"):
        Store.open(junk)
    with pytest.raises(StoreError, match="no store"):
        Store.open(tmp_path / "missing")
