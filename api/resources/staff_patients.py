"""Staff: the patients of my teams, and enrolment."""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import Schema, fields, post_load, validate

from api.body import Blueprint
from api.context import current_ctx, require_kind
from api.idempotency import HEADER_DOC, idempotent
from api.schemas import Confirmation, PageArgs, page_of
from muli.models.consent import CONSENT_SCOPES
from muli.team import enrolment

blp = Blueprint(
    "staff_patients",
    __name__,
    url_prefix="/api/v1/staff/patients",
    description="Patients of my teams; enrolment",
)
blp.before_request(lambda: require_kind("staff"))


class ConsentIn(Schema):
    agency_id = fields.UUID(required=True)
    scopes = fields.List(fields.String(validate=validate.OneOf(CONSENT_SCOPES)), required=True)


class EnrolIn(Schema):
    display_name = fields.String(required=True, validate=validate.Length(1, 200))
    national_id = fields.String(required=True, validate=validate.Regexp(r"^\s*\d{11}\s*$"))
    team_id = fields.UUID(required=True)
    admissions_last_12_months = fields.List(
        fields.Date(), load_default=list, validate=validate.Length(max=100)
    )
    consents = fields.List(fields.Nested(ConsentIn), load_default=list, validate=validate.Length(max=20))
    trusted_contact_id = fields.UUID(load_default=None)
    phone = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=32),
        metadata={"description": "the patient's own number for call-backs: +47 and 8 digits"},
    )
    criteria_confirmed = Confirmation(
        enrolment.CRITERIA_NOT_CONFIRMED,
        metadata={
            "description": "Must be `true`: the coordinator confirms that the team judges the patient "
            "to meet the enrolment criteria of the team's programme (`GET /api/v1/staff/programmes`, "
            "`enrolment.criteria`; a judgement, not a count the service checks). Recorded in the "
            "audit trail as `patient.criteria_confirmed`. Missing or `false`: 422 naming this field."
        },
    )

    @post_load
    def make(self, data, **_):
        data["consents"] = [enrolment.ConsentGiven(**c) for c in data["consents"]]
        return enrolment.Enrolment(**data)


class PatientOut(Schema):
    id = fields.UUID()
    display_name = fields.String()
    team_id = fields.UUID()
    status = fields.String()
    enrolled_on = fields.Date()
    trusted_contact_id = fields.UUID(allow_none=True)
    activated = fields.Boolean()


class EnrolledOut(PatientOut):
    activation_code = fields.String()
    activation_code_expires_in_days = fields.Integer()


@blp.route("")
class Patients(MethodView):
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, page_of(PatientOut))
    def get(self, args):
        """The patients of my teams, newest enrolment first."""
        return enrolment.list_team_patients(current_ctx(), cursor=args["cursor"], limit=args["limit"])

    @idempotent()
    @blp.doc(parameters=[HEADER_DOC])
    @blp.arguments(EnrolIn)
    @blp.response(201, EnrolledOut)
    def post(self, data):
        """Enrol a patient (coordinator), confirming the team judges the programme's criteria met.
        The activation code is shown in this answer only."""
        ctx = current_ctx()
        patient, code = enrolment.enrol(ctx, data)
        return {
            **enrolment.patient_view(ctx, patient),
            "activation_code": code,
            "activation_code_expires_in_days": ctx.settings.activation_days,
        }
