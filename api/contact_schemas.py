"""Schemas of contact requests, shared by the patient's and the staff's resources."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from api.body import REPLACE, UNSTORABLE_TEXT
from api.schemas import Instant
from muli.contact.requests import MAX_MESSAGE
from muli.models.contact import (
    AUTHOR_KINDS,
    ESCALATION_KINDS,
    OUTCOMES,
    REQUEST_KINDS,
    REQUEST_STATES,
    ROUTES,
    URGENCIES,
)


class ContactRequestIn(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(REQUEST_KINDS))
    urgency = fields.String(required=True, validate=validate.OneOf(URGENCIES))
    message = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=MAX_MESSAGE),
        metadata={
            "description": "Free text. The request matters more than its text: half a character "
            "(a lone surrogate such as \\ud83d, an emoji cut in two) or NUL is stored as U+FFFD, "
            "and the answer has `message_altered: true`. Every other text field refuses such text (422).",
            UNSTORABLE_TEXT: REPLACE,
        },
    )
    callback_phone = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=32))


class ContactMessageIn(Schema):
    body = fields.String(required=True, validate=validate.Length(1, MAX_MESSAGE))


class ContactCloseIn(Schema):
    outcome = fields.String(required=True, validate=validate.OneOf(OUTCOMES))
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=MAX_MESSAGE))


class ContactPersonOut(Schema):
    id = fields.UUID()
    name = fields.String()
    agency = fields.String()


class ContactTrustedContactOut(ContactPersonOut):
    phone = fields.String(allow_none=True)


class ContactEmergencyNumberOut(Schema):
    number = fields.String()
    label = fields.String()
    kind = fields.String()


class ContactMessageOut(Schema):
    id = fields.UUID()
    author = fields.String(validate=validate.OneOf(AUTHOR_KINDS))
    name = fields.String(allow_none=True)
    agency = fields.String(allow_none=True)
    body = fields.String()
    created_at = Instant()


class ContactEscalationOut(Schema):
    level = fields.Integer(metadata={"description": "0 none, 1 backup and coordinators, 2 whole team"})
    label = fields.String()
    escalated_at = Instant(allow_none=True)
    next_at = Instant(allow_none=True)
    advice = fields.String(allow_none=True, metadata={"description": "what the patient should do now"})


class ContactEscalationStepOut(Schema):
    kind = fields.String(validate=validate.OneOf(ESCALATION_KINDS))
    level = fields.Integer()
    occurred_at = Instant()
    notified = fields.Integer()


class ContactRequestBaseOut(Schema):
    id = fields.UUID()
    kind = fields.String(validate=validate.OneOf(REQUEST_KINDS))
    urgency = fields.String(validate=validate.OneOf(URGENCIES))
    state = fields.String(validate=validate.OneOf(REQUEST_STATES))
    routed_to = fields.String(
        validate=validate.OneOf(ROUTES), metadata={"description": "who was asked first"}
    )
    responder = fields.Nested(ContactPersonOut, allow_none=True)
    acknowledge_within_minutes = fields.Integer(allow_none=True)
    created_at = Instant()
    waiting_minutes = fields.Integer()
    acknowledged_by = fields.Nested(ContactPersonOut, allow_none=True)
    acknowledged_at = Instant(allow_none=True)
    closed_at = Instant(allow_none=True)
    cancelled_at = Instant(allow_none=True)
    outcome = fields.String(allow_none=True, validate=validate.OneOf(OUTCOMES))
    call_started_at = Instant(
        allow_none=True, metadata={"description": "when the responder last said 'calling you now'"}
    )
    call_started_by = fields.Nested(ContactPersonOut, allow_none=True)
    escalation = fields.Nested(ContactEscalationOut)


class PatientRequestOut(ContactRequestBaseOut):
    callback_phone = fields.String(allow_none=True)
    messages = fields.List(fields.Nested(ContactMessageOut))
    emergency_numbers = fields.List(fields.Nested(ContactEmergencyNumberOut))


class CreatedRequestOut(PatientRequestOut):
    message_altered = fields.Boolean(
        required=True,
        metadata={
            "description": "true: the message held text that cannot be stored as sent (half a character, "
            "NUL); each such character was stored as U+FFFD. Tell the patient."
        },
    )


class ContactPatientRefOut(Schema):
    id = fields.UUID()
    display_name = fields.String()


class ContactQueueItemOut(ContactRequestBaseOut):
    patient = fields.Nested(ContactPatientRefOut)
    callback_phone = fields.String(
        allow_none=True, metadata={"description": "the number given for this request"}
    )
    patient_phone = fields.String(
        allow_none=True, metadata={"description": "the patient's own number (profile)"}
    )
    call_back_on = fields.String(
        allow_none=True, metadata={"description": "the number to call: callback_phone, else patient_phone"}
    )


class ResponderPlanOut(Schema):
    how_i_want_to_be_met = fields.Raw(allow_none=True)
    what_helps = fields.Raw(allow_none=True)
    what_does_not_help = fields.Raw(allow_none=True)
    treatment_preferences = fields.Raw(allow_none=True)


class ContactStaffRequestOut(ContactQueueItemOut):
    trusted_contact = fields.Nested(ContactTrustedContactOut, allow_none=True)
    content_visible = fields.Boolean(
        metadata={"description": "false: the patient has not given your agency the contact_requests consent"}
    )
    messages = fields.List(fields.Nested(ContactMessageOut))
    close_note = fields.String(allow_none=True)
    crisis_plan = fields.Nested(ResponderPlanOut, allow_none=True)
    emergency_numbers = fields.List(fields.Nested(ContactEmergencyNumberOut))


class TeamHandoverRequestOut(ContactRequestBaseOut):
    closed_by = fields.Nested(ContactPersonOut, allow_none=True)
    close_note = fields.String(allow_none=True)
    escalations = fields.List(fields.Nested(ContactEscalationStepOut))


class TeamHandoverPatientOut(Schema):
    patient = fields.Nested(ContactPatientRefOut)
    content_visible = fields.Boolean()
    requests = fields.List(fields.Nested(TeamHandoverRequestOut))


class TeamHandoverOut(Schema):
    team_id = fields.UUID()
    date = fields.Date()
    since = Instant()
    until = Instant()
    patients = fields.List(fields.Nested(TeamHandoverPatientOut))


class AvailabilityPersonOut(Schema):
    name = fields.String()
    agency = fields.String()


class AvailabilityOut(Schema):
    status = fields.String(validate=validate.OneOf(ROUTES), metadata={"description": "who answers right now"})
    next_change_at = Instant(allow_none=True, metadata={"description": "when that changes (within 14 days)"})
    next_status = fields.String(allow_none=True, validate=validate.OneOf(ROUTES))
    on_call = fields.Nested(AvailabilityPersonOut, allow_none=True)
