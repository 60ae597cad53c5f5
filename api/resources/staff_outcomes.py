"""Staff: the team's outcomes, each indicator with its definition; small counts suppressed."""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import Schema, fields

from api.body import Blueprint
from api.context import current_ctx, require_kind
from muli.team import outcomes

blp = Blueprint(
    "staff_outcomes",
    __name__,
    url_prefix="/api/v1/staff",
    description="Outcomes under the Helsedirektoratet quality headings",
)
blp.before_request(lambda: require_kind("staff"))


class OutcomeFigureOut(Schema):
    value = fields.Float(allow_none=True)
    suppressed = fields.Boolean(
        metadata={"description": f"True when based on a count under {outcomes.SUPPRESS_BELOW}"}
    )


def _texts(description: str):
    return fields.Dict(keys=fields.String(), values=fields.String(), metadata={"description": description})


class OutcomeIndicatorOut(Schema):
    key = fields.String()
    title = _texts("By language: nb, en")
    definition = _texts("What exactly is counted, by language: nb, en")
    unit = fields.String()
    figures = fields.Dict(keys=fields.String(), values=fields.Nested(OutcomeFigureOut))


class OutcomeHeadingOut(Schema):
    key = fields.String()
    title = _texts("By language: nb, en")
    indicators = fields.List(fields.Nested(OutcomeIndicatorOut))


class OutcomeBeforeAfterOut(Schema):
    before_12_months = fields.Nested(OutcomeFigureOut)
    before_per_year = fields.Nested(OutcomeFigureOut)
    since_enrolment = fields.Nested(OutcomeFigureOut)
    since_per_year = fields.Nested(OutcomeFigureOut)
    direction = fields.String(
        allow_none=True,
        metadata={"description": "fewer / same / more a year since enrolment; null if too early"},
    )


class OutcomePatientOut(Schema):
    patient_id = fields.UUID()
    display_name = fields.String()
    enrolled_on = fields.Date()
    days_since_enrolment = fields.Integer()
    acute_admissions = fields.Nested(OutcomeBeforeAfterOut)
    bed_days = fields.Nested(OutcomeBeforeAfterOut)
    involuntary_admissions = fields.Nested(OutcomeBeforeAfterOut)


class OutcomesOut(Schema):
    team_id = fields.UUID()
    as_of = fields.Date()
    suppress_below = fields.Integer()
    patients_counted = fields.Nested(OutcomeFigureOut)
    headings = fields.List(fields.Nested(OutcomeHeadingOut))
    per_patient = fields.List(fields.Nested(OutcomePatientOut))


@blp.route("/teams/<uuid:team_id>/outcomes")
class Outcomes(MethodView):
    @blp.response(200, OutcomesOut)
    def get(self, team_id):
        """The team's indicators with their definitions; any figure resting on a count under 5 is null."""
        return outcomes.team_outcomes(current_ctx(), team_id)
