"""The audit chain: appended in commit order, and any edit, removal or reordering is found."""

from itertools import pairwise

import pytest
from sqlalchemy import delete, select, update

from muli.extensions import db
from muli.models.audit import AuditEvent, AuditHead
from muli.platform.context import Actor
from muli.trust import audit

NURSE = Actor(kind="staff", name="Ola Vakt", role="member", agency_name="Fjordvik DPS")


@pytest.fixture
def five_events(app, app_ctx):
    for i in range(5):
        audit.record(db.session, NURSE, "crisis_plan.read", resource="crisis_plan", resource_id=i)
        db.session.commit()
    return db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()


def test_events_are_numbered_and_linked_in_commit_order(five_events):
    assert [e.seq for e in five_events] == [1, 2, 3, 4, 5]
    assert all(b.prev_hash == a.hash for a, b in pairwise(five_events))


def test_an_intact_chain_verifies(five_events):
    assert list(audit.verify(db.session)) == []


def test_an_edited_event_breaks_the_chain(five_events):
    db.session.execute(update(AuditEvent).where(AuditEvent.seq == 3).values(actor_name="Someone Else"))
    db.session.commit()
    breaks = list(audit.verify(db.session))
    assert [b.seq for b in breaks] == [3]
    assert "edited" in breaks[0].problem


def test_a_removed_event_breaks_the_chain(five_events):
    db.session.execute(delete(AuditEvent).where(AuditEvent.seq == 2))
    db.session.commit()
    assert any(b.seq == 3 for b in audit.verify(db.session))


def test_swapped_events_break_the_chain(five_events):
    second, fourth = five_events[1], five_events[3]
    a = {"resource_id": second.resource_id}
    b = {"resource_id": fourth.resource_id}
    db.session.execute(update(AuditEvent).where(AuditEvent.seq == 2).values(**b))
    db.session.execute(update(AuditEvent).where(AuditEvent.seq == 4).values(**a))
    db.session.commit()
    assert {b.seq for b in audit.verify(db.session)} >= {2, 4}


def test_a_cut_off_tail_is_found_through_the_chain_head(five_events):
    db.session.execute(delete(AuditEvent).where(AuditEvent.seq == 5))
    db.session.commit()
    breaks = list(audit.verify(db.session))
    assert breaks and "newest ones are missing" in breaks[-1].problem


def test_events_of_a_rolled_back_transaction_are_not_written(app, app_ctx):
    audit.record(db.session, NURSE, "diary.read")
    db.session.rollback()
    db.session.commit()
    assert db.session.scalars(select(AuditEvent)).all() == []
    assert db.session.get(AuditHead, 1) is None


def test_verify_audit_exits_non_zero_on_an_edited_row(five_events, runner):
    assert runner.invoke(args=["muli", "verify-audit"]).exit_code == 0
    db.session.execute(update(AuditEvent).where(AuditEvent.seq == 1).values(action="nothing.to.see"))
    db.session.commit()
    result = runner.invoke(args=["muli", "verify-audit"])
    assert result.exit_code == 1
    assert "BROKEN" in result.output


def test_two_first_events_committed_at_once_both_land_in_one_chain(app):
    """Nobody has written to an empty database yet; two requests commit their first events
    at the same moment. Both must land, one after the other, and not fail on the chain head."""
    import contextlib
    import threading

    from sqlalchemy import event
    from sqlalchemy.orm import Session

    both_looked = threading.Barrier(2)

    def wait_for_the_other(_conn, _cursor, statement, *_args):
        if statement.lstrip().upper().startswith("INSERT INTO AUDIT_HEAD"):
            # Both have found no head. (On SQLite the second cannot even look until the
            # first commits, BEGIN IMMEDIATE serialises them; the barrier then times out.)
            with contextlib.suppress(threading.BrokenBarrierError):
                both_looked.wait(timeout=2)

    errors = []

    def first_event(n: int) -> None:
        try:
            with app.app_context(), Session(db.engine) as session:
                audit.record(session, NURSE, "crisis_plan.read", resource="crisis_plan", resource_id=n)
                session.commit()
        except Exception as error:  # reported below
            errors.append(error)

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", wait_for_the_other)
        try:
            threads = [threading.Thread(target=first_event, args=(n,)) for n in (1, 2)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=60)
        finally:
            event.remove(db.engine, "before_cursor_execute", wait_for_the_other)
        assert errors == []
        events = db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
        assert [e.seq for e in events] == [1, 2]
        assert list(audit.verify(db.session)) == []
        db.session.remove()


def test_events_recorded_while_writing_the_past_carry_its_date_and_still_verify(app, app_ctx):
    from datetime import UTC, datetime

    then = datetime(2026, 3, 1, 1, 40, tzinfo=UTC)
    actor = Actor(kind="system", name="demo")
    with audit.dated(db.session, lambda: then):
        audit.record(db.session, actor, "demo.past")
    audit.record(db.session, actor, "demo.now")
    db.session.commit()
    past, now = db.session.scalars(select(AuditEvent.occurred_at).order_by(AuditEvent.seq)).all()
    assert (past, now > then, list(audit.verify(db.session))) == (then, True, [])
