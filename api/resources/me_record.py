"""My consents, who accessed my data, and all my data in one document."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from flask import Response
from flask.views import MethodView
from flask_babel import gettext
from marshmallow import INCLUDE, Schema, fields, post_dump, post_load, validate

from api.body import Blueprint
from api.context import current_ctx, require_kind
from api.contract import FHIR_CONTENT, FHIR_MEDIA_TYPE
from api.schemas import Instant, PageArgs, page_of
from muli.models.consent import CONSENT_SCOPES, CONSENT_STATES
from muli.patient import consent
from muli.patient import record as patient_record
from muli.trust import audit_words

blp = Blueprint(
    "me_record", __name__, url_prefix="/api/v1/me", description="My consents, access log and export"
)
blp.before_request(lambda: require_kind("patient"))


class ConsentSettingIn(Schema):
    agency_id = fields.UUID(required=True)
    scope = fields.String(required=True, validate=validate.OneOf(CONSENT_SCOPES))
    state = fields.String(required=True, validate=validate.OneOf(CONSENT_STATES))

    @post_load
    def make(self, data, **_):
        return consent.ConsentSetting(**data)


class ConsentsIn(Schema):
    consents = fields.List(
        fields.Nested(ConsentSettingIn),
        required=True,
        validate=validate.Length(1, 200),
        metadata={"description": "Pairs not listed stay as they are"},
    )


class ConsentOut(Schema):
    agency_id = fields.UUID()
    agency_name = fields.String()
    scope = fields.String(validate=validate.OneOf(CONSENT_SCOPES))
    state = fields.String(
        validate=validate.OneOf(CONSENT_STATES),
        metadata={"description": "never granted counts as withdrawn"},
    )
    changed_at = Instant(allow_none=True)
    in_use = fields.Boolean(
        metadata={
            "description": "false: the programme of my team no longer asks for this scope, so it gives "
            "no access; listed while granted, so that it can be withdrawn"
        }
    )


class ChangedByOut(Schema):
    kind = fields.String(validate=validate.OneOf(("patient", "staff", "system")))
    name = fields.String(allow_none=True)
    agency = fields.String(allow_none=True)


class ConsentChangeOut(Schema):
    agency_id = fields.UUID()
    agency_name = fields.String(allow_none=True)
    scope = fields.String(validate=validate.OneOf(CONSENT_SCOPES))
    state = fields.String(validate=validate.OneOf(CONSENT_STATES))
    changed_at = Instant()
    changed_by = fields.Nested(ChangedByOut)


class ConsentsOut(Schema):
    consents = fields.List(fields.Nested(ConsentOut))
    history = fields.List(fields.Nested(ConsentChangeOut), metadata={"description": "Newest first"})


class WhoOut(Schema):
    name = fields.String(allow_none=True)
    agency = fields.String(allow_none=True)
    role = fields.String(allow_none=True)
    kind = fields.String(allow_none=True)


class AccessLogItemOut(Schema):
    at = Instant()
    who = fields.Nested(WhoOut)
    action = fields.String()
    description = fields.Function(
        lambda item: gettext(audit_words.describe(item["action"])),
        metadata={"description": "What was done, in plain words (Accept-Language: nb or en)"},
    )
    resource = fields.String(allow_none=True)
    resource_id = fields.String(allow_none=True)
    outcome = fields.String()
    emergency = fields.Boolean(metadata={"description": "Access without consent (break-the-glass)"})
    reason = fields.String(allow_none=True, metadata={"description": "The reason given for emergency access"})


class ExportOut(Schema):
    class Meta:
        # Other capabilities add sections (kept by the post_dump below): the document says so.
        unknown = INCLUDE

    schema_version = fields.Integer()
    exported_at = fields.String()
    patient = fields.Raw()
    crisis_plan = fields.Raw()
    mastery_plan = fields.Raw()
    diary = fields.Raw()
    consents = fields.Raw()
    admissions = fields.Raw()
    emergency_accesses = fields.Raw()
    access_log = fields.Raw()

    @post_dump(pass_original=True)
    def _keep_other_sections(self, data, original, **_):
        # Other capabilities add sections (patient_record.EXPORT_SECTIONS); keep them all.
        return {**original, **data}


def jsonable(value):
    """Dates, instants (UTC, with Z) and ids as the API writes them, all the way down."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, (date, uuid.UUID)):
        return str(value)
    return value


@blp.route("/consents")
class Consents(MethodView):
    @blp.response(200, ConsentsOut)
    def get(self):
        """My consent per agency of my team and scope, with the history of every change."""
        return consent.my_consents(current_ctx())

    @blp.arguments(ConsentsIn)
    @blp.response(200, ConsentsOut)
    def put(self, data):
        """Grant or withdraw; a withdrawal takes effect on the very next request."""
        return consent.set_my_consents(current_ctx(), data["consents"])


@blp.route("/access-log")
class AccessLog(MethodView):
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, page_of(AccessLogItemOut))
    def get(self, args):
        """Who read or changed my data (everyone but me), newest first; emergency access marked."""
        return patient_record.access_log(current_ctx(), cursor=args["cursor"], limit=args["limit"])


@blp.route("/export")
class Export(MethodView):
    @blp.response(200, ExportOut)
    def get(self):
        """All my data, decrypted, as one JSON document with a `schema_version`."""
        return jsonable(patient_record.export(current_ctx()))


def fhir_answer(body: str, filename: str) -> Response:
    """A FHIR Bundle as the library serialised it, offered as a file to save."""
    return Response(
        body,
        mimetype=FHIR_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@blp.route("/export.fhir")
class ExportFhir(MethodView):
    @blp.doc(responses={200: {"description": "A FHIR R4 Bundle (type collection)", "content": FHIR_CONTENT}})
    def get(self):
        """All my data that FHIR has a resource for, as a FHIR R4 Bundle (docs/fhir/)."""
        from muli.patient import fhir  # the FHIR models load on the first export (~25 MB)

        return fhir_answer(fhir.my_bundle(current_ctx()), "muli-export.fhir.json")
