"""The weekly coordination meeting: agenda, per-patient notes, action items, attendees, addenda."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from muli.models.base import Base, CreatedMixin, IdMixin, utcnow
from muli.models.people import Agency, Patient, Staff

ACTION_STATUSES = ("open", "done")


class Meeting(IdMixin, CreatedMixin, Base):
    """One team's meeting on one date; signing locks notes, actions and attendees."""

    __tablename__ = "meeting"
    __table_args__ = (
        UniqueConstraint("team_id", "held_on"),
        Index("ix_meeting_team_created", "team_id", "created_at"),
    )

    team_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("team.id"))
    held_on: Mapped[date]
    # Events since this instant put a patient first on the agenda (see muli.team.meetings).
    events_since: Mapped[datetime]
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))
    signed_at: Mapped[datetime | None]
    signed_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))

    signed_by: Mapped[Staff | None] = relationship(foreign_keys=[signed_by_id])


class AgendaItem(IdMixin, Base):
    """A patient on a meeting's agenda, in order; `events` counts what happened since last time."""

    __tablename__ = "meeting_agenda_item"
    __table_args__ = (UniqueConstraint("meeting_id", "patient_id"),)

    meeting_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("meeting.id"), index=True)
    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patient.id"), index=True)
    position: Mapped[int]
    events: Mapped[dict] = mapped_column(JSON, default=dict)

    patient: Mapped[Patient] = relationship(lazy="joined")


class MeetingNote(IdMixin, Base):
    """The team's note on one patient in one meeting; `version` guards concurrent edits."""

    __tablename__ = "meeting_note"
    __table_args__ = (UniqueConstraint("meeting_id", "patient_id"),)
    __encrypted__ = ("text",)

    meeting_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("meeting.id"), index=True)
    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patient.id"), index=True)
    text_enc: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))

    updated_by: Mapped[Staff | None] = relationship()


class ActionItem(IdMixin, CreatedMixin, Base):
    """Something agreed, with a responsible agency. A system issue has no patient link at all."""

    __tablename__ = "meeting_action"
    __table_args__ = (
        CheckConstraint(f"status IN {ACTION_STATUSES!r}", name="status"),
        # A system issue is for the leaders, never part of a patient's record.
        CheckConstraint("NOT (system_issue AND patient_id IS NOT NULL)", name="system_issue_no_patient"),
        Index("ix_meeting_action_team_status", "team_id", "status"),
    )
    __encrypted__ = ("description",)

    meeting_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("meeting.id"), index=True)
    team_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("team.id"))
    patient_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("patient.id"), index=True)
    description_enc: Mapped[str] = mapped_column(Text)
    responsible_agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agency.id"))
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))
    due_on: Mapped[date]
    system_issue: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(10), default="open")
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))
    done_at: Mapped[datetime | None]
    done_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))

    responsible_agency: Mapped[Agency] = relationship(lazy="joined")
    assignee: Mapped[Staff | None] = relationship(foreign_keys=[assignee_id], lazy="joined")


class CarriedAction(Base):
    """An open action from an earlier meeting, carried onto this meeting's agenda when it was made."""

    __tablename__ = "meeting_carried_action"

    meeting_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("meeting.id"), primary_key=True)
    action_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("meeting_action.id"), primary_key=True)

    action: Mapped[ActionItem] = relationship(lazy="joined")


class Attendee(IdMixin, Base):
    """Someone at the meeting: a staff member (agency from their employment) or a named guest."""

    __tablename__ = "meeting_attendee"
    __table_args__ = (CheckConstraint("(staff_id IS NULL) <> (guest_name IS NULL)", name="staff_or_guest"),)

    meeting_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("meeting.id"), index=True)
    staff_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))
    guest_name: Mapped[str | None] = mapped_column(String(200))
    agency_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("agency.id"))
    agency_name: Mapped[str | None] = mapped_column(String(200))

    staff: Mapped[Staff | None] = relationship(lazy="joined")


class Addendum(IdMixin, CreatedMixin, Base):
    """Text added to a meeting's record, also after it was signed; about one patient or none."""

    __tablename__ = "meeting_addendum"
    __table_args__ = (Index("ix_meeting_addendum_meeting_created", "meeting_id", "created_at"),)
    __encrypted__ = ("text",)

    meeting_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("meeting.id"))
    patient_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("patient.id"), index=True)
    text_enc: Mapped[str] = mapped_column(Text)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))

    created_by: Mapped[Staff | None] = relationship()
