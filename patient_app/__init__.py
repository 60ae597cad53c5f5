"""The patient app: a progressive web app served as static files under /app/.

Everything it shows comes from /api/v1 in the browser; this blueprint only hands out the
shell, its scripts and styles, the manifest and the service worker. The service worker is
served from /app/sw.js so that its scope is /app/ and nothing else.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path

from flask import Blueprint, Flask, current_app, redirect, send_from_directory

STATIC = Path(__file__).resolve().parent / "static"
SHELL_SUFFIXES = (".html", ".js", ".css", ".json", ".svg", ".webmanifest")

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


def _shell_files() -> list[Path]:
    return sorted(
        p for p in STATIC.rglob("*") if p.is_file() and p.suffix in SHELL_SUFFIXES and p.name != "sw.js"
    )


def _url(path: Path) -> str:
    relative = path.relative_to(STATIC).as_posix()
    if relative == "index.html":
        return "/app/"
    if relative == "manifest.webmanifest":
        return "/app/manifest.webmanifest"
    return f"/app/static/{relative}"


def _worker_source() -> str:
    """sw.js with the shell's file list and a version that changes whenever any file does."""
    files = _shell_files()
    digest = hashlib.sha256()
    for path in [*files, STATIC / "sw.js"]:
        digest.update(path.relative_to(STATIC).as_posix().encode())
        digest.update(path.read_bytes())
    source = (STATIC / "sw.js").read_text()
    return source.replace("__VERSION__", digest.hexdigest()[:16]).replace(
        "__SHELL__", json.dumps([_url(p) for p in files])
    )


_cached_worker_source = cache(_worker_source)


@bp.get("/sw.js")
def service_worker():
    source = _worker_source() if current_app.debug else _cached_worker_source()
    response = current_app.response_class(source, mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Service-Worker-Allowed"] = "/app/"
    return response


@bp.get("/manifest.webmanifest")
def manifest():
    return _send("manifest.webmanifest", "application/manifest+json")


@bp.get("/static/<path:filename>")
def static(filename: str):
    return _send(filename)


def favicon():
    """/favicon.ico for browsers that ask for it whatever the page says (16, 32, 48 px; made
    from icons/icon.svg by scripts/make_icons.py, as the PNG icons are)."""
    response = send_from_directory(STATIC / "icons", "favicon.ico", mimetype="image/vnd.microsoft.icon")
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response


def init_app(app: Flask) -> None:
    """Register the app's routes; /app (no slash) leads to /app/; /favicon.ico."""
    app.register_blueprint(bp)
    app.add_url_rule("/app", "patient_app_root", lambda: redirect("/app/", 308))
    app.add_url_rule("/favicon.ico", "favicon", favicon)
