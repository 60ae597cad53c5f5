"""Auth: activate, token, refresh, logout.

Browsers may keep the refresh token in an HttpOnly cookie instead of in script-readable
storage: `{"cookie": true}` on /token or /refresh sets it (SameSite=Strict, Path=/api/v1/auth,
Secure outside development) and leaves it out of the body; /refresh with that body and no
Bearer reads it from the cookie; /logout revokes and clears it. Bearer clients are unchanged.

Login is throttled per username and source, never locked (docs/authentication.md): a source
that keeps failing gets 429 with `Retry-After` before its password is even checked. A
successful /token also sets the known-device cookie (`muli_device`, HttpOnly): a browser
that has signed in before is not slowed by anyone else's failures.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

from flask import after_this_request, current_app, request
from flask.views import MethodView
from flask_jwt_extended import (
    create_access_token,
    create_refresh_token,
    decode_token,
)
from marshmallow import Schema, fields, validate

from api.body import Blueprint
from api.context import access_token, anonymous_ctx, current_ctx, refresh_token, token_required
from api.schemas import JsonBoolean
from muli.contact import on_call
from muli.extensions import device_cookie, limiter, oidc_flow
from muli.platform.errors import AuthenticationFailed
from muli.platform.words import N_
from muli.trust import accounts, lifecycle, sessions, throttle

blp = Blueprint("auth", __name__, url_prefix="/api/v1/auth", description="Activation, login and tokens")
PUBLIC = {"security": []}
REFRESH_COOKIE = "muli_refresh"
COOKIE_PATH = "/api/v1/auth"
COOKIE_DOC = (
    "`cookie: true` (browsers): the refresh token is set as an HttpOnly, SameSite=Strict "
    f"cookie `{REFRESH_COOKIE}` scoped to `{COOKIE_PATH}` (Secure outside development) "
    "and left out of the body."
)


class ActivateIn(Schema):
    activation_code = fields.String(required=True, validate=validate.Length(1, 32))
    username = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9._@-]{3,150}$"))
    password = fields.String(required=True, validate=validate.Length(1, 1000))


class ActivatedOut(Schema):
    username = fields.String()


class TokenIn(Schema):
    username = fields.String(required=True, validate=validate.Length(1, 150))
    password = fields.String(required=True, validate=validate.Length(1, 1000))
    totp = fields.String(validate=validate.Regexp(r"^\s*\d{6}\s*$"))
    cookie = JsonBoolean(load_default=False, metadata={"description": COOKIE_DOC})
    new_password = fields.String(
        validate=validate.Length(1, 1000),
        metadata={
            "description": "Only when an administrator asked for a new password (the answer "
            "without it is 403 `password-change-required`): the new password, set with this login."
        },
    )


class RefreshIn(Schema):
    cookie = JsonBoolean(
        load_default=False,
        metadata={
            "description": "Without a Bearer token: read the refresh token from the cookie "
            "and set the new one there. " + COOKIE_DOC
        },
    )


class TokenOut(Schema):
    access_token = fields.String()
    refresh_token = fields.String(metadata={"description": "Absent when `cookie` was asked for."})
    token_type = fields.String(validate=validate.OneOf(("Bearer",)))
    expires_in = fields.Integer()


class SignInOptionsOut(Schema):
    idporten = fields.String(
        allow_none=True,
        metadata={
            "description": "Where the browser goes to sign in with ID-porten; null when that sign-in is off."
        },
    )
    idporten_logout = fields.String(
        allow_none=True,
        metadata={"description": "After logout: where the browser may go to end the ID-porten session too."},
    )


class LogoutIn(Schema):
    refresh_token = fields.String(validate=validate.Length(max=4000))


def _issue_pair(ctx, account, family_id: uuid.UUID | None = None, previous=None) -> dict:
    """A new access and refresh token in the login `family_id` (a new login when None).
    `previous` is the refresh token traded in: it records its successor, so that a retry
    after a lost answer is given that same successor (`accounts.spend_refresh_token`)."""
    if family_id is None:
        family_id = sessions.start_family(ctx, account, request.headers.get("User-Agent")).id
    claims = {"kind": account.kind, "fam": str(family_id)}
    access = create_access_token(identity=str(account.id), additional_claims=claims)
    now, jti = int(time.time()), str(uuid.uuid4())
    # Every claim chosen here and kept (`iat`, `jti`, `exp` on the row) so that the same token
    # can be given again; `csrf` only matters for JWTs in cookies, which MULI does not use.
    refresh = create_refresh_token(
        identity=str(account.id),
        additional_claims={**claims, "iat": now, "nbf": now, "jti": jti, "csrf": jti},
    )
    decoded = decode_token(refresh)
    token = accounts.remember_refresh_token(
        ctx,
        account.id,
        decoded["jti"],
        family_id,
        datetime.fromtimestamp(decoded["exp"], UTC),
        datetime.fromtimestamp(now, UTC),
    )
    if previous is not None:
        previous.replaced_by = token.jti
    return _pair(access, refresh)


def _issue_again(account, successor) -> dict:
    """The refresh token `successor` once more (same claims, so the same token), with a fresh
    access token in its login: the answer to a retry whose first answer was lost."""
    claims = {"kind": account.kind, "fam": str(successor.family_id)}
    access = create_access_token(identity=str(account.id), additional_claims=claims)
    issued = int(successor.issued_at.timestamp())
    refresh = create_refresh_token(
        identity=str(account.id),
        additional_claims={
            **claims,
            "iat": issued,
            "nbf": issued,
            "jti": successor.jti,
            "csrf": successor.jti,
            "exp": int(successor.expires_at.timestamp()),
        },
    )
    return _pair(access, refresh)


def _pair(access: str, refresh: str) -> dict:
    expires = current_app.config["JWT_ACCESS_TOKEN_EXPIRES"]
    return {
        "access_token": access,
        "refresh_token": refresh,
        "token_type": "Bearer",
        "expires_in": int(expires.total_seconds()),
    }


def _answer(pair: dict, cookie: bool):
    """The token pair as JSON; with `cookie`, the refresh token moves into the HttpOnly cookie."""
    if not cookie:
        return pair
    body = {k: v for k, v in pair.items() if k != "refresh_token"}
    response = current_app.response_class(
        current_app.json.dumps(TokenOut().dump(body)), status=200, mimetype="application/json"
    )
    response.set_cookie(
        REFRESH_COOKIE,
        pair["refresh_token"],
        max_age=int(current_app.config["JWT_REFRESH_TOKEN_EXPIRES"].total_seconds()),
        path=COOKIE_PATH,
        httponly=True,
        secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")),
        samesite="Strict",
    )
    return response


def _clear_cookie(response) -> None:
    response.delete_cookie(
        REFRESH_COOKIE,
        path=COOKIE_PATH,
        httponly=True,
        secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")),
        samesite="Strict",
    )


def _refresh_payload_from_cookie(ctx) -> dict:
    """The refresh token in the cookie, checked like a Bearer one (signature, type, revocation)."""
    token = request.cookies.get(REFRESH_COOKIE)
    if not token:
        raise AuthenticationFailed("Sign in first: no refresh token was sent.")
    try:
        payload = decode_token(token)
    except Exception:
        raise AuthenticationFailed("The token is not valid.")
    if payload.get("type") != "refresh" or accounts.token_is_revoked(ctx, payload):
        raise no_longer_valid(ctx, payload)
    return payload


ACCOUNT_DISABLED = N_("This account has been ended by the team.")


def no_longer_valid(ctx, payload: dict) -> AuthenticationFailed:
    """A refused token: `account-disabled` when the team ended the account (the app then
    removes what it keeps on the phone), else the plain 401 (an ended or expired session: the
    app drops its tokens and keeps the crisis plan)."""
    if accounts.account_disabled(ctx, payload):
        return AuthenticationFailed(ACCOUNT_DISABLED, code="account-disabled")
    return AuthenticationFailed("The token is no longer valid.")


@blp.route("/sign-in-options")
class SignInOptions(MethodView):
    @blp.doc(**PUBLIC)
    @blp.response(200, SignInOptionsOut)
    def get(self):
        """The ways to sign in besides username and password (docs/oidc.md)."""
        on = oidc_flow.provider("idporten") is not None
        return {
            "idporten": "/auth/idporten/login" if on else None,
            "idporten_logout": "/auth/idporten/logout" if on else None,
        }


@blp.route("/activate")
class Activate(MethodView):
    @blp.doc(**PUBLIC)
    @blp.arguments(ActivateIn)
    @blp.response(201, ActivatedOut)
    def post(self, data):
        """Set a patient's username and password with the one-time activation code."""
        account = accounts.activate(
            anonymous_ctx(), data["activation_code"], data["username"], data["password"]
        )
        return {"username": account.username}


@blp.route("/token")
class Token(MethodView):
    decorators = [limiter.limit("20 per minute")]

    @blp.doc(**PUBLIC)
    @blp.arguments(TokenIn)
    @blp.response(200, TokenOut)
    def post(self, data):
        """Log in: username, password and (staff) a TOTP code give an access and refresh token.

        Repeated failures from one source make that source wait: 429 with `Retry-After`,
        the attempt not checked. A browser that has signed in before (its `muli_device`
        cookie, set here on success) is not slowed by other sources' failures."""
        ctx = anonymous_ctx()
        presented = device_cookie.read()
        account = accounts.authenticate(
            ctx,
            data["username"],
            data["password"],
            data.get("totp"),
            device_id=presented,
            on_call=on_call.on_call_now,
        )
        lifecycle.finish_sign_in(ctx, account, data.get("new_password"))
        device_id = throttle.remember_device(ctx, account, presented)

        @after_this_request
        def _remember(response):
            if response.status_code < 400:
                device_cookie.set(response, device_id)
            return response

        return _answer(_issue_pair(ctx, account), data["cookie"])


@blp.route("/refresh")
class Refresh(MethodView):
    @blp.arguments(RefreshIn, required=False)
    @blp.response(200, TokenOut)
    def post(self, data):
        """Trade a refresh token (as Bearer, or the cookie) for a new pair; a spent one ends its family."""
        cookie = bool(data and data.get("cookie"))
        ctx = anonymous_ctx()
        if cookie and "Authorization" not in request.headers:
            jti = _refresh_payload_from_cookie(ctx)["jti"]
        else:
            jti = refresh_token()["jti"]
        spent = accounts.spend_refresh_token(ctx, jti)
        account = ctx.session.get(accounts.Account, spent.token.account_id)
        if spent.successor is not None and spent.successor.issued_at is not None:
            return _answer(_issue_again(account, spent.successor), cookie)
        return _answer(_issue_pair(ctx, account, spent.token.family_id, spent.token), cookie)


@blp.route("/logout")
class Logout(MethodView):
    @token_required
    @blp.arguments(LogoutIn, required=False)
    @blp.response(204)
    def post(self, data):
        """End this login: the access token, its login's refresh tokens (found from the access
        token), and the family of a refresh token given or in the cookie."""
        ctx = current_ctx()
        payload = access_token()
        accounts.revoke_access_token(ctx, payload["jti"], datetime.fromtimestamp(payload["exp"], UTC))
        family_id = accounts.family_of(payload)
        if family_id is not None:
            sessions.end_family(ctx, family_id, "logout", ctx.actor.account_id)
        given = [(data or {}).get("refresh_token"), request.cookies.get(REFRESH_COOKIE)]
        for token in filter(None, given):
            try:
                refresh = decode_token(token, allow_expired=True)
            except Exception:
                refresh = None
            if refresh and refresh.get("type") == "refresh":
                accounts.revoke_refresh_token(ctx, refresh["jti"], ctx.actor.account_id)
        if REFRESH_COOKIE in request.cookies:
            response = current_app.response_class(status=204)
            _clear_cookie(response)
            return response
