"""SQLite as MULI uses it: WAL, foreign keys, full sync, secure delete, one writer at a time.

Almost every request writes (every read of patient data is audited), so every transaction
takes SQLite's write lock up front with BEGIN IMMEDIATE instead of failing later to upgrade
a stale read snapshot. Writers first queue on a `WriterQueue`: threads of one process on a
lock that wakes the next one the moment the writer before it returns its connection, and
processes (gunicorn workers, `muli worker`) on an flock of a file beside the database,
tried every half millisecond. Without it they meet in SQLite's busy handler, which sleeps
1, 2, 5 ... 100 ms between tries: the lock sits free while waiters sleep, and a writer
that keeps losing waits for seconds (benchmarks/README.md has the figures).
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import Engine

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
    """Set MULI's pragmas on every new connection and make every transaction a writer."""
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

    @event.listens_for(engine, "begin")
    def _begin(connection):
        queue.take(connection.info)
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            queue.give_back(connection.info)
            raise

    @event.listens_for(engine, "checkin")
    def _checkin(_dbapi_connection, record):
        queue.give_back(record.info)

    @event.listens_for(engine, "invalidate")
    def _invalidate(_dbapi_connection, record, _exception):
        queue.give_back(record.info)

    @event.listens_for(engine, "soft_invalidate")
    def _soft_invalidate(_dbapi_connection, record, _exception):
        queue.give_back(record.info)

    return queue
