"""Serve Swagger UI's files ourselves so /api/docs makes no third-party requests."""

from __future__ import annotations

from flask import Blueprint, Flask, send_from_directory
from swagger_ui_bundle import swagger_ui_path

bp = Blueprint("api_docs_static", __name__)


@bp.get("/api/docs/static/<path:filename>")
def static(filename: str):
    return send_from_directory(swagger_ui_path, filename, max_age=86400)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
