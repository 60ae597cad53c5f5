"""The weekly coordination meeting (samhandlingsmøte): agenda, notes, actions, signing.

Who may do what:
- a coordinator of the team creates and signs a meeting; any clinical member of the team
  reads it, writes notes, adds actions and addenda and sets the attendees;
- a patient's note, actions and addenda need the `meeting_notes` consent for the reader's
  (or writer's) agency, or an active emergency access. Without it the agenda still shows
  the patient (name and what happened since last time, as the patient list does) but the
  note's text and the actions' descriptions come back hidden (`hidden: True`, text None);
- a signed meeting is locked: notes, new actions and attendees answer 409
  `meeting-signed`. Addenda can always be added. Marking an action done is follow-up
  work done in a later week, so it is allowed whether or not its meeting was signed;
- an action marked `system_issue` is stored with no patient at all: it goes to the
  leaders' list (`system_issues`), never into a patient's record or export.

Every read or change of a patient's data is audited with the patient's id.
"""

from muli.patient import record as patient_record
from muli.team.meetings.actions import (
    add_action,
    add_addendum,
    export_for_patient,
    open_actions_summary,
    patient_actions,
    set_action_status,
    system_issues,
)
from muli.team.meetings.agenda import empty_events, events_since
from muli.team.meetings.lookup import NOTE_SCOPE
from muli.team.meetings.meeting import create_meeting, get_meeting, list_meetings, set_attendees, sign_meeting
from muli.team.meetings.notes import get_note, save_note
from muli.team.meetings.views import (
    ActionView,
    AddendumView,
    AgendaEntry,
    AttendeeView,
    Guest,
    MeetingView,
    NoteView,
    etag_matches,
    note_etag,
)

__all__ = [
    "NOTE_SCOPE",
    "ActionView",
    "AddendumView",
    "AgendaEntry",
    "AttendeeView",
    "Guest",
    "MeetingView",
    "NoteView",
    "add_action",
    "add_addendum",
    "create_meeting",
    "empty_events",
    "etag_matches",
    "events_since",
    "export_for_patient",
    "get_meeting",
    "get_note",
    "list_meetings",
    "note_etag",
    "open_actions_summary",
    "patient_actions",
    "save_note",
    "set_action_status",
    "set_attendees",
    "sign_meeting",
    "system_issues",
]


def _export_section(ctx, patient) -> tuple[str, dict]:
    return "meetings", export_for_patient(ctx, patient)


def _overview_section(ctx, patient, visible_scopes) -> tuple[str, list | None]:
    if NOTE_SCOPE not in visible_scopes:
        return "open_meeting_actions", None
    return "open_meeting_actions", open_actions_summary(ctx, patient.id)


# The patient's export and the staff overview include the meeting data (never system issues).
patient_record.EXPORT_SECTIONS.append(_export_section)
patient_record.OVERVIEW_SECTIONS.append(_overview_section)
