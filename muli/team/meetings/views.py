"""What the meeting services answer: plain dataclasses, filtered by what the reader may see."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select

from muli.models.meetings import ActionItem, Addendum, Attendee, MeetingNote
from muli.platform.context import Ctx


@dataclass
class NoteView:
    """One patient's note in one meeting; version 0 means nobody has written it yet."""

    meeting_id: uuid.UUID
    patient_id: uuid.UUID
    text: str | None
    version: int
    etag: str
    hidden: bool = False
    updated_at: datetime | None = None
    updated_by_name: str | None = None
    updated_by_agency: str | None = None


@dataclass
class ActionView:
    id: uuid.UUID
    meeting_id: uuid.UUID
    patient_id: uuid.UUID | None
    description: str | None
    responsible_agency_id: uuid.UUID
    responsible_agency_name: str
    assignee_id: uuid.UUID | None
    assignee_name: str | None
    due_on: date
    status: str
    system_issue: bool
    created_at: datetime
    done_at: datetime | None
    hidden: bool = False


@dataclass
class AgendaEntry:
    patient_id: uuid.UUID
    display_name: str
    position: int
    events: dict
    note: NoteView
    actions: list[ActionView] = field(default_factory=list)
    # What needs attention anyway (agenda.flags): overdue actions, a crisis plan due for review.
    flags: list[dict] = field(default_factory=list)

    @property
    def has_events(self) -> bool:
        return any(self.events.values())

    @property
    def flagged(self) -> bool:
        return bool(self.flags)


@dataclass
class AttendeeView:
    staff_id: uuid.UUID | None
    name: str
    agency_id: uuid.UUID | None
    agency_name: str | None
    guest: bool


@dataclass
class AddendumView:
    id: uuid.UUID
    patient_id: uuid.UUID | None
    text: str | None
    created_at: datetime
    created_by_name: str | None
    hidden: bool = False


@dataclass
class MeetingView:
    """Everything the meeting page shows, filtered by what the reader may see."""

    id: uuid.UUID
    team_id: uuid.UUID
    held_on: date
    events_since: datetime
    signed_at: datetime | None
    signed_by_name: str | None
    agenda: list[AgendaEntry]
    actions: list[ActionView]
    carried_over: list[ActionView]
    attendees: list[AttendeeView]
    addenda: list[AddendumView]

    @property
    def signed(self) -> bool:
        return self.signed_at is not None


@dataclass
class Guest:
    """Someone at the meeting without a MULI account (a police liaison this week)."""

    name: str
    agency: str | None = None


def note_etag(meeting_id: uuid.UUID, patient_id: uuid.UUID, version: int, shown: tuple = ()) -> str:
    """A strong ETag (quoted) naming one version of one note and, after a dot, what the answer
    shows beside the text (`shown`: whether it is hidden, the author's name and agency).

    If-Match compares the version part only (a renamed author is no edit to overwrite);
    If-None-Match compares all of it, so a reader whose consent changed (the text now hidden,
    or now shown) or who holds an old name gets the new answer, never a 304 for the old one.
    """
    digest = hashlib.sha256(f"{meeting_id}|{patient_id}|{version}".encode()).hexdigest()[:24]
    if shown:
        digest += "." + hashlib.sha256(repr(shown).encode()).hexdigest()[:8]
    return f'"{digest}"'


def etag_matches(header: str, etag: str, *, version_only: bool = False) -> bool:
    """Whether an If-Match / If-None-Match header names `etag` (weak prefixes ignored);
    `version_only`: whether it names the same version of the note, whatever it showed."""
    given = [part.strip().removeprefix("W/") for part in header.split(",")]
    if version_only:
        return _version_part(etag) in {_version_part(tag) for tag in given}
    return etag in given


def _version_part(etag: str) -> str:
    return etag.strip('"').split(".", 1)[0]


def note_view(ctx: Ctx, meeting_id, patient_id, note: MeetingNote | None, visible: bool) -> NoteView:
    version = note.version if note else 0
    view = NoteView(meeting_id, patient_id, None, version, "")
    if not visible:
        view.hidden = True
    elif note is not None:
        view.text = ctx.keys.open(note, "text")
        view.updated_at = note.updated_at
        if note.updated_by is not None:
            view.updated_by_name = note.updated_by.display_name
            view.updated_by_agency = note.updated_by.agency.name
    shown = (view.hidden, view.updated_by_name, view.updated_by_agency)
    view.etag = note_etag(meeting_id, patient_id, version, shown)
    return view


def action_view(ctx: Ctx, action: ActionItem, grants: dict) -> ActionView:
    visible = action.patient_id is None or grants.get(action.patient_id) is not None
    return ActionView(
        id=action.id,
        meeting_id=action.meeting_id,
        patient_id=action.patient_id,
        description=ctx.keys.open(action, "description") if visible else None,
        responsible_agency_id=action.responsible_agency_id,
        responsible_agency_name=action.responsible_agency.name,
        assignee_id=action.assignee_id,
        assignee_name=action.assignee.display_name if action.assignee else None,
        due_on=action.due_on,
        status=action.status,
        system_issue=action.system_issue,
        created_at=action.created_at,
        done_at=action.done_at,
        hidden=not visible,
    )


def addendum_view(ctx: Ctx, addendum: Addendum, grants: dict) -> AddendumView:
    visible = addendum.patient_id is None or grants.get(addendum.patient_id) is not None
    return AddendumView(
        id=addendum.id,
        patient_id=addendum.patient_id,
        text=ctx.keys.open(addendum, "text") if visible else None,
        created_at=addendum.created_at,
        created_by_name=addendum.created_by.display_name if addendum.created_by else None,
        hidden=not visible,
    )


def attendees(ctx: Ctx, meeting_id: uuid.UUID) -> list[AttendeeView]:
    rows = ctx.session.scalars(select(Attendee).where(Attendee.meeting_id == meeting_id)).all()
    views = [
        AttendeeView(
            staff_id=a.staff_id,
            name=a.staff.display_name if a.staff else (a.guest_name or ""),
            agency_id=a.agency_id,
            agency_name=a.agency_name,
            guest=a.staff_id is None,
        )
        for a in rows
    ]
    return sorted(views, key=lambda v: (v.guest, (v.agency_name or "").casefold(), v.name.casefold()))
