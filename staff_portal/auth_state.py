"""Who is signed in to the portal: the session cookie, its timeouts, and the request's Ctx.

The cookie holds only the account id and two instants. Every request re-reads the account,
so a disabled account (or one whose sessions were ended) is out at its next click.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from functools import wraps

from flask import current_app, g, redirect, request, session, url_for

from muli.extensions import db
from muli.models.accounts import Account
from muli.platform.context import Actor, Ctx
from muli.trust import accounts

IDLE_SECONDS = 30 * 60
ABSOLUTE_SECONDS = 10 * 60 * 60
_KEYS = ("account_id", "signed_in_at", "seen_at")


def request_id() -> str:
    if "request_id" not in g:
        g.request_id = uuid.uuid4().hex
    return g.request_id


def _now() -> datetime:
    return current_app.extensions["muli.clock"]()


def base_ctx(actor: Actor | None = None) -> Ctx:
    ext = current_app.extensions
    actor = actor or Actor(kind="anonymous", ip=request.remote_addr, request_id=request_id())
    return Ctx(db.session, ext["muli.keys"], actor, ext["muli.settings"], ext["muli.clock"])


def sign_in(account: Account) -> None:
    """Start a fresh session (a new cookie, so a planted one is worthless)."""
    session.clear()
    now = _now().timestamp()
    session.permanent = True
    session.update(account_id=str(account.id), signed_in_at=now, seen_at=now)


def sign_out() -> None:
    session.clear()


def _expired(now: float) -> str | None:
    signed_in, seen = session.get("signed_in_at"), session.get("seen_at")
    if signed_in is None or seen is None:
        return "missing"
    if now - signed_in > ABSOLUTE_SECONDS:
        return "absolute"
    if now - seen > IDLE_SECONDS:
        return "idle"
    return None


def current_account(*, touch: bool = True) -> Account | None:
    """The signed-in staff account, or None (and the session cleared) when it no longer counts.

    `touch=False` is for background polling: it must not keep an idle session alive.
    """
    if "account_id" not in session:
        return None
    now = _now()
    reason = _expired(now.timestamp())
    account = None
    if reason is None:
        try:
            account = db.session.get(Account, uuid.UUID(session["account_id"]))
        except ValueError:
            account = None
    if account is not None and (account.kind != "staff" or account.disabled_at is not None):
        account = None
    if (
        account is not None
        and account.tokens_valid_after is not None
        and session["signed_in_at"] < account.tokens_valid_after.timestamp()
    ):
        account = None
    if account is None:
        g.portal_expired = reason in ("idle", "absolute")
        session.clear()
        return None
    if touch:
        session["seen_at"] = now.timestamp()
    return account


def portal_ctx() -> Ctx:
    """The unit of work of a signed-in portal request (set up by `login_required`)."""
    return g.portal_ctx


def _load(touch: bool) -> bool:
    account = current_account(touch=touch)
    if account is None:
        return False
    base = base_ctx()
    g.portal_ctx = base.acting_as(
        accounts.actor_for(base, account, ip=request.remote_addr, request_id=request_id())
    )
    return True


def login_required(view: Callable | None = None, *, touch: bool = True, json: bool = False):
    """Views for signed-in staff; others go to the sign-in page (or get 401 for JSON)."""

    def decorate(fn: Callable):
        @wraps(fn)
        def wrapper(*args, **kwargs):
            if not _load(touch):
                if json:
                    return {"signed_in": False}, 401
                extra = {"expired": 1} if g.get("portal_expired") else {}
                # After signing in, go back to the page; a form's target only takes POST.
                back = request.full_path.rstrip("?") if request.method == "GET" else url_for("portal.home")
                return redirect(url_for("portal.login", next=back, **extra))
            return fn(*args, **kwargs)

        return wrapper

    return decorate(view) if view is not None else decorate


def safe_next(target: str | None) -> str:
    """Only a path inside the portal; never another site."""
    if target and target.startswith("/portal/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("portal.home")
