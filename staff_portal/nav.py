"""What each role finds in the portal's navigation, and the page chrome's template globals."""

from __future__ import annotations

from flask import Blueprint, current_app, g, request
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from staff_portal.views.auth import PlainForm

CLINICAL = ("member", "coordinator")
# endpoint, label, roles that see it
NAV = (
    ("portal.queue", _l("On-call queue"), CLINICAL),
    ("portal.handover", _l("Morning hand-over"), CLINICAL),
    ("portal.patients", _l("Patients"), CLINICAL),
    ("portal.meetings", _l("Meetings"), CLINICAL),
    ("portal.rota", _l("Rota"), CLINICAL),
    ("portal.enrol", _l("Enrol a patient"), ("coordinator",)),
    ("portal.outcomes", _l("Outcomes"), CLINICAL),
    ("portal.notifications", _l("Notifications"), CLINICAL),
    ("portal.emergency_reviews", _l("Emergency access to review"), ("privacy_officer",)),
    ("portal.audit", _l("Access log"), ("privacy_officer",)),
    ("portal.admin_accounts", _l("Accounts"), ("admin",)),
    ("portal.admin_programmes", _l("Programmes"), ("admin",)),
)

ROLE_NAMES = {
    "member": _l("Team member"),
    "coordinator": _l("Coordinator"),
    "privacy_officer": _l("Privacy officer"),
    "admin": _l("Administrator"),
}


def install(bp: Blueprint) -> None:
    bp.context_processor(chrome)


def chrome() -> dict:
    """Template globals for every portal page (nav items only for endpoints that exist)."""
    ctx = g.get("portal_ctx")
    actor = ctx.actor if ctx else None
    items = []
    if actor is not None:
        items = [
            (endpoint, label)
            for endpoint, label, roles in NAV
            if actor.role in roles and endpoint in current_app.view_functions
        ]
    return {
        "actor": actor,
        "nav_items": items,
        "role_name": ROLE_NAMES.get(actor.role, actor.role) if actor else "",
        "locale": str(get_locale() or "nb"),
        # Only for its CSRF token (the sign-out button): it must not read the request body,
        # which may be the very thing an error page is about (over 1 MiB, not UTF-8).
        "chrome_form": PlainForm(formdata=None),
        "here": request.full_path.rstrip("?"),
        "has_page": lambda endpoint: endpoint in current_app.view_functions,
    }
