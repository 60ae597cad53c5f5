"""Staff: the programme of each of my teams, and the indicator events a programme records."""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import Schema, fields, post_load, validate

from api.body import Blueprint
from api.context import current_ctx, require_kind
from api.programme_schemas import ProgrammeOut
from api.schemas import JsonInteger
from muli.patient import indicators
from muli.team import programmes

blp = Blueprint(
    "staff_programmes",
    __name__,
    url_prefix="/api/v1/staff",
    description="Programmes of my teams; indicator events recorded per patient",
)
blp.before_request(lambda: require_kind("staff"))


class TeamProgrammeOut(Schema):
    team_id = fields.UUID()
    team_name = fields.String()
    programme = fields.Nested(ProgrammeOut)


class TeamProgrammesOut(Schema):
    items = fields.List(fields.Nested(TeamProgrammeOut))


class IndicatorEventIn(Schema):
    indicator = fields.String(
        required=True,
        validate=validate.Length(1, 40),
        metadata={"description": "A `recorded` indicator of the patient's programme"},
    )
    occurred_on = fields.Date(required=True)
    count = JsonInteger(
        load_default=1,
        validate=validate.Range(1, indicators.MAX_COUNT),
        metadata={"description": "How many (days in custody: the days of the stay)"},
    )

    @post_load
    def make(self, data, **_):
        return indicators.NewIndicatorEvent(**data)


class IndicatorEventOut(Schema):
    id = fields.UUID()
    indicator = fields.String()
    occurred_on = fields.Date()
    count = fields.Integer()


class IndicatorEventsOut(Schema):
    items = fields.List(fields.Nested(IndicatorEventOut), metadata={"description": "Newest first"})


@blp.route("/programmes")
class MyTeamsProgrammes(MethodView):
    @blp.response(200, TeamProgrammesOut)
    def get(self):
        """For each of my teams, its programme: plan sections, agenda, indicators and definitions."""
        return {"items": programmes.my_teams_programmes(current_ctx())}


@blp.route("/patients/<uuid:patient_id>/indicator-events")
class IndicatorEvents(MethodView):
    @blp.response(200, IndicatorEventsOut)
    def get(self, patient_id):
        """The indicator events recorded for the patient (any consent for my agency)."""
        return {"items": indicators.patient_events(current_ctx(), patient_id)}

    @blp.arguments(IndicatorEventIn)
    @blp.response(201, IndicatorEventOut)
    def post(self, data, patient_id):
        """Record one event of an indicator the patient's programme records (MULI vold: a police
        contact, a violent incident, a stay in custody with its days)."""
        return indicators.record_event(current_ctx(), patient_id, data)
