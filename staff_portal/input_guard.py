"""What a portal request may carry: checked before anything reads it, the app's CSRF check
included (it parses the form first; Werkzeug would keep invalid bytes as the text `%FF`, or
drop a form whose raw bytes are not UTF-8, and PostgreSQL cannot store NUL).

Refused with an error page: a query string or form that is not UTF-8 or holds NUL (400), a
multipart form (415: the portal's forms are URL-encoded; Werkzeug would decode a multipart
field in whatever charset it names, or replace what it cannot), a body over
MAX_CONTENT_LENGTH (413), also when sent chunked: Werkzeug then reads only up to the limit
and stops without a word, so a body that fills the limit is refused here.
"""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from flask import current_app, request
from flask_babel import gettext as _
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge, UnsupportedMediaType

FORM = "application/x-www-form-urlencoded"


def _refused(error_class, detail: str):
    error = error_class(detail)
    error.portal_detail = detail  # shown on the error page (staff_portal.errors)
    return error


def _check_encoded(raw: bytes, not_utf8: str) -> None:
    try:
        decoded = unquote_to_bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        raise _refused(BadRequest, not_utf8)
    if "\x00" in decoded:
        raise _refused(BadRequest, _("Text cannot contain the NUL character."))


def _too_large():
    return _refused(RequestEntityTooLarge, _("The form is larger than the portal accepts (1 MiB)."))


def check_input(endpoint, values) -> None:
    """The portal blueprint's url_value_preprocessor: it runs before every before_request
    hook (the app's CSRF check among them), so the raw form is still there to check."""
    if request.query_string:
        _check_encoded(request.query_string, _("The address is not valid UTF-8 text."))
    if request.method not in ("POST", "PUT", "PATCH", "DELETE"):
        return
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    try:
        raw = request.get_data(cache=True)  # the form parser reads this copy afterwards
    except RequestEntityTooLarge:
        raise _too_large()
    if limit is not None and request.content_length is None and len(raw) >= limit:
        raise _too_large()
    if not raw:
        return
    if request.mimetype == "multipart/form-data":
        raise _refused(UnsupportedMediaType, _("Forms are sent URL-encoded; this one was not."))
    if request.mimetype == FORM:
        _check_encoded(raw, _("The form was not sent as UTF-8 text."))
