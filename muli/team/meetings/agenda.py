"""Building the agenda: who had contact requests, escalations or admissions since last time."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select

from muli.models.contact import ContactRequest
from muli.models.meetings import ActionItem, AgendaItem, Meeting
from muli.models.people import Admission, Patient, Team
from muli.platform.context import Ctx
from muli.trust import access

# Without an earlier meeting, "since last time" means the week before the meeting's date.
FIRST_MEETING_LOOKBACK = timedelta(days=7)


def empty_events() -> dict:
    return {"contact_requests": 0, "escalations": 0, "admissions": 0}


# Which consent each activity figure needs: the contact requests and their escalations are
# the `contact_requests` scope; admissions are shown with any consent (as on the overview).
FIGURE_SCOPES = {
    "contact_requests": "contact_requests",
    "escalations": "contact_requests",
    "admissions": None,
}


def visible_figures(ctx: Ctx, events: dict[uuid.UUID, dict]) -> dict[uuid.UUID, dict]:
    """Only the figures the reader's agency may see about each patient (or break-the-glass
    opened); a figure not allowed is left out, not shown as 0."""
    scopes = access.visible_scopes(ctx, events)
    shown: dict[uuid.UUID, dict] = {}
    for patient_id, counts in events.items():
        mine = scopes.get(patient_id, set())
        shown[patient_id] = {kind: n for kind, n in counts.items() if _allowed(kind, mine)}
    return shown


def _allowed(kind: str, scopes: set[str]) -> bool:
    if kind not in FIGURE_SCOPES:
        return False  # a figure nobody has decided about is not shown
    needed = FIGURE_SCOPES[kind]
    return bool(scopes) if needed is None else needed in scopes


def events_since(ctx: Ctx, team_id: uuid.UUID, since: datetime) -> dict[uuid.UUID, dict]:
    """Per patient of the team: contact requests, escalated requests and admissions since `since`."""
    found: dict[uuid.UUID, dict] = {}

    def add(patient_id, kind, n):
        found.setdefault(patient_id, empty_events())[kind] += n

    since_day = since.date()
    admitted = ctx.session.execute(
        select(Admission.patient_id, func.count())
        .join(Patient, Patient.id == Admission.patient_id)
        .where(
            Patient.team_id == team_id,
            (Admission.admitted_on >= since_day) | (Admission.discharged_on >= since_day),
        )
        .group_by(Admission.patient_id)
    ).all()
    for patient_id, n in admitted:
        add(patient_id, "admissions", n)
    for patient_id, requests, escalated in _contact_counts(ctx, team_id, since):
        add(patient_id, "contact_requests", requests)
        add(patient_id, "escalations", escalated)
    return found


def _contact_counts(ctx: Ctx, team_id: uuid.UUID, since: datetime) -> list[tuple]:
    """(patient_id, contact requests, escalated requests) made since `since`."""
    escalated = func.sum(case((ContactRequest.escalation_level > 0, 1), else_=0))
    return list(
        ctx.session.execute(
            select(ContactRequest.patient_id, func.count(), escalated)
            .join(Patient, Patient.id == ContactRequest.patient_id)
            .where(Patient.team_id == team_id, ContactRequest.created_at >= since)
            .group_by(ContactRequest.patient_id)
        ).all()
    )


def order(patients, events) -> list[Patient]:
    def key(p):
        has = any(events.get(p.id, {}).values())
        return (not has, p.display_name.casefold(), str(p.id))

    return sorted(patients, key=key)


def events_since_start(ctx: Ctx, team: Team, held_on: date) -> datetime:
    """Start of the previous meeting's day in the team's time zone (or a week back).

    Erring early: an event on the morning of the last meeting is listed again rather
    than missed.
    """
    previous = ctx.session.scalars(
        select(func.max(Meeting.held_on)).where(Meeting.team_id == team.id, Meeting.held_on < held_on)
    ).first()
    start = previous or (held_on - FIRST_MEETING_LOOKBACK)
    return datetime.combine(start, time(0), tzinfo=ZoneInfo(team.time_zone or "Europe/Oslo"))


def open_actions_before(ctx: Ctx, team_id: uuid.UUID, held_on: date) -> list[ActionItem]:
    return list(
        ctx.session.scalars(
            select(ActionItem)
            .join(Meeting, Meeting.id == ActionItem.meeting_id)
            .where(
                ActionItem.team_id == team_id,
                ActionItem.status == "open",
                ActionItem.system_issue.is_(False),
                Meeting.held_on < held_on,
            )
            .order_by(ActionItem.due_on, ActionItem.created_at)
        ).all()
    )


def ensure_on_agenda(ctx: Ctx, meeting: Meeting, patient_id: uuid.UUID) -> None:
    """A note on a patient enrolled after the agenda was built adds them at the end."""
    exists = ctx.session.scalars(
        select(AgendaItem.id).where(AgendaItem.meeting_id == meeting.id, AgendaItem.patient_id == patient_id)
    ).first()
    if exists is None:
        last = ctx.session.scalar(
            select(func.max(AgendaItem.position)).where(AgendaItem.meeting_id == meeting.id)
        )
        ctx.session.add(
            AgendaItem(
                meeting_id=meeting.id, patient_id=patient_id, position=(last or 0) + 1, events=empty_events()
            )
        )
        ctx.session.flush()
