"""Finding a meeting, a patient in it and their note, with the access rules applied."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from muli.models.meetings import Meeting, MeetingNote
from muli.platform.context import Ctx
from muli.platform.errors import ConsentRequired, InvalidState, NotFound, PreconditionFailed
from muli.trust import access

NOTE_SCOPE = "meeting_notes"


def find_meeting(ctx: Ctx, meeting_id: uuid.UUID) -> Meeting:
    """A meeting of one of the actor's teams; others do not exist (404)."""
    access.require_clinical_staff(ctx)
    meeting = ctx.session.get(Meeting, meeting_id)
    if meeting is None or meeting.team_id not in ctx.actor.team_ids:
        raise access.refused(
            ctx, NotFound("No such meeting on your teams."), resource="meeting", resource_id=meeting_id
        )
    return meeting


def require_unsigned(meeting: Meeting) -> None:
    if meeting.signed_at is not None:
        raise InvalidState(
            "The meeting is signed and locked. Add an addendum instead.", code="meeting-signed"
        )


def unsigned_meeting(ctx: Ctx, meeting_id: uuid.UUID) -> Meeting:
    meeting = find_meeting(ctx, meeting_id)
    require_unsigned(meeting)
    return meeting


def patient_in_meeting(ctx: Ctx, meeting: Meeting, patient_id: uuid.UUID) -> access.Grant:
    """Consent (or emergency access) to the patient's meeting notes; 404 for another team's patient."""
    grant = access.staff_patient(ctx, patient_id, NOTE_SCOPE)
    if grant.patient.team_id != meeting.team_id:
        raise access.refused(
            ctx,
            NotFound("No such patient in this meeting's team."),
            patient_id=grant.patient.id,
            resource="patient",
            resource_id=patient_id,
        )
    return grant


def note_grant(ctx: Ctx, patient_id: uuid.UUID) -> access.Grant | None:
    try:
        return access.staff_patient(ctx, patient_id, NOTE_SCOPE)
    except (ConsentRequired, NotFound):
        return None


def stale() -> PreconditionFailed:
    return PreconditionFailed("Someone saved this note after you read it. Reload, then save again.")


def find_note(ctx: Ctx, meeting_id: uuid.UUID, patient_id: uuid.UUID) -> MeetingNote | None:
    return ctx.session.scalars(
        select(MeetingNote).where(MeetingNote.meeting_id == meeting_id, MeetingNote.patient_id == patient_id)
    ).first()
