"""The SQLite store: every program, attempt and event of a run. It is the checkpoint.

One file in WAL mode. Each candidate's rows (its attempt and, when new, its
program) are appended to a pending log in one write (journal.py) and folded into the
database in one transaction per batch: every ``FOLD_EVERY`` candidates or
``FOLD_SECONDS``, whenever the run waits for a result, before any other write or
query that is not a lookup of a pending row, and at close. A run killed at any
instant loses nothing it recorded: the next process to open the store while no run
holds it (``claim``, or any ``open`` that can take the lock) folds the log's tail in.
Other processes read the database: they lag a live run by at most one batch, and
never see a candidate's program without its attempt (a batch is one transaction).
"""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator

from . import journal, texts
from .errors import StoreError
from .program import Program

APP = "cambrian"
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE programs (
    id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    code TEXT NOT NULL,
    parent_id TEXT,
    inspirations TEXT NOT NULL DEFAULT '[]',
    operator TEXT NOT NULL,
    generation INTEGER NOT NULL,
    island INTEGER NOT NULL,
    status TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    score REAL,
    metrics TEXT NOT NULL DEFAULT '{}',
    feedback TEXT NOT NULL DEFAULT '{}',
    eval_seconds REAL NOT NULL DEFAULT 0,
    fingerprint TEXT,
    model TEXT,
    created REAL NOT NULL
);
CREATE INDEX programs_score ON programs(status, score);
CREATE INDEX programs_fingerprint ON programs(fingerprint) WHERE fingerprint IS NOT NULL;
CREATE INDEX programs_seq ON programs(seq);
CREATE TABLE attempts (
    seq INTEGER PRIMARY KEY,
    island INTEGER NOT NULL,
    parent_id TEXT,
    inspirations TEXT NOT NULL DEFAULT '[]',
    operator TEXT NOT NULL,
    program_id TEXT,
    outcome TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    seconds REAL NOT NULL DEFAULT 0,
    cost REAL NOT NULL DEFAULT 0,
    model TEXT,
    created REAL NOT NULL
);
CREATE INDEX attempts_parent ON attempts(parent_id, seq);
CREATE TABLE llm_calls (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    seq INTEGER NOT NULL,
    attempt INTEGER NOT NULL,
    model TEXT NOT NULL,
    request TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    reply TEXT NOT NULL DEFAULT '',
    finish TEXT NOT NULL DEFAULT '',
    error TEXT NOT NULL DEFAULT '',
    tokens_in INTEGER NOT NULL DEFAULT 0,
    tokens_out INTEGER NOT NULL DEFAULT 0,
    cost REAL NOT NULL DEFAULT 0,
    latency REAL NOT NULL DEFAULT 0,
    replayed INTEGER NOT NULL DEFAULT 0,
    created REAL NOT NULL
);
CREATE INDEX llm_calls_seq ON llm_calls(seq, attempt);
CREATE TABLE texts (hash TEXT PRIMARY KEY, body BLOB NOT NULL);
CREATE TABLE snapshots (seq INTEGER PRIMARY KEY, digest TEXT NOT NULL, state BLOB NOT NULL, created REAL NOT NULL);
CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    t REAL NOT NULL,
    kind TEXT NOT NULL,
    data TEXT NOT NULL DEFAULT '{}'
);
"""

SNAPSHOTS_SCHEMA = ("CREATE TABLE IF NOT EXISTS snapshots (seq INTEGER PRIMARY KEY, digest TEXT NOT NULL,"
                    " state BLOB NOT NULL, created REAL NOT NULL)")
WAL_CHECKPOINT_PAGES = 4000
CLAIM_WAIT = 2.0   # seconds a run waits for the store's lock before it takes it for another run's
FOLD_EVERY, FOLD_SECONDS = 1000, 1.0   # the pending log is folded into the database this often, at least
SNAPSHOTS_KEPT = 2   # the newest ones; an older one is the fallback when the newest cannot be used

# Attempt outcomes: a new program was evaluated; a known program came back; a new
# program computes the same as a known one (its result is reused, no evaluation);
# the operator produced nothing usable.
NEW, DUPLICATE, EQUIVALENT, FAILED = "new", "duplicate", "equivalent", "failed"


@dataclass  # a value, never changed once made (not frozen: made per candidate, and frozen's __init__ costs ~4x)
class Attempt:
    seq: int
    island: int
    parent_id: str | None
    inspirations: tuple[str, ...]
    operator: str
    program_id: str | None
    outcome: str
    reason: str = ""
    seconds: float = 0.0
    cost: float = 0.0
    model: str | None = None


@dataclass(frozen=True)
class Replayed:
    """What replaying a stored attempt needs of its program (not its code or feedback)."""

    id: str
    seq: int
    status: str
    reason: str
    score: float | None
    features: dict[str, Any]   # its metrics and code_length


def _private_dir(path: Path) -> None:
    """A run directory only its owner may enter (mode 0700): candidates run as other uids
    and must not read every other candidate's code and score. A shared sticky directory
    (``--run-dir /tmp``) is left alone; the store's own files are 0600 anyway."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    info = path.stat()
    if info.st_uid == os.geteuid() and not info.st_mode & stat.S_ISVTX and info.st_mode & 0o077:
        path.chmod(0o700)


class Store:
    """A run's database. Use ``Store.create`` for a new run, ``Store.open`` to resume."""

    FILE = "cambrian.db"

    def __init__(self, conn: sqlite3.Connection, path: Path):
        self._conn = conn
        self.path = path
        self._cached_program = lru_cache(maxsize=4096)(self._load_program)
        self._file: int | None = None       # the database file, for flock (see _lock_fd)
        # The stored program ids, for has_program; read when first asked. The keys of a dict, not a
        # set: a dict of strings is not tracked by Python's cyclic garbage collector, a set always
        # is, and each collection that reaches it walks every entry (~0.1 s at 1,000,000 ids).
        self._ids: dict[str, None] | None = None
        self._top_seq: int | None = None    # the highest attempt seq stored; read when first needed
        self._journal = journal.Journal(path.with_name(path.name + "-pending"))
        # Recorded, not folded yet: the rows (in order), and the attempts and programs as read back.
        self._pending: list[tuple[tuple | None, tuple]] = []
        self._pending_attempts: dict[int, Attempt] = {}
        self._pending_programs: dict[str, Program] = {}
        self._pending_since = 0.0

    @property
    def conn(self) -> sqlite3.Connection:
        """The database, with every recorded candidate folded in: any SQL sees them all."""
        if self._pending:
            self.fold()
        self._top_seq = None  # the caller may write attempts itself
        return self._conn

    @staticmethod
    def _connect(path: Path) -> sqlite3.Connection:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode survives a killed process (not a power cut) at a fraction
        # of FULL's cost per commit.
        conn.execute("PRAGMA synchronous=NORMAL")
        # The WAL moves into the database (a checkpoint: two fsyncs) every 4,000 pages, not
        # SQLite's 1,000: ~570 candidates apart rather than ~125, which made the fsyncs most of a
        # candidate's store time. A power cut may take back what the WAL holds since the last
        # checkpoint (the store stays consistent; a resume asks those candidates again).
        conn.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_PAGES}")
        conn.execute("PRAGMA busy_timeout=5000")
        return conn

    @classmethod
    def create(cls, path: Path, meta: dict[str, Any]) -> "Store":
        path = Path(path)
        if path.exists():
            raise StoreError(f"{path} already exists: resume it with --resume, or choose another --run-dir")
        _private_dir(path.parent)
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))  # SQLite's -wal, -shm follow
        conn = cls._connect(path)
        with conn:
            conn.execute("BEGIN")
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            rows = {"app": APP, "schema": str(SCHEMA_VERSION), "created": str(time.time())}
            rows.update({k: json.dumps(v) for k, v in meta.items()})
            conn.executemany("INSERT INTO meta VALUES (?, ?)", rows.items())
        journal.Journal(path.with_name(path.name + "-pending")).close(remove=True)  # a deleted run's
        return cls(conn, path)

    @classmethod
    def open(cls, path: Path) -> "Store":
        path = Path(path)
        if path.is_dir():
            path = path / cls.FILE
        if not path.is_file():
            raise StoreError(f"no store at {path}")
        try:
            _private_dir(path.parent)  # a run made before runs were private
        except OSError:
            pass
        for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            try:
                if file.stat().st_uid == os.geteuid():
                    file.chmod(0o600)
            except OSError:
                pass
        try:
            conn = cls._connect(path)
            ok = conn.execute("PRAGMA quick_check").fetchone()[0]
            if ok != "ok":
                raise StoreError(f"{path}: store is corrupt ({ok})")
            meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{path}: not a Cambrian store ({exc})") from None
        if meta.get("app") != APP:
            raise StoreError(f"{path}: not a Cambrian store")
        if meta.get("schema") != str(SCHEMA_VERSION):
            raise StoreError(f"{path}: store schema {meta.get('schema')}, this Cambrian reads {SCHEMA_VERSION}")
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        missing = [t for t in _TABLES if t not in tables]
        if missing:
            raise StoreError(f"{path}: the store is damaged: table {', '.join(missing)} is missing")
        if "texts" not in tables:  # a store from before exchanges were stored in parts
            conn.execute(texts.SCHEMA)
        if "snapshots" not in tables:  # a store from before resume snapshots
            conn.execute(SNAPSHOTS_SCHEMA)
        try:  # a store from before status's fold, which reads programs by seq
            conn.execute("CREATE INDEX IF NOT EXISTS programs_seq ON programs(seq)")
        except sqlite3.OperationalError:  # busy (a live run of an old store): the fold only reads slower
            pass
        store = cls(conn, path)
        store._take_up_unclaimed()
        return store

    def _take_up_unclaimed(self) -> None:
        """Fold in the pending log of a run that was killed, if no run holds the store now
        (a live run's log is its own: readers see the database, a batch behind)."""
        import fcntl

        if not self._journal.path.exists():
            return
        try:
            fd = self._lock_fd()
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return  # held by a live run (or unreadable): read what the database has
        try:
            self._take_up()
        except (OSError, sqlite3.OperationalError):
            pass  # not ours to write: read what the database has
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)

    def _lock_fd(self) -> int:
        """A descriptor of the database file for flock, kept open until the connection is
        closed: closing one drops every POSIX lock this process holds on the file, SQLite's
        among them, and another process's close would then checkpoint and delete the WAL
        under this connection."""
        if self._file is None:
            self._file = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        return self._file

    def _take_up(self) -> None:
        """Fold in what the pending log holds that the database does not (a run killed
        between a fold's commit and the log's truncation left both)."""
        try:
            entries = journal.read(self._journal.path)
            if entries:
                with self._conn:
                    self._conn.execute("BEGIN")
                    for program, attempt in entries:
                        if self._conn.execute("SELECT 1 FROM attempts WHERE seq = ?", (attempt[0],)).fetchone():
                            continue
                        if program is not None:
                            self._conn.execute(_INSERT_PROGRAM, program)
                        self._conn.execute(_INSERT_ATTEMPT, attempt)
        except (journal.Damaged, sqlite3.IntegrityError, sqlite3.InterfaceError, sqlite3.ProgrammingError) as exc:
            raise StoreError(f"{self._journal.path} cannot be folded into {self.path.name} ({exc}); it is left as "
                             f"it is: move it aside to open the run without the candidates it holds") from None
        self._journal.clear()

    def claim(self) -> "Store":
        """Take the run for this process (an exclusive flock on the store file, held until exit):
        a second session on the same run is refused in one line, never run against the first."""
        import fcntl

        fd, until = self._lock_fd(), time.monotonic() + CLAIM_WAIT
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() < until:  # a reader taking up a killed run's log holds it for a moment
                    time.sleep(0.05)
                    continue
                raise StoreError(f"{self.path.parent} is in use by another cambrian run; wait for it to stop "
                                 f"(or stop it with Ctrl-C), then try again") from None
        self._take_up()
        return self

    def close(self) -> None:
        self.fold()
        self._journal.close(remove=self._journal.writing)  # empty now; a reader leaves a live run's log alone
        self._conn.close()
        # What a long run holds (the ids, the program cache) is freed now, not when the garbage
        # collector next reaches the cycle through the cache's bound method (a pause in a later run).
        self._ids = None
        self._cached_program.cache_clear()
        if self._file is not None:  # after the connection (see _lock_fd); releases the claim
            os.close(self._file)
            self._file = None

    # -- meta ----------------------------------------------------------------
    def set_meta(self, key: str, value: Any) -> None:
        self.conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, json.dumps(value)))

    # -- writes --------------------------------------------------------------
    def record(self, attempt: Attempt, program: Program | None = None) -> None:
        """Write one candidate's attempt (and its new program): one write to the pending
        log, durable against a killed process when this returns; folded in later, as one.
        A program id or attempt seq already stored is refused (sqlite3.IntegrityError), nothing written."""
        now = time.time()
        seq, top = attempt.seq, self._highest_seq()
        inspirations = _id_list(attempt.inspirations)
        if seq in self._pending_attempts or seq <= top and \
                self._conn.execute("SELECT 1 FROM attempts WHERE seq = ?", (seq,)).fetchone():
            raise sqlite3.IntegrityError("UNIQUE constraint failed: attempts.seq")
        row = None
        if program is not None:
            if program.id in self._pending_programs or (program.id in self._ids if self._ids is not None else
                                                        self._conn.execute("SELECT 1 FROM programs WHERE id = ?",
                                                                           (program.id,)).fetchone()):
                raise sqlite3.IntegrityError("UNIQUE constraint failed: programs.id")
            row = (program.id, program.seq, program.code, program.parent_id, inspirations, program.operator,
                   program.generation, program.island, program.status, program.reason, _real(program.score),
                   _dumps(program.metrics), _dumps(program.feedback), _real(program.eval_seconds),
                   program.fingerprint, attempt.model, now)
        attempt_row = (seq, attempt.island, attempt.parent_id, inspirations, attempt.operator, attempt.program_id,
                       attempt.outcome, attempt.reason, _real(attempt.seconds), _real(attempt.cost), attempt.model, now)
        try:
            self._journal.append((row, attempt_row))
        except OSError as exc:
            raise StoreError(f"{self._journal.path}: cannot record candidate {seq} ({exc.strerror or exc}); "
                             f"every candidate recorded before it is kept") from None
        if not self._pending:
            self._pending_since = time.monotonic()
        self._pending.append((row, attempt_row))
        # As a read from the database would give them (JSON columns parsed, REAL columns floats):
        # the objects given, unless a value would read back otherwise.
        as_read = type(attempt.inspirations) is tuple and attempt.seconds == attempt_row[8] \
            and type(attempt.seconds) is float and type(attempt.cost) is float and attempt.cost == attempt_row[9]
        self._pending_attempts[seq] = attempt if as_read else _attempt(attempt_row[:11])
        if row is not None:
            as_read = not program.metrics and not program.feedback and type(program.eval_seconds) is float \
                and (program.score is None or type(program.score) is float and program.score == row[10])
            self._pending_programs[program.id] = program if as_read else _program(
                (row[0], row[2], row[3], row[5], row[6], row[7], row[8], row[9], row[10], row[11], row[12],
                 row[1], row[13], row[14]))
            if self._ids is not None:
                self._ids[program.id] = None
        if seq > top:
            self._top_seq = seq
        if len(self._pending) >= FOLD_EVERY or time.monotonic() - self._pending_since >= FOLD_SECONDS:
            self.fold()

    def fold(self) -> None:
        """Move the recorded candidates into the database, in one transaction (a no-op when
        there are none). The runner calls it whenever it waits for a result."""
        if not self._pending:
            return
        with self._conn:
            self._conn.execute("BEGIN")
            self._conn.executemany(_INSERT_PROGRAM, [p for p, _ in self._pending if p is not None])
            self._conn.executemany(_INSERT_ATTEMPT, [a for _, a in self._pending])
        self._journal.clear()
        self._pending.clear()
        self._pending_attempts.clear()
        self._pending_programs.clear()

    def _highest_seq(self) -> int:
        if self._top_seq is None:
            self._top_seq = self._conn.execute("SELECT COALESCE(MAX(seq), -1) FROM attempts").fetchone()[0]
        return self._top_seq

    def program(self, program_id: str) -> Program | None:
        """A stored program (recorded ones included), or None; read once, then cached."""
        pending = self._pending_programs.get(program_id)
        if pending is not None:
            return pending
        try:
            return self._cached_program(program_id)
        except KeyError:  # not stored (yet): a miss is not cached, the program may be recorded later
            return None

    def record_call(self, **row: Any) -> None:
        """One LLM exchange (or failed request), as sent and as answered. Never a key.
        ``request`` is the messages as JSON; it and the reply are stored in parts (texts.py)."""
        row["created"] = time.time()
        row["replayed"] = int(bool(row.get("replayed")))
        with self._conn:  # LLM exchanges are not in the pending log: written as they come
            self._conn.execute("BEGIN")
            row["request"], row["reply"] = texts.encode(self._conn, json.loads(row["request"]), row.get("reply", ""))
            columns = ", ".join(row)
            self._conn.execute(f"INSERT INTO llm_calls ({columns}) VALUES ({', '.join('?' * len(row))})",
                              tuple(row.values()))

    def recorded_call(self, seq: int, attempt: int) -> dict[str, Any] | None:
        """The last exchange for (candidate, try): what a replay answers with; ``request``
        (the messages as JSON) and ``reply`` whole, as sent and received."""
        cursor = self._conn.execute("SELECT * FROM llm_calls WHERE seq = ? AND attempt = ? ORDER BY id DESC LIMIT 1",
                                    (seq, attempt))
        row = cursor.fetchone()
        if row is None:
            return None
        call = dict(zip([d[0] for d in cursor.description], row))
        try:
            messages, call["reply"] = texts.decode(self._conn, call["request"], call["reply"])
        except (ValueError, KeyError, TypeError) as exc:
            raise StoreError(f"the store is damaged: LLM exchange {call['id']} cannot be read ({exc})") from None
        call["request"] = json.dumps(messages)
        return call

    def copy_prefix(self, source: "Store", until: int) -> None:
        """Take a run's first ``until`` candidates (attempts, programs, LLM exchanges,
        insight notes) from ``source``: a branch then continues from there like a resume."""
        with self.conn:
            self.conn.execute("BEGIN")
            src = source.conn
            for table, where in (("attempts", "seq <= ?"), ("programs", "seq <= ?")):
                cursor = src.execute(f"SELECT * FROM {table} WHERE {where}", (until,))
                rows = cursor.fetchall()
                if rows:
                    marks = ", ".join("?" * len(rows[0]))
                    self.conn.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)
            cursor = src.execute("SELECT * FROM llm_calls WHERE seq <= ? AND seq >= ?", (until, -until))
            names = [d[0] for d in cursor.description if d[0] != "id"]
            for row in cursor.fetchall():
                data = dict(zip([d[0] for d in cursor.description], row))
                data["replayed"] = 1  # copied, not spent again
                self.conn.execute(f"INSERT INTO llm_calls ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
                                  [data[n] for n in names])
                for key in texts.referenced(data["request"]):  # the parts it is stored in
                    self.conn.executemany("INSERT OR IGNORE INTO texts VALUES (?, ?)",
                                          src.execute("SELECT hash, body FROM texts WHERE hash = ?", (key,)))
            for kind, data in src.execute("SELECT kind, data FROM events WHERE kind = 'insights' ORDER BY id"):
                if json.loads(data).get("at", until + 1) <= until:
                    self.conn.execute("INSERT INTO events (t, kind, data) VALUES (?, ?, ?)", (time.time(), kind, data))
        self._cached_program.cache_clear()
        self._ids = None

    def reset_initial(self) -> None:
        """Forget a run's initial evaluation (only while it has no other candidate), so the
        run starts again in place: after a failed initial program is fixed, or a config change."""
        with self.conn:
            self.conn.execute("BEGIN")
            if self.scalar("SELECT COUNT(*) FROM attempts WHERE seq > 0"):
                raise StoreError(f"{self.path}: the run has candidates; its initial program cannot be reset")
            self.conn.execute("DELETE FROM programs")
            self.conn.execute("DELETE FROM attempts")
            self.conn.execute("DELETE FROM meta WHERE key IN ('state', 'summary')")
            self.conn.execute("DELETE FROM snapshots")
        self._cached_program.cache_clear()
        self._ids = None

    def calls_sent(self) -> int:
        """LLM requests this run sent (answers taken from a record are not sent)."""
        return self._conn.execute("SELECT COUNT(*) FROM llm_calls WHERE replayed = 0").fetchone()[0]

    def spent(self) -> float:
        """Dollars actually spent on LLM requests (replayed exchanges cost nothing)."""
        return self._conn.execute("SELECT COALESCE(SUM(cost), 0) FROM llm_calls WHERE replayed = 0").fetchone()[0]

    def event(self, kind: str, **data: Any) -> None:
        self.conn.execute("INSERT INTO events (t, kind, data) VALUES (?, ?, ?)",
                          (time.time(), kind, json.dumps(data)))

    # -- reads ---------------------------------------------------------------
    def _load_program(self, program_id: str) -> Program:
        """The stored program; KeyError if there is none (raised, so the cache keeps no miss)."""
        row = self._conn.execute(f"SELECT {_PROGRAM_COLUMNS} FROM programs WHERE id = ?",
                                (program_id,)).fetchone()
        if row is None:
            raise KeyError(program_id)
        return _program(row)

    def meta(self, key: str, default: Any = None) -> Any:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return default if row is None else _json(row[0], f"meta {key}")

    def by_fingerprint(self, fingerprint: str, *, max_seq: int) -> Program | None:
        """The first evaluated program with this fingerprint, made at or before ``max_seq``."""
        row = self.conn.execute(f"SELECT {_PROGRAM_COLUMNS} FROM programs WHERE fingerprint = ?"
                                " AND status != 'rejected' AND seq <= ? ORDER BY seq LIMIT 1",
                                (fingerprint, max_seq)).fetchone()
        return None if row is None else _program(row)

    def known(self, program_id: str, *, max_seq: int) -> Program | None:
        """The stored program with this id if it was made at or before ``max_seq``."""
        row = self.conn.execute(f"SELECT {_PROGRAM_COLUMNS} FROM programs WHERE id = ? AND seq <= ?",
                                (program_id, max_seq)).fetchone()
        return None if row is None else _program(row)

    def reassign(self, program_id: str, attempt: Attempt, *, generation: int) -> None:
        """Give a program to an earlier candidate that made the same code.

        Two candidates in flight can produce one program; the later one may finish
        first and record it. Ownership goes to the earlier candidate when it is told,
        so which one owns it never depends on timing."""
        later = self.scalar("SELECT seq FROM programs WHERE id = ?", program_id)
        with self.conn:
            self.conn.execute("BEGIN")
            self.conn.execute(
                "UPDATE programs SET seq = ?, parent_id = ?, inspirations = ?, operator = ?, generation = ?,"
                " island = ?, model = ? WHERE id = ?",
                (attempt.seq, attempt.parent_id, json.dumps(list(attempt.inspirations)), attempt.operator,
                 generation, attempt.island, attempt.model, program_id))
            reason = self.scalar("SELECT reason FROM programs WHERE id = ?", program_id)
            self.conn.execute("UPDATE attempts SET outcome = 'new', reason = ? WHERE seq = ?", (reason, attempt.seq))
            self.conn.execute("UPDATE attempts SET outcome = 'duplicate', reason = 'same code as a stored program'"
                              " WHERE seq = ?", (later,))
        self._cached_program.cache_clear()

    # -- resume snapshots (see snapshot.py) ------------------------------------
    def save_snapshot(self, seq: int, digest: str, state: bytes) -> None:
        """The search state after the tell of candidate ``seq`` (which, like every
        candidate before it, is stored already); only the newest few are kept."""
        with self.conn:
            self.conn.execute("BEGIN")
            self.conn.execute("INSERT OR REPLACE INTO snapshots VALUES (?, ?, ?, ?)", (seq, digest, state, time.time()))
            self.conn.execute("DELETE FROM snapshots WHERE seq NOT IN"
                              " (SELECT seq FROM snapshots ORDER BY seq DESC LIMIT ?)", (SNAPSHOTS_KEPT,))

    def snapshots(self) -> list[tuple[int, str, bytes]]:
        """(seq, digest, state), newest first."""
        return self.rows("SELECT seq, digest, state FROM snapshots ORDER BY seq DESC")

    def replay_rows(self, start: int, limit: int) -> list[tuple[Attempt, "Replayed | None"]]:
        """Stored attempts from ``start`` on (at most ``limit``), each with what a replay
        needs of its program, in one query: a resume reads each attempt once."""
        rows = self.conn.execute(
            f"SELECT {', '.join('a.' + c.strip() for c in _ATTEMPT_COLUMNS.split(','))},"
            # length() stops at a NUL: such a program's length is taken from its code
            " p.id, p.seq, p.status, p.reason, p.score, p.metrics,"
            " CASE WHEN instr(CAST(p.code AS BLOB), x'00') THEN NULL ELSE length(p.code) END"
            " FROM attempts a LEFT JOIN programs p ON p.id = a.program_id"
            " WHERE a.seq >= ? ORDER BY a.seq LIMIT ?", (start, limit)).fetchall()
        out = []
        for row in rows:
            attempt = _attempt(row[:11])
            pid, pseq, status, reason, score, metrics, length = row[11:]
            if pid is not None and length is None:
                length = len(self.scalar("SELECT code FROM programs WHERE id = ?", pid))
            program = None if pid is None else Replayed(
                pid, pseq, status, reason, score,
                {**_json(metrics, f"program {pid} metrics"), "code_length": float(length)})
            out.append((attempt, program))
        return out

    def has_program(self, program_id: str) -> bool:
        """Whether a program with this id is stored: the duplicate check, once per candidate.
        Answered from the stored ids (a dict's keys), read from the table when first asked and kept by
        this store's own writes (a run's store has one writer: the run holding its claim)."""
        if self._ids is None:
            # a list first: as fast as a set's read; fed a generator, ~20% slower at 1,000,000 ids
            self._ids = dict.fromkeys([row[0] for row in self.conn.execute("SELECT id FROM programs")])
        return program_id in self._ids

    def attempts(self, start: int = 0) -> Iterator[Attempt]:
        rows = self.conn.execute(f"SELECT {_ATTEMPT_COLUMNS} FROM attempts WHERE seq >= ? ORDER BY seq",
                                 (start,))
        return (_attempt(r) for r in rows)

    def attempt(self, seq: int) -> Attempt | None:
        pending = self._pending_attempts.get(seq)
        if pending is not None:
            return pending
        row = self._conn.execute(f"SELECT {_ATTEMPT_COLUMNS} FROM attempts WHERE seq = ?", (seq,)).fetchone()
        return None if row is None else _attempt(row)

    def programs(self, status: str | None = None) -> list[Program]:
        where, args = ("WHERE status = ?", (status,)) if status else ("", ())
        rows = self.conn.execute(f"SELECT {_PROGRAM_COLUMNS} FROM programs {where} ORDER BY seq", args)
        return [_program(r) for r in rows]

    def top(self, n: int, *, maximize: bool = True) -> list[Program]:
        order = "DESC" if maximize else "ASC"
        rows = self.conn.execute(
            f"SELECT {_PROGRAM_COLUMNS} FROM programs WHERE status = 'ok' AND score IS NOT NULL"
            f" ORDER BY score {order}, seq ASC LIMIT ?", (n,))
        return [_program(r) for r in rows]

    def lineage(self, program_id: str) -> list[Program]:
        """The program and its ancestors, newest first."""
        chain, seen = [], set()
        current = self.program(program_id)
        while current is not None and current.id not in seen:
            chain.append(current)
            seen.add(current.id)
            current = self.program(current.parent_id) if current.parent_id else None
        return chain

    def scalar(self, sql: str, *args: Any) -> Any:
        return self.conn.execute(sql, args).fetchone()[0]

    def rows(self, sql: str, *args: Any) -> list[tuple]:
        return self.conn.execute(sql, args).fetchall()


_PROGRAM_COLUMNS = ("id, code, parent_id, operator, generation, island, status, reason, score,"
                    " metrics, feedback, seq, eval_seconds, fingerprint")


_ATTEMPT_COLUMNS = ("seq, island, parent_id, inspirations, operator, program_id, outcome, reason, seconds,"
                    " cost, model")


_TABLES = ("meta", "programs", "attempts", "llm_calls", "events")

_INSERT_PROGRAM = ("INSERT INTO programs (id, seq, code, parent_id, inspirations, operator, generation, island, status,"
                   " reason, score, metrics, feedback, eval_seconds, fingerprint, model, created)"
                   f" VALUES ({', '.join('?' * 17)})")
_INSERT_ATTEMPT = f"INSERT INTO attempts VALUES ({', '.join('?' * 12)})"


def _id_list(ids: tuple[str, ...]) -> str:
    """json.dumps(list(ids)); written out directly for plain ids (hex digests: nothing to escape)."""
    if not ids:
        return "[]"
    joined = "".join(ids)
    if joined.isalnum() and joined.isascii():
        return '["' + '", "'.join(ids) + '"]'
    return json.dumps(list(ids))


def _real(value: Any) -> float | None:
    """What a REAL column gives back: a float, and NULL for NaN."""
    return None if value is None or value != value else float(value)


def _json(text: Any, where: str) -> Any:
    """A JSON column; a damaged one is a one-line StoreError naming the row, never a traceback."""
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        raise StoreError(f"the store is damaged: {where} is not valid JSON") from None


def _dumps(value: dict[str, Any]) -> str:
    return json.dumps(value) if value else "{}"


def _loads(text: str, where: str) -> Any:
    return {} if text == "{}" else _json(text, where)


def _attempt(row: tuple) -> Attempt:
    inspirations = () if row[3] == "[]" else tuple(_json(row[3], f"attempt {row[0]} inspirations"))
    return Attempt(row[0], row[1], row[2], inspirations, *row[4:])


def _program(row: tuple) -> Program:
    return Program(
        id=row[0], code=row[1], parent_id=row[2], operator=row[3], generation=row[4], island=row[5],
        status=row[6], reason=row[7], score=row[8], metrics=_loads(row[9], f"program {row[0]} metrics"),
        feedback=_loads(row[10], f"program {row[0]} feedback"), seq=row[11], eval_seconds=row[12],
        fingerprint=row[13],
    )
