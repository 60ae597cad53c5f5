"""Schemas shared by several resources."""

from __future__ import annotations

from datetime import UTC

from marshmallow import Schema, ValidationError, fields, missing, validate

from muli.extensions import say
from muli.platform.pagination import DEFAULT_LIMIT, MAX_LIMIT


def instant_text(value):
    """An instant as the API writes it: in UTC, with `Z` (None stays None)."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


class Instant(fields.DateTime):
    """An instant in UTC written with `Z`, as API.md asks of every timestamp."""

    def _serialize(self, value, attr, obj, **kwargs):
        return instant_text(value)


class JsonBoolean(fields.Boolean):
    """`true` or `false` in a JSON body, as the document says: not 0, 1 or "yes" (marshmallow's
    Boolean takes those, so a schema-violating request would be stored as if it were valid)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class Confirmation(JsonBoolean):
    """A box the client must tick: required, `true`. Missing, it is refused here with `message`
    in the reader's language (marshmallow's own "Missing data for required field." is English
    only); `false` goes on to the service, which refuses it with the same message, as for
    every other door."""

    def __init__(self, message: str, **kwargs):
        super().__init__(required=True, **kwargs)
        self.message = message

    def _validate_missing(self, value):
        if value is missing:
            raise ValidationError(say(self.message))
        super()._validate_missing(value)


def _json_number(value, make_error):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise make_error("invalid")
    return value


class JsonInteger(fields.Integer):
    """An integer in a JSON body: not "5", not true, not 2.5 (marshmallow would store 2)."""

    def __init__(self, **kwargs):
        super().__init__(strict=True, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        return super()._deserialize(_json_number(value, self.make_error), attr, data, **kwargs)


class JsonFloat(fields.Float):
    """A number in a JSON body: not "5.5", not true."""

    def _deserialize(self, value, attr, data, **kwargs):
        return super()._deserialize(_json_number(value, self.make_error), attr, data, **kwargs)


class PageArgs(Schema):
    limit = fields.Integer(load_default=DEFAULT_LIMIT, validate=validate.Range(1, MAX_LIMIT))
    cursor = fields.String(load_default=None, validate=validate.Length(max=500))


def page_of(item_schema):
    """A `{items, next_cursor}` schema for a list of `item_schema`."""

    class PageOut(Schema):
        items = fields.List(fields.Nested(item_schema))
        next_cursor = fields.String(allow_none=True)

    PageOut.__name__ = f"{item_schema.__name__.removesuffix('Out')}Page"
    return PageOut


class Problem(Schema):
    type = fields.String()
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))
