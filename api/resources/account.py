"""My account: change my password, see and end my sessions (patients and staff)."""

from __future__ import annotations

from flask import request
from flask.views import MethodView
from marshmallow import Schema, fields, validate

from api.body import Blueprint
from api.context import access_token, current_ctx
from api.schemas import Instant
from muli.trust import accounts, lifecycle

blp = Blueprint(
    "account",
    __name__,
    url_prefix="/api/v1/account",
    description="My account: password, sessions (devices signed in)",
)


@blp.before_request
def _signed_in() -> None:
    """Any signed-in account, patient or staff (401 without a valid access token)."""
    if request.method != "OPTIONS":
        current_ctx()


class PasswordChangeIn(Schema):
    current_password = fields.String(required=True, validate=validate.Length(1, 1000))
    new_password = fields.String(
        required=True,
        validate=validate.Length(1, 1000),
        metadata={"description": "At least 10 characters, not a common one, not the username."},
    )


class SessionOut(Schema):
    id = fields.UUID()
    kind = fields.String(
        validate=validate.OneOf(("portal", "api")),
        metadata={
            "description": "`portal` (a browser signed in to the staff portal) or `api` (an app login)"
        },
    )
    created_at = Instant()
    last_used_at = Instant()
    user_agent = fields.String(
        allow_none=True, metadata={"description": 'A summary, e.g. "Firefox on Android".'}
    )
    current = fields.Boolean(metadata={"description": "The session this request was made in."})


class SessionList(Schema):
    items = fields.List(fields.Nested(SessionOut))


def _current_family():
    return accounts.family_of(access_token())


@blp.route("/password")
class Password(MethodView):
    @blp.arguments(PasswordChangeIn)
    @blp.response(204)
    def post(self, data):
        """Change my password. Every other session of mine ends (this one carries on);
        audited `account.password_change`. A wrong current password is 422 naming it."""
        lifecycle.change_own_password(
            current_ctx(), data["current_password"], data["new_password"], keep=_current_family()
        )


@blp.route("/sessions")
class Sessions(MethodView):
    @blp.response(200, SessionList)
    def get(self):
        """The sessions of my account that still count: app logins and portal sign-ins."""
        return {"items": lifecycle.own_sessions(current_ctx(), _current_family())}


@blp.route("/sessions/<uuid:session_id>")
class OneSession(MethodView):
    @blp.response(204)
    def delete(self, session_id):
        """End one of my sessions (a lost phone, a PC left signed in); audited `session.end`."""
        lifecycle.end_own_session(current_ctx(), session_id)
