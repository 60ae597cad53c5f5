"""Administrator: programmes (list, read, import as JSON) and which programme a team runs."""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import Schema, fields, validate

from api.body import Blueprint
from api.context import current_ctx, require_kind
from api.programme_schemas import ProgrammeFileIn, ProgrammeOut, texts
from api.schemas import Instant
from muli.platform.errors import ValidationFailed
from muli.team import programmes

blp = Blueprint(
    "admin_programmes",
    __name__,
    url_prefix="/api/v1/admin",
    description="Administrator: programmes as data (role `admin`); the file format: docs/programmes.md",
)
blp.before_request(lambda: require_kind("staff"))


class ProgrammeTeamOut(Schema):
    id = fields.UUID()
    name = fields.String()


class ProgrammeSummaryOut(Schema):
    key = fields.String()
    name = texts()
    description = texts()
    teams = fields.List(fields.Nested(ProgrammeTeamOut), metadata={"description": "Teams that run it"})
    created_at = Instant(allow_none=True, metadata={"description": "Null: the built-in template"})


class ProgrammeListOut(Schema):
    items = fields.List(fields.Nested(ProgrammeSummaryOut))


class TeamProgrammeIn(Schema):
    programme = fields.String(required=True, validate=validate.Length(1, 60))


class TeamProgrammeSetOut(Schema):
    team_id = fields.UUID(attribute="id")
    name = fields.String()
    programme = fields.String()


@blp.route("/programmes")
class Programmes(MethodView):
    @blp.response(200, ProgrammeListOut)
    def get(self):
        """Every programme and the teams that run it."""
        return {"items": programmes.list_programmes(current_ctx())}


@blp.route("/programmes/<string:key>")
class OneProgramme(MethodView):
    @blp.response(200, ProgrammeOut)
    def get(self, key):
        """A programme's definition: what an export writes (as JSON)."""
        return programmes.definition_of(current_ctx(), key)

    @blp.arguments(ProgrammeFileIn)
    @blp.response(200, ProgrammeOut)
    def put(self, data, key):
        """Import a programme file (as JSON): creates the programme or replaces the one with this
        key. Refused with 422 naming the field, e.g. a required section dropped."""
        if data.get("key") != key:
            raise ValidationFailed("key", "The file's key is not the one in the address.")
        ctx = current_ctx()
        programmes.import_json(ctx, data)
        return programmes.definition_of(ctx, key)


@blp.route("/teams/<uuid:team_id>/programme")
class TeamProgramme(MethodView):
    @blp.arguments(TeamProgrammeIn)
    @blp.response(200, TeamProgrammeSetOut)
    def put(self, data, team_id):
        """The programme the team runs from now on (by key)."""
        team = programmes.set_team_programme(current_ctx(), team_id, data["programme"])
        return {"id": team.id, "name": team.name, "programme": data["programme"]}
