"""The REST API: flask-smorest blueprints, problem+json, idempotency; HTTP in, services out."""

from __future__ import annotations

import importlib
import pkgutil

from flask import Flask, current_app, request
from flask_smorest import Api
from werkzeug.exceptions import HTTPException

from api import problem
from api.resources import __path__ as _resources_path
from muli.extensions import csrf, jwt
from muli.platform.errors import AuthenticationFailed

# Order of the resource modules in the OpenAPI document; any others follow alphabetically.
FIRST = ("auth", "me", "staff_patients")

SPEC_OPTIONS = {
    "info": {"description": "MULI: crisis plan, mastery plan, diary and after-hours contact."},
    "components": {
        "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}
    },
    "security": [{"bearerAuth": []}],
}


class MuliApi(Api):
    """flask-smorest answers every HTTP error as its own JSON; ours are problem+json."""

    def handle_http_exception(self, error: HTTPException):
        return problem.from_http(error)


api = MuliApi(spec_kwargs=SPEC_OPTIONS)


def _resource_modules():
    names = [m.name for m in pkgutil.iter_modules(_resources_path)]
    ordered = [n for n in FIRST if n in names] + sorted(n for n in names if n not in FIRST)
    return [importlib.import_module(f"api.resources.{name}") for name in ordered]


def _jwt_problem(detail: str):
    return problem.from_domain(AuthenticationFailed(detail))


def _revoked_token_problem(_header, payload):
    """401; with the type `account-disabled` when the team ended the account (see auth.py)."""
    from api.context import anonymous_ctx
    from api.resources.auth import no_longer_valid

    return problem.from_domain(no_longer_valid(anonymous_ctx(), payload))


def _register_jwt_errors() -> None:
    jwt.unauthorized_loader(lambda reason: _jwt_problem("Sign in first: no valid token was sent."))
    jwt.invalid_token_loader(lambda reason: _jwt_problem("The token is not valid."))
    jwt.expired_token_loader(lambda header, payload: _jwt_problem("The token has expired."))
    jwt.revoked_token_loader(_revoked_token_problem)
    jwt.needs_fresh_token_loader(lambda header, payload: _jwt_problem("Sign in again."))
    jwt.user_lookup_error_loader(lambda header, payload: _jwt_problem("The account is not available."))
    jwt.token_verification_failed_loader(lambda header, payload: _jwt_problem("The token is not valid."))


def _refuse_undeclared_body():
    """Unknown JSON fields are 422 (API.md), also on a POST that takes no body at all:
    `{"approved": true}` sent to /acknowledge must not look accepted. Runs after the
    blueprint's account-kind guard, so a stranger still gets 401/403 first."""
    if request.method not in ("POST", "PUT", "PATCH"):
        return None
    body = request.get_json(silent=True)
    if not body:
        return None
    view = current_app.view_functions.get(request.endpoint)
    method = getattr(getattr(view, "view_class", None), request.method.lower(), None)
    declared = getattr(method, "_apidoc", {}).get("arguments", {}).get("parameters", [])
    if any(p.get("in") == "json" for p in declared):
        return None
    fields = [str(f) for f in body] if isinstance(body, dict) else ["_"]
    return problem.problem(
        422,
        "unprocessable-entity",
        "Unprocessable Entity",
        "This request takes no body.",
        {field: ["Unknown field."] for field in fields},
    )


def _holds_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(v) for v in value)
    return False


def _refuse_nul_characters():
    """PostgreSQL cannot store NUL in text (a 500 there, stored on SQLite): 422 on both,
    naming the field. Found by contract fuzzing (an emergency-access reason)."""
    body = request.get_json(silent=True) if request.method in ("POST", "PUT", "PATCH") else None
    fields = body.items() if isinstance(body, dict) else [("_", body)]
    bad = [str(name) for name, value in fields if _holds_nul(name) or _holds_nul(value)]
    if not bad:
        return None
    message = "Text cannot contain the NUL character."
    return problem.problem(
        422, "unprocessable-entity", "Unprocessable Entity", message, {f: [message] for f in bad}
    )


def init_app(app: Flask) -> None:
    """Register the API's blueprints, docs and error handling on the app."""
    app.config.setdefault("API_SPEC_OPTIONS", SPEC_OPTIONS)
    api.init_app(app, spec_kwargs=SPEC_OPTIONS)
    for module in _resource_modules():
        # Bearer tokens, not cookies, authenticate the API: CSRF does not apply.
        csrf.exempt(module.blp)
        if not getattr(module.blp, "_muli_body_guard", False):
            # Blueprints are made once per process and cannot change once registered.
            module.blp.before_request(_refuse_undeclared_body)
            module.blp.before_request(_refuse_nul_characters)
            module.blp._muli_body_guard = True
        api.register_blueprint(module.blp)
    _register_jwt_errors()
    from api import docs, health

    docs.init_app(app)  # the vendored Swagger UI, served without third-party requests
    app.register_blueprint(health.bp)


def is_api_request() -> bool:
    return not request.path.startswith(("/portal", "/app"))
