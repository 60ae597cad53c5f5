"""The programme's shapes in the OpenAPI document (docs/programmes.md is the file format)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from muli.models.consent import CONSENT_SCOPES
from muli.models.people import AGENCY_KINDS
from muli.patient import programme


def texts(description: str = "By language: nb, en"):
    return fields.Dict(
        keys=fields.String(validate=validate.OneOf(programme.LANGUAGES)),
        values=fields.String(),
        metadata={"description": description},
    )


class CrisisSectionOut(Schema):
    key = fields.String()
    title = texts()
    kind = fields.String(validate=validate.OneOf(("numbers", "list", "text")))
    required = fields.Boolean(metadata={"description": "Emergency numbers and the four for every service"})
    hidden = fields.Boolean()


class MasterySectionOut(Schema):
    key = fields.String(validate=validate.OneOf(programme.MASTERY_SECTIONS))
    title = texts()
    hidden = fields.Boolean()


class CrisisPlanSectionsOut(Schema):
    sections = fields.List(fields.Nested(CrisisSectionOut), metadata={"description": "In plan order"})


class MasteryPlanSectionsOut(Schema):
    sections = fields.List(fields.Nested(MasterySectionOut), metadata={"description": "In plan order"})


class EnrolmentOut(Schema):
    criteria = texts("Who the programme is for, by language: nb, en")
    min_events = fields.Integer(allow_none=True)
    event = fields.String(allow_none=True, metadata={"description": "The indicator the criteria count"})
    within_months = fields.Integer(allow_none=True)


class AgendaOut(Schema):
    first = fields.List(fields.String(), metadata={"description": "Events that put a patient first"})


class IndicatorOut(Schema):
    key = fields.String()
    source = fields.String(
        validate=validate.OneOf(programme.INDICATOR_SOURCES),
        metadata={"description": "admissions: computed by MULI; recorded: events the team records"},
    )
    heading = fields.String(validate=validate.OneOf(programme.QUALITY_HEADINGS))
    unit = fields.String()
    title = texts()
    definition = texts("What exactly is counted, by language: nb, en")


class ProgrammePlansOut(Schema):
    key = fields.String()
    name = texts()
    crisis_plan = fields.Nested(CrisisPlanSectionsOut)
    mastery_plan = fields.Nested(MasteryPlanSectionsOut)
    consent_scopes = fields.List(fields.String(validate=validate.OneOf(CONSENT_SCOPES)))


class ProgrammeOut(ProgrammePlansOut):
    format = fields.String()
    description = texts()
    enrolment = fields.Nested(EnrolmentOut)
    agency_kinds = fields.List(fields.String(validate=validate.OneOf(AGENCY_KINDS)))
    agenda = fields.Nested(AgendaOut)
    indicators = fields.List(fields.Nested(IndicatorOut))


class ProgrammeFileIn(Schema):
    """A programme file as JSON; checked field by field by the domain (422 naming the field)."""

    format = fields.String(required=True, metadata={"description": programme.FORMAT})
    key = fields.String(required=True, validate=validate.Length(2, 60))
    name = fields.Dict(required=True)
    description = fields.Dict(allow_none=True)
    enrolment = fields.Dict(required=True)
    agency_kinds = fields.List(fields.String(), required=True)
    crisis_plan = fields.Dict(required=True)
    mastery_plan = fields.Dict()
    consent_scopes = fields.List(fields.String(), required=True)
    agenda = fields.Dict()
    indicators = fields.List(fields.Dict())
