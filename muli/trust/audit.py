"""The audit trail: append-only, hash-chained events.

Services call `record()`; the events wait in the session and are chained when it commits
(`before_commit`), under a lock on the one-row chain head, so the lock is held only for
the moment of the commit and events land in commit order. `verify()` walks the chain.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Table, event, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, scoped_session

from muli.models.audit import AuditEvent, AuditHead
from muli.models.base import utcnow
from muli.platform.context import Actor

GENESIS = "0" * 64
_EVENTS = cast(Table, AuditEvent.__table__)
_HEAD = cast(Table, AuditHead.__table__)
_PENDING = "muli_audit_pending"
_CLOCK = "muli_audit_clock"

_HASHED = (
    "seq",
    "id",
    "occurred_at",
    "action",
    "outcome",
    "actor_account_id",
    "actor_kind",
    "actor_name",
    "actor_role",
    "actor_agency_name",
    "patient_id",
    "resource",
    "resource_id",
    "emergency",
    "reason",
    "ip",
    "request_id",
    "prev_hash",
)


def record(
    session: Session,
    actor: Actor,
    action: str,
    *,
    patient_id: uuid.UUID | None = None,
    resource: str | None = None,
    resource_id: object = None,
    emergency: bool = False,
    reason: str | None = None,
    outcome: str = "ok",
) -> None:
    """Queue an audit event; it is written, chained, in the same commit as the change."""
    real = session.registry() if isinstance(session, scoped_session) else session
    if not real.in_transaction():
        real.begin()  # so a rollback, even before any SQL, drops the event with the rest
    real.info.setdefault(_PENDING, []).append(
        dict(
            id=uuid.uuid4(),
            occurred_at=real.info.get(_CLOCK, utcnow)(),
            action=action,
            outcome=outcome,
            actor_account_id=actor.account_id,
            actor_kind=actor.kind,
            actor_name=actor.name,
            actor_role=actor.role,
            actor_agency_name=actor.agency_name,
            patient_id=patient_id,
            resource=resource,
            resource_id=None if resource_id is None else str(resource_id),
            emergency=emergency,
            reason=reason,
            ip=actor.ip,
            request_id=actor.request_id,
        )
    )


@contextmanager
def dated(session: Session, clock: Callable[[], datetime]) -> Iterator[None]:
    """Events recorded inside are dated by `clock`, not now: only for writing down what
    happened earlier (the demo's history, `muli/demo.py`), so the trail agrees with it.
    They are still chained in commit order; everything else is dated when it is recorded."""
    real = session.registry() if isinstance(session, scoped_session) else session
    real.info[_CLOCK] = clock
    try:
        yield
    finally:
        real.info.pop(_CLOCK, None)


def event_hash(values: dict) -> str:
    def text(v):
        if v is None or isinstance(v, (bool, int, str)):
            return v
        if hasattr(v, "isoformat"):
            return v.isoformat()
        return str(v)

    canonical = json.dumps({k: text(values[k]) for k in _HASHED}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _chain(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    # Plain statements, not ORM objects: this runs inside every audited request's commit,
    # while the chain head is locked, so it is kept as short as it can be.
    locked_head = select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1).with_for_update()
    head = session.execute(locked_head).first()
    if head is None:
        # The very first event. Two first commits at once must not both create the head:
        # the second one's insert waits for the first, then does nothing, and it locks the
        # head the first one made.
        session.execute(_insert_if_absent(session, id=1, seq=0, hash=GENESIS))
        head = session.execute(locked_head).one()
    seq, prev = head
    for values in pending:
        # Microsecond precision is what both databases keep, so the hash survives a round trip.
        seq += 1
        values["seq"] = seq
        values["prev_hash"] = prev
        values["hash"] = prev = event_hash(values)
    session.execute(insert(_EVENTS), pending)
    session.execute(update(_HEAD).where(AuditHead.id == 1).values(seq=seq, hash=prev))


def _insert_if_absent(session: Session, **values):
    dialect = session.get_bind().dialect.name
    insert_for = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert_for(_HEAD).values(**values).on_conflict_do_nothing(index_elements=["id"])


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    _chain(session)


@event.listens_for(Session, "after_soft_rollback")
def _after_rollback(session: Session, _previous_transaction) -> None:
    # Fires on every rollback(), even one with no database transaction begun yet.
    session.info.pop(_PENDING, None)


@dataclass(frozen=True)
class Break:
    seq: int
    problem: str


def verify(session: Session, batch: int = 5000) -> Iterator[Break]:
    """Yield every break in the chain: an edited, missing or reordered event, or a cut tail."""
    expected_seq, prev = 1, GENESIS
    last_seq = 0
    while True:
        rows = session.scalars(
            select(AuditEvent).where(AuditEvent.seq > last_seq).order_by(AuditEvent.seq).limit(batch)
        ).all()
        if not rows:
            break
        for ev in rows:
            values = {k: getattr(ev, k) for k in _HASHED}
            if ev.seq != expected_seq:
                yield Break(ev.seq, f"expected event {expected_seq}: events are missing")
            if ev.prev_hash != prev:
                yield Break(ev.seq, "does not follow the event before it (removed or reordered)")
            if event_hash(values) != ev.hash:
                yield Break(ev.seq, "content does not match its hash (edited)")
            expected_seq, prev, last_seq = ev.seq + 1, ev.hash, ev.seq
        session.expunge_all()
    head = session.get(AuditHead, 1)
    if head is not None and (head.seq != last_seq or head.hash != prev):
        yield Break(last_seq, f"chain head says {head.seq} events; the newest ones are missing")
