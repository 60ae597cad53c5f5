"""The REST API: flask-smorest blueprints, problem+json, idempotency; HTTP in, services out."""

from __future__ import annotations

import importlib
import pkgutil

from flask import Flask, request
from flask_smorest import Api
from werkzeug.exceptions import HTTPException

from api import body, contract, problem
from api.context import TokenRefused
from api.resources import __path__ as _resources_path
from muli.extensions import csrf, jwt
from muli.platform.errors import AuthenticationFailed
from muli.platform.words import N_

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
    """flask-smorest answers every HTTP error as its own JSON; ours are problem+json, and the
    document says so (`api.contract`): no `default` error of flask-smorest's own shape."""

    DEFAULT_ERROR_RESPONSE_NAME = None

    def _register_responses(self):
        """Error responses are `api.contract`'s problem+json components."""

    def handle_http_exception(self, error: HTTPException):
        return problem.from_http(error)


api = MuliApi(spec_kwargs={**SPEC_OPTIONS, "extra_plugins": [contract.ContractPlugin()]})


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
    jwt.unauthorized_loader(lambda reason: _jwt_problem(N_("Sign in first: no valid token was sent.")))
    jwt.invalid_token_loader(lambda reason: _jwt_problem(N_("The token is not valid.")))
    jwt.expired_token_loader(lambda header, payload: _jwt_problem(N_("The token has expired.")))
    jwt.revoked_token_loader(_revoked_token_problem)
    jwt.needs_fresh_token_loader(lambda header, payload: _jwt_problem(N_("Sign in again.")))
    jwt.user_lookup_error_loader(lambda header, payload: _jwt_problem(N_("The account is not available.")))
    jwt.token_verification_failed_loader(lambda header, payload: _jwt_problem(N_("The token is not valid.")))


def init_app(app: Flask) -> None:
    """Register the API's blueprints, docs and error handling on the app."""
    app.config.setdefault("API_SPEC_OPTIONS", SPEC_OPTIONS)
    api.init_app(app, spec_kwargs=SPEC_OPTIONS)
    api.ma_plugin.converter.add_attribute_function(contract.nullable_nested)
    for module in _resource_modules():
        # Bearer tokens, not cookies, authenticate the API: CSRF does not apply.
        csrf.exempt(module.blp)
        if not isinstance(module.blp, body.Blueprint):
            raise TypeError(f"{module.__name__}: make its blueprint with api.body.Blueprint")
        if not getattr(module.blp, "_muli_body_guard", False):
            # Blueprints are made once per process and cannot change once registered.
            # Added after the module's own hooks: the account-kind guard answers first.
            module.blp.before_request(body.guard)
            module.blp._muli_body_guard = True
        api.register_blueprint(module.blp)
    _register_jwt_errors()
    # The API's own token check (api.context.access_token / current_ctx) answers with these.
    app.register_error_handler(TokenRefused, lambda refused: refused.response)
    from api import docs, health, oidc_login

    docs.init_app(app)  # the vendored Swagger UI, served without third-party requests
    app.register_blueprint(health.bp)
    app.register_blueprint(oidc_login.bp)  # ID-porten's browser redirects (docs/oidc.md)


def is_api_request() -> bool:
    return not request.path.startswith(("/portal", "/app"))
