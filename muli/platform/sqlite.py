"""SQLite as MULI uses it: WAL, foreign keys, full sync, secure delete, one writer at a time.

A transaction begins as a reader (a deferred BEGIN: a WAL snapshot, no lock), so the token
check and every read of a request hold nothing another request waits for. The write lock is
taken at the first statement that writes — an INSERT, UPDATE, DELETE, a SAVEPOINT, DDL, or
a SELECT ... FOR UPDATE, which SQLite drops from the SQL but which says "I am about to
write": the read transaction ends (it changed nothing) and the connection begins again with
BEGIN IMMEDIATE. Upgrading the read snapshot in place would fail with SQLITE_BUSY whenever
another writer committed since it was taken; beginning again cannot. What the request read
before that point it read as PostgreSQL's READ COMMITTED would have let it, which is the
isolation the services are written for (they lock with FOR UPDATE and compare-and-set where
it matters). Audit events are written at commit, so a request that only reads holds the lock
for the few milliseconds of its commit.

Writers first queue on a `WriterQueue`: threads of one process on a lock that wakes the next
one the moment the writer before it returns its connection, and processes (gunicorn
workers, `muli worker`) on an flock of a file beside the database, tried every half
millisecond. Without it they meet in SQLite's busy handler, which sleeps 1, 2, 5 ... 100 ms
between tries: the lock sits free while waiters sleep, and a writer that keeps losing waits
for seconds (benchmarks/README.md has the figures).
"""

from __future__ import annotations

import fcntl
import logging
import os
import sqlite3
import threading
import time
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

log = logging.getLogger("muli.sqlite")

BUSY_TIMEOUT_SECONDS = 15
PRAGMAS = (
    "journal_mode=WAL",
    "foreign_keys=ON",
    "synchronous=FULL",
    f"busy_timeout={BUSY_TIMEOUT_SECONDS * 1000}",
    "secure_delete=ON",
)
_HOLDS = "muli_writer_queue"
_WRITING = "muli_writing"  # this connection's transaction holds SQLite's write lock
_READS = ("SELECT", "PRAGMA", "EXPLAIN", "BEGIN", "COMMIT", "END", "ROLLBACK", "RELEASE")


def writes(statement: str) -> bool:
    """Whether a statement needs the write lock. ROLLBACK (TO) and RELEASE only follow a
    SAVEPOINT, which wrote; a WITH names what it does after its common table expressions."""
    words = statement.lstrip(" \t\r\n(").split(None, 1)
    first = words[0].upper() if words else ""
    if first == "WITH":
        body = statement.upper()
        return any(f" {verb} " in f" {body} " for verb in ("INSERT", "UPDATE", "DELETE", "REPLACE"))
    return first not in _READS


class WriterQueue:
    """The turn to write. Taken when a connection begins a transaction and given back when
    that connection returns to the pool (or is invalidated), so whatever ended the
    transaction — commit, rollback, an error, the pool's reset — the turn is not kept.

    A turn not given within the busy timeout is not waited for further: the transaction then
    goes ahead and meets the other writers in SQLite's busy handler, as it would without the
    queue, so a fault here can only cost speed, never block the process.
    """

    POLL_SECONDS = 0.0005

    def __init__(self, lock_path: Path | None = None, timeout: float = BUSY_TIMEOUT_SECONDS):
        self.timeout = timeout
        self.lock_path = lock_path  # None: this process's threads only (an in-memory database)
        self._lock = threading.Lock()
        self._fd: int | None = None
        # A lock copied into a forked child (gunicorn --preload) may be held by a thread that
        # does not exist there, and an inherited file shares its flock with the parent: the
        # child starts with a fresh lock and opens the file itself.
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        self._lock = threading.Lock()
        if self._fd is not None:
            os.close(self._fd)  # the parent's flock stays the parent's
        self._fd = None

    def take(self, info: dict) -> None:
        if info.get(_HOLDS):
            return  # this connection already has the turn
        deadline = time.monotonic() + self.timeout
        if not self._lock.acquire(timeout=self.timeout):
            log.warning("no writer turn within %s s; going on to SQLite's busy handler", self.timeout)
            return
        file_held = self._take_file(deadline)
        info[_HOLDS] = (self._lock, file_held)

    def _take_file(self, deadline: float) -> bool:
        if self.lock_path is None:
            return False
        if self._fd is None:
            self._fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        while True:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                if time.monotonic() > deadline:
                    log.warning("another process kept the writer turn; going on to SQLite's busy handler")
                    return False
                time.sleep(self.POLL_SECONDS)

    def give_back(self, info: dict) -> None:
        held = info.pop(_HOLDS, None)
        if held is None or held[0] is not self._lock:
            return  # not taken, or taken before a fork by a thread that is not here
        if held[1] and self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._lock.release()

    @property
    def busy(self) -> bool:
        return self._lock.locked()


def configure(engine: Engine) -> WriterQueue:
    """Set MULI's pragmas on every new connection; transactions read until they first write."""
    database = engine.url.database
    in_memory = not database or database == ":memory:" or database.startswith("file::memory:")
    queue = WriterQueue(None if in_memory else Path(f"{database}.writer-lock"))

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # SQLAlchemy's BEGIN, not the driver's
        cursor = dbapi_connection.cursor()
        for pragma in PRAGMAS:
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    def _raw(connection, sql: str) -> None:
        cursor = connection.connection.dbapi_connection.cursor()
        try:
            cursor.execute(sql)
        finally:
            cursor.close()

    def _become_writer(connection) -> None:
        info = connection.info
        if info.get(_WRITING) or not connection.in_transaction():
            return
        if connection.connection.dbapi_connection.in_transaction:
            _raw(connection, "COMMIT")  # the reader changed nothing; its snapshot may be stale
        queue.take(info)
        try:
            _raw(connection, "BEGIN IMMEDIATE")
        except BaseException:
            queue.give_back(info)
            raise
        info[_WRITING] = True

    @event.listens_for(engine, "begin")
    def _begin(connection):
        # A connection that kept its turn from a transaction before (it is given back when the
        # connection returns to the pool) writes at once; any other begins as a reader.
        holds = bool(connection.info.get(_HOLDS))
        connection.info[_WRITING] = holds
        if holds:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
            return
        # The reader's BEGIN, which every request pays, on the driver's connection: it takes
        # no lock and needs none of SQLAlchemy's statement machinery (a result, the cursor
        # events). A failure is still SQLAlchemy's error (the 503 handler's OperationalError).
        try:
            connection.connection.dbapi_connection.execute("BEGIN")
        except sqlite3.Error as error:
            raise DBAPIError.instance("BEGIN", None, error, sqlite3.Error) from error

    @event.listens_for(engine, "before_execute")
    def _before_execute(connection, clauseelement, _multiparams, _params, _options):
        if getattr(clauseelement, "_for_update_arg", None) is not None:
            _become_writer(connection)

    @event.listens_for(engine, "before_cursor_execute")
    def _before_cursor_execute(connection, _cursor, statement, _parameters, _context, _many):
        if not connection.info.get(_WRITING) and writes(statement):
            _become_writer(connection)

    @event.listens_for(engine, "checkin")
    def _checkin(_dbapi_connection, record):
        record.info.pop(_WRITING, None)
        queue.give_back(record.info)

    @event.listens_for(engine, "invalidate")
    def _invalidate(_dbapi_connection, record, _exception):
        record.info.pop(_WRITING, None)
        queue.give_back(record.info)

    @event.listens_for(engine, "soft_invalidate")
    def _soft_invalidate(_dbapi_connection, record, _exception):
        record.info.pop(_WRITING, None)
        queue.give_back(record.info)

    return queue


def erase_traces(engine: Engine) -> bool:
    """After a commit that deleted a patient's text: copy the write-ahead log into the
    database file (where `secure_delete` has zeroed the deleted cells) and empty it
    (`wal_checkpoint(TRUNCATE)`), so neither file keeps the text. Waits, through the busy
    handler, for readers of an older snapshot to finish; answers whether it got to the end
    (a checkpoint that could not finish leaves the log to the next one). Nothing to do on
    PostgreSQL, whose dead rows VACUUM reclaims."""
    if engine.dialect.name != "sqlite":
        return True
    raw = engine.raw_connection()  # no transaction: a checkpoint cannot run inside one
    try:
        busy = raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
    except sqlite3.Error as error:  # the delete is committed; the next checkpoint will do
        log.warning("the WAL checkpoint after a delete failed: %s", type(error).__name__)
        return False
    finally:
        raw.close()
    if busy:
        log.warning("the WAL checkpoint after a delete could not finish; the next one will")
    return not busy
