"""RFC 9457 problem details: the one shape of every API error."""

from __future__ import annotations

import logging

from flask import has_request_context, json, make_response, request
from werkzeug.exceptions import HTTPException

from muli.extensions import said, said_errors, say
from muli.platform.errors import MuliError
from muli.platform.words import N_

log = logging.getLogger("muli.api")

PROBLEM_TYPE_BASE = "https://muli.invalid/problems/"
MEDIA_TYPE = "application/problem+json"


def problem(status: int, code: str, title: str, detail: str | None = None, errors=None, headers=None):
    """A problem+json response."""
    body = {"type": PROBLEM_TYPE_BASE + code, "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    response = make_response(json.dumps(body), status)
    response.mimetype = MEDIA_TYPE
    response.headers["Cache-Control"] = "no-store"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    if status == 401 and "WWW-Authenticate" not in response.headers:
        response.headers["WWW-Authenticate"] = www_authenticate()
    return response


def www_authenticate() -> str:
    """RFC 6750 3.1: the Bearer challenge of every 401; `invalid_token` when a token was sent
    (expired, revoked, malformed), no error code when none was (a login that failed included)."""
    sent = has_request_context() and request.headers.get("Authorization", "").lower().startswith("bearer")
    return 'Bearer realm="muli", error="invalid_token"' if sent else 'Bearer realm="muli"'


def from_domain(error: MuliError):
    """The `type` (code) and `title` stay English and stable for programs; the `detail` and
    the per-field messages are for people, in the request's language (Accept-Language;
    bokmål by default, as everywhere in MULI)."""
    return problem(error.status, error.code, error.title, said(error), said_errors(error), error.headers)


def _slug(name: str) -> str:
    return name.lower().replace(" ", "-").replace("'", "")


def _flatten(messages) -> dict:
    """webargs messages are keyed by location ({"json": {...}}); the body is what clients send.
    Nested fields get dotted paths, as the services name them: `strategies.0.title`."""
    if not isinstance(messages, dict):
        return {"_": messages}
    flat: dict = {}
    for location, fields in messages.items():
        prefix = "" if location == "json" else f"{location}."
        if isinstance(fields, dict):
            for field, errs in fields.items():
                _collect(flat, f"{prefix}{field}", errs)
        else:
            flat[location] = _messages(fields)
    return flat


def _collect(flat: dict, path: str, errs) -> None:
    if isinstance(errs, dict):
        for sub, value in errs.items():
            _collect(flat, f"{path}.{sub}", value)
    else:
        flat.setdefault(path, []).extend(_messages(errs))


def _messages(errs) -> list[str]:
    return [str(e) for e in errs] if isinstance(errs, (list, tuple)) else [str(errs)]


def from_http(error: HTTPException):
    """Any werkzeug/Flask HTTP error as problem+json (422s carry per-field errors)."""
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    errors = _flatten(data["messages"]) if "messages" in data else data.get("errors")
    headers = dict(data.get("headers") or {})
    if error.response is not None and "Retry-After" in error.response.headers:
        headers["Retry-After"] = error.response.headers["Retry-After"]
    allowed = getattr(error, "valid_methods", None)
    if status == 405 and allowed:
        headers["Allow"] = ", ".join(allowed)
    title = error.name
    detail = None if status >= 500 else (data.get("message") or error.description)
    if status == 422 and errors:
        detail = say(N_("The request has invalid fields."))
    return problem(status, _slug(error.name), title, detail, errors, headers)


def internal_error(error: Exception):
    log.exception("unhandled error", exc_info=error)
    return problem(
        500,
        "internal-error",
        "Internal Server Error",
        say(N_("Something went wrong on our side. Nothing was saved; please try again.")),
    )
