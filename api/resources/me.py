"""The patient's profile: GET /me."""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import Schema, fields, validate

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
    phone = fields.String(
        allow_none=True, metadata={"description": "my number for 'Ring meg' (+47 and 8 digits)"}
    )
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


class PhoneIn(Schema):
    phone = fields.String(
        required=True,
        allow_none=True,
        validate=validate.Length(max=32),
        metadata={
            "description": "+47 and 8 digits (spaces allowed); null or empty removes it",
            "example": "+4700000101",
        },
    )


@blp.route("/phone")
class MyPhone(MethodView):
    @blp.arguments(PhoneIn)
    @blp.response(200, ProfileOut)
    def put(self, data):
        """Change (or remove, with null) my own phone number, the one the team calls back on."""
        ctx = current_ctx()
        profile.set_phone(ctx, data["phone"])
        return profile.profile(ctx, on_call.availability_view)
