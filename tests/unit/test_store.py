import gc
import sqlite3
import sys
import zlib

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


SYSTEM = "You improve a program by evolution.\n\nThe task:\nApproximate sin(x).\n" * 20


def _prompt(parent: str, tried: str) -> list[dict[str, str]]:
    user = (f"## Current program (score 0.5)\n```python\n{parent}\n```\n\n"
            f"## Already tried from this program\n{tried}\n\n## Propose one focused improvement.\n")
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


def _call(store, seq, messages, reply):
    import json

    store.record_call(seq=seq, attempt=0, model="m", request=json.dumps(messages), request_hash=str(seq),
                      reply=reply, finish="stop", tokens_in=1, tokens_out=1, cost=0.0, latency=0.0)


def test_llm_exchanges_read_back_exactly_and_repeated_parts_are_stored_once(tmp_path):
    import json

    store = _store(tmp_path)
    parent = "def f(x):\n    return 0.5 * x\n" * 30
    odd = "caf\u00e9 \U0001f600 \ud800 lone surrogate, ## not a heading"
    exchanges = [(_prompt(parent, f"- perturb {i}: scored {i / 10}"), f"<<<<<<< SEARCH\nx\n=======\ny{i}\n>>>>>>> REPLACE\n{odd}")
                 for i in range(20)]
    for seq, (messages, reply) in enumerate(exchanges, start=1):
        _call(store, seq, messages, reply)
    for seq, (messages, reply) in enumerate(exchanges, start=1):
        call = store.recorded_call(seq, 0)
        assert json.loads(call["request"]) == messages and call["reply"] == reply
    # The system text and the parent's section are stored once, not 20 times.
    stored = store.scalar("SELECT SUM(LENGTH(body)) FROM texts") + store.scalar("SELECT SUM(LENGTH(request)) FROM llm_calls")
    whole = sum(len(json.dumps(m)) + len(r) for m, r in exchanges)
    assert stored < whole / 5
    # system 1, the user's sections: program 1, tried 20, closing 1; replies 20.
    assert store.scalar("SELECT COUNT(*) FROM texts") == 1 + 1 + 20 + 1 + 20


def test_exchanges_written_whole_by_an_older_cambrian_still_read(tmp_path):
    import json

    store = _store(tmp_path)
    messages = _prompt("def f(): pass", "-")
    store.conn.execute("INSERT INTO llm_calls (seq, attempt, model, request, request_hash, reply, created)"
                       " VALUES (1, 0, 'm', ?, 'h', 'the reply', 0)", (json.dumps(messages),))
    store.conn.execute("DROP TABLE texts")
    store.close()
    store = Store.open(tmp_path / "cambrian.db")  # adds the parts table, keeps the old rows readable
    call = store.recorded_call(1, 0)
    assert json.loads(call["request"]) == messages and call["reply"] == "the reply"
    _call(store, 2, messages, "new reply")
    assert store.recorded_call(2, 0)["reply"] == "new reply"
    odd = [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]  # not plain text: kept whole
    _call(store, 3, odd, "r")
    assert json.loads(store.recorded_call(3, 0)["request"]) == odd and store.recorded_call(3, 0)["reply"] == "r"


def test_a_branch_copies_the_parts_of_the_exchanges_it_takes(tmp_path):
    import json

    source = _store(tmp_path)
    for seq in (1, 2, 3):
        _call(source, seq, _prompt("def f(): pass", str(seq)), f"reply {seq}")
    branch = Store.create(tmp_path / "branch" / "cambrian.db", {"config": {}})
    branch.copy_prefix(source, 2)
    assert [branch.recorded_call(s, 0)["reply"] for s in (1, 2)] == ["reply 1", "reply 2"]
    assert json.loads(branch.recorded_call(2, 0)["request"]) == _prompt("def f(): pass", "2")
    assert branch.recorded_call(3, 0) is None


def test_a_damaged_exchange_part_is_a_store_error_never_other_text(tmp_path):
    """A part whose bytes were damaged (not zlib) or replaced by other text (its hash no
    longer matches) is reported as damage: replay never answers with another text, and
    the UI shows the row as stored instead of failing."""
    from cambrian import texts
    from cambrian.runview import RunView

    store = _store(tmp_path)
    _call(store, 1, _prompt("def f(): pass", "-"), "## Plan\nthe reply")
    _call(store, 2, _prompt("def f(): pass", "-"), "## Plan\nanother reply")
    reply_part = texts.split("## Plan\nthe reply")[0]
    for body in (b"not zlib", zlib.compress(b"## Plan\nanother reply")):
        store.conn.execute("UPDATE texts SET body = ? WHERE hash = ?", (body, texts.text_hash(reply_part)))
        with pytest.raises(StoreError, match="LLM exchange 1 cannot be read"):
            store.recorded_call(1, 0)
        [call] = RunView(tmp_path).llm_calls(1)
        assert call["reply"] == "" and call["request"].startswith('{"messages"')  # the row as stored
        assert "cannot be read from the store" in call["error"] and "damaged" in call["error"]
    assert store.recorded_call(2, 0)["reply"] == "## Plan\nanother reply"


def _program(i: int, **kw) -> Program:
    return Program(f"{i:016x}", f"code{i}", None, "x", 0, 0, "ok", score=float(i), seq=i, **kw)


def test_the_duplicate_check_agrees_with_the_table_across_resume_branch_and_reset(tmp_path):
    store = _store(tmp_path)
    for i in range(3):
        store.record(Attempt(i, 0, None, (), "x", _program(i).id, NEW), _program(i))
    # a row the store did not write itself, before the first check: read with the others
    store.conn.execute("INSERT INTO programs (id, seq, code, operator, generation, island, status, created)"
                       " VALUES (?, 3, 'code3', 'x', 0, 0, 'ok', 0)", (_program(3).id,))

    def agrees(s: Store) -> None:
        stored = {row[0] for row in s.rows("SELECT id FROM programs")}
        for i in range(8):
            assert s.has_program(_program(i).id) == (_program(i).id in stored)

    agrees(store)
    with pytest.raises(sqlite3.IntegrityError):  # its attempt's seq is taken: all rolled back, 4 not stored
        store.record(Attempt(0, 0, None, (), "x", _program(4).id, NEW), _program(4))
    store.record(Attempt(5, 0, None, (), "x", _program(5).id, NEW), _program(5))  # after the set was read
    agrees(store)
    assert store.has_program(_program(5).id)
    store.close()

    resumed = Store.open(tmp_path)
    agrees(resumed)
    branch = Store.create(tmp_path / "branch" / "cambrian.db", {"config": {}})
    assert not branch.has_program(_program(1).id)
    branch.copy_prefix(resumed, until=1)
    agrees(branch)
    assert branch.has_program(_program(1).id) and not branch.has_program(_program(2).id)
    only_initial = Store.create(tmp_path / "reset" / "cambrian.db", {"config": {}})
    only_initial.record(Attempt(0, 0, None, (), "initial", _program(0).id, NEW), _program(0))
    assert only_initial.has_program(_program(0).id)
    only_initial.reset_initial()
    agrees(only_initial)
    assert not only_initial.has_program(_program(0).id)


def test_what_a_long_run_holds_is_out_of_the_garbage_collectors_way(tmp_path):
    """The stored ids (1,000,000 at a long run's end) are never walked by a collection, and a
    closed store lets go of them at once: each walk cost ~0.1 s, and a closed store's cycle
    (through the program cache) kept them until a collection inside a later run freed them."""
    store = _store(tmp_path)
    for i in range(3):
        store.record(Attempt(i, 0, None, (), "x", _program(i).id, NEW), _program(i))
    assert store.has_program(_program(1).id)
    store.record(Attempt(3, 0, None, (), "x", _program(3).id, NEW), _program(3))
    assert store.has_program(_program(3).id)
    if sys.version_info < (3, 14):   # 3.14 tracks every dict (python/cpython#127010): README, limits
        assert not gc.is_tracked(store._ids)
    store.fold()
    assert store.program(_program(1).id) is not None   # now in the program cache
    store.close()
    assert store._ids is None and store._cached_program.cache_info().currsize == 0


def test_fingerprint_lookups_use_the_index_in_new_and_old_stores(tmp_path):
    store = _store(tmp_path)
    store.record(Attempt(0, 0, None, (), "x", _program(0).id, NEW), _program(0))
    store.record(Attempt(1, 0, None, (), "x", _program(1).id, NEW), _program(1, fingerprint="f1"))
    plan = store.rows("EXPLAIN QUERY PLAN SELECT id FROM programs WHERE fingerprint = ? AND status != 'rejected'"
                      " AND seq <= ? ORDER BY seq LIMIT 1", "f1", 9)
    assert "programs_fingerprint" in str(plan)  # the partial index (rows with a fingerprint only) is used
    assert store.by_fingerprint("f1", max_seq=9).id == _program(1).id
    # a store made before the index was partial: it still reads, through its full index
    store.conn.execute("DROP INDEX programs_fingerprint")
    store.conn.execute("CREATE INDEX programs_fingerprint ON programs(fingerprint)")
    store.close()
    old = Store.open(tmp_path)
    assert old.by_fingerprint("f1", max_seq=9).id == _program(1).id
    assert old.by_fingerprint("f1", max_seq=0) is None
    old.record(Attempt(2, 0, None, (), "x", _program(2).id, NEW), _program(2, fingerprint="f1"))
    assert old.by_fingerprint("f1", max_seq=9).id == _program(1).id
