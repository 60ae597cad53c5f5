"""The patient's profile: GET /me."""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import Schema, fields

from api.body import Blueprint
from api.contact_schemas import AvailabilityOut
from api.context import current_ctx, require_kind
from muli.contact import on_call
from muli.patient import profile

blp = Blueprint("me", __name__, url_prefix="/api/v1/me", description="The patient's profile")
blp.before_request(lambda: require_kind("patient"))


class EmergencyNumberOut(Schema):
    number = fields.String()
    label = fields.String()
    kind = fields.String(metadata={"description": "emergency, emergency_gp, team or team_on_call"})


class TeamRefOut(Schema):
    id = fields.UUID()
    name = fields.String()


class TrustedContactOut(Schema):
    name = fields.String()
    agency = fields.String()
    phone = fields.String(allow_none=True)


class ProfileOut(Schema):
    id = fields.UUID()
    display_name = fields.String()
    team = fields.Nested(TeamRefOut)
    trusted_contact = fields.Nested(TrustedContactOut, allow_none=True)
    emergency_numbers = fields.List(fields.Nested(EmergencyNumberOut))
    availability = fields.Nested(AvailabilityOut)


@blp.route("")
class Me(MethodView):
    @blp.response(200, ProfileOut)
    def get(self):
        """My profile, my team, my trusted contact and the emergency numbers (always present)."""
        return profile.profile(current_ctx(), on_call.availability_view)
