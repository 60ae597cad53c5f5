"""Staff: the weekly coordination meeting — agenda, notes, actions, attendees, signing, addenda."""

from __future__ import annotations

from datetime import date

from flask import request
from flask.views import MethodView
from marshmallow import Schema, fields, validate

from api.body import Blueprint
from api.context import current_ctx, require_kind
from api.schemas import Instant, JsonBoolean, PageArgs, page_of
from muli.models.meetings import ACTION_STATUSES
from muli.team import meetings
from muli.team.meetings import agenda

blp = Blueprint(
    "staff_meetings",
    __name__,
    url_prefix="/api/v1/staff",
    description="The weekly coordination meeting (samhandlingsmøte)",
)
blp.before_request(lambda: require_kind("staff"))

IF_MATCH_DOC = {
    "in": "header",
    "name": "If-Match",
    "required": True,
    "description": "The note's ETag as last read. Missing (or empty): 428. Not the current version: 412.",
    "schema": {"type": "string", "minLength": 1},
}
IF_NONE_MATCH_DOC = {
    "in": "header",
    "name": "If-None-Match",
    "description": "The ETag you hold; 304 when the note has not changed.",
    "schema": {"type": "string"},
}
NOTE_MAX = 20_000


class MeetingIn(Schema):
    # The agenda looks a week back from the date: year 1 made that a 500 (found by fuzzing).
    held_on = fields.Date(
        required=True, validate=validate.Range(min=date(2000, 1, 1), max=date(2999, 12, 31))
    )


class MeetingSummaryOut(Schema):
    id = fields.UUID()
    team_id = fields.UUID()
    held_on = fields.Date()
    events_since = Instant()
    created_at = Instant()
    signed_at = Instant(allow_none=True)


class MeetingNoteIn(Schema):
    text = fields.String(required=True, validate=validate.Length(max=NOTE_MAX))


class MeetingNoteOut(Schema):
    meeting_id = fields.UUID()
    patient_id = fields.UUID()
    text = fields.String(allow_none=True, metadata={"description": "None when hidden or not written yet"})
    version = fields.Integer(metadata={"description": "0 until someone writes the note"})
    etag = fields.String(metadata={"description": "Send as If-Match when saving"})
    hidden = fields.Boolean(metadata={"description": "Your agency has no meeting_notes consent"})
    updated_at = Instant(allow_none=True)
    updated_by_name = fields.String(allow_none=True)
    updated_by_agency = fields.String(allow_none=True)


class MeetingActionIn(Schema):
    patient_id = fields.UUID(load_default=None, metadata={"description": "Required unless system_issue"})
    description = fields.String(required=True, validate=validate.Length(1, 2000))
    responsible_agency_id = fields.UUID(required=True)
    assignee_id = fields.UUID(load_default=None)
    due_on = fields.Date(required=True)
    system_issue = JsonBoolean(
        load_default=False,
        metadata={"description": "A structural problem for the leaders: stored with no patient link"},
    )


class MeetingActionStatusIn(Schema):
    status = fields.String(required=True, validate=validate.OneOf(ACTION_STATUSES))


class MeetingActionOut(Schema):
    id = fields.UUID()
    meeting_id = fields.UUID()
    patient_id = fields.UUID(allow_none=True)
    description = fields.String(allow_none=True)
    hidden = fields.Boolean()
    responsible_agency_id = fields.UUID()
    responsible_agency_name = fields.String()
    assignee_id = fields.UUID(allow_none=True)
    assignee_name = fields.String(allow_none=True)
    due_on = fields.Date()
    status = fields.String(validate=validate.OneOf(ACTION_STATUSES))
    system_issue = fields.Boolean()
    created_at = Instant()
    done_at = Instant(allow_none=True)


class SystemIssueArgs(PageArgs):
    status = fields.String(load_default=None, validate=validate.OneOf(ACTION_STATUSES))


class MeetingGuestIn(Schema):
    name = fields.String(required=True, validate=validate.Length(1, 200))
    agency = fields.String(load_default=None, validate=validate.Length(max=200))


class MeetingAttendeesIn(Schema):
    staff_ids = fields.List(fields.UUID(), required=True, validate=validate.Length(max=100))
    guests = fields.List(fields.Nested(MeetingGuestIn), load_default=list, validate=validate.Length(max=50))


class MeetingAttendeeOut(Schema):
    staff_id = fields.UUID(allow_none=True)
    name = fields.String()
    agency_id = fields.UUID(allow_none=True)
    agency_name = fields.String(allow_none=True)
    guest = fields.Boolean()


class MeetingAttendeesOut(Schema):
    items = fields.List(fields.Nested(MeetingAttendeeOut))


class MeetingAddendumIn(Schema):
    patient_id = fields.UUID(load_default=None)
    text = fields.String(required=True, validate=validate.Length(1, NOTE_MAX))


class MeetingAddendumOut(Schema):
    id = fields.UUID()
    patient_id = fields.UUID(allow_none=True)
    text = fields.String(allow_none=True)
    hidden = fields.Boolean()
    created_at = Instant()
    created_by_name = fields.String(allow_none=True)


class MeetingAgendaFlagOut(Schema):
    kind = fields.String(
        validate=validate.OneOf(agenda.FLAG_KINDS),
        metadata={
            "description": "overdue_actions: open actions due before the meeting; crisis_plan_review: "
            f"no crisis plan reviewed with the team in the {agenda.REVIEW_MONTHS} months before the meeting"
        },
    )
    count = fields.Integer(metadata={"description": "overdue_actions: how many"})
    oldest_due_on = fields.Date(
        allow_none=True, metadata={"description": "overdue_actions: the oldest due date"}
    )
    last_reviewed_with_team_on = fields.Date(
        allow_none=True,
        metadata={"description": "crisis_plan_review: the last review (null: never, or no crisis plan)"},
    )


class MeetingAgendaEntryOut(Schema):
    patient_id = fields.UUID()
    display_name = fields.String()
    position = fields.Integer()
    has_events = fields.Boolean()
    events = fields.Dict(
        keys=fields.String(),
        values=fields.Integer(),
        metadata={"description": "Since the last meeting: contact_requests, escalations, admissions"},
    )
    note = fields.Nested(MeetingNoteOut)
    actions = fields.List(fields.Nested(MeetingActionOut))
    flagged = fields.Boolean()
    flags = fields.List(
        fields.Nested(MeetingAgendaFlagOut),
        metadata={
            "description": "What needs the team's attention, by today's state; flagged patients come "
            "after those with events. Only flags your agency's consent allows."
        },
    )


class MeetingOut(Schema):
    id = fields.UUID()
    team_id = fields.UUID()
    held_on = fields.Date()
    events_since = Instant()
    signed = fields.Boolean()
    signed_at = Instant(allow_none=True)
    signed_by_name = fields.String(allow_none=True)
    agenda = fields.List(fields.Nested(MeetingAgendaEntryOut))
    actions = fields.List(fields.Nested(MeetingActionOut), metadata={"description": "Agreed in this meeting"})
    carried_over = fields.List(fields.Nested(MeetingActionOut), metadata={"description": "Open from earlier"})
    attendees = fields.List(fields.Nested(MeetingAttendeeOut))
    addenda = fields.List(fields.Nested(MeetingAddendumOut))


@blp.route("/teams/<uuid:team_id>/meetings")
class TeamMeetings(MethodView):
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, page_of(MeetingSummaryOut))
    def get(self, args, team_id):
        """The team's meetings, newest first."""
        return meetings.list_meetings(current_ctx(), team_id, cursor=args["cursor"], limit=args["limit"])

    @blp.arguments(MeetingIn)
    @blp.response(201, MeetingSummaryOut)
    def post(self, data, team_id):
        """Create the meeting for a date (coordinator); its agenda is built now. 409 if one exists."""
        return meetings.create_meeting(current_ctx(), team_id, data["held_on"])


@blp.route("/teams/<uuid:team_id>/system-issues")
class SystemIssues(MethodView):
    @blp.arguments(SystemIssueArgs, location="query")
    @blp.response(200, page_of(MeetingActionOut))
    def get(self, args, team_id):
        """The leaders' list: system issues raised in the team's meetings (coordinator)."""
        return meetings.system_issues(
            current_ctx(), team_id, status=args["status"], cursor=args["cursor"], limit=args["limit"]
        )


@blp.route("/meetings/<uuid:meeting_id>")
class MeetingResource(MethodView):
    @blp.response(200, MeetingOut)
    def get(self, meeting_id):
        """The meeting: agenda with notes, actions, carried-over actions, attendees, addenda."""
        return meetings.get_meeting(current_ctx(), meeting_id)


@blp.route("/meetings/<uuid:meeting_id>/notes/<uuid:patient_id>")
class Note(MethodView):
    @blp.doc(parameters=[IF_NONE_MATCH_DOC])
    @blp.response(200, MeetingNoteOut)
    @blp.alt_response(304, description="Not modified")
    def get(self, meeting_id, patient_id):
        """A patient's note with its ETag (version 0 before anyone wrote it)."""
        note = meetings.get_note(current_ctx(), meeting_id, patient_id)
        if meetings.etag_matches(request.headers.get("If-None-Match", ""), note.etag):
            return "", 304, {"ETag": note.etag}
        return note, 200, {"ETag": note.etag}

    @blp.doc(parameters=[IF_MATCH_DOC])
    @blp.arguments(MeetingNoteIn)
    @blp.response(200, MeetingNoteOut)
    def put(self, data, meeting_id, patient_id):
        """Save the note (stored encrypted). If-Match required: 428 without, 412 when stale."""
        note = meetings.save_note(
            current_ctx(), meeting_id, patient_id, data["text"], request.headers.get("If-Match")
        )
        return note, 200, {"ETag": note.etag}


@blp.route("/meetings/<uuid:meeting_id>/actions")
class MeetingActions(MethodView):
    @blp.arguments(MeetingActionIn)
    @blp.response(201, MeetingActionOut)
    def post(self, data, meeting_id):
        """Add an action with a responsible agency; `system_issue` sends it to the leaders' list."""
        return meetings.add_action(current_ctx(), meeting_id, **data)


@blp.route("/actions/<uuid:action_id>")
class Action(MethodView):
    @blp.arguments(MeetingActionStatusIn)
    @blp.response(200, MeetingActionOut)
    def patch(self, data, action_id):
        """Mark an action open or done (also after its meeting was signed)."""
        return meetings.set_action_status(current_ctx(), action_id, data["status"])


@blp.route("/meetings/<uuid:meeting_id>/sign")
class Sign(MethodView):
    @blp.response(200, MeetingSummaryOut)
    def post(self, meeting_id):
        """Sign the meeting (coordinator): notes, actions and attendees are locked (409)."""
        return meetings.sign_meeting(current_ctx(), meeting_id)


@blp.route("/meetings/<uuid:meeting_id>/addenda")
class Addenda(MethodView):
    @blp.arguments(MeetingAddendumIn)
    @blp.response(201, MeetingAddendumOut)
    def post(self, data, meeting_id):
        """Add to the record, also after signing (stored encrypted)."""
        return meetings.add_addendum(current_ctx(), meeting_id, data["text"], patient_id=data["patient_id"])


@blp.route("/meetings/<uuid:meeting_id>/attendees")
class Attendees(MethodView):
    @blp.arguments(MeetingAttendeesIn)
    @blp.response(200, MeetingAttendeesOut)
    def put(self, data, meeting_id):
        """Replace the attendees: team staff by id (their agency is recorded) and named guests."""
        guests = [meetings.Guest(**g) for g in data["guests"]]
        return {"items": meetings.set_attendees(current_ctx(), meeting_id, data["staff_ids"], guests)}
