"""Action items, system issues (the leaders' list), addenda, and the patient's export."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import select

from muli.models.meetings import ACTION_STATUSES, ActionItem, Addendum, Meeting, MeetingNote
from muli.models.people import Patient, TeamMembership
from muli.platform.context import Ctx
from muli.platform.errors import NotFound, ValidationFailed
from muli.platform.pagination import Page, keyset
from muli.team.meetings import lookup, views
from muli.team.meetings.lookup import NOTE_SCOPE
from muli.team.meetings.views import ActionView, AddendumView
from muli.trust import access, audit
from muli.trust.access import team_agency_ids


def add_action(
    ctx: Ctx,
    meeting_id: uuid.UUID,
    *,
    description: str,
    responsible_agency_id: uuid.UUID,
    due_on: date,
    patient_id: uuid.UUID | None = None,
    assignee_id: uuid.UUID | None = None,
    system_issue: bool = False,
) -> ActionView:
    """An action agreed in the meeting, with the agency responsible.

    A patient's action needs `meeting_notes` consent for the writer's agency. A system
    issue is stored without any patient (a given `patient_id` is dropped on purpose) and
    goes to the leaders' list.
    """
    meeting = lookup.unsigned_meeting(ctx, meeting_id)
    grant = None
    if system_issue:
        patient_id = None
    elif patient_id is None:
        raise ValidationFailed("patient_id", "An action is about a patient, unless it is a system issue.")
    else:
        grant = lookup.patient_in_meeting(ctx, meeting, patient_id)
    if responsible_agency_id not in team_agency_ids(ctx, meeting.team_id):
        raise ValidationFailed("responsible_agency_id", "Not an agency on this team.")
    if assignee_id is not None and ctx.session.get(TeamMembership, (meeting.team_id, assignee_id)) is None:
        raise ValidationFailed("assignee_id", "Not a member of this team.")
    action = ActionItem(
        meeting_id=meeting.id,
        team_id=meeting.team_id,
        patient_id=patient_id,
        responsible_agency_id=responsible_agency_id,
        assignee_id=assignee_id,
        due_on=due_on,
        system_issue=system_issue,
        status="open",
        created_by_id=ctx.actor.staff_id,
        created_at=ctx.now(),
    )
    ctx.keys.seal(action, "description", description.strip())
    ctx.session.add(action)
    ctx.session.flush()
    audit.record(
        ctx.session,
        ctx.actor,
        "system_issue.create" if system_issue else "meeting_action.create",
        patient_id=patient_id,
        resource="meeting_action",
        resource_id=action.id,
        emergency=bool(grant and grant.emergency),
    )
    return views.action_view(ctx, action, {patient_id: grant} if patient_id else {})


def set_action_status(ctx: Ctx, action_id: uuid.UUID, status: str) -> ActionView:
    """Mark an action open or done (any clinical member of its team; its meeting may be signed)."""
    if status not in ACTION_STATUSES:
        raise ValidationFailed("status", "One of: %(values)s.", {"values": ", ".join(ACTION_STATUSES)})
    action = ctx.session.get(ActionItem, action_id)
    access.require_clinical_staff(ctx)
    if action is None or action.team_id not in ctx.actor.team_ids:
        raise access.refused(
            ctx, NotFound("No such action on your teams."), resource="action_item", resource_id=action_id
        )
    grant = None
    if action.patient_id is not None:
        grant = access.staff_patient(ctx, action.patient_id, NOTE_SCOPE)
    if action.status != status:
        action.status = status
        action.done_at = ctx.now() if status == "done" else None
        action.done_by_id = ctx.actor.staff_id if status == "done" else None
        ctx.session.flush()
    audit.record(
        ctx.session,
        ctx.actor,
        "meeting_action.status",
        patient_id=action.patient_id,
        resource="meeting_action",
        resource_id=action.id,
        emergency=bool(grant and grant.emergency),
    )
    return views.action_view(ctx, action, {action.patient_id: grant} if action.patient_id else {})


def system_issues(
    ctx: Ctx, team_id: uuid.UUID, *, status: str | None = None, cursor: str | None = None, limit: int = 20
) -> Page:
    """The leaders' list: the team's system issues (ActionViews), newest first (coordinator)."""
    access.coordinator_of(ctx, team_id)
    query = select(ActionItem).where(ActionItem.team_id == team_id, ActionItem.system_issue.is_(True))
    if status is not None:
        query = query.where(ActionItem.status == status)
    page = keyset(
        ctx.session, query, ctx.keys, ActionItem.created_at, ActionItem.id, cursor=cursor, limit=limit
    )
    return Page([views.action_view(ctx, a, {}) for a in page.items], page.next_cursor)


def patient_actions(ctx: Ctx, patient_id: uuid.UUID) -> list[ActionView]:
    """A patient's action items across meetings, for the patient record (never system issues)."""
    grant = access.staff_patient(ctx, patient_id, NOTE_SCOPE)
    rows = ctx.session.scalars(
        select(ActionItem)
        .where(ActionItem.patient_id == patient_id, ActionItem.system_issue.is_(False))
        .order_by(ActionItem.created_at.desc(), ActionItem.id.desc())
    ).all()
    audit.record(
        ctx.session,
        ctx.actor,
        "meeting_action.list",
        patient_id=patient_id,
        resource="meeting_action",
        emergency=grant.emergency,
    )
    return [views.action_view(ctx, a, {patient_id: grant}) for a in rows]


def add_addendum(
    ctx: Ctx, meeting_id: uuid.UUID, text: str, patient_id: uuid.UUID | None = None
) -> AddendumView:
    """Add to the meeting's record, also after signing; about a patient needs their consent."""
    meeting = lookup.find_meeting(ctx, meeting_id)
    grant = lookup.patient_in_meeting(ctx, meeting, patient_id) if patient_id is not None else None
    addendum = Addendum(
        meeting_id=meeting.id, patient_id=patient_id, created_by_id=ctx.actor.staff_id, created_at=ctx.now()
    )
    ctx.keys.seal(addendum, "text", text.strip())
    ctx.session.add(addendum)
    ctx.session.flush()
    audit.record(
        ctx.session,
        ctx.actor,
        "meeting_addendum.create",
        patient_id=patient_id,
        resource="meeting_addendum",
        resource_id=addendum.id,
        emergency=bool(grant and grant.emergency),
    )
    return views.addendum_view(ctx, addendum, {patient_id: grant} if patient_id else {})


def open_actions_summary(ctx: Ctx, patient_id: uuid.UUID) -> list[dict]:
    """The patient's open actions, for the staff overview (the caller checked consent and audits)."""
    rows = ctx.session.scalars(
        select(ActionItem)
        .where(
            ActionItem.patient_id == patient_id,
            ActionItem.system_issue.is_(False),
            ActionItem.status == "open",
        )
        .order_by(ActionItem.due_on, ActionItem.id)
    ).all()
    return [
        {
            "id": str(a.id),
            "description": ctx.keys.open(a, "description"),
            "responsible_agency": a.responsible_agency.name,
            "assignee": a.assignee.display_name if a.assignee else None,
            "due_on": a.due_on.isoformat(),
        }
        for a in rows
    ]


def export_for_patient(ctx: Ctx, patient: Patient) -> dict:
    """The patient's own meeting data, decrypted, for `GET /me/export` (no system issues)."""
    notes = ctx.session.execute(
        select(MeetingNote, Meeting.held_on)
        .join(Meeting, Meeting.id == MeetingNote.meeting_id)
        .where(MeetingNote.patient_id == patient.id)
        .order_by(Meeting.held_on)
    ).all()
    actions = ctx.session.scalars(
        select(ActionItem)
        .where(ActionItem.patient_id == patient.id, ActionItem.system_issue.is_(False))
        .order_by(ActionItem.created_at)
    ).all()
    addenda = ctx.session.scalars(
        select(Addendum).where(Addendum.patient_id == patient.id).order_by(Addendum.created_at)
    ).all()
    return {
        "meeting_notes": [
            {
                "meeting_on": held_on.isoformat(),
                "text": ctx.keys.open(n, "text"),
                "updated_at": n.updated_at.isoformat(),
            }
            for n, held_on in notes
        ],
        "meeting_actions": [
            {
                "description": ctx.keys.open(a, "description"),
                "responsible_agency": a.responsible_agency.name,
                "due_on": a.due_on.isoformat(),
                "status": a.status,
            }
            for a in actions
        ],
        "meeting_addenda": [
            {"text": ctx.keys.open(a, "text"), "created_at": a.created_at.isoformat()} for a in addenda
        ],
    }
