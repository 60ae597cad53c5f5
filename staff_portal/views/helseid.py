"""Staff sign-in through HelseID (OpenID Connect), beside password + TOTP.

`/portal/helseid/login` sends the browser to HelseID (PKCE, state, nonce, a pushed
authorization request where offered, the client authenticated with private_key_jwt);
`/portal/helseid/callback` checks the answer (`muli.trust.oidc`), finds the staff account an
administrator linked to the person's national id and/or HPR number, and starts a portal
session exactly as the password sign-in does. HelseID's strong authentication stands in
for MULI's TOTP on this path. A refusal is audited and shown as a page saying why.
docs/oidc.md.
"""

from __future__ import annotations

import math
import time

from flask import Blueprint, current_app, redirect, render_template, url_for
from flask_babel import lazy_gettext as _l
from flask_limiter import RequestLimit

from muli.extensions import db, limiter, oidc_flow
from muli.trust import oidc
from staff_portal.auth_state import base_ctx, sign_in

NAME = "helseid"

# What the refusal page says, by reason; other reasons get the general text.
MESSAGES = {
    "not-linked": (
        403,
        _l(
            "HelseID confirmed who you are, but no MULI staff account is linked to you. "
            "Ask an administrator to link your account, or sign in with username, password and code."
        ),
    ),
    "account-disabled": (403, _l("Your MULI account has been disabled. Ask an administrator.")),
    "acr-too-low": (
        403,
        _l(
            "HelseID signed you in at a lower security level than MULI requires. "
            "Sign in with a stronger method."
        ),
    ),
    "provider-unavailable": (
        503,
        _l("HelseID could not be reached. Try again, or sign in with password and code."),
    ),
    "provider-refused": (400, _l("HelseID did not complete the sign-in. Try again.")),
    "busy": (429, _l("Too many sign-ins from this network just now. Wait a minute and try again.")),
}
GENERAL = (
    400,
    _l("The sign-in through HelseID could not be completed and nothing was signed in. Start again."),
)


def login():
    try:
        return oidc_flow.begin(NAME, "portal.helseid_callback")
    except oidc.SignInRefused as refused:
        oidc.refused(base_ctx(), NAME, refused)
        return _refused(refused.reason)


def callback():
    ctx = base_ctx()
    try:
        provider, verified = oidc_flow.verify(NAME)
    except oidc.SignInRefused as refused:
        oidc.refused(ctx, NAME, refused)
        return _refused(refused.reason)
    try:
        account = oidc.staff_account(
            ctx, NAME, verified.claims, provider.config.pid_claim, provider.config.hpr_claim
        )
    except oidc.SignInRefused as refused:
        return _refused(refused.reason)  # audited by staff_account
    sign_in(account)
    response = redirect(url_for("portal.home"), 303)
    oidc_flow.forget(response, NAME)
    return response


def logout():
    """After the portal's own sign-out: HelseID's end-session, when it has one."""
    return redirect(oidc_flow.end_session_url(NAME) or url_for("portal.login"), 303)


def _refused(reason: str):
    db.session.commit()  # the refusal's audit event stays, though the answer is an error
    status, message = MESSAGES.get(reason, GENERAL)
    body = render_template("staff_portal/signin_refused.html", message=message, status=status)
    response = current_app.response_class(body, status=status, mimetype="text/html")
    oidc_flow.forget(response, NAME)
    return response


# Each start sends HelseID a pushed authorization request and each callback redeems a code at
# its token endpoint: per address, a bound on how often anyone can make MULI call the provider.
door_limit = limiter.shared_limit("20 per minute", scope="oidc-helseid", on_breach=lambda limit: _busy(limit))


def _busy(limit: RequestLimit):
    response = _refused("busy")
    response.headers["Retry-After"] = str(max(1, math.ceil(limit.reset_at - time.time())))
    return response


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/helseid/login", endpoint="helseid_login", view_func=door_limit(login))
    bp.add_url_rule("/helseid/callback", endpoint="helseid_callback", view_func=door_limit(callback))
    bp.add_url_rule("/helseid/logout", endpoint="helseid_logout", view_func=logout)
