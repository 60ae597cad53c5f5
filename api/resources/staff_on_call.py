"""Staff: a team's on-call rota and its morning hand-over."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from flask.views import MethodView
from marshmallow import Schema, fields, validate

from api.body import Blueprint
from api.contact_schemas import TeamHandoverOut
from api.context import current_ctx, require_kind
from api.schemas import Instant, PageArgs, page_of
from muli.contact import handover, on_call
from muli.models.on_call import SHIFT_LEVELS

blp = Blueprint(
    "staff_on_call",
    __name__,
    url_prefix="/api/v1/staff/teams",
    description="On-call rota and morning hand-over",
)
blp.before_request(lambda: require_kind("staff"))


# Year 1 with a positive offset is year 0 in UTC: a 500 (found by the contract fuzzing).
SHIFT_RANGE = validate.Range(min=datetime(2000, 1, 1, tzinfo=UTC), max=datetime(2999, 12, 31, tzinfo=UTC))


class OnCallShiftIn(Schema):
    staff_id = fields.UUID(required=True)
    starts_at = fields.AwareDateTime(required=True, validate=SHIFT_RANGE)
    ends_at = fields.AwareDateTime(required=True, validate=SHIFT_RANGE)
    level = fields.String(load_default="primary", validate=validate.OneOf(SHIFT_LEVELS))


class OnCallShiftArgs(PageArgs):
    after = fields.AwareDateTime(load_default=None)


class OnCallShiftOut(Schema):
    id = fields.UUID()
    team_id = fields.UUID()
    staff_id = fields.UUID()
    staff_name = fields.Function(lambda s: s.staff.display_name)
    agency = fields.Function(lambda s: s.staff.agency.name)
    starts_at = Instant()
    ends_at = Instant()
    level = fields.String(validate=validate.OneOf(SHIFT_LEVELS))


class TeamHandoverArgs(Schema):
    date = fields.Date(load_default=None)


@blp.route("/<uuid:team_id>/on-call-shifts")
class Shifts(MethodView):
    @blp.arguments(OnCallShiftArgs, location="query")
    @blp.response(200, page_of(OnCallShiftOut))
    def get(self, args, team_id: uuid.UUID):
        """The rota: shifts not yet over (or ending after `after`), latest start first."""
        return on_call.list_shifts(
            current_ctx(), team_id, after=args["after"], cursor=args["cursor"], limit=args["limit"]
        )

    @blp.arguments(OnCallShiftIn)
    @blp.response(201, OnCallShiftOut)
    def post(self, data, team_id: uuid.UUID):
        """Add a shift (coordinator). Overlapping primary shifts are refused with 409."""
        return on_call.create_shift(current_ctx(), team_id, on_call.NewShift(**data))


@blp.route("/<uuid:team_id>/handover")
class Handover(MethodView):
    @blp.arguments(TeamHandoverArgs, location="query")
    @blp.response(200, TeamHandoverOut)
    def get(self, args, team_id: uuid.UUID):
        """The morning hand-over: every request and escalation after hours, per patient, with outcomes."""
        return handover.handover(current_ctx(), team_id, args["date"])
