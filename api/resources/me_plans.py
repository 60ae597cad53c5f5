"""The patient's crisis plan and mastery plan: GET with ETag/304, PUT with If-Match."""

from __future__ import annotations

from flask import Response, jsonify, request
from flask.views import MethodView
from marshmallow import Schema, fields, pre_load, validate

from api.body import Blueprint
from api.context import current_ctx, require_kind
from api.contract import PDF_CONTENT
from api.dump import dumper
from api.idempotency import HEADER_DOC, idempotent
from api.resources.me import EmergencyNumberOut
from api.schemas import Instant, JsonBoolean, JsonInteger, PageArgs, page_of
from muli.patient import mastery, pdf, plans
from muli.patient.plans import MAX_ITEM_CHARS, MAX_ITEMS, MAX_NAME_CHARS, MAX_PHONE_CHARS, MAX_TEXT_CHARS

blp = Blueprint("me_plans", __name__, url_prefix="/api/v1/me", description="My crisis plan and mastery plan")
blp.before_request(lambda: require_kind("patient"))

IF_MATCH_DOC = {
    "in": "header",
    "name": "If-Match",
    "required": True,
    "description": "The ETag of the plan you edited. Missing or empty: 428. Stale: 412 (reload, try again).",
    "schema": {"type": "string", "minLength": 1},
}
PDF_RESPONSE = {200: {"description": "The plan on one A4 page", "content": PDF_CONTENT}}


def _item(max_chars: int = MAX_ITEM_CHARS):
    return fields.String(validate=validate.Length(1, max_chars))


def _list(inner):
    return fields.List(inner, load_default=list, validate=validate.Length(max=MAX_ITEMS))


def _text():
    return fields.String(load_default=None, allow_none=True, validate=validate.Length(max=MAX_TEXT_CHARS))


def _phone():
    return fields.String(
        load_default=None,
        allow_none=True,
        validate=[validate.Length(max=MAX_PHONE_CHARS), validate.Regexp(r"^[0-9+ ()\-]*$")],
    )


class Tolerant(Schema):
    """Read-only fields of the answer may be sent back unchanged; they are ignored, not stored."""

    READ_ONLY: tuple[str, ...] = ()

    @pre_load
    def _drop_read_only(self, data, **_):
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if k not in self.READ_ONLY}
        return data


class WarningSign(Schema):
    sign = fields.String(required=True, validate=validate.Length(1, MAX_ITEM_CHARS))
    action = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=MAX_ITEM_CHARS))


class PersonToAsk(Schema):
    name = fields.String(required=True, validate=validate.Length(1, MAX_NAME_CHARS))
    phone = _phone()


class Professional(Schema):
    service = fields.String(required=True, validate=validate.Length(1, MAX_NAME_CHARS))
    phone = _phone()
    when_reachable = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(max=MAX_NAME_CHARS)
    )


# A section of a programme's own (`sections_meta` names it): one text, or a list of texts.
EXTRA_VALUE = {
    "nullable": True,
    "oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}],
    "description": "A text section: one text (or null); a list section: a list of texts",
}


class CrisisSections(Schema):
    warning_signs = _list(fields.Nested(WarningSign))
    coping_strategies = _list(_item())
    distractions = _list(_item())
    people_to_ask = _list(fields.Nested(PersonToAsk))
    professionals = _list(fields.Nested(Professional))
    safe_environment = _list(_item())
    reasons_to_live = _list(_item())
    how_i_want_to_be_met = _text()
    what_helps = _text()
    what_does_not_help = _text()
    treatment_preferences = _text()
    extra = fields.Dict(
        keys=fields.String(validate=validate.Length(1, 40)),
        values=fields.Raw(allow_none=True, metadata=EXTRA_VALUE),
        metadata={
            "description": "Only in a programme that adds sections to MULI's crisis plan (MULI vold...): "
            "each of its own sections by key (`sections_meta`). MULI's plan has no `extra`."
        },
    )


class SectionMetaOut(Schema):
    key = fields.String()
    title = fields.Dict(
        keys=fields.String(validate=validate.OneOf(("nb", "en"))),
        values=fields.String(),
        metadata={"description": "The section's title in bokmål and English"},
    )
    kind = fields.String(
        validate=validate.OneOf(("list", "text", "numbers")),
        metadata={"description": "list of items, one text, or the team's emergency numbers"},
    )
    required = fields.Boolean(metadata={"description": "No programme drops or hides it"})
    hidden = fields.Boolean(metadata={"description": "The programme does not show it (its data is kept)"})
    order = fields.Integer(metadata={"description": "Position in the plan, from 0"})
    in_extra = fields.Boolean(metadata={"description": "A section of the programme's own, under `extra`"})


class CrisisPlanIn(Tolerant, CrisisSections):
    READ_ONLY = ("version", "updated_at", "written_by", "emergency_numbers", "sections_meta")
    last_reviewed_with_team_on = fields.Date(load_default=None, allow_none=True)


class AuthorOut(Schema):
    kind = fields.String(validate=validate.OneOf(("patient", "staff")))
    name = fields.String(allow_none=True)
    agency = fields.String(allow_none=True)


class CrisisPlanOut(CrisisSections):
    version = fields.Integer(metadata={"description": "0: no plan written yet"})
    last_reviewed_with_team_on = fields.Date(allow_none=True)
    updated_at = Instant(allow_none=True)
    written_by = fields.Nested(AuthorOut, allow_none=True)
    emergency_numbers = fields.List(fields.Nested(EmergencyNumberOut))
    sections_meta = fields.List(
        fields.Nested(SectionMetaOut),
        metadata={
            "description": "Only when the patient's programme changes MULI's sections (renames, adds, "
            "hides or reorders them): every section in the programme's order, with its title. "
            "Without it the plan is MULI's, as the app has always shown it."
        },
    )


# A list item as stored: a text, or an object of named parts (sign/action, name/phone,
# service/phone/when_reachable).
PLAN_ITEM = {
    "oneOf": [
        {"type": "string"},
        {"type": "object", "additionalProperties": {"type": "string", "nullable": True}},
    ]
}


def _plan_item():
    return fields.Raw(metadata={**PLAN_ITEM, "description": "A text, or an object of named parts"})


class ItemChangeOut(Schema):
    before = _plan_item()
    after = _plan_item()


class SectionChangeOut(Schema):
    section = fields.String(
        metadata={
            "description": "One of MULI's sections ("
            + ", ".join(plans.CRISIS_SECTIONS)
            + "), or a programme's own (`sections_meta`), in plan order"
        }
    )
    kind = fields.String(
        validate=validate.OneOf(("list", "text")),
        metadata={"description": "list: items added/removed/changed; text: before and after"},
    )
    status = fields.String(validate=validate.OneOf(("changed", "unchanged")))
    added = fields.List(_plan_item(), metadata={"description": "Items the proposal adds"})
    removed = fields.List(_plan_item(), metadata={"description": "Items the proposal takes out"})
    changed = fields.List(
        fields.Nested(ItemChangeOut),
        metadata={"description": "Items with the same name (sign, name, service) whose other parts differ"},
    )
    reordered = fields.Boolean(metadata={"description": "The same items in another order"})
    before = fields.String(allow_none=True, metadata={"description": "Text sections: the current text"})
    after = fields.String(allow_none=True, metadata={"description": "Text sections: the proposed text"})


class PlanChangesOut(Schema):
    compared_with_version = fields.Integer(metadata={"description": "The current version (0: no plan yet)"})
    sections = fields.List(
        fields.Nested(SectionChangeOut), metadata={"description": "Every section, in plan order"}
    )


class CrisisPlanVersionOut(Schema):
    version = fields.Integer()
    written_at = Instant()
    written_by = fields.Nested(AuthorOut)
    approved = fields.Boolean()
    approved_at = Instant(allow_none=True)
    declined_at = Instant(allow_none=True, metadata={"description": "When the patient declined the proposal"})
    status = fields.String(
        validate=validate.OneOf(("current", "proposed", "declined", "superseded")),
        metadata={
            "description": "current, proposed (waiting for approval), declined by the patient, or superseded"
        },
    )
    based_on_version = fields.Integer(allow_none=True)
    last_reviewed_with_team_on = fields.Date(allow_none=True)
    sections = fields.Nested(CrisisSections)
    changes = fields.Nested(
        PlanChangesOut,
        allow_none=True,
        metadata={
            "description": "A proposal waiting for approval: what approving it would change in the "
            "current plan, section by section. Null for other versions."
        },
    )


class StrategyIn(Tolerant):
    READ_ONLY = ("times_tried", "average_helped", "last_tried_at")
    id = fields.UUID(load_default=None, metadata={"description": "Keep it for an existing strategy"})
    title = fields.String(required=True, validate=validate.Length(1, MAX_NAME_CHARS))
    description = _text()
    category = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=60))


class GoalIn(Schema):
    id = fields.UUID(load_default=None)
    title = fields.String(required=True, validate=validate.Length(1, MAX_NAME_CHARS))
    description = _text()
    category = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=60))
    target_date = fields.Date(load_default=None, allow_none=True)
    achieved = JsonBoolean(load_default=False)


class MasteryPlanIn(Tolerant):
    READ_ONLY = ("version", "updated_at", "written_by", "categories", "sections_meta")
    strategies = fields.List(fields.Nested(StrategyIn), load_default=list, validate=validate.Length(max=60))
    goals = fields.List(fields.Nested(GoalIn), load_default=list, validate=validate.Length(max=60))


class StrategyOut(Schema):
    id = fields.String()
    title = fields.String()
    description = fields.String(allow_none=True)
    category = fields.String(allow_none=True)
    times_tried = fields.Integer()
    average_helped = fields.Float(allow_none=True, metadata={"description": "0-4, mean of every use"})
    last_tried_at = Instant(allow_none=True)


class GoalOut(Schema):
    id = fields.String()
    title = fields.String()
    description = fields.String(allow_none=True)
    category = fields.String(allow_none=True)
    target_date = fields.String(allow_none=True, metadata={"format": "date"})
    achieved = fields.Boolean()


class MasterySectionMetaOut(Schema):
    key = fields.String(validate=validate.OneOf(("strategies", "goals")))
    title = fields.Dict(
        keys=fields.String(validate=validate.OneOf(("nb", "en"))),
        values=fields.String(),
        metadata={"description": "The section's title in bokmål and English"},
    )
    hidden = fields.Boolean(metadata={"description": "The programme does not show it (its data is kept)"})
    order = fields.Integer(metadata={"description": "Position in the plan, from 0"})


class MasteryPlanOut(Schema):
    version = fields.Integer()
    strategies = fields.List(fields.Nested(StrategyOut))
    goals = fields.List(fields.Nested(GoalOut))
    categories = fields.List(fields.String())
    updated_at = Instant(allow_none=True)
    written_by = fields.Nested(AuthorOut, allow_none=True)
    sections_meta = fields.List(
        fields.Nested(MasterySectionMetaOut),
        metadata={
            "description": "Only when the patient's programme renames, reorders or hides the mastery "
            "plan's sections (MULI vold...): both, in the programme's order, with their titles. "
            "Without it the plan is MULI's, as the app has always shown it."
        },
    )


class UseIn(Schema):
    helped = JsonInteger(required=True, validate=validate.Range(0, 4))
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=1000))


class UseOut(Schema):
    id = fields.UUID()
    strategy_id = fields.UUID()
    helped = fields.Integer()
    note = fields.String(allow_none=True)
    used_at = Instant()
    times_tried = fields.Integer()
    average_helped = fields.Float()


def if_match() -> set[str] | None:
    """The ETags in If-Match (None when the header is missing or empty: 428)."""
    if not request.headers.get("If-Match", "").strip():
        return None
    tags = request.if_match
    return {"*"} if tags.star_tag else set(tags.as_set(include_weak=True))


def plan_answer(doc: plans.PlanDoc, status: int = 200):
    """The plan with its ETag, or 304 when the client already has this version."""
    if request.method == "GET" and request.if_none_match.contains_weak(doc.etag):
        return Response(status=304, headers={"ETag": f'"{doc.etag}"'})
    return doc.body, status, {"ETag": f'"{doc.etag}"'}


def pdf_answer(content: bytes, filename: str) -> Response:
    return Response(
        content,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{filename}"'},
    )


_dump_crisis_plan = dumper(CrisisPlanOut)  # compiled (api/dump.py): the plan sync's answer


@blp.route("/crisis-plan")
class CrisisPlan(MethodView):
    @blp.response(200, CrisisPlanOut)
    @blp.alt_response(304, description="Not modified (If-None-Match)")
    def get(self):
        """My crisis plan, with its ETag. Without a plan: an empty version 0."""
        tags = request.if_none_match
        if tags:
            # The app's plan sync: only the version is read when the app has it already.
            etag, doc = plans.my_crisis_plan_unless(current_ctx(), tags.contains_weak)
            if doc is None:
                return Response(status=304, headers={"ETag": f'"{etag}"'})
        else:
            doc = plans.my_crisis_plan(current_ctx())
        if tags.contains_weak(doc.etag):  # changed meanwhile into what the app has (as plan_answer)
            return Response(status=304, headers={"ETag": f'"{doc.etag}"'})
        response = jsonify(_dump_crisis_plan(doc.body))
        response.headers["ETag"] = f'"{doc.etag}"'
        return response

    @blp.doc(parameters=[IF_MATCH_DOC])
    @blp.arguments(CrisisPlanIn)
    @blp.response(200, CrisisPlanOut)
    def put(self, data):
        """Save my crisis plan as a new current version (If-Match required)."""
        reviewed = data.pop("last_reviewed_with_team_on")
        return plan_answer(plans.save_my_crisis_plan(current_ctx(), data, if_match(), reviewed))


@blp.route("/crisis-plan.pdf")
class CrisisPlanPdf(MethodView):
    @blp.doc(responses=PDF_RESPONSE)
    def get(self):
        """My crisis plan on one printable page."""
        return pdf_answer(pdf.my_crisis_plan_pdf(current_ctx()), "kriseplan.pdf")


@blp.route("/crisis-plan/versions")
class CrisisPlanVersions(MethodView):
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, page_of(CrisisPlanVersionOut))
    def get(self, args):
        """Every version of my crisis plan: who wrote it, when, and whether it is approved."""
        return plans.my_crisis_plan_versions(current_ctx(), cursor=args["cursor"], limit=args["limit"])


@blp.route("/crisis-plan/versions/<int:version>/approve")
class ApproveCrisisPlanVersion(MethodView):
    @blp.response(200, CrisisPlanOut)
    def post(self, version):
        """Approve a version the team proposed; it becomes my current plan."""
        return plan_answer(plans.approve_my_crisis_plan_version(current_ctx(), version))


@blp.route("/crisis-plan/versions/<int:version>/decline")
class DeclineCrisisPlanVersion(MethodView):
    @blp.response(200, CrisisPlanVersionOut)
    def post(self, version):
        """Decline a version the team proposed: my plan stays as it is; the team sees it declined."""
        return plans.decline_my_crisis_plan_version(current_ctx(), version)


@blp.route("/mastery-plan")
class MasteryPlan(MethodView):
    @blp.response(200, MasteryPlanOut)
    @blp.alt_response(304, description="Not modified (If-None-Match)")
    def get(self):
        """My mastery plan: strategies (how often tried, how much they helped) and goals."""
        return plan_answer(mastery.my_mastery_plan(current_ctx()))

    @blp.doc(parameters=[IF_MATCH_DOC])
    @blp.arguments(MasteryPlanIn)
    @blp.response(200, MasteryPlanOut)
    def put(self, data):
        """Save my mastery plan (If-Match required). Keep `id` on strategies you keep."""
        return plan_answer(mastery.save_my_mastery_plan(current_ctx(), data, if_match()))


@blp.route("/mastery-plan/strategies/<uuid:strategy_id>/uses")
class StrategyUses(MethodView):
    @idempotent()
    @blp.doc(parameters=[HEADER_DOC])
    @blp.arguments(UseIn)
    @blp.response(201, UseOut)
    def post(self, data, strategy_id):
        """I tried this: how much it helped, 0 (not at all) to 4 (a lot)."""
        return mastery.record_strategy_use(current_ctx(), strategy_id, data["helped"], data["note"])
