"""The patient app: a progressive web app served as static files under /app/.

Everything it shows comes from /api/v1 in the browser; this blueprint only hands out the
shell, its scripts and styles, the manifest and the service worker. The service worker is
served from /app/sw.js so that its scope is /app/ and nothing else.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Flask, redirect, send_from_directory

STATIC = Path(__file__).resolve().parent / "static"

bp = Blueprint("patient_app", __name__, url_prefix="/app")


def _send(filename: str, mimetype: str | None = None, **headers):
    # no-cache: the browser revalidates (cheap, ETag); offline the service worker answers.
    response = send_from_directory(STATIC, filename, mimetype=mimetype, max_age=0)
    response.headers["Cache-Control"] = "no-cache"
    response.headers.update(headers)
    return response


@bp.get("/")
def shell():
    """The app shell: one HTML page; screens are drawn by static/js/app.js."""
    return _send("index.html")


@bp.get("/sw.js")
def service_worker():
    return _send("sw.js", "text/javascript", **{"Service-Worker-Allowed": "/app/"})


@bp.get("/manifest.webmanifest")
def manifest():
    return _send("manifest.webmanifest", "application/manifest+json")


@bp.get("/static/<path:filename>")
def static(filename: str):
    return _send(filename)


def init_app(app: Flask) -> None:
    """Register the app's routes; /app (no slash) leads to /app/."""
    app.register_blueprint(bp)
    app.add_url_rule("/app", "patient_app_root", lambda: redirect("/app/", 308))
