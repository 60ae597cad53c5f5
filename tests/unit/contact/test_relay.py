"""The relay's waker: woken by the commit that queued a notification (PostgreSQL NOTIFY,
SQLite's 250 ms poll of the due query), not by a rollback."""

from __future__ import annotations

import threading
import time
import uuid

import pytest

from muli.contact import notifications, relay
from muli.extensions import db
from muli.models.base import utcnow
from muli.models.outbox import OutboxMessage
from tests.conftest import database_kind


def queue_one(ctx, key: str) -> None:
    ctx.session.add(
        OutboxMessage(
            dedupe_key=key,
            recipient="ola@muli.invalid",
            subject=notifications.SUBJECT,
            body="x",
            next_attempt_at=utcnow(),
        )
    )
    notifications.wake(ctx)


def waker(app):
    with app.app_context():
        engine = db.engine
    if engine.dialect.name == "postgresql":
        return relay.PgListener(engine, timeout=10)
    return relay.SqlitePoller(str(engine.url.database))


def timed_wait(w, seconds: float, action) -> float:
    """How long `w.wait` took while `action` ran in another thread a moment after it began."""
    stop = threading.Event()
    w.wait(stop, 0.01)  # connect and LISTEN before the change
    started = time.monotonic()
    worker = threading.Thread(target=lambda: (time.sleep(0.2), action()))
    worker.start()
    w.wait(stop, seconds)
    took = time.monotonic() - started
    worker.join(timeout=10)
    return took


def test_a_committed_notification_wakes_the_relay_within_a_second(app, ctx):
    w = waker(app)

    def commit():
        with app.app_context():
            from muli.cli import system_ctx

            other = system_ctx()
            queue_one(other, "wake:1")
            other.session.commit()
            db.session.remove()

    try:
        took = timed_wait(w, 10, commit)
    finally:
        w.close()
    assert took < 1.5, took  # 10 s if nothing woke it


def test_a_rolled_back_notification_does_not_wake_the_relay(app, ctx):
    w = waker(app)

    def roll_back():
        with app.app_context():
            from muli.cli import system_ctx

            other = system_ctx()
            queue_one(other, "wake:2")
            other.session.flush()
            other.session.rollback()
            db.session.remove()

    try:
        took = timed_wait(w, 1.5, roll_back)
    finally:
        w.close()
    assert took >= 1.4, took


@pytest.mark.skipif(database_kind() != "postgresql", reason="NOTIFY is PostgreSQL's; SQLite's relay polls")
@pytest.mark.parametrize("commit", [True, False])
def test_queued_notifications_notify_the_relay_once_on_commit_and_never_on_rollback(app, ctx, world, commit):
    """`enqueue` NOTIFYs from its INSERT's RETURNING clause: rows for two people in one
    transaction are one notification, delivered when it commits; a rollback sends none."""
    team = world.team()
    people = [world.staff(team).staff, world.staff(team).staff]
    listener = relay.PgListener(db.engine)
    try:
        conn = listener._connection()
        queued = notifications.enqueue(ctx, people, "request", uuid.uuid4())
        assert queued == 2
        assert list(conn.notifies(timeout=0.2)) == []  # nothing before the commit
        ctx.session.commit() if commit else ctx.session.rollback()
        heard = [n.channel for n in conn.notifies(timeout=2)]
    finally:
        listener.close()
    assert heard == ([notifications.CHANNEL] if commit else [])
