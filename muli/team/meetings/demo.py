"""Demo data: last week's meeting, signed, with the action the next agenda carries over."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from muli.models.meetings import Meeting
from muli.platform.context import Ctx
from muli.team.meetings.actions import add_action
from muli.team.meetings.meeting import create_meeting, set_attendees, sign_meeting
from muli.team.meetings.notes import save_note
from muli.team.meetings.views import note_etag
from muli.trust import accounts

OPEN_ACTION = "DPS: time hos psykiater innen fredag"
NOTE = "Kari har hatt en roligere uke. Sover fortsatt dårlig. Ønsker time hos psykiater."


def seed_demo_meeting(ctx: Ctx, team, patient, members) -> None:
    """Monday last week: Kari on the agenda, Siv's note, one open DPS action; signed. Once only."""
    if ctx.session.scalars(select(Meeting.id).where(Meeting.team_id == team.id)).first():
        return
    today = ctx.now().date()
    held_on = today - timedelta(days=today.weekday() + 7)
    kristin = ctx.acting_as(accounts.actor_for(ctx, members["kristin"].account))
    siv = ctx.acting_as(accounts.actor_for(ctx, members["siv"].account))
    meeting = create_meeting(kristin, team.id, held_on)
    set_attendees(kristin, meeting.id, [members[name].id for name in ("kristin", "siv", "ola", "per")])
    save_note(siv, meeting.id, patient.id, NOTE, note_etag(meeting.id, patient.id, 0))
    add_action(
        siv,
        meeting.id,
        patient_id=patient.id,
        description=OPEN_ACTION,
        responsible_agency_id=members["ola"].agency_id,
        assignee_id=members["ola"].id,
        due_on=held_on + timedelta(days=4),
    )
    sign_meeting(kristin, meeting.id)
