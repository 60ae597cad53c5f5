"""Who is signed in to the portal: the server-side session, its limits, and the request's Ctx.

The signed cookie holds only a random session id (and the CSRF token); the session itself is
a row in `portal_session` (`muli.trust.sessions`), found by the id's hash. Every request
re-reads it and the account, so sign-out, the idle and absolute limits, a password change
and a disabled account end it at its next click, on every device and for every copy of the
cookie.
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
from muli.trust import accounts, sessions

SESSION_KEY = "sid"  # the random id of the server-side session; the database keeps its hash


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
    """Start a fresh session (a new cookie, so a planted one is worthless), kept on the server."""
    session.clear()
    token = sessions.start_portal_session(base_ctx(), account, request.headers.get("User-Agent"))
    session.permanent = True
    session[SESSION_KEY] = token


def sign_out() -> None:
    """End the session on the server: a copy of the cookie is worth nothing afterwards."""
    token = session.get(SESSION_KEY)
    if isinstance(token, str):
        sessions.end_portal_session(base_ctx(), token)
    session.clear()


def current_account(*, touch: bool = True) -> Account | None:
    """The signed-in staff account, or None (and the session cleared) when it no longer counts.

    The session row decides (sign-out, idle and absolute limits, a password change, a
    disabled account). `touch=False` is for background polling: it must not keep an idle
    session alive.
    """
    token = session.get(SESSION_KEY)
    if not isinstance(token, str):
        if "account_id" in session:
            session.clear()  # a cookie from before server-side sessions: sign in again
        return None
    check = sessions.check_portal_session(base_ctx(), token, touch=touch)
    account = db.session.get(Account, check.row.account_id) if check.row is not None else None
    if account is not None and (account.kind != "staff" or account.disabled_at is not None):
        account = None
    if account is None or check.row is None:
        g.portal_expired = check.reason in ("idle", "absolute")
        session.clear()
        return None
    g.portal_session_id = check.row.id
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
