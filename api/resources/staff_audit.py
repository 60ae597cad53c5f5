"""Staff: the privacy officer's access log, emergency-access review (verdict and comment),
and one patient's access log as a PDF for a written request."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import Response
from flask.views import MethodView
from flask_babel import get_locale, gettext
from marshmallow import Schema, ValidationError, fields, validate

from api.body import Blueprint
from api.context import current_ctx, require_kind
from api.contract import PDF_CONTENT
from api.schemas import Instant, PageArgs, page_of
from muli.models.consent import REVIEW_VERDICTS
from muli.patient import pdf
from muli.trust import audit_review, audit_words

blp = Blueprint(
    "staff_audit",
    __name__,
    url_prefix="/api/v1/staff/audit",
    description="Privacy officer: access log, break-the-glass review, failed logins",
)
blp.before_request(lambda: require_kind("staff"))

OSLO = ZoneInfo("Europe/Oslo")


class DayOrInstant(fields.Field):
    """`YYYY-MM-DD` (a whole day in Norway, Europe/Oslo) or an ISO 8601 instant with an offset."""

    def __init__(self, *, end: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.end = end

    def _deserialize(self, value, attr, data, **kwargs):
        text = str(value)
        try:
            if len(text) == 10:
                day = date.fromisoformat(text)
                # `to` a date includes that whole day.
                return self._in_range(
                    datetime.combine(day + timedelta(days=1 if self.end else 0), time(0), tzinfo=OSLO)
                )
            instant = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except (ValueError, OverflowError):
            raise ValidationError("A date (YYYY-MM-DD) or an ISO 8601 time with offset.")
        if instant.tzinfo is None:
            raise ValidationError("Give the time zone offset (or Z).")
        return self._in_range(instant)

    @staticmethod
    def _in_range(instant: datetime) -> datetime:
        # Far-off years overflow when converted to UTC; nothing in the log is that old or new.
        if not 1900 <= instant.year <= 2999:
            raise ValidationError("A year between 1900 and 2999.")
        return instant


class PeriodArgs(Schema):
    from_ = DayOrInstant(data_key="from", load_default=None, metadata={"description": "Inclusive"})
    to = DayOrInstant(
        end=True, load_default=None, metadata={"description": "Exclusive; a date includes that day"}
    )


class AuditSearchArgs(PageArgs, PeriodArgs):
    patient_id = fields.UUID(load_default=None)
    staff_id = fields.UUID(load_default=None)
    agency_id = fields.UUID(load_default=None, metadata={"description": "The acting staff member's agency"})
    kind = fields.String(
        load_default=None,
        validate=validate.OneOf(list(audit_words.KINDS)),
        metadata={
            "description": "Kind of action: " + "; ".join(f"{k}: {v}" for k, v in audit_words.KINDS.items())
        },
    )
    security = fields.Boolean(
        load_default=False,
        metadata={"description": "Only security events: refusals, replays, emergency access, outcome not ok"},
    )


def _words(text: str) -> str:
    """Plain words in the request's language (Accept-Language; bokmål by default)."""
    return gettext(text)


class AuditEventOut(Schema):
    seq = fields.Integer()
    occurred_at = Instant()
    action = fields.String()
    outcome = fields.String()
    actor_kind = fields.String(allow_none=True)
    actor_name = fields.String(allow_none=True)
    actor_role = fields.String(allow_none=True)
    actor_agency_name = fields.String(allow_none=True)
    patient_id = fields.UUID(allow_none=True)
    patient_display_name = fields.String(allow_none=True)
    resource = fields.String(allow_none=True)
    resource_id = fields.String(allow_none=True)
    emergency = fields.Boolean()
    reason = fields.Function(
        lambda item: audit_words.say_reason(item.reason, gettext),
        allow_none=True,
        metadata={"description": "Why: as the person wrote it, or the system's reason in plain words"},
    )
    ip = fields.String(allow_none=True)
    request_id = fields.String(allow_none=True)
    kind = fields.String(allow_none=True, metadata={"description": "Kind of action (the `kind` filter)"})
    description = fields.Function(
        lambda item: _words(item.description),
        metadata={"description": "What was done, in plain words (Accept-Language: nb or en)"},
    )
    security = fields.Boolean(metadata={"description": "A security event"})


class EmergencyQueueArgs(PageArgs):
    reviewed = fields.Boolean(load_default=False, allow_none=True)


class EmergencyActionOut(Schema):
    at = Instant()
    action = fields.String()
    description = fields.Function(lambda a: _words(a["description"]))
    resource = fields.String(allow_none=True)
    emergency = fields.Boolean()


class ReviewOut(Schema):
    verdict = fields.String(allow_none=True, metadata={"description": "None: signed off before verdicts"})
    comment = fields.String(allow_none=True)
    reviewed_at = Instant()
    reviewed_by_id = fields.UUID(allow_none=True)
    reviewed_by_name = fields.String(allow_none=True)


class ReviewIn(Schema):
    verdict = fields.String(
        required=True,
        validate=validate.OneOf(REVIEW_VERDICTS),
        metadata={"description": "justified, not_justified, or follow_up (stays in the queue)"},
    )
    comment = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=audit_review.MAX_COMMENT_CHARS),
        metadata={"description": "Kept encrypted: it may name health facts"},
    )


class EmergencyAccessReviewOut(Schema):
    id = fields.UUID()
    patient_id = fields.UUID()
    patient_display_name = fields.String()
    staff_id = fields.UUID()
    staff_name = fields.String()
    staff_agency_name = fields.String()
    reason = fields.String(
        metadata={"description": "The stated reason: access metadata, shown to the reviewer"}
    )
    starts_at = Instant()
    ends_at = Instant()
    reviewed = fields.Boolean()
    reviewed_at = Instant(allow_none=True)
    reviewed_by_name = fields.String(allow_none=True)
    verdict = fields.String(allow_none=True, metadata={"description": "The latest review's"})
    comment = fields.String(allow_none=True, metadata={"description": "The latest review's"})
    reviews = fields.List(fields.Nested(ReviewOut), metadata={"description": "Every review, oldest first"})
    actions_during = fields.List(fields.Nested(EmergencyActionOut))
    scopes = fields.List(fields.String(), metadata={"description": "What the window opened"})


@blp.route("")
class AuditLog(MethodView):
    @blp.arguments(AuditSearchArgs, location="query")
    @blp.response(200, page_of(AuditEventOut))
    def get(self, args):
        """The access log, newest first, by patient, staff member, agency, time, kind and
        security events (privacy officer only)."""
        return audit_review.search(
            current_ctx(),
            patient_id=args["patient_id"],
            staff_id=args["staff_id"],
            agency_id=args["agency_id"],
            from_=args["from_"],
            to=args["to"],
            kind=args["kind"],
            security=args["security"],
            cursor=args["cursor"],
            limit=args["limit"],
        )


@blp.route("/emergency-access")
class EmergencyQueue(MethodView):
    @blp.arguments(EmergencyQueueArgs, location="query")
    @blp.response(200, page_of(EmergencyAccessReviewOut))
    def get(self, args):
        """Break-the-glass accesses to review (`reviewed=false`, the default: never reviewed or
        needing follow-up) or every reviewed one (`reviewed=true`)."""
        return audit_review.emergency_accesses(
            current_ctx(), reviewed=args["reviewed"], cursor=args["cursor"], limit=args["limit"]
        )


class LoginFailuresArgs(Schema):
    hours = fields.Integer(load_default=24, validate=validate.Range(1, 24 * 31))


class LoginSourceOut(Schema):
    account_id = fields.UUID(allow_none=True, metadata={"description": "None: unknown usernames"})
    account_kind = fields.String(allow_none=True)
    account_label = fields.String(allow_none=True)
    source_kind = fields.String(allow_none=True, metadata={"description": "address or device"})
    source_tag = fields.String(allow_none=True, metadata={"description": "Start of the source's keyed hash"})
    network = fields.String(allow_none=True, metadata={"description": "IPv4 /24 or IPv6 /48"})
    failed = fields.Integer()
    throttled = fields.Integer(metadata={"description": "Refused before the password was checked"})
    succeeded = fields.Integer()
    ceiling = fields.Boolean(metadata={"description": "The account went over its all-sources ceiling"})
    first_at = Instant()
    last_at = Instant()


@blp.route("/login-failures")
class LoginFailures(MethodView):
    @blp.arguments(LoginFailuresArgs, location="query")
    @blp.response(200, LoginSourceOut(many=True))
    def get(self, args):
        """Failed and throttled logins per account and source over the last `hours` (default 24)."""
        return audit_review.login_failures(current_ctx(), hours=args["hours"])


@blp.route("/emergency-access/<uuid:access_id>/review")
class Review(MethodView):
    @blp.arguments(ReviewIn)
    @blp.response(200, EmergencyAccessReviewOut)
    def post(self, data, access_id):
        """Review an emergency access: a verdict and a comment (privacy officer). Reviewing
        again adds to its history; the latest review is its verdict."""
        return audit_review.review_emergency_access(
            current_ctx(), access_id, data["verdict"], data["comment"]
        )


@blp.route("/patients/<uuid:patient_id>/access-log.pdf")
class PatientAccessLogPdf(MethodView):
    @blp.arguments(PeriodArgs, location="query")
    @blp.doc(responses={200: {"description": "The access log on A4 pages", "content": PDF_CONTENT}})
    def get(self, args, patient_id):
        """One patient's access log for a written request: who (name, role, agency), when,
        what, why; in the request's language (Accept-Language). The export is audited."""
        name, content = pdf.access_log_pdf(
            current_ctx(),
            patient_id,
            _words,
            from_=args["from_"],
            to=args["to"],
            locale=str(get_locale() or "nb"),
        )
        return Response(
            content,
            mimetype="application/pdf",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
