"""An account's life: disable and enable it, force a new password, reset the second factor,
change one's own password, see and end sessions. Every step is audited.

Administration is for staff with the role `admin` (or the command line, acting as the
system). Audit actions: `account.disable`, `account.enable`, `account.password_reset`,
`account.password_change`, `account.totp_reset`, `session.end` (docs/authentication.md).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import pyotp
from sqlalchemy import select

from muli.models.accounts import Account
from muli.models.people import Staff
from muli.platform.context import Ctx
from muli.platform.errors import Forbidden, NotFound, ValidationFailed
from muli.trust import accounts, audit, audit_words, sessions

TOTP_ISSUER = "MULI"


def require_admin(ctx: Ctx) -> None:
    """Staff with the role `admin`, or the system (the command line)."""
    if ctx.actor.kind == "system":
        return
    if not ctx.actor.is_staff or ctx.actor.role != "admin":
        raise Forbidden("Only an administrator may do this.")


def _account(ctx: Ctx, account_id: uuid.UUID, *, lock: bool = False) -> Account:
    account = ctx.session.get(Account, account_id, with_for_update=lock)
    if account is None:
        raise NotFound("No such account.")
    return account


def by_username(ctx: Ctx, username: str) -> Account:
    account = ctx.session.scalars(select(Account).where(Account.username == username)).first()
    if account is None:
        raise NotFound("No such account.")
    return account


@dataclass(frozen=True)
class StaffAccount:
    account_id: uuid.UUID
    username: str
    name: str
    role: str
    agency_name: str
    disabled_at: datetime | None
    password_change_required: bool
    last_login_at: datetime | None
    # Linked for sign-in through HelseID (muli/trust/oidc.py): by national id, by HPR number.
    helseid_pid: bool = False
    helseid_hpr: bool = False


def staff_accounts(ctx: Ctx) -> list[StaffAccount]:
    """Every staff member's account, by name (administrators only)."""
    require_admin(ctx)
    rows = ctx.session.execute(
        select(Staff, Account).join(Account, Staff.account_id == Account.id).order_by(Staff.display_name)
    ).all()
    return [
        StaffAccount(
            account.id,
            account.username,
            staff.display_name,
            staff.role,
            staff.agency.name,
            account.disabled_at,
            account.password_change_required,
            account.last_login_at,
            staff.helseid_pid_index is not None,
            staff.helseid_hpr_index is not None,
        )
        for staff, account in rows
    ]


def _record(ctx: Ctx, action: str, account: Account, reason: str | None = None) -> None:
    audit.record(ctx.session, ctx.actor, action, resource="account", resource_id=account.id, reason=reason)


def disable(ctx: Ctx, account_id: uuid.UUID) -> Account:
    """Cut the account off: every session and token ends now, and no one can sign in."""
    require_admin(ctx)
    account = _account(ctx, account_id, lock=True)
    if account.id == ctx.actor.account_id:
        raise Forbidden("You cannot disable your own account.", code="own-account")
    if account.disabled_at is None:
        accounts.disable_account(ctx, account)  # audited `account.disable`
    return account


def enable(ctx: Ctx, account_id: uuid.UUID) -> Account:
    """Let a disabled account sign in again (its old sessions stay ended)."""
    require_admin(ctx)
    account = _account(ctx, account_id, lock=True)
    if account.disabled_at is not None:
        account.disabled_at = None
        _record(ctx, "account.enable", account)
    return account


def force_password_reset(ctx: Ctx, account_id: uuid.UUID) -> Account:
    """The account's sessions end, and its next sign-in must set a new password."""
    require_admin(ctx)
    account = _account(ctx, account_id, lock=True)
    account.password_change_required = True
    sessions.end_all_sessions(ctx, account, "password_reset")
    _record(ctx, "account.password_reset", account)
    return account


@dataclass(frozen=True)
class NewSecret:
    secret: str
    uri: str  # otpauth:// for the authenticator app's QR code


def reset_totp(ctx: Ctx, account_id: uuid.UUID) -> NewSecret:
    """A new TOTP secret for a staff account, to be shown once: codes from the old one stop
    working at once, and every session ends."""
    require_admin(ctx)
    account = _account(ctx, account_id, lock=True)
    if account.kind != "staff":
        raise ValidationFailed("account", "Only staff accounts have a second factor.")
    secret = accounts.new_totp_secret()
    ctx.keys.seal(account, "totp_secret", secret)
    account.totp_last_step = None
    sessions.end_all_sessions(ctx, account, "totp_reset")
    _record(ctx, "account.totp_reset", account)
    uri = pyotp.TOTP(secret).provisioning_uri(name=account.username, issuer_name=TOTP_ISSUER)
    return NewSecret(secret, uri)


def finish_sign_in(ctx: Ctx, account: Account, new_password: str | None) -> None:
    """After the password (and code) passed: an account told to choose a new password must
    give one now (403 `password-change-required` without it)."""
    if not account.password_change_required:
        return
    if not new_password:
        raise Forbidden("Choose a new password to sign in.", code="password-change-required")
    set_new_password(ctx, account, new_password)


def set_new_password(
    ctx: Ctx,
    account: Account,
    new_password: str,
    *,
    keep: uuid.UUID | None = None,
    field: str = "new_password",
) -> None:
    """Store a new password; every other session of the account ends (`keep`: the caller's)."""
    try:
        accounts.check_password_policy(new_password, account.username)
    except ValidationFailed as refused:
        said = refused.message or refused.title
        raise ValidationFailed(field, said, refused.params) from None
    if accounts.password_matches(account, new_password):
        raise ValidationFailed(field, "Choose a password you have not used here.")
    account.password_hash = accounts.hash_password(new_password)
    account.password_change_required = False
    sessions.end_all_sessions(ctx, account, "password_change", keep=keep)
    _record(ctx, "account.password_change", account)


def change_own_password(
    ctx: Ctx, current_password: str, new_password: str, *, keep: uuid.UUID | None = None
) -> None:
    """The signed-in person changes their password: the current one first (422 when wrong)."""
    if ctx.actor.account_id is None:
        raise Forbidden("Sign in first.")
    account = _account(ctx, ctx.actor.account_id, lock=True)
    if not accounts.password_matches(account, current_password):
        audit.record(
            ctx.session, ctx.actor, "account.password_change", outcome="failed", resource="account",
            resource_id=account.id, reason=audit_words.REASON_NOT_CURRENT,
        )  # fmt: skip
        error = ValidationFailed("current_password", "This is not your current password.")
        error.keep_changes = True  # the failed attempt stays in the audit trail
        raise error
    set_new_password(ctx, account, new_password, keep=keep)


# Sessions: one's own, or (for an administrator) a staff member's


def own_sessions(ctx: Ctx, current: uuid.UUID | None = None) -> list[sessions.SessionView]:
    if ctx.actor.account_id is None:
        raise Forbidden("Sign in first.")
    return sessions.live_sessions(ctx, ctx.actor.account_id, current_id=current)


def end_own_session(ctx: Ctx, session_id: uuid.UUID) -> None:
    if ctx.actor.account_id is None:
        raise Forbidden("Sign in first.")
    sessions.end_session(ctx, ctx.actor.account_id, session_id)


def staff_sessions(ctx: Ctx, account_id: uuid.UUID) -> list[sessions.SessionView]:
    require_admin(ctx)
    account = _account(ctx, account_id)
    if account.kind != "staff":
        raise NotFound("No such staff account.")
    return sessions.live_sessions(ctx, account.id)


def end_staff_session(ctx: Ctx, account_id: uuid.UUID, session_id: uuid.UUID) -> None:
    require_admin(ctx)
    sessions.end_session(ctx, _account(ctx, account_id).id, session_id)
