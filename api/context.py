"""The request's unit of work: session, keys, settings and the authenticated actor."""

from __future__ import annotations

import uuid

from flask import current_app, g, request
from flask_jwt_extended import get_jwt, verify_jwt_in_request

from muli.extensions import db
from muli.platform.context import ANONYMOUS, Actor, Ctx
from muli.platform.errors import Forbidden
from muli.platform.words import N_
from muli.trust import access, accounts

FOR_KIND = {
    "patient": N_("This part of the API is for patient accounts."),
    "staff": N_("This part of the API is for staff accounts."),
}


def request_id() -> str:
    if "request_id" not in g:
        given = request.headers.get("X-Request-ID", "")
        g.request_id = (
            given
            if 8 <= len(given) <= 64 and given.isascii() and given.replace("-", "").isalnum()
            else uuid.uuid4().hex
        )
    return g.request_id


def _base_ctx(actor: Actor) -> Ctx:
    ext = current_app.extensions
    return Ctx(db.session, ext["muli.keys"], actor, ext["muli.settings"], ext["muli.clock"])


def anonymous_ctx() -> Ctx:
    return _base_ctx(Actor(kind=ANONYMOUS.kind, ip=request.remote_addr, request_id=request_id()))


def current_ctx() -> Ctx:
    """The unit of work of an authenticated request (the JWT was checked before the view)."""
    if "muli_ctx" not in g:
        verify_jwt_in_request()  # checks revocation, which loads the account (muli/app.py)
        account = g.get("muli_token_account") or db.session.get(accounts.Account, uuid.UUID(get_jwt()["sub"]))
        base = anonymous_ctx()
        g.muli_ctx = base.acting_as(
            accounts.actor_for(base, account, ip=request.remote_addr, request_id=request_id())
        )
    return g.muli_ctx


def require_kind(kind: str) -> None:
    """Blueprint guard: patients reach /me, staff reach /staff, and not the other way round."""
    if request.method == "OPTIONS":
        return
    ctx = current_ctx()
    if ctx.actor.kind != kind:
        raise access.refused(ctx, Forbidden(FOR_KIND[kind], code="wrong-account-kind"))
