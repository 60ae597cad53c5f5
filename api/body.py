"""The API's one door for input: every request's query string and body are read once, with
limits, and parsed once, before any view or database work. What cannot be stored as sent
is refused with a 4xx problem, never left to fail as a 500 further in:

| what | answer (problem `type`) |
| --- | --- |
| a body over `MAX_CONTENT_LENGTH` (1 MiB), also sent chunked | 413 `body-too-large` |
| a query string or JSON body that is not UTF-8 | 400 `invalid-utf8` |
| a NUL in the query string | 400 `invalid-query` |
| a JSON body that is not JSON (also `NaN`, `Infinity`, a BOM) | 400 `invalid-json` |
| arrays and objects nested deeper than `MAX_DEPTH` | 400 `json-too-deep` |
| a number longer than `MAX_NUMBER_CHARS`, or beyond a double | 400 `number-too-large` |
| a body on a request that takes none | 422, each field "Unknown field." |
| NUL or a lone surrogate (half an emoji) in any key or value | 422, naming each field (`tags.0`) |

One exception to the last row: a field whose schema says `x-unstorable-text: replace` (the
contact request's message: the request matters more than its text) passes, and the domain
stores it with U+FFFD in place of what it cannot hold.

The parsed body is what the views get: `Blueprint` (every resource module's) parses its
JSON arguments from it instead of reading the body again.
"""

from __future__ import annotations

import json
import math
from functools import cache
from urllib.parse import unquote_to_bytes

import flask_smorest
from flask import current_app, g, request
from marshmallow import Schema
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request
from werkzeug.exceptions import RequestEntityTooLarge

from api import problem
from muli.platform import text

BODY_METHODS = ("POST", "PUT", "PATCH", "DELETE")
MAX_DEPTH = 32
MAX_NUMBER_CHARS = 100
UNSTORABLE_TEXT = "x-unstorable-text"  # schema field metadata: "replace" lets such text through
REPLACE = "replace"
_NO_BODY = object()


class Refused(Exception):
    """Input refused at the door; answered as a problem."""

    def __init__(self, status: int, code: str, title: str, detail: str, errors=None):
        super().__init__(detail)
        self.status, self.code, self.title, self.detail, self.errors = status, code, title, detail, errors

    def answer(self):
        return problem.problem(self.status, self.code, self.title, self.detail, self.errors)


def _bad(code: str, detail: str) -> Refused:
    return Refused(400, code, "Bad Request", detail)


def _unprocessable(detail: str, errors: dict) -> Refused:
    return Refused(422, "unprocessable-entity", "Unprocessable Entity", detail, errors)


# --- reading ------------------------------------------------------------------------------


def read_body() -> bytes:
    """The raw body, at most MAX_CONTENT_LENGTH. A declared Content-Length over it is a 413
    from Werkzeug; a chunked body (no Content-Length) is read by Werkzeug only up to the limit
    and cut there without a word when the server sets `wsgi.input_terminated` (gunicorn
    does), so a body that fills the limit is refused here rather than read short."""
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    try:
        raw = request.get_data(cache=True)
    except RequestEntityTooLarge:
        raise _too_large(limit)
    if limit is not None and request.content_length is None and len(raw) >= limit:
        raise _too_large(limit)
    return raw


def _too_large(limit: int | None) -> Refused:
    mib = 1024 * 1024
    size = f"{limit // mib} MiB" if limit and limit % mib == 0 else f"{limit} bytes"
    return Refused(413, "body-too-large", "Content Too Large", f"The body is larger than {size}.")


def check_query_string() -> None:
    """Query values reach filters and SQL: they must be UTF-8 without NUL. (Werkzeug would
    keep invalid bytes as the text `%FF`, and PostgreSQL cannot compare with a NUL.)"""
    raw = request.query_string
    if not raw:
        return
    try:
        decoded = unquote_to_bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        raise _bad("invalid-utf8", "The query string is not UTF-8.")
    if "\x00" in decoded:
        raise _bad("invalid-query", "The query string holds a NUL character.")


# --- parsing ------------------------------------------------------------------------------


class _Limit(Exception):
    """Raised from the JSON decoder's hooks; becomes a 400."""

    def __init__(self, code: str, detail: str):
        super().__init__(detail)
        self.code, self.detail = code, detail


def _number(literal: str) -> None:
    if len(literal) > MAX_NUMBER_CHARS:
        raise _Limit("number-too-large", f"A number in the body has more than {MAX_NUMBER_CHARS} characters.")


def _int(literal: str) -> int:
    _number(literal)
    return int(literal)


def _float(literal: str) -> float:
    _number(literal)
    value = float(literal)
    if not math.isfinite(value):
        raise _Limit("number-too-large", f"The number {literal[:40]} is beyond the range of a double.")
    return value


def _constant(name: str):
    raise _Limit("invalid-json", f"{name} is not JSON.")


def parse_json(raw: bytes):
    """The body as JSON (RFC 8259: UTF-8, no NaN), within MAX_DEPTH and MAX_NUMBER_CHARS."""
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise _bad("invalid-utf8", f"The body is not UTF-8 (byte {error.start}).")
    try:
        body = json.loads(decoded, parse_int=_int, parse_float=_float, parse_constant=_constant)
    except _Limit as error:
        raise _bad(error.code, error.detail)
    except RecursionError:  # the C decoder stops at the interpreter's recursion limit
        raise _too_deep()
    except ValueError as error:  # json.JSONDecodeError
        raise _bad("invalid-json", f"The body is not JSON: {error}.")
    if _depth(body) > MAX_DEPTH:
        raise _too_deep()
    return body


def _too_deep() -> Refused:
    return _bad("json-too-deep", f"The body nests arrays and objects more than {MAX_DEPTH} levels deep.")


def _depth(value) -> int:
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        deepest = max(deepest, level)
        if deepest > MAX_DEPTH:
            return deepest
        stack.extend((child, level + 1) for child in children)
    return deepest


# --- what the view declares ---------------------------------------------------------------


def _declared_json_schema():
    view = current_app.view_functions.get(request.endpoint)
    method = getattr(getattr(view, "view_class", None), request.method.lower(), None)
    declared = getattr(method, "_apidoc", {}).get("arguments", {}).get("parameters", [])
    return next((p["schema"] for p in declared if p.get("in") == "json"), None)


@cache
def _tolerant_fields(schema) -> frozenset[str]:
    """Top-level fields whose unstorable text the domain replaces instead of refusing."""
    instance = schema() if isinstance(schema, type) else schema
    return frozenset(
        field.data_key or name
        for name, field in instance.fields.items()
        if field.metadata.get(UNSTORABLE_TEXT) == REPLACE
    )


def _unstorable_text(body, tolerant: frozenset[str]) -> dict[str, list[str]]:
    """Each key or string value holding NUL or a lone surrogate, by dotted path."""
    errors: dict[str, list[str]] = {}
    stack: list[tuple[object, tuple]] = [(body, ())]
    while stack:
        node, path = stack.pop()
        if isinstance(node, str):
            reason = text.unstorable_reason(node)
            if reason and not (len(path) == 1 and path[0] in tolerant):
                errors.setdefault(_dotted(path), []).append(reason)
        elif isinstance(node, dict):
            for key, value in node.items():
                reason = text.unstorable_reason(key)
                if reason:
                    errors.setdefault(_dotted((*path, key)), []).append(reason)
                stack.append((value, (*path, key)))
        elif isinstance(node, list):
            stack.extend((value, (*path, index)) for index, value in enumerate(node))
    return errors


def _dotted(path: tuple) -> str:
    if not path:
        return "_"
    return ".".join(text.printable_name(str(part)) if isinstance(part, str) else str(part) for part in path)


# --- the guard ----------------------------------------------------------------------------


def guard():
    """Blueprint hook of every API blueprint, after its account-kind guard (a stranger
    still gets 401/403 first): check the query string, read and parse the body, refuse
    what cannot be stored. Keeps the parsed body for the views' arguments."""
    try:
        _guard()
    except Refused as refusal:
        return refusal.answer()
    return None


def _guard() -> None:
    check_query_string()
    if request.method not in BODY_METHODS:
        return
    raw = read_body()
    if not raw and request.method == "PUT" and _declared_json_schema() is not None:
        # A PUT replaces the resource with what it carries: with nothing, it would replace a
        # plan with an empty one (the fields' defaults). Found by the contract fuzzing.
        raise Refused(400, "body-required", "Bad Request", "This request needs a JSON body.")
    if not raw or not is_json_request(request):
        return  # no body, or not JSON: nothing reads it (webargs takes JSON only)
    body = parse_json(raw)
    g.muli_json = body
    schema = _declared_json_schema()
    if schema is None and body:
        fields = [text.printable_name(str(f)) for f in body] if isinstance(body, dict) else ["_"]
        # Unknown JSON fields are 422 (API.md), also on a POST that takes no body at all:
        # `{"approved": true}` sent to /acknowledge must not look accepted.
        raise _unprocessable("This request takes no body.", {field: ["Unknown field."] for field in fields})
    errors = _unstorable_text(body, _tolerant_fields(schema) if schema is not None else frozenset())
    if errors:
        raise _unprocessable("Some text cannot be stored as sent.", errors)


class BodyParser(FlaskParser):
    """webargs reading JSON arguments from the body the guard parsed (once, with limits)."""

    def _raw_load_json(self, req):
        if not is_json_request(req):
            return core.missing
        body = g.get("muli_json", _NO_BODY)
        if body is _NO_BODY:  # an empty body: webargs answers 400 "Invalid JSON body."
            return super()._raw_load_json(req)
        return body


class Blueprint(flask_smorest.Blueprint):
    """Every API resource's blueprint: its arguments come from the guarded, parsed body."""

    ARGUMENTS_PARSER = BodyParser()

    def arguments(self, schema, **kwargs):
        """`flask_smorest`'s, with a schema class made an instance once, here: webargs makes
        a new one from a class on every request (loading keeps no state on the instance, and
        the OpenAPI document names a plain instance as its class)."""
        if isinstance(schema, type) and issubclass(schema, Schema):
            schema = schema()
        return super().arguments(schema, **kwargs)
