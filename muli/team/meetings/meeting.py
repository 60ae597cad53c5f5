"""Meetings: list, create (agenda built, actions carried over), read, attendees, sign."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import select

from muli.models.meetings import (
    ActionItem,
    Addendum,
    AgendaItem,
    Attendee,
    CarriedAction,
    Meeting,
    MeetingNote,
)
from muli.models.people import Patient, Staff, Team, TeamMembership
from muli.patient import programme
from muli.platform.context import Ctx
from muli.platform.errors import Conflict, ValidationFailed
from muli.platform.pagination import Page, keyset
from muli.team.meetings import agenda, lookup, views
from muli.team.meetings.views import AgendaEntry, AttendeeView, Guest, MeetingView
from muli.trust import access, audit

# Dates far outside these overflow the agenda's date arithmetic; no meeting is that old or new.
MIN_YEAR, MAX_YEAR = 1900, 2999


def list_meetings(ctx: Ctx, team_id: uuid.UUID, *, cursor: str | None = None, limit: int = 20) -> Page:
    """The team's meetings (Meeting rows), newest first; for any clinical member of the team."""
    access.member_of(ctx, team_id)
    query = select(Meeting).where(Meeting.team_id == team_id)
    return keyset(ctx.session, query, ctx.keys, Meeting.created_at, Meeting.id, cursor=cursor, limit=limit)


def create_meeting(ctx: Ctx, team_id: uuid.UUID, held_on: date) -> Meeting:
    """A meeting for a date (coordinator), its agenda built and open actions carried over.

    Agenda: every active patient of the team; those with contact requests, escalations or
    admissions since the previous meeting first, then those flagged (overdue actions, a crisis
    plan not reviewed with the team for over three months: `agenda.flags`), then the rest
    (alphabetical within each group). 409 `meeting-exists` when the team already has a
    meeting that day.
    """
    team = access.coordinator_of(ctx, team_id)
    if not MIN_YEAR <= held_on.year <= MAX_YEAR:
        raise ValidationFailed(
            "held_on", "A year between %(first)d and %(last)d.", {"first": MIN_YEAR, "last": MAX_YEAR}
        )
    if ctx.session.scalars(
        select(Meeting.id).where(Meeting.team_id == team.id, Meeting.held_on == held_on)
    ).first():
        raise Conflict("The team already has a meeting on this date.", code="meeting-exists")
    since = agenda.events_since_start(ctx, team, held_on)
    meeting = Meeting(team_id=team.id, held_on=held_on, events_since=since, created_by_id=ctx.actor.staff_id)
    ctx.session.add(meeting)
    ctx.session.flush()
    patients = ctx.session.scalars(
        select(Patient).where(Patient.team_id == team.id, Patient.status == "active")
    ).all()
    events = agenda.events_since(ctx, team.id, since)
    flagged = {pid for pid, found in agenda.flags(ctx, [p.id for p in patients], held_on).items() if found}
    first = programme.for_team(ctx, team)["agenda"]["first"] or None
    for position, patient in enumerate(agenda.order(ctx, patients, events, flagged, first), start=1):
        counts = events.get(patient.id, agenda.empty_events())
        ctx.session.add(
            AgendaItem(meeting_id=meeting.id, patient_id=patient.id, position=position, events=counts)
        )
    for action in agenda.open_actions_before(ctx, team.id, held_on):
        ctx.session.add(CarriedAction(meeting_id=meeting.id, action_id=action.id))
    ctx.session.flush()
    audit.record(ctx.session, ctx.actor, "meeting.create", resource="meeting", resource_id=meeting.id)
    return meeting


def get_meeting(ctx: Ctx, meeting_id: uuid.UUID) -> MeetingView:
    """The meeting as the reader may see it; audits a read for every patient on the agenda."""
    meeting = lookup.find_meeting(ctx, meeting_id)
    items = ctx.session.scalars(
        select(AgendaItem).where(AgendaItem.meeting_id == meeting.id).order_by(AgendaItem.position)
    ).all()
    notes = {
        n.patient_id: n
        for n in ctx.session.scalars(select(MeetingNote).where(MeetingNote.meeting_id == meeting.id))
    }
    actions = ctx.session.scalars(
        select(ActionItem)
        .where(ActionItem.meeting_id == meeting.id)
        .order_by(ActionItem.created_at, ActionItem.id)
    ).all()
    carried = ctx.session.scalars(
        select(ActionItem)
        .join(CarriedAction, CarriedAction.action_id == ActionItem.id)
        .where(CarriedAction.meeting_id == meeting.id)
        .order_by(ActionItem.due_on, ActionItem.created_at, ActionItem.id)
    ).all()
    addenda = ctx.session.scalars(
        select(Addendum).where(Addendum.meeting_id == meeting.id).order_by(Addendum.created_at, Addendum.id)
    ).all()
    patient_ids = {i.patient_id for i in items}
    patient_ids |= {a.patient_id for a in (*actions, *carried) if a.patient_id}
    patient_ids |= {a.patient_id for a in addenda if a.patient_id}
    grants = {pid: lookup.note_grant(ctx, pid) for pid in patient_ids}
    # The counts were taken when the agenda was built; each reader sees only those their
    # agency's consent (or break-the-glass) allows.
    recorded = agenda.recorded_kinds(ctx, ctx.session.get(Team, meeting.team_id))
    figures = agenda.visible_figures(ctx, {i.patient_id: dict(i.events or {}) for i in items}, recorded)
    # The flags are today's state (an action marked done in the meeting is no longer overdue).
    flags = agenda.visible_flags(ctx, agenda.flags(ctx, [i.patient_id for i in items], meeting.held_on))

    entries = []
    for item in items:
        grant = grants[item.patient_id]
        entries.append(
            AgendaEntry(
                patient_id=item.patient_id,
                display_name=ctx.keys.open(item.patient, "display_name") or "",
                position=item.position,
                events=figures[item.patient_id],
                flags=flags[item.patient_id],
                note=views.note_view(
                    ctx, meeting.id, item.patient_id, notes.get(item.patient_id), grant is not None
                ),
                actions=[
                    views.action_view(ctx, a, grants)
                    for a in (*carried, *actions)
                    if a.patient_id == item.patient_id
                ],
            )
        )
    for pid in sorted(patient_ids, key=str):
        grant = grants[pid]
        audit.record(
            ctx.session,
            ctx.actor,
            "meeting.read",
            patient_id=pid,
            resource="meeting",
            resource_id=meeting.id,
            emergency=bool(grant and grant.emergency),
        )
    return MeetingView(
        id=meeting.id,
        team_id=meeting.team_id,
        held_on=meeting.held_on,
        events_since=meeting.events_since,
        signed_at=meeting.signed_at,
        signed_by_name=meeting.signed_by.display_name if meeting.signed_by else None,
        agenda=entries,
        actions=[views.action_view(ctx, a, grants) for a in actions],
        carried_over=[views.action_view(ctx, a, grants) for a in carried],
        attendees=views.attendees(ctx, meeting.id),
        addenda=[views.addendum_view(ctx, a, grants) for a in addenda],
    )


def sign_meeting(ctx: Ctx, meeting_id: uuid.UUID) -> Meeting:
    """Sign and lock the meeting (coordinator of its team); signing twice is 409.

    The role is checked before the meeting is looked up, as on every coordinator route: a
    member gets 403 whatever the id, and an id of another team answers like no id (404).
    """
    access.require_role(ctx, "coordinator")
    meeting = lookup.find_meeting(ctx, meeting_id)
    access.coordinator_of(ctx, meeting.team_id)
    lookup.require_unsigned(meeting)
    meeting.signed_at = ctx.now()
    meeting.signed_by_id = ctx.actor.staff_id
    ctx.session.flush()
    audit.record(ctx.session, ctx.actor, "meeting.sign", resource="meeting", resource_id=meeting.id)
    return meeting


def set_attendees(
    ctx: Ctx, meeting_id: uuid.UUID, staff_ids: list[uuid.UUID], guests: list[Guest] | None = None
) -> list[AttendeeView]:
    """Replace who attended: team staff (with their agency) and named guests."""
    meeting = lookup.unsigned_meeting(ctx, meeting_id)
    people = []
    for i, staff_id in enumerate(dict.fromkeys(staff_ids)):
        on_team = ctx.session.get(TeamMembership, (meeting.team_id, staff_id))
        if on_team is None:
            raise ValidationFailed(f"staff_ids.{i}", "Not a member of this team.")
        people.append(ctx.session.scalars(select(Staff).where(Staff.id == staff_id)).one())
    for old in ctx.session.scalars(select(Attendee).where(Attendee.meeting_id == meeting.id)).all():
        ctx.session.delete(old)
    ctx.session.flush()
    for person in people:
        ctx.session.add(
            Attendee(
                meeting_id=meeting.id,
                staff_id=person.id,
                agency_id=person.agency_id,
                agency_name=person.agency.name,
            )
        )
    for guest in guests or []:
        ctx.session.add(
            Attendee(meeting_id=meeting.id, guest_name=guest.name.strip(), agency_name=guest.agency)
        )
    ctx.session.flush()
    audit.record(ctx.session, ctx.actor, "meeting.attendees", resource="meeting", resource_id=meeting.id)
    return views.attendees(ctx, meeting.id)
