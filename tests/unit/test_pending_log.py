"""The store's pending log (journal.py): what a store recorded is seen by every read of the
same process, reaches other processes at the next fold, and is never lost by a killed
process: the next store opened without a live run folds the log's tail in."""

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from cambrian import journal
from cambrian.errors import StoreError
from cambrian.program import Program
from cambrian.store import FOLD_EVERY, NEW, Attempt, Store


def _program(i: int) -> Program:
    return Program(f"{i:016x}", f"code{i}", None if i == 0 else f"{0:016x}", "x", 1, 0, "ok",
                   score=float(i) / 7, metrics={"combined_score": float(i) / 7}, seq=i)


def _record(store: Store, i: int) -> None:
    p = _program(i)
    store.record(Attempt(i, 0, p.parent_id, (f"{0:016x}",) if i else (), "x", p.id, NEW, "", 0.5, 0.0), p)


def _table(db: Path) -> list[tuple]:
    """What another process sees: attempts joined with their programs, read with plain SQLite."""
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT a.seq, a.program_id, p.code, p.score FROM attempts a"
                            " LEFT JOIN programs p ON p.id = a.program_id ORDER BY a.seq").fetchall()
    finally:
        conn.close()


def _killed(store: Store) -> None:
    """Leave the store as kill -9 would: no fold, no close; the log stays as written."""
    store._journal.close(remove=False)
    store._conn.close()
    if store._file is not None:  # the claim's lock goes with it
        os.close(store._file)


def test_recorded_candidates_are_read_back_at_once_and_reach_others_at_the_fold(tmp_path):
    store = Store.create(tmp_path / "cambrian.db", {}).claim()
    for i in range(3):
        _record(store, i)
    # the same store: the lookups, and any SQL (which folds first)
    assert store.attempt(2) == Attempt(2, 0, _program(2).parent_id, (f"{0:016x}",), "x", _program(2).id, NEW, "",
                                       0.5, 0.0)
    assert store.program(_program(2).id) == _program(2)
    assert _table(tmp_path / "cambrian.db") == []  # another process: not folded yet
    assert store.has_program(_program(1).id)
    assert [p.id for p in store.top(1)] == [_program(2).id]  # SQL through the store folds first
    assert [row[0] for row in _table(tmp_path / "cambrian.db")] == [0, 1, 2]
    _record(store, 3)
    assert store.program(_program(3).id).metrics == {"combined_score": 3 / 7}
    store.fold()  # what the runner does whenever it waits for a result
    assert [row[0] for row in _table(tmp_path / "cambrian.db")] == [0, 1, 2, 3]
    store.close()
    assert not (tmp_path / "cambrian.db-pending").exists()


def test_a_program_looked_up_before_it_was_recorded_is_found_after_the_fold(tmp_path):
    store = Store.create(tmp_path / "cambrian.db", {}).claim()
    _record(store, 0)
    assert store.program(_program(1).id) is None  # not recorded yet: a miss is not remembered
    _record(store, 1)
    assert store.program(_program(1).id) == _program(1)  # pending
    store.fold()
    assert store.program(_program(1).id) == _program(1)  # read from the database, not a remembered miss
    store.close()


def _killed_log(tmp_path: Path, n: int) -> Path:
    """The pending log a run killed after recording candidates 0 to n - 1 left behind."""
    store = Store.create(tmp_path / "cambrian.db", {}).claim()
    for i in range(n):
        _record(store, i)
    _killed(store)
    return tmp_path / "cambrian.db-pending"


def test_a_killed_stores_log_is_folded_in_by_the_next_open_and_a_torn_tail_dropped(tmp_path):
    db = tmp_path / "cambrian.db"
    log = _killed_log(tmp_path, 4)
    whole = log.read_bytes()
    log.write_bytes(whole + whole[len(journal.MAGIC):-3])  # copies of the entries, the last one cut short by the kill
    assert len(journal.read(log)) == 7  # the torn entry is dropped
    assert _table(db) == []
    reopened = Store.open(db)
    assert [row[0] for row in _table(db)] == [0, 1, 2, 3]  # each once: entries already stored are skipped
    assert log.read_bytes() == b""
    assert reopened.program(_program(3).id) == _program(3)
    reopened.close()


def test_a_log_already_folded_when_the_process_was_killed_is_not_applied_twice(tmp_path):
    db = tmp_path / "cambrian.db"
    store = Store.create(db, {}).claim()
    for i in range(3):
        _record(store, i)
    log = db.with_name("cambrian.db-pending")
    written = log.read_bytes()
    store.fold()
    log.write_bytes(written)  # killed after the fold's commit, before the log was emptied
    _killed(store)
    reopened = Store.open(db).claim()
    _record(reopened, 3)
    reopened.close()
    assert [row[0] for row in _table(db)] == [0, 1, 2, 3]


def test_a_failed_write_is_a_one_line_error_and_leaves_no_torn_entry(tmp_path, monkeypatch):
    db = tmp_path / "cambrian.db"
    store = Store.create(db, {}).claim()
    _record(store, 0)
    real = os.write
    monkeypatch.setattr(journal.os, "write", lambda fd, data: real(fd, data[:5]))  # a full disk: a short write
    with pytest.raises(StoreError, match="cannot record candidate 1"):
        _record(store, 1)
    monkeypatch.undo()
    assert store.attempt(1) is None
    _record(store, 2)
    _killed(store)
    assert [entry[1][0] for entry in journal.read(db.with_name("cambrian.db-pending"))] == [0, 2]
    Store.open(db).close()
    assert [row[0] for row in _table(db)] == [0, 2]


def test_a_live_runs_log_is_its_own(tmp_path):
    """A reader opening the store while a run holds it reads the database, a fold behind,
    and leaves the run's log alone."""
    db = tmp_path / "cambrian.db"
    run = Store.create(db, {}).claim()
    _record(run, 0)
    reader = Store.open(db)
    assert reader.attempt(0) is None
    log = db.with_name("cambrian.db-pending")
    assert log.stat().st_size > 0
    run.fold()
    assert reader.attempt(0) is not None
    _record(run, 1)
    reader.close()
    assert log.stat().st_size > 0  # a reader's close leaves the run's log where a kill -9 needs it
    _killed(run)
    Store.open(db).close()
    assert [row[0] for row in _table(db)] == [0, 1]


_WRITER = """
import sys
from pathlib import Path
from cambrian.program import Program
from cambrian.store import NEW, Attempt, Store

store = Store.create(Path(sys.argv[1]), {}).claim()
seq = 0
while True:
    p = Program(f"{seq:016x}", f"code{seq}", None, "x", 0, 0, "ok", score=seq / 3, seq=seq)
    store.record(Attempt(seq, 0, None, (), "x", p.id, NEW), p)
    print(seq, flush=True)  # recorded: what a strategy would now be told
    seq += 1
"""


def test_kill_9_loses_no_recorded_candidate(tmp_path):
    db = tmp_path / "cambrian.db"
    proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(db)], stdout=subprocess.PIPE, text=True)
    told = -1
    try:
        while told < 2 * FOLD_EVERY + FOLD_EVERY // 2:  # two folds done, and a part of the third batch
            line = proc.stdout.readline()
            assert line, "the writer ended early"
            told = int(line)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    told = max([told, *map(int, proc.stdout.read().split())])  # every line printed before the kill
    seen = _table(db)  # before the log is taken up: what readers saw, consistent
    assert all(code is not None for _, _, code, _ in seen)
    assert [row[0] for row in seen] == list(range(len(seen)))
    Store.open(db).close()
    stored = _table(db)
    assert [row[0] for row in stored[:told + 1]] == list(range(told + 1)), "a recorded candidate was lost"
    assert len(stored) - (told + 1) <= 1  # at most the one recorded but not yet printed
    assert all(code == f"code{seq}" and score == seq / 3 for seq, _, code, score in stored)
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()


def _damaged_log(tmp_path: Path, damage) -> Path:
    """A killed store's log of candidates 0-4, then ``damage(bytes) -> bytes`` applied to it."""
    log = _killed_log(tmp_path, 5)
    log.write_bytes(damage(log.read_bytes()))
    return log


def _flip_second_entry(data: bytes) -> bytes:
    at = len(data) // 5 + len(data) // 10  # inside the second of five entries of about equal size
    return data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1:]


@pytest.mark.parametrize("damage", [
    _flip_second_entry,                                    # a damaged entry with whole ones after it
    lambda data: os.urandom(3000),                         # not a pending log at all
    lambda data: data + journal.frame((1, 2, 3)),          # a checked entry of the wrong shape
    lambda data: data + journal.frame((None, (99, 0))),
], ids=["damaged-middle", "foreign", "wrong-shape", "short-row"])
def test_a_damaged_or_foreign_log_is_a_one_line_error_and_is_kept(tmp_path, damage):
    """Only a torn last entry may be dropped: a log damaged elsewhere, or not a pending log,
    stops every opener with a one-line error and is left as it is (nothing after it lost)."""
    log = _damaged_log(tmp_path, damage)
    before = log.read_bytes()
    for opener in (lambda: Store.open(tmp_path / "cambrian.db"),
                   lambda: Store.open(tmp_path / "cambrian.db").claim()):
        with pytest.raises(StoreError, match="cambrian.db-pending") as error:
            opener()
        assert "\n" not in str(error.value)
        assert log.read_bytes() == before
    assert _table(tmp_path / "cambrian.db") == []


def test_a_torn_first_write_or_zeroed_tail_is_dropped(tmp_path):
    log = _damaged_log(tmp_path, lambda data: data + bytes(40))  # a power cut's zeroed blocks
    assert [entry[1][0] for entry in journal.read(log)] == [0, 1, 2, 3, 4]
    log.write_bytes(log.read_bytes()[:5])  # the first write cut inside its header
    assert journal.read(log) == []


_RESUMED = """
import sys
from pathlib import Path
from cambrian.program import Program
from cambrian.store import NEW, Attempt, Store

store = Store.open(Path(sys.argv[1])).claim()  # the store has a pending log: a killed run's
for seq in (1, 2):
    p = Program(f"{seq:016x}", f"code{seq}", None, "x", 0, 0, "ok", score=seq / 3, seq=seq)
    store.record(Attempt(seq, 0, None, (), "x", p.id, NEW), p)
    store.fold()
    print(seq, flush=True)
    sys.stdin.readline()
"""


def test_a_reader_closing_during_a_resumed_run_leaves_the_runs_wal_alone(tmp_path):
    """Opening a store that has a pending log must not drop the SQLite locks of its own
    connection (closing a descriptor of the database file drops every POSIX lock the
    process holds on it): else another process's close takes itself for the last
    connection, checkpoints and deletes the WAL under the live run, whose later commits
    are lost when it is killed."""
    db = tmp_path / "cambrian.db"
    _killed_log(tmp_path, 1)
    run = subprocess.Popen([sys.executable, "-c", _RESUMED, str(db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                           text=True)
    try:
        assert run.stdout.readline() == "1\n"
        reader = "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute('SELECT * FROM attempts'); c.close()"
        subprocess.run([sys.executable, "-c", reader, str(db)], check=True)  # `cambrian status`, and gone
        run.stdin.write("\n")
        run.stdin.flush()
        assert run.stdout.readline() == "2\n"  # candidate 2 committed
    finally:
        run.send_signal(signal.SIGKILL)
        run.wait()
    Store.open(db).close()
    assert [row[0] for row in _table(db)] == [0, 1, 2]


def test_a_run_starting_while_a_reader_takes_up_a_killed_log_waits_for_it(tmp_path):
    """A reader folding a killed run's log holds the store's lock for a moment: a run
    (a resume) claiming the store then waits for it instead of refusing as if another run
    held it; a run that keeps the lock is still refused."""
    import fcntl
    import threading

    db = tmp_path / "cambrian.db"
    Store.create(db, {}).close()
    reader = os.open(db, os.O_RDONLY)  # the reader's take-up, in progress
    fcntl.flock(reader, fcntl.LOCK_EX)
    done = threading.Event()
    threading.Thread(target=lambda: (done.wait(), fcntl.flock(reader, fcntl.LOCK_UN))).start()
    store = Store.open(db)
    done.set()  # the take-up ends while the run waits
    store.claim()
    with pytest.raises(StoreError, match="in use by another cambrian run"):
        Store.open(db).claim()
    store.close()
    os.close(reader)
