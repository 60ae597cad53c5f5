"""A marshmallow schema's `dump`, compiled once into plain functions: for the hot answers.

`schema.dump(obj)` walks every field through marshmallow's general machinery (accessor,
`serialize`, defaults, hooks) on every request; for a page of 20 queue cards that is most of
the view's time. `dumper(Schema)` reads the same schema once and answers a function that
builds the same dict, field by field, with marshmallow's own rules: a key the object does not
have is left out (or takes `dump_default`), `data_key`/`attribute` are honoured, `Nested`,
`List` and `Dict` recurse, and each leaf is converted as its field does (`String` → `str`,
`UUID` → `str`, `Integer` → `int`, ...; `DateTime`, `Date`, `Boolean` and our `Instant` by
their own `_serialize`). A field, option or hook it does not know is refused when the dumper
is made (TypeError), never approximated. The schema stays the one description of the answer
(the OpenAPI document is made from it); `tests/api/test_dump.py` holds the two equal.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from marshmallow import Schema, fields, missing
from marshmallow.utils import ensure_text_type

from api.schemas import Instant

Convert = Callable[[Any], Any]


def _identity(value):
    return value


def _string(value):
    return value if value is None or value.__class__ is str else ensure_text_type(value)


def _to_str(value):
    return None if value is None else str(value)


def _serialized_by(field: fields.Field) -> Convert:
    """A leaf converted by the field's own `_serialize`, which reads neither attr nor obj."""
    serialize = field._serialize

    def convert(value):
        return serialize(value, None, None)

    return convert


def _leaf(field: fields.Field) -> Convert:
    kind = type(field)
    method = kind._serialize
    if method is fields.Field._serialize:  # Raw
        return _identity
    if method is fields.String._serialize:
        return _string
    if method is fields.UUID._serialize:
        return _to_str
    if method is fields.Number._serialize and kind._format_num is fields.Number._format_num:
        if field.as_string:  # type: ignore[attr-defined]
            raise TypeError(f"{kind.__name__}(as_string=True) is not compiled")
        number = field.num_type  # type: ignore[attr-defined]

        def convert_number(value):
            return None if value is None else number(value)

        return convert_number
    if method in (fields.Boolean._serialize, fields.DateTime._serialize, fields.Date._serialize) or (
        method is Instant._serialize
    ):
        return _serialized_by(field)
    if method is fields.Nested._serialize and isinstance(field, fields.Nested):
        nested = field.schema
        if field.many or nested.many:
            inner = dumper(nested.__class__ if _plain(nested) else nested)

            def convert_many(value):
                return None if value is None else [inner(each) for each in value]

            return convert_many
        one = dumper(nested)

        def convert_one(value):
            return None if value is None else one(value)

        return convert_one
    if method is fields.List._serialize and isinstance(field, fields.List):
        item = _leaf(field.inner)

        def convert_list(value):
            return None if value is None else [item(each) for each in value]

        return convert_list
    if method is fields.Mapping._serialize and isinstance(field, fields.Mapping):
        if field.key_field is None and field.value_field is None:
            return lambda value: None if value is None else field.mapping_type(value)
        key = _leaf(field.key_field) if field.key_field is not None else _identity
        val = _leaf(field.value_field) if field.value_field is not None else _identity
        mapping = field.mapping_type

        def convert_mapping(value):
            if value is None:
                return None
            out = mapping()
            for k, v in value.items():
                out[key(k)] = val(v)
            return out

        return convert_mapping
    raise TypeError(f"{kind.__name__} is not compiled: dump it with its schema")


def _plain(schema: Schema) -> bool:
    return not schema.only and not schema.exclude


_MISSING = missing


def dumper(schema: type[Schema] | Schema) -> Callable[[Any], dict]:
    """`schema.dump` for one object, compiled (see the module's docstring)."""
    instance = schema() if isinstance(schema, type) else schema
    if instance.many:
        raise TypeError("dumper() takes a schema of one object")
    if instance._hooks.get("pre_dump") or instance._hooks.get("post_dump"):
        raise TypeError(f"{type(instance).__name__} has dump hooks")
    if type(instance).get_attribute is not Schema.get_attribute or instance.dict_class is not dict:
        raise TypeError(f"{type(instance).__name__} changes how values are read or kept")
    steps = []
    for name, field in instance.dump_fields.items():
        if not field._CHECK_ATTRIBUTE:
            raise TypeError(f"{type(field).__name__} is not compiled")
        attr = field.attribute or name
        if "." in attr:
            raise TypeError("dotted attributes are not compiled")
        key = field.data_key if field.data_key is not None else name
        steps.append((key, attr, _leaf(field), field.dump_default))

    def dump(obj) -> dict:
        out = {}
        plain = type(obj) is dict
        for key, attr, convert, default in steps:
            value = obj.get(attr, _MISSING) if plain else _MISSING
            if value is _MISSING:
                value = _value(obj, attr)
            if value is _MISSING:
                value = default() if callable(default) else default
                if value is _MISSING:
                    continue
            out[key] = convert(value)
        return out

    return dump


def _value(obj, attr: str):
    """marshmallow's accessor for anything but a dict: an item, else an attribute."""
    if not hasattr(obj, "__getitem__"):
        return getattr(obj, attr, _MISSING)
    try:
        return obj[attr]
    except (KeyError, IndexError, TypeError, AttributeError):
        return getattr(obj, attr, _MISSING)
