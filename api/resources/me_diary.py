"""The patient's diary: private unless shared, cursor-paginated, permanent delete."""

from __future__ import annotations

from flask import jsonify
from flask.views import MethodView
from marshmallow import Schema, fields, post_load, validate

from api.body import Blueprint
from api.context import current_ctx, require_kind
from api.dump import dumper
from api.idempotency import HEADER_DOC, idempotent
from api.schemas import Instant, JsonBoolean, JsonFloat, JsonInteger, PageArgs, page_of
from muli.patient import diary

blp = Blueprint("me_diary", __name__, url_prefix="/api/v1/me/diary", description="My diary")
blp.before_request(lambda: require_kind("patient"))


class EntryFields(Schema):
    text = fields.String(validate=validate.Length(1, diary.MAX_TEXT_CHARS))
    mood = JsonInteger(allow_none=True, validate=validate.Range(0, 10))
    sleep_hours = JsonFloat(allow_none=True, validate=validate.Range(0, 24))
    tags = fields.List(
        fields.String(validate=validate.Length(1, diary.MAX_TAG_CHARS)),
        validate=validate.Length(max=diary.MAX_TAGS),
    )
    shared_with_team = JsonBoolean(metadata={"description": "Private (false) unless you share it"})


class EntryIn(EntryFields):
    text = fields.String(required=True, validate=validate.Length(1, diary.MAX_TEXT_CHARS))
    mood = JsonInteger(load_default=None, allow_none=True, validate=validate.Range(0, 10))
    sleep_hours = JsonFloat(load_default=None, allow_none=True, validate=validate.Range(0, 24))
    tags = fields.List(
        fields.String(validate=validate.Length(1, diary.MAX_TAG_CHARS)),
        load_default=list,
        validate=validate.Length(max=diary.MAX_TAGS),
    )
    shared_with_team = JsonBoolean(load_default=False)

    @post_load
    def make(self, data, **_):
        return diary.NewEntry(**data)


class EntryOut(Schema):
    id = fields.UUID()
    text = fields.String()
    mood = fields.Integer(allow_none=True)
    sleep_hours = fields.Float(allow_none=True)
    tags = fields.List(fields.String())
    shared_with_team = fields.Boolean()
    created_at = Instant()
    updated_at = Instant(allow_none=True)


EntryPage = page_of(EntryOut)
_dump_entry = dumper(EntryOut)  # compiled (api/dump.py)
# The write's body schema as one instance: webargs builds a new Schema from a class on every
# request (copying each declared field); an instance is reused. Loading keeps no state on it.
_ENTRY_IN = EntryIn()


@blp.route("")
class Diary(MethodView):
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, EntryPage)
    def get(self, args):
        """My diary, newest first."""
        return diary.my_entries(current_ctx(), cursor=args["cursor"], limit=args["limit"])

    @idempotent()
    @blp.doc(parameters=[HEADER_DOC])
    @blp.arguments(_ENTRY_IN)
    @blp.response(201, EntryOut)
    def post(self, data):
        """Write an entry. Send an Idempotency-Key so a retry from a bad network writes it once."""
        response = jsonify(_dump_entry(diary.write(current_ctx(), data)))
        response.status_code = 201
        return response


@blp.route("/<uuid:entry_id>")
class DiaryEntry(MethodView):
    @blp.response(200, EntryOut)
    def get(self, entry_id):
        """One entry."""
        return diary.read(current_ctx(), entry_id)

    @blp.arguments(EntryFields, required=False)
    @blp.response(200, EntryOut)
    def patch(self, data, entry_id):
        """Change an entry: its text, mood, sleep, tags, or whether the team may see it."""
        return diary.edit(current_ctx(), entry_id, data)

    @blp.response(204)
    def delete(self, entry_id):
        """Delete an entry for good."""
        diary.delete(current_ctx(), entry_id)
