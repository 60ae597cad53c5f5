"""Errors on portal pages: a readable HTML page instead of problem+json."""

from __future__ import annotations

import logging

from flask import render_template, request
from flask_babel import gettext as _
from flask_babel import ngettext
from werkzeug.exceptions import HTTPException

from muli.extensions import said
from muli.platform.errors import MuliError, TooManyAttempts

log = logging.getLogger("muli.portal")

# Pages load only our own scripts, styles and images; no third party, no inline script.
PORTAL_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)


def _title(status: int) -> str:
    titles = {
        400: _("The request could not be handled"),
        401: _("Please sign in"),
        403: _("You do not have access to this"),
        404: _("Not found"),
        405: _("Not allowed here"),
        409: _("Someone else changed this first"),
        412: _("Someone else changed this first"),
        413: _("Too much data was sent"),
        415: _("This kind of form is not accepted"),
        422: _("Some fields need a look"),
        428: _("The page was out of date"),
        429: _("Too many attempts"),
    }
    return titles.get(status, _("Something went wrong"))


def _detail(error: Exception, status: int) -> str:
    if isinstance(error, TooManyAttempts):
        if error.retry_after < 90:
            return ngettext(
                "Too many failed attempts. Try again in %(num)d second.",
                "Too many failed attempts. Try again in %(num)d seconds.",
                error.retry_after,
            )
        minutes = round(error.retry_after / 60)
        return ngettext(
            "Too many failed attempts. Try again in %(num)d minute.",
            "Too many failed attempts. Try again in %(num)d minutes.",
            minutes,
        )
    if status == 400 and getattr(error, "description", "").lower().startswith("the csrf"):
        return _("The form had expired. Go back, reload the page and try again.")
    if status == 403 and getattr(error, "code", "") == "consent-required":
        return _("The patient has not given your agency consent for this.")
    if status >= 500:
        return _("Nothing was saved. Please try again.")
    if getattr(error, "portal_detail", None):  # input refused at the door (input_guard)
        return error.portal_detail
    if isinstance(error, MuliError):
        return said(error) or ""
    return ""


def message_of(error: MuliError) -> str:
    """What a page says about a domain error (a flash, a form error), in the reader's language."""
    return said(error) or _title(error.status)


def error_page(error: Exception):
    """The HTML answer for an error on a /portal page (domain error, HTTP error or crash)."""
    if isinstance(error, MuliError):
        status, headers = error.status, error.headers
    elif isinstance(error, HTTPException):
        status, headers = error.code or 500, {}
    else:
        log.exception("unhandled error on a portal page", exc_info=error)
        status, headers = 500, {}
    from staff_portal.nav import chrome

    # Outside a portal route (an unknown /portal path) the blueprint's globals are not added.
    extra = chrome() if request.blueprint != "portal" else {}
    body = render_template(
        "staff_portal/error.html", status=status, title=_title(status), detail=_detail(error, status), **extra
    )
    return body, status, {**headers, "Content-Security-Policy": PORTAL_CSP}
