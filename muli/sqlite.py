"""SQLite as MULI uses it: WAL, foreign keys, full sync, secure delete, one writer at a time.

Almost every request writes (every read of patient data is audited), so every transaction
takes SQLite's write lock up front with BEGIN IMMEDIATE instead of failing later to upgrade
a stale read snapshot. Threads of one process first queue on a `WriterQueue`: a waiting
thread is woken the moment the writer before it returns its connection, instead of polling
in SQLite's busy handler, which sleeps 1, 2, 5 ... 100 ms between tries (measured: +25-30 %
requests per second and a p99 cut by a third or more under 8 connections; benchmarks/README.md).
Other processes (gunicorn workers, `muli worker`) still meet in the busy handler.
"""

from __future__ import annotations

import logging
import os
import threading

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
    """A process-wide turn to write. Taken when a connection begins a transaction and given
    back when that connection returns to the pool (or is invalidated), so whatever ended the
    transaction — commit, rollback, an error, the pool's reset — the turn is not kept.

    A turn not given within the busy timeout is not waited for further: the transaction then
    goes ahead and meets the other writers in SQLite's busy handler, as it would without the
    queue, so a fault here can only cost speed, never block the process.
    """

    def __init__(self, timeout: float = BUSY_TIMEOUT_SECONDS):
        self.timeout = timeout
        self._lock = threading.Lock()
        # A lock copied into a forked child (gunicorn --preload) may be held by a thread that
        # does not exist there: the child starts with a fresh one.
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        self._lock = threading.Lock()

    def take(self, info: dict) -> None:
        if info.get(_HOLDS):
            return  # this connection already has the turn
        if self._lock.acquire(timeout=self.timeout):
            info[_HOLDS] = self._lock
        else:
            log.warning("no writer turn within %s s; going on to SQLite's busy handler", self.timeout)

    def give_back(self, info: dict) -> None:
        lock = info.pop(_HOLDS, None)
        if lock is not None and lock is self._lock:
            lock.release()

    @property
    def busy(self) -> bool:
        return self._lock.locked()


def configure(engine: Engine) -> WriterQueue:
    """Set MULI's pragmas on every new connection and make every transaction a writer."""
    queue = WriterQueue()

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
