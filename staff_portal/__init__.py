"""The staff portal: server-rendered pages on the same `muli` services as the API."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Flask, request
from flask_babel import get_babel, gettext

from muli.extensions import human_day, human_time
from muli.trust import audit_words
from staff_portal.catalogues import compiled
from staff_portal.errors import PORTAL_CSP, error_page
from staff_portal.input_guard import check_input

__all__ = ["bp", "error_page", "init_app"]

TRANSLATIONS = Path(__file__).resolve().parent / "translations"

bp = Blueprint(
    "portal",
    __name__,
    url_prefix="/portal",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)
_built = False


def _page_headers(response):
    response.headers.setdefault("Content-Security-Policy", PORTAL_CSP)
    if request.endpoint != "portal.static":
        # Patient data must not linger in shared caches or the back-button cache.
        response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    """Register the portal on the app: views, its message catalogue, page headers."""
    global _built
    if not _built:  # a blueprint takes its routes once, however many apps are made
        from staff_portal import nav, views

        views.register(bp)
        nav.install(bp)
        bp.after_request(_page_headers)
        bp.url_value_preprocessor(check_input)  # before every hook: see input_guard
        _built = True
    app.register_blueprint(bp)
    app.jinja_env.filters["humantime"] = human_time
    app.jinja_env.filters["humanday"] = human_day
    app.jinja_env.filters["auditreason"] = lambda reason: audit_words.say_reason(reason, gettext)
    catalogues = str(compiled(TRANSLATIONS, Path(app.instance_path) / "translations"))
    directories = get_babel(app).translation_directories
    if catalogues not in directories:
        directories.append(catalogues)
