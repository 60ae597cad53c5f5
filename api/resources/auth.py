"""Auth: activate, token, refresh, logout."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from flask import current_app
from flask.views import MethodView
from flask_jwt_extended import (
    create_access_token,
    create_refresh_token,
    decode_token,
    get_jwt,
    jwt_required,
)
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from api.context import anonymous_ctx, current_ctx
from muli import accounts
from muli.extensions import limiter

blp = Blueprint("auth", __name__, url_prefix="/api/v1/auth", description="Activation, login and tokens")
PUBLIC = {"security": []}


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


class TokenOut(Schema):
    access_token = fields.String()
    refresh_token = fields.String()
    token_type = fields.String()
    expires_in = fields.Integer()


class LogoutIn(Schema):
    refresh_token = fields.String(validate=validate.Length(max=4000))


def _issue_pair(ctx, account, family_id: uuid.UUID | None = None) -> dict:
    claims = {"kind": account.kind}
    access = create_access_token(identity=str(account.id), additional_claims=claims)
    family_id = family_id or uuid.uuid4()
    refresh = create_refresh_token(
        identity=str(account.id), additional_claims={**claims, "fam": str(family_id)}
    )
    decoded = decode_token(refresh)
    accounts.remember_refresh_token(
        ctx, account.id, decoded["jti"], family_id, datetime.fromtimestamp(decoded["exp"], UTC)
    )
    expires = current_app.config["JWT_ACCESS_TOKEN_EXPIRES"]
    return {
        "access_token": access,
        "refresh_token": refresh,
        "token_type": "Bearer",
        "expires_in": int(expires.total_seconds()),
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
        """Log in: username, password and (staff) a TOTP code give an access and refresh token."""
        ctx = anonymous_ctx()
        account = accounts.authenticate(ctx, data["username"], data["password"], data.get("totp"))
        return _issue_pair(ctx, account)


@blp.route("/refresh")
class Refresh(MethodView):
    @jwt_required(refresh=True)
    @blp.response(200, TokenOut)
    def post(self):
        """Trade a refresh token (as Bearer) for a new pair; a spent one ends its whole family."""
        ctx = anonymous_ctx()
        spent = accounts.spend_refresh_token(ctx, get_jwt()["jti"])
        account = ctx.session.get(accounts.Account, spent.account_id)
        return _issue_pair(ctx, account, spent.family_id)


@blp.route("/logout")
class Logout(MethodView):
    @jwt_required()
    @blp.arguments(LogoutIn, required=False)
    @blp.response(204)
    def post(self, data):
        """Revoke the access token and, if given, the refresh token's family."""
        ctx = current_ctx()
        payload = get_jwt()
        accounts.revoke_access_token(ctx, payload["jti"], datetime.fromtimestamp(payload["exp"], UTC))
        if data and data.get("refresh_token"):
            try:
                refresh = decode_token(data["refresh_token"], allow_expired=True)
            except Exception:
                refresh = None
            if refresh and refresh.get("type") == "refresh":
                accounts.revoke_refresh_token(ctx, refresh["jti"], ctx.actor.account_id)
