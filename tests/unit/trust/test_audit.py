"""The audit chain: events appended by requests with no shared row, sealed afterwards by the
worker (issue 19); any edit, removal or reordering of a sealed event is found, and so are
events left unsealed too long."""

import contextlib
from itertools import pairwise

import pytest
from sqlalchemy import delete, event, func, select, update

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
    assert audit.seal_all(db.session, db.session.commit) == 5
    return db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()


def test_events_are_numbered_at_insert_and_linked_when_sealed(five_events):
    assert [e.seq for e in five_events] == [1, 2, 3, 4, 5]
    assert [e.chain_pos for e in five_events] == [1, 2, 3, 4, 5]
    assert all(b.prev_hash == a.hash for a, b in pairwise(five_events))
    assert (db.session.get(AuditHead, 1).seq, db.session.get(AuditHead, 1).hash) == (5, five_events[-1].hash)


def test_a_request_inserts_its_event_unsealed_and_touches_no_shared_row(app, app_ctx):
    statements = []

    def seen(_conn, _cursor, statement, *_args):
        statements.append(statement.split()[0].upper() + " " + statement.upper())

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        audit.record(db.session, NURSE, "crisis_plan.read", resource="crisis_plan", resource_id=1)
        db.session.commit()
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert [s for s in statements if "AUDIT_HEAD" in s] == []
    assert len([s for s in statements if s.startswith("INSERT") and "AUDIT_EVENT" in s]) == 1
    only = db.session.scalars(select(AuditEvent)).one()
    assert (only.chain_pos, only.prev_hash, only.key_id) == (None, None, "testa1")
    # Keyed at insert already (its own fields, no place yet): not forgeable without the key.
    key = audit.keys_for(db.session).hmac_key("testa1")
    assert only.hash == audit.event_mac(key, {c: getattr(only, c) for c in audit._EVENT_MAC})
    assert db.session.get(AuditHead, 1) is None
    # Not sealed yet is not a break (until the bound; below), and sealing makes it one link.
    assert list(audit.verify(db.session)) == []
    assert audit.seal_all(db.session, db.session.commit) == 1
    assert audit.seal_all(db.session, db.session.commit) == 0  # idempotent: nothing twice
    assert db.session.get(AuditHead, 1).seq == 1


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
    breaks = list(audit.verify(db.session))
    assert any(b.seq == 3 and "removed or reordered" in b.problem for b in breaks), breaks


def test_swapped_events_break_the_chain(five_events):
    second, fourth = five_events[1], five_events[3]
    a = {"resource_id": second.resource_id}
    b = {"resource_id": fourth.resource_id}
    db.session.execute(update(AuditEvent).where(AuditEvent.seq == 2).values(**b))
    db.session.execute(update(AuditEvent).where(AuditEvent.seq == 4).values(**a))
    db.session.commit()
    assert {b.seq for b in audit.verify(db.session)} >= {2, 4}


def test_swapped_places_in_the_chain_break_it(five_events):
    """Reordering the sealed chain itself: events 2 and 4 trade places (and hashes' links)."""
    second, fourth = five_events[1], five_events[3]
    swap = {2: (4, fourth.prev_hash), 4: (2, second.prev_hash)}
    db.session.execute(update(AuditEvent).where(AuditEvent.seq.in_([2, 4])).values(chain_pos=None))
    for seq, (pos, prev) in swap.items():
        db.session.execute(
            update(AuditEvent).where(AuditEvent.seq == seq).values(chain_pos=pos, prev_hash=prev)
        )
    db.session.commit()
    breaks = list(audit.verify(db.session))
    assert {b.seq for b in breaks if "edited or re-hashed" in b.problem} == {2, 4}, breaks


def test_an_event_forged_or_edited_before_it_was_sealed_is_sealed_marked_and_named(app, app_ctx, runner):
    import uuid

    from muli.models.base import utcnow

    for i in range(3):
        audit.record(db.session, NURSE, "crisis_plan.read", resource="crisis_plan", resource_id=i)
    db.session.commit()
    # Before the worker comes by: one event edited, one made up, with a hash of their own.
    db.session.execute(update(AuditEvent).where(AuditEvent.seq == 2).values(actor_name="Someone Else"))
    db.session.execute(
        AuditEvent.__table__.insert().values(
            id=uuid.uuid4(), occurred_at=utcnow(), action="crisis_plan.read", outcome="ok", emergency=False,
            key_id="testa1", hash="0" * 64,
        )
    )  # fmt: skip
    db.session.commit()
    forged = db.session.scalar(select(func.max(AuditEvent.seq)))
    before = list(audit.verify(db.session))
    assert {b.seq for b in before} == {2, forged} and all("not sealed yet" in b.problem for b in before)
    # Sealed all the same (the chain goes on; nothing can take them out unseen), but marked.
    assert audit.seal_all(db.session, db.session.commit) == 4
    marked = db.session.scalars(select(AuditEvent.seq).where(AuditEvent.key_id == audit.UNVERIFIED)).all()
    assert sorted(marked) == [2, forged]
    after = list(audit.verify(db.session))
    assert {b.seq for b in after} == {2, forged}, after
    assert all("did not carry the service's keyed hash" in b.problem for b in after)
    result = runner.invoke(args=["muli", "verify-audit"])
    assert result.exit_code == 1 and "audit event 2: did not carry" in result.output


def test_an_event_left_unsealed_longer_than_the_bound_is_reported(five_events, runner):
    from datetime import timedelta

    from muli.models.base import utcnow

    # A request's event the worker never got to: dated 10 minutes ago, not sealed.
    with audit.dated(db.session, lambda: utcnow() - timedelta(minutes=10)):
        audit.record(db.session, NURSE, "diary.read")
    audit.record(db.session, NURSE, "diary.read")  # just now: within the bound
    db.session.commit()
    late, _fresh = db.session.scalars(select(AuditEvent.seq).where(AuditEvent.chain_pos.is_(None))).all()
    breaks = list(audit.verify(db.session, unsealed_bound=timedelta(minutes=5)))
    assert [(b.seq, "1 event(s)" in b.problem and "not sealed" in b.problem) for b in breaks] == [
        (late, True)
    ]
    result = runner.invoke(args=["muli", "verify-audit"])
    assert result.exit_code == 1 and f"the first event {late}" in result.output, result.output
    # Sealed, both are links of the chain, and nothing is reported.
    audit.seal_all(db.session, db.session.commit)
    assert list(audit.verify(db.session, unsealed_bound=timedelta(minutes=5))) == []
    assert runner.invoke(args=["muli", "verify-audit"]).exit_code == 0


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
    assert audit.seal_all(db.session, db.session.commit) == 0


def test_verify_audit_exits_non_zero_on_an_edited_row(five_events, runner):
    assert runner.invoke(args=["muli", "verify-audit"]).exit_code == 0
    db.session.execute(update(AuditEvent).where(AuditEvent.seq == 1).values(action="nothing.to.see"))
    db.session.commit()
    result = runner.invoke(args=["muli", "verify-audit"])
    assert result.exit_code == 1
    assert "BROKEN" in result.output


def _append_concurrently(app, writers: int, each: int) -> None:
    """`writers` threads, each with its own connection, commit `each` events one by one."""
    import threading

    from sqlalchemy.orm import Session

    errors = []
    start = threading.Barrier(writers)

    def write(n: int) -> None:
        try:
            with app.app_context(), Session(db.engine) as session:
                start.wait(timeout=30)
                for i in range(each):
                    audit.record(
                        session, NURSE, "crisis_plan.read", resource="crisis_plan", resource_id=n * 1000 + i
                    )
                    session.commit()
        except Exception as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []


def test_events_appended_by_many_connections_at_once_seal_into_one_chain(app, app_ctx, runner):
    _append_concurrently(app, writers=4, each=15)
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == 60
    assert audit.seal_all(db.session, db.session.commit, batch=7) == 60
    events = db.session.scalars(select(AuditEvent).order_by(AuditEvent.chain_pos)).all()
    assert [e.chain_pos for e in events] == list(range(1, 61))
    assert len({e.seq for e in events}) == 60
    assert list(audit.verify(db.session)) == []
    assert runner.invoke(args=["muli", "verify-audit"]).exit_code == 0


def test_two_sealers_at_once_never_seal_an_event_twice_nor_fork_the_chain(app, app_ctx):
    """Two workers seal at the same moment, while requests still append: they take turns on
    the head's lock, the second goes on after the first's events, one chain."""
    import threading

    from sqlalchemy.orm import Session

    _append_concurrently(app, writers=2, each=20)
    both_looked = threading.Barrier(2)
    sealed, errors = [], []

    def sealer() -> None:
        try:
            with app.app_context(), Session(db.engine) as session:
                with contextlib.suppress(threading.BrokenBarrierError):
                    both_looked.wait(timeout=5)
                for _ in range(20):
                    n = audit.seal(session, batch=3)
                    session.commit()
                    sealed.append(n)
                    if n == 0:
                        break
        except Exception as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=sealer) for _ in range(2)]
    for t in threads:
        t.start()
    _append_concurrently(app, writers=2, each=5)  # and requests go on meanwhile
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    audit.seal_all(db.session, db.session.commit)  # what came in after both had finished
    events = db.session.scalars(select(AuditEvent).order_by(AuditEvent.chain_pos)).all()
    assert len(events) == 50 and sum(sealed) <= 50
    assert [e.chain_pos for e in events] == list(range(1, 51))
    assert len({e.prev_hash for e in events}) == 50  # no two events follow the same one: no fork
    assert list(audit.verify(db.session)) == []


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


class _Text(str):
    """A str subclass (as an enum's value may be): `_text` hands it back as it is."""


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"actor_name": "Kari Nordmann", "actor_agency_name": "Tromsø kommune", "emergency": True},
        {"reason": "Hastesak: «nødstilgang» \u2713", "resource_id": "42", "outcome": _Text("denied")},
        {"patient_id": None, "actor_account_id": None, "ip": None, "request_id": None},
    ],
)
def test_the_insert_time_mac_is_the_keyed_hash_of_the_canonical_text(changes):
    # event_mac writes the canonical text its own (quicker) way: the same bytes as
    # `_canonical`'s sorted JSON of the event's fields, so sealing and verify-audit agree.
    import hashlib
    import hmac
    import uuid
    from datetime import UTC, datetime

    values = {
        "id": uuid.UUID("00000000-0000-4000-8000-000000000001"),
        "occurred_at": datetime(2026, 12, 1, 3, 4, 5, 6789, tzinfo=UTC),
        "action": "crisis_plan.read",
        "outcome": "ok",
        "actor_account_id": uuid.UUID("00000000-0000-4000-8000-000000000002"),
        "actor_kind": "patient",
        "actor_name": None,
        "actor_role": "patient",
        "actor_agency_name": None,
        "patient_id": uuid.UUID("00000000-0000-4000-8000-000000000003"),
        "resource": "crisis_plan",
        "resource_id": None,
        "emergency": False,
        "reason": None,
        "ip": "127.0.0.1",
        "request_id": "req-1",
        "key_id": "k1",
        **changes,
    }
    key = b"k" * 32
    expected = hmac.new(key, audit._canonical(values, audit._EVENT_MAC), hashlib.sha256).hexdigest()
    assert audit.event_mac(key, values) == expected
