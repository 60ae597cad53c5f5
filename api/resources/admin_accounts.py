"""Administrators: cut an account off or let it back in, force a new password, reset the
second factor, see a staff member's sessions and end them."""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import Schema, fields, validate

from api.body import Blueprint
from api.context import current_ctx, require_kind
from api.resources.account import SessionList
from api.schemas import Instant
from muli.models.people import STAFF_ROLES
from muli.trust import lifecycle

blp = Blueprint(
    "admin_accounts",
    __name__,
    url_prefix="/api/v1/admin/accounts",
    description="Administrator: disable, enable, password and TOTP reset, sessions (role `admin`)",
)
blp.before_request(lambda: require_kind("staff"))


class StaffAccountOut(Schema):
    account_id = fields.UUID()
    username = fields.String()
    name = fields.String()
    role = fields.String(validate=validate.OneOf(STAFF_ROLES))
    agency_name = fields.String()
    disabled_at = Instant(allow_none=True)
    password_change_required = fields.Boolean()
    last_login_at = Instant(allow_none=True)


class StaffAccountList(Schema):
    items = fields.List(fields.Nested(StaffAccountOut))


class AccountStateOut(Schema):
    account_id = fields.UUID(attribute="id")
    username = fields.String()
    disabled_at = Instant(allow_none=True)
    password_change_required = fields.Boolean()


class NewTotpOut(Schema):
    secret = fields.String(metadata={"description": "Base32; shown this once and never again."})
    otpauth_uri = fields.String(attribute="uri", metadata={"description": "For the authenticator's QR code."})


@blp.route("")
class StaffAccounts(MethodView):
    @blp.response(200, StaffAccountList)
    def get(self):
        """Every staff account: who, role, agency, disabled or not, last sign-in."""
        return {"items": lifecycle.staff_accounts(current_ctx())}


@blp.route("/<uuid:account_id>/disable")
class Disable(MethodView):
    @blp.response(200, AccountStateOut)
    def post(self, account_id):
        """Disable the account: every session and token ends at once, no one can sign in.
        Audited `account.disable`. Not one's own account (403 `own-account`)."""
        return lifecycle.disable(current_ctx(), account_id)


@blp.route("/<uuid:account_id>/enable")
class Enable(MethodView):
    @blp.response(200, AccountStateOut)
    def post(self, account_id):
        """Let a disabled account sign in again. Audited `account.enable`."""
        return lifecycle.enable(current_ctx(), account_id)


@blp.route("/<uuid:account_id>/password-reset")
class PasswordReset(MethodView):
    @blp.response(200, AccountStateOut)
    def post(self, account_id):
        """Force a new password: sessions end, and the next sign-in must give `new_password`
        (`/auth/token` answers 403 `password-change-required` without it). Audited
        `account.password_reset`."""
        return lifecycle.force_password_reset(current_ctx(), account_id)


@blp.route("/<uuid:account_id>/totp-reset")
class TotpReset(MethodView):
    @blp.response(200, NewTotpOut)
    def post(self, account_id):
        """A new TOTP secret for a staff account, shown in this answer only; codes from the old
        one stop working and every session ends. Audited `account.totp_reset`."""
        return lifecycle.reset_totp(current_ctx(), account_id)


@blp.route("/<uuid:account_id>/sessions")
class StaffSessions(MethodView):
    @blp.response(200, SessionList)
    def get(self, account_id):
        """A staff member's sessions that still count (portal sign-ins and API logins)."""
        return {"items": lifecycle.staff_sessions(current_ctx(), account_id)}


@blp.route("/<uuid:account_id>/sessions/<uuid:session_id>")
class StaffSession(MethodView):
    @blp.response(204)
    def delete(self, account_id, session_id):
        """End one of a staff member's sessions at once. Audited `session.end`."""
        lifecycle.end_staff_session(current_ctx(), account_id, session_id)
