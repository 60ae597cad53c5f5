"""Staff: the team's outcomes, each indicator with its definition; small counts suppressed."""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import Schema, fields, validate

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


def _texts(description: str):
    return fields.Dict(keys=fields.String(), values=fields.String(), metadata={"description": description})


class OutcomeFigureOut(Schema):
    value = fields.Float(allow_none=True)
    suppressed = fields.Boolean(
        metadata={
            "description": f"True when about fewer than {outcomes.SUPPRESS_BELOW} patients or resting on a "
            f"count under {outcomes.SUPPRESS_BELOW} (then value is null)"
        }
    )
    definition = _texts("What this figure is, by language: nb, en (team figures; not on a patient's row)")


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
        validate=validate.OneOf(("fewer", "same", "more")),
        metadata={"description": "fewer / same / more a year since enrolment; null if too early"},
    )


class OutcomeOpenStayOut(Schema):
    admitted_on = fields.Date()
    facility = fields.String()


class OutcomePatientOut(Schema):
    patient_id = fields.UUID()
    display_name = fields.String()
    enrolled_on = fields.Date()
    days_since_enrolment = fields.Integer()
    acute_admissions = fields.Nested(OutcomeBeforeAfterOut)
    bed_days = fields.Nested(OutcomeBeforeAfterOut)
    involuntary_admissions = fields.Nested(OutcomeBeforeAfterOut)
    open_stays = fields.List(
        fields.Nested(OutcomeOpenStayOut),
        metadata={"description": "Admissions without a discharge date: open, counted to today"},
    )
    recorded = fields.Dict(
        keys=fields.String(),
        values=fields.Nested(OutcomeBeforeAfterOut),
        metadata={
            "description": "Only for a programme that records indicators of its own (MULI vold: "
            "police_contacts, violent_incidents, days_in_custody): each by its key, as the team recorded "
            "them; the indicator's title and definition are under `headings`"
        },
    )


class OutcomeHeadlineOut(Schema):
    admissions_fell = fields.Nested(
        OutcomeFigureOut, metadata={"description": "Patients with fewer acute admissions a year since"}
    )
    patients_compared = fields.Nested(
        OutcomeFigureOut, metadata={"description": "Patients enrolled long enough to compare"}
    )


class OutcomesOut(Schema):
    team_id = fields.UUID()
    as_of = fields.Date()
    suppress_below = fields.Integer()
    patients_counted = fields.Nested(OutcomeFigureOut)
    headline = fields.Nested(OutcomeHeadlineOut, metadata={"description": "Admissions fell in N of M"})
    headings = fields.List(fields.Nested(OutcomeHeadingOut))
    per_patient = fields.List(
        fields.Nested(OutcomePatientOut),
        metadata={
            "description": "The team's own rows, not suppressed, for the patients who gave the reader's "
            "agency consent"
        },
    )
    per_patient_withheld = fields.Integer(
        metadata={"description": "Patients counted without a row here (no consent for my agency)"}
    )


@blp.route("/teams/<uuid:team_id>/outcomes")
class Outcomes(MethodView):
    @blp.response(200, OutcomesOut)
    def get(self, team_id):
        """The team's indicators with their definitions; a figure about under 5 patients, or resting on
        a count under 5, is null. The team's own per-patient rows show their numbers."""
        return outcomes.team_outcomes(current_ctx(), team_id)
