"""The patient's sign-in through ID-porten (OpenID Connect): browser redirects, not REST.

`GET /auth/idporten/login` sends the browser to the provider (PKCE, state, nonce, acr; a
pushed authorization request where offered) and keeps what the callback needs in a signed,
short-lived cookie. `GET /auth/idporten/callback` checks it all (`muli.trust.oidc`), finds
the enrolled patient through the blind index of `pid`, and issues MULI's own login exactly
as `/api/v1/auth/token` does for the app (a refresh family, the refresh token in the
HttpOnly `muli_refresh` cookie); the app then starts as after any sign-in. A refused sign-in
is audited and the browser goes back to the app's sign-in screen, which says why
(`/app/?signin=<reason>#/login`). `GET /auth/idporten/logout` (after the app's own logout)
offers the provider's end-session. docs/oidc.md.
"""

from __future__ import annotations

from flask import Blueprint, redirect

from api.context import anonymous_ctx
from api.resources import auth as token_door
from muli.extensions import csrf, limiter, oidc_flow
from muli.trust import oidc

NAME = "idporten"
bp = Blueprint("idporten", __name__, url_prefix="/auth/idporten")
csrf.exempt(bp)

# The reasons the app's sign-in screen has words for (patient_app/static/i18n); any other
# refusal is shown as the general one.
SHOWN = {
    "not-enrolled",
    "account-disabled",
    "acr-too-low",
    "provider-unavailable",
    "provider-refused",
    "busy",
}

# Each start sends ID-porten a pushed authorization request and each callback redeems a code at
# its token endpoint: per address, a bound on how often anyone can make MULI call the provider.
# Past it the browser goes back to the app, which says to wait a minute.
door_limit = limiter.shared_limit(
    "20 per minute", scope="oidc-idporten", on_breach=lambda _limit: _back_to_app("busy")
)


@bp.get("/login")
@door_limit
def login():
    try:
        return oidc_flow.begin(NAME, "idporten.callback")
    except oidc.SignInRefused as refused:
        oidc.refused(anonymous_ctx(), NAME, refused)
        return _back_to_app(refused.reason)


@bp.get("/callback")
@door_limit
def callback():
    ctx = anonymous_ctx()
    try:
        provider, verified = oidc_flow.verify(NAME)
    except oidc.SignInRefused as refused:
        oidc.refused(ctx, NAME, refused)
        return _back_to_app(refused.reason)
    try:
        account = oidc.patient_account(ctx, NAME, verified.claims, provider.config.pid_claim)
    except oidc.SignInRefused as refused:
        return _back_to_app(refused.reason)  # audited by patient_account
    pair = token_door._issue_pair(ctx, account)
    response = token_door._answer(pair, cookie=True)
    back = redirect("/app/#/", 303)
    for header in response.headers.getlist("Set-Cookie"):
        back.headers.add("Set-Cookie", header)
    oidc_flow.forget(back, NAME)
    return back


@bp.get("/logout")
def logout():
    """After MULI's own logout: the provider's end-session, when it has one."""
    return redirect(oidc_flow.end_session_url(NAME) or "/app/#/login", 303)


def _back_to_app(reason: str):
    # A redirect (< 400): the request's commit keeps the refusal's audit event.
    shown = reason if reason in SHOWN else "refused"
    response = redirect(f"/app/?signin={shown}#/login", 303)
    oidc_flow.forget(response, NAME)
    return response
