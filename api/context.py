"""The request's unit of work: session, keys, settings and the authenticated actor."""

from __future__ import annotations

import functools
import re
import uuid
from datetime import UTC, datetime, timedelta

import jwt
from flask import current_app, g, request
from flask_jwt_extended.config import config as jwt_config

from muli.extensions import db
from muli.platform.context import ANONYMOUS, Actor, Ctx
from muli.platform.errors import AuthenticationFailed, Forbidden
from muli.platform.words import N_
from muli.trust import access, accounts

FOR_KIND = {
    "patient": N_("This part of the API is for patient accounts."),
    "staff": N_("This part of the API is for staff accounts."),
}


# The functions every request runs read Flask's `g` and `request` through their objects
# (`_get_current_object()`), once each, not through the proxies on every use (muli/app.py).


def request_id() -> str:
    flask_g = g._get_current_object()
    found = getattr(flask_g, "request_id", None)
    if found is None:
        given = request.headers.get("X-Request-ID", "")
        found = flask_g.request_id = (
            given
            if 8 <= len(given) <= 64 and given.isascii() and given.replace("-", "").isalnum()
            else uuid.uuid4().hex
        )
    return found


def _base_ctx(actor: Actor) -> Ctx:
    ext = current_app.extensions
    # The request's own session (what the scoped `db.session` stands for until teardown), so
    # the services' statements do not look it up through the scope again on every call.
    return Ctx(db.session(), ext["muli.keys"], actor, ext["muli.settings"], ext["muli.clock"])


def anonymous_ctx() -> Ctx:
    return _base_ctx(Actor(kind=ANONYMOUS.kind, ip=request.remote_addr, request_id=request_id()))


class TokenRefused(Exception):
    """The request's token is missing or does not count: `response` is the 401 to answer
    (registered as an error handler in `api.init_app`)."""

    def __init__(self, response):
        super().__init__(response.status)
        self.response = response


def _refused(detail: str) -> TokenRefused:
    from api import problem

    return TokenRefused(problem.from_domain(AuthenticationFailed(detail)))


NO_TOKEN = N_("Sign in first: no valid token was sent.")
INVALID = N_("The token is not valid.")
EXPIRED = N_("The token has expired.")
_FIELDS = re.compile(r",\s*")


def _bearer() -> str:
    """The token in the Authorization header, read as flask-jwt-extended reads it
    (JWT_HEADER_NAME, JWT_HEADER_TYPE; comma-separated credentials allowed)."""
    header_name, header_type = jwt_config.header_name, jwt_config.header_type
    header = request.headers.get(header_name, "").strip().strip(",")
    if not header:
        raise _refused(NO_TOKEN)
    if not header_type:
        parts = header.split()
        if len(parts) != 1:
            raise _refused(INVALID)
        return parts[0]
    ours = [field for field in _FIELDS.split(header) if field and field.split()[0] == header_type]
    if len(ours) != 1:
        raise _refused(NO_TOKEN)
    parts = ours[0].split()
    if len(parts) != 2:
        raise _refused(INVALID)
    return parts[1]


@functools.lru_cache(maxsize=1024)
def _decoded(token: str, key, algorithms: tuple, audience, issuer, leeway, verify_sub: bool) -> tuple:
    """A token that PyJWT verified, with everything it checked (`jwt.decode_complete`), kept
    under the exact token and the exact settings it was verified with: the same token is sent
    on every request of its 15 minutes, and its verification (the signature, and a check of
    each of its ~450 characters against base64url's alphabet) was a tenth of a plain read's
    CPU. What PyJWT decides from the token and those settings (signature, algorithm,
    audience, issuer, subject, the claims' types) cannot change; what depends on the time is
    checked again on every use (`_still_valid`). A token that fails is never kept."""
    decoded = jwt.decode_complete(
        token,
        key,
        algorithms=list(algorithms),
        audience=audience,
        issuer=issuer,
        leeway=leeway,
        options={"verify_aud": audience is not None, "verify_sub": verify_sub},
    )
    return decoded["header"], decoded["payload"]


def _still_valid(payload: dict, leeway) -> None:
    """PyJWT's checks of `iat`, `nbf` and `exp` against the time now (`_validate_claims`:
    the same comparisons, the same leeway), for a token it verified earlier (`_decoded`)."""
    if isinstance(leeway, timedelta):
        leeway = leeway.total_seconds()
    now = datetime.now(tz=UTC).timestamp()
    if "iat" in payload and int(payload["iat"]) > now + leeway:
        raise jwt.ImmatureSignatureError("The token is not yet valid (iat)")
    if "nbf" in payload and int(payload["nbf"]) > now + leeway:
        raise jwt.ImmatureSignatureError("The token is not yet valid (nbf)")
    if "exp" in payload and int(payload["exp"]) <= now - leeway:
        raise jwt.ExpiredSignatureError("Signature has expired")


def _verified(refresh: bool) -> tuple[dict, dict]:
    """The Bearer token's header and claims, verified with PyJWT: signature and algorithm
    (pinned, JWT_DECODE_ALGORITHMS), audience, issuer, expiry, the identity claim, and its
    type (a refresh token where one is asked for, anything else where not); the same checks
    and the same 401 answers as flask-jwt-extended's `verify_jwt_in_request()`. A token
    verified before with the same settings is not verified again, only its times (`_decoded`)."""
    audience = jwt_config.decode_audience
    leeway = jwt_config.leeway
    try:
        header, payload = _decoded(
            _bearer(),
            jwt_config.decode_key,
            tuple(jwt_config.decode_algorithms),
            audience if isinstance(audience, str | None) else tuple(audience),
            jwt_config.decode_issuer,
            leeway,
            jwt_config.verify_sub,
        )
        _still_valid(payload, leeway)
    except jwt.ExpiredSignatureError:
        raise _refused(EXPIRED)
    except jwt.InvalidTokenError:
        raise _refused(INVALID)
    header, payload = dict(header), dict(payload)  # the kept ones stay as PyJWT gave them
    if jwt_config.identity_claim_key not in payload:
        raise _refused(INVALID)
    payload.setdefault("type", "access")
    payload.setdefault("fresh", False)
    payload.setdefault("jti", None)
    if (payload["type"] == "refresh") != refresh:
        raise _refused(INVALID)
    return header, payload


def access_token() -> dict:
    """The request's access token, verified once (`_verified`; flask-jwt-extended parsed it
    four times). Its revocation and its login's end are checked by `current_ctx`
    (`accounts.token_actor`)."""
    flask_g = g._get_current_object()
    token = getattr(flask_g, "muli_token", None)
    if token is None:
        flask_g.muli_token_header, token = _verified(refresh=False)
        flask_g.muli_token = token
    return token


def refresh_token() -> dict:
    """The refresh token sent as Bearer (`_verified`), refused once revoked, spent, or its
    account disabled, as flask-jwt-extended's `verify_jwt_in_request(refresh=True)` with the
    app's blocklist did."""
    header, payload = _verified(refresh=True)
    if accounts.token_is_revoked(anonymous_ctx(), payload):
        from api import _revoked_token_problem

        raise TokenRefused(_revoked_token_problem(header, payload))
    return payload


def current_ctx() -> Ctx:
    """The unit of work of an authenticated request: its access token checked (`access_token`)
    and its account, login and person loaded in one statement (`accounts.token_actor`)."""
    flask_g = g._get_current_object()
    ctx = getattr(flask_g, "muli_ctx", None)
    if ctx is None:
        payload = access_token()
        base = anonymous_ctx()
        actor = accounts.token_actor(base, payload)
        if actor is None:
            from api import _revoked_token_problem

            raise TokenRefused(_revoked_token_problem(flask_g.muli_token_header, payload))
        ctx = flask_g.muli_ctx = base.acting_as(actor)
    return ctx


def require_kind(kind: str) -> None:
    """Blueprint guard: patients reach /me, staff reach /staff, and not the other way round."""
    if request.method == "OPTIONS":
        return
    ctx = current_ctx()
    if ctx.actor.kind != kind:
        raise access.refused(ctx, Forbidden(FOR_KIND[kind], code="wrong-account-kind"))


def token_required(view):
    """The access token checked before the view and its body's parsing (`current_ctx`), for a
    view no blueprint guard checks it for (logout): the answers flask-jwt-extended's
    `jwt_required()` gave, from one decode and one statement instead of its own parse and
    the blocklist's query followed by this one."""

    @functools.wraps(view)
    def checked(*args, **kwargs):
        current_ctx()
        return view(*args, **kwargs)

    return checked
