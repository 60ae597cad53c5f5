"""Contact requests ("Når du vil snakke med noen"), their messages and escalations."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Table, Text, UniqueConstraint, event
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship, scoped_session

from muli.models.base import Base, CreatedMixin, IdMixin
from muli.models.people import Patient, Staff

REQUEST_KINDS = ("call_me", "chat")
URGENCIES = ("talk", "crisis")
REQUEST_STATES = ("open", "acknowledged", "closed", "cancelled")
ROUTES = ("on_call", "office", "none")
OUTCOMES = ("talked", "chat", "referred_emergency", "no_answer", "other")
AUTHOR_KINDS = ("patient", "staff", "system")
# 0: waiting; 1: backup on call and coordinators alerted; 2: patient told to call 116 117 / 113.
ESCALATION_KINDS = ("backup", "team", "reminder")


class ContactRequest(IdMixin, CreatedMixin, Base):
    """A patient asking to talk to someone; never refused, escalated until someone answers."""

    __tablename__ = "contact_request"
    __table_args__ = (
        CheckConstraint(f"kind IN {REQUEST_KINDS!r}", name="kind"),
        CheckConstraint(f"urgency IN {URGENCIES!r}", name="urgency"),
        CheckConstraint(f"state IN {REQUEST_STATES!r}", name="state"),
        CheckConstraint(f"routed_to IN {ROUTES!r}", name="routed_to"),
        Index("ix_contact_request_patient_created", "patient_id", "created_at"),
        Index("ix_contact_request_team_state_created", "team_id", "state", "created_at"),
        Index("ix_contact_request_state_escalate", "state", "escalate_at"),
        Index("ix_contact_request_state_remind", "state", "remind_at"),
    )
    __encrypted__ = ("callback_phone", "close_note")

    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patient.id"))
    team_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("team.id"))
    kind: Mapped[str] = mapped_column(String(10))
    urgency: Mapped[str] = mapped_column(String(10))
    callback_phone_enc: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(15), default="open")
    routed_to: Mapped[str] = mapped_column(String(10))
    routed_staff_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))
    acknowledge_within_minutes: Mapped[int]
    escalation_level: Mapped[int] = mapped_column(default=0)
    # The next escalation is due at this instant while the request is open (None: no more).
    escalate_at: Mapped[datetime | None]
    escalated_at: Mapped[datetime | None]
    acknowledged_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))
    acknowledged_at: Mapped[datetime | None]
    # Acknowledged but not closed: a reminder is due at this instant (None: sent or not needed).
    remind_at: Mapped[datetime | None]
    closed_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))
    closed_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(20))
    close_note_enc: Mapped[str | None] = mapped_column(Text)
    cancelled_at: Mapped[datetime | None]
    # "Ringer nå": the responder started a call (the patient sees "Ola ringer deg"); the last one.
    call_started_at: Mapped[datetime | None]
    call_started_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))

    patient: Mapped[Patient] = relationship(lazy="joined")
    acknowledged_by: Mapped[Staff | None] = relationship(foreign_keys=[acknowledged_by_id])
    closed_by: Mapped[Staff | None] = relationship(foreign_keys=[closed_by_id])
    routed_staff: Mapped[Staff | None] = relationship(foreign_keys=[routed_staff_id])
    call_started_by: Mapped[Staff | None] = relationship(foreign_keys=[call_started_by_id])


class ContactMessage(IdMixin, CreatedMixin, Base):
    """A message in a request's conversation: the patient's, a responder's, or MULI's own."""

    __tablename__ = "contact_message"
    __table_args__ = (
        CheckConstraint(f"author_kind IN {AUTHOR_KINDS!r}", name="author_kind"),
        Index("ix_contact_message_request_created", "request_id", "created_at"),
    )
    __encrypted__ = ("body",)

    request_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("contact_request.id"))
    author_kind: Mapped[str] = mapped_column(String(10))
    author_staff_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))
    body_enc: Mapped[str] = mapped_column(Text)

    author_staff: Mapped[Staff | None] = relationship(lazy="joined")


class ContactEscalation(IdMixin, Base):
    """One escalation step that happened; unique per request and kind, so it happens once."""

    __tablename__ = "contact_escalation"
    __table_args__ = (
        UniqueConstraint("request_id", "kind"),
        CheckConstraint(f"kind IN {ESCALATION_KINDS!r}", name="kind"),
    )

    request_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("contact_request.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    level: Mapped[int]
    occurred_at: Mapped[datetime]
    notified: Mapped[int] = mapped_column(default=0)


class ContactQueueVersion(Base):
    """A team's queue version: a new random value in the transaction of every change that
    alters what the staff's queue shows (a request made, taken, called, closed, cancelled or
    escalated; a patient's number changed), set by `queue_changed`. The queue's ETag is made
    from it, so a conditional poll is answered from this one row per team, reading no request
    and nothing about a patient. Random, not a counter: a database restored from a backup
    cannot bring back a value a client already holds for other content."""

    __tablename__ = "contact_queue_version"

    team_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("team.id"), primary_key=True)
    version: Mapped[str] = mapped_column(String(32))


_QUEUE_CHANGED = "muli_queue_changed"


def queue_changed(session, *team_ids: uuid.UUID) -> None:
    """The change being made alters what these teams' queues show: each gets a new version in
    this transaction. Every service that changes what the queue shows calls this; nothing
    else writes the table. The versions are written just before the commit (an upsert per
    team, teams in one order): the row lock each takes on PostgreSQL is held only through the
    commit, and two transactions that touch several teams (the worker's batches) take them in
    the same order, so they never wait on each other crosswise."""
    real = session.registry() if isinstance(session, scoped_session) else session
    if not real.in_transaction():
        real.begin()
    real.info.setdefault(_QUEUE_CHANGED, set()).update(team_ids)


def _version_upsert(insert):
    """The upsert of one team's version, built once per dialect (values are bound on execute)."""
    table = ContactQueueVersion.__table__
    assert isinstance(table, Table)
    statement = insert(table)
    return statement.on_conflict_do_update(
        index_elements=[table.c.team_id], set_={"version": statement.excluded.version}
    )


# Built and compiled once, not on every commit: building the upsert (its `excluded` columns)
# was a tenth of a contact request's Python calls.
_VERSION_UPSERT = {"postgresql": _version_upsert(pg_insert), "sqlite": _version_upsert(sqlite_insert)}


@event.listens_for(Session, "before_commit")
def _write_queue_versions(session: Session) -> None:
    teams = session.info.pop(_QUEUE_CHANGED, None)
    if not teams:
        return
    connection = session.connection()
    upsert = _VERSION_UPSERT[connection.dialect.name]
    for team_id in sorted(teams, key=str):
        connection.execute(upsert, {"team_id": team_id, "version": uuid.uuid4().hex})


@event.listens_for(Session, "after_soft_rollback")
def _forget_queue_changes(session: Session, _previous_transaction) -> None:
    session.info.pop(_QUEUE_CHANGED, None)
