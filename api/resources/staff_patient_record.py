"""Staff: a patient's overview, plans, shared diary, admissions and break-the-glass access."""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import INCLUDE, Schema, fields, post_dump, post_load, validate

from api.body import Blueprint
from api.context import current_ctx, require_kind
from api.contract import FHIR_CONTENT, PDF_CONTENT
from api.resources.me_diary import EntryPage
from api.resources.me_plans import (
    AuthorOut,
    CrisisPlanIn,
    CrisisPlanOut,
    CrisisPlanVersionOut,
    Instant,
    MasteryPlanOut,
    pdf_answer,
    plan_answer,
)
from api.resources.me_record import fhir_answer, jsonable
from api.schemas import JsonBoolean, PageArgs
from muli.models.consent import EMERGENCY_DEFAULT, EMERGENCY_SCOPES
from muli.patient import diary, mastery, pdf, plans
from muli.patient import record as patient_record

blp = Blueprint(
    "staff_patient_record",
    __name__,
    url_prefix="/api/v1/staff/patients",
    description="A patient's record: overview, plans, shared diary, admissions, emergency access",
)
blp.before_request(lambda: require_kind("staff"))


class AdmissionIn(Schema):
    admitted_on = fields.Date(required=True)
    discharged_on = fields.Date(load_default=None, allow_none=True)
    facility = fields.String(required=True, validate=validate.Length(1, 200))
    involuntary = JsonBoolean(required=True)

    @post_load
    def make(self, data, **_):
        return patient_record.NewAdmission(**data)


class AdmissionOut(Schema):
    id = fields.UUID()
    admitted_on = fields.Date()
    discharged_on = fields.Date(allow_none=True)
    facility = fields.String()
    involuntary = fields.Boolean()
    recorded_at = Instant()


class AdmissionsOut(Schema):
    items = fields.List(fields.Nested(AdmissionOut), metadata={"description": "Newest first"})
    next_cursor = fields.String(allow_none=True, metadata={"description": "Always null: one page holds all"})


class EmergencyAccessIn(Schema):
    reason = fields.String(
        required=True,
        validate=validate.Length(patient_record.MIN_REASON_CHARS, patient_record.MAX_REASON_CHARS),
    )
    scopes = fields.List(
        fields.String(validate=validate.OneOf(EMERGENCY_SCOPES)),
        load_default=list(EMERGENCY_DEFAULT),
        validate=validate.Length(1, len(EMERGENCY_SCOPES)),
        metadata={
            "description": "What is needed now; only these open (default: the crisis plan). "
            "contact_requests is the contact history."
        },
    )


class EmergencyAccessOut(Schema):
    id = fields.UUID()
    patient_id = fields.UUID()
    starts_at = Instant()
    ends_at = Instant()
    reason = fields.String()
    scopes = fields.List(fields.String(), metadata={"description": "What the window opens"})


class PlanSummaryOut(Schema):
    version = fields.Integer()
    updated_at = fields.String(metadata={"format": "date-time"})
    written_by = fields.Nested(AuthorOut)
    last_reviewed_with_team_on = fields.String(allow_none=True, metadata={"format": "date"})
    document = fields.Raw()


class OverviewOut(Schema):
    class Meta:
        # Other capabilities add sections (kept by the post_dump below): the document says so.
        unknown = INCLUDE

    patient = fields.Raw()
    trusted_contact = fields.Raw(allow_none=True)
    consent = fields.Raw(
        metadata={"description": "my agency's scopes, emergency access, every agency's state"}
    )
    withheld = fields.List(fields.String(), metadata={"description": "Scopes I may not see"})
    crisis_plan = fields.Nested(PlanSummaryOut, allow_none=True)
    mastery_plan = fields.Nested(PlanSummaryOut, allow_none=True)
    diary_points = fields.Raw(
        allow_none=True, metadata={"description": "Shared entries' mood and sleep over time, oldest first"}
    )
    admissions = fields.Raw(metadata={"description": "Like GET .../admissions, oldest first"})

    @post_dump(pass_original=True)
    def _keep_other_sections(self, data, original, **_):
        # Other capabilities add sections (patient_record.OVERVIEW_SECTIONS); keep them all.
        return {**original, **data}


@blp.route("/<uuid:patient_id>")
class Overview(MethodView):
    @blp.response(200, OverviewOut)
    def get(self, patient_id):
        """The patient at a glance; needs some consent for my agency, else 403 consent-required."""
        return jsonable(patient_record.overview(current_ctx(), patient_id))


@blp.route("/<uuid:patient_id>/crisis-plan")
class CrisisPlan(MethodView):
    @blp.response(200, CrisisPlanOut)
    @blp.alt_response(304, description="Not modified (If-None-Match)")
    def get(self, patient_id):
        """The patient's current crisis plan (crisis_plan consent)."""
        return plan_answer(plans.staff_crisis_plan(current_ctx(), patient_id))


@blp.route("/<uuid:patient_id>/crisis-plan/proposals")
class CrisisPlanProposals(MethodView):
    @blp.arguments(CrisisPlanIn)
    @blp.response(201, CrisisPlanVersionOut)
    def post(self, data, patient_id):
        """Propose a new version; it becomes current when the patient approves it."""
        reviewed = data.pop("last_reviewed_with_team_on")
        return plans.propose_crisis_plan(current_ctx(), patient_id, data, reviewed)


@blp.route("/<uuid:patient_id>/crisis-plan.pdf")
class CrisisPlanPdf(MethodView):
    @blp.doc(responses={200: {"description": "The plan on one A4 page", "content": PDF_CONTENT}})
    def get(self, patient_id):
        """The patient's crisis plan on one printable page."""
        return pdf_answer(pdf.staff_crisis_plan_pdf(current_ctx(), patient_id), "kriseplan.pdf")


@blp.route("/<uuid:patient_id>/export.fhir")
class ExportFhir(MethodView):
    @blp.doc(responses={200: {"description": "A FHIR R4 Bundle (type collection)", "content": FHIR_CONTENT}})
    def get(self, patient_id):
        """The patient's record as a FHIR R4 Bundle: the parts my agency has consent for, never
        the access log; 403 consent-required without any consent. Audited."""
        from muli.patient import fhir  # the FHIR models load on the first export (~25 MB)

        return fhir_answer(fhir.staff_bundle(current_ctx(), patient_id), "muli-patient.fhir.json")


@blp.route("/<uuid:patient_id>/mastery-plan")
class MasteryPlan(MethodView):
    @blp.response(200, MasteryPlanOut)
    @blp.alt_response(304, description="Not modified (If-None-Match)")
    def get(self, patient_id):
        """The patient's mastery plan (mastery_plan consent)."""
        return plan_answer(mastery.staff_mastery_plan(current_ctx(), patient_id))


@blp.route("/<uuid:patient_id>/diary")
class SharedDiary(MethodView):
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, EntryPage)
    def get(self, args, patient_id):
        """Only the entries the patient shared, and only with shared_diary consent."""
        return diary.shared_entries(current_ctx(), patient_id, cursor=args["cursor"], limit=args["limit"])


@blp.route("/<uuid:patient_id>/admissions")
class Admissions(MethodView):
    @blp.response(200, AdmissionsOut)
    def get(self, patient_id):
        """The patient's acute admissions, newest first."""
        return {"items": patient_record.admissions(current_ctx(), patient_id), "next_cursor": None}

    @blp.arguments(AdmissionIn)
    @blp.response(201, AdmissionOut)
    def post(self, data, patient_id):
        """Record an admission to the acute ward."""
        return patient_record.record_admission(current_ctx(), patient_id, data)


@blp.route("/<uuid:patient_id>/emergency-access")
class EmergencyAccess(MethodView):
    @blp.arguments(EmergencyAccessIn)
    @blp.response(201, EmergencyAccessOut)
    def post(self, data, patient_id):
        """Break the glass: 30 minutes without consent, with a reason; shown to the patient.

        Opens only the `scopes` asked for (crisis plan, contact history, shared diary;
        default the crisis plan), never the mastery plan or meeting notes."""
        return patient_record.start_emergency_access(
            current_ctx(), patient_id, data["reason"], data["scopes"]
        )
