"""The outbox relay: sends a notification within a second of the commit that queued it.

The escalation pass runs every 30 s; the relay does not wait for it. It sleeps until there
may be work and then runs `notifications.send_due`:

- PostgreSQL: LISTEN on `muli_outbox`. `notifications.wake` NOTIFYs in the transaction
  that queued the row, so the relay wakes when (and only if) that transaction commits.
  It also looks once a second, for rows whose back-off has run out and for missed
  notifications (a reconnect).
- SQLite: a poll every 250 ms of the indexed due query (`ix_outbox_message_state_next`)
  on its own read-only connection, which takes no write lock (WAL readers never block
  the writers), so the poll costs the web requests nothing.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Engine

from muli.contact import notifications
from muli.platform.context import Ctx

log = logging.getLogger("muli.relay")

POLL_SECONDS = 0.25
LISTEN_SECONDS = 1.0


class SqlitePoller:
    """Is anything due? One indexed read on a read-only connection, every 250 ms."""

    QUERY = (
        "SELECT 1 FROM outbox_message WHERE state = 'pending' AND next_attempt_at <= ? "
        "UNION ALL SELECT 1 FROM outbox_message WHERE state = 'sending' AND claimed_until < ? LIMIT 1"
    )

    def __init__(self, path: str, interval: float = POLL_SECONDS):
        self.path, self.interval = path, interval
        self._conn: sqlite3.Connection | None = None

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False)
            self._conn.isolation_level = None  # autocommit: each SELECT sees the latest commit
        return self._conn

    def due(self) -> bool:
        # As the UTCDateTime column stores it on SQLite: naive UTC, ISO with a space.
        now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        try:
            return self._connection().execute(self.QUERY, (now, now)).fetchone() is not None
        except sqlite3.Error:
            self.close()
            return True  # let the sender find out

    def wait(self, stop: threading.Event, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not stop.is_set() and time.monotonic() < deadline:
            if self.due():
                return
            stop.wait(self.interval)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class PgListener:
    """LISTEN muli_outbox on a connection of its own (autocommit), outside the pool."""

    def __init__(self, engine: Engine, timeout: float = LISTEN_SECONDS):
        self.engine, self.timeout = engine, timeout
        self._conn: Any = None

    def _connection(self):
        if self._conn is None:
            import psycopg

            url = self.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
            conn = psycopg.connect(url, autocommit=True)
            conn.execute(f"LISTEN {notifications.CHANNEL}")
            self._conn = conn
        return self._conn

    def wait(self, stop: threading.Event, timeout: float) -> None:
        try:
            conn = self._connection()
            for _ in conn.notifies(timeout=min(timeout, self.timeout), stop_after=1):
                break
        except Exception:
            log.warning("LISTEN connection lost; reconnecting", exc_info=True)
            self.close()
            stop.wait(min(timeout, self.timeout))

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):  # closing a broken connection
                self._conn.close()
            self._conn = None


def waker_for(engine: Engine):
    if engine.dialect.name == "postgresql":
        return PgListener(engine)
    return SqlitePoller(str(engine.url.database))


def run(
    make_ctx: Callable[[], Ctx],
    transports: dict,
    *,
    commit: Callable[[], None],
    rollback: Callable[[], None],
    cleanup: Callable[[], None],
    waker,
    stop: threading.Event,
    on_report: Callable[[notifications.SendReport], None] | None = None,
) -> None:
    """Send what is due, then sleep until the waker says there may be more; until `stop`."""
    while not stop.is_set():
        try:
            report = notifications.send_due(make_ctx(), transports, commit=commit)
            if on_report and (report.sent or report.retried or report.failed):
                on_report(report)
        except Exception:
            # A database away or a broken transport must not end the relay; try again shortly.
            rollback()
            log.exception("relay pass failed")
            stop.wait(1.0)
        finally:
            cleanup()
        waker.wait(stop, LISTEN_SECONDS)
    waker.close()
