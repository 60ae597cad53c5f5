"""Flask extensions, created once here and bound to an app in create_app."""

import math
import time
from datetime import date, datetime

from authlib.common.urls import add_params_to_uri
from flask import Response, abort, current_app, redirect, request, url_for
from flask_babel import Babel, format_date, get_locale, get_timezone, gettext
from flask_compress import Compress
from flask_jwt_extended import JWTManager
from flask_limiter import Limiter, RequestLimit
from flask_limiter.util import get_remote_address
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from itsdangerous import BadSignature, URLSafeSerializer, URLSafeTimedSerializer
from werkzeug.wrappers import Response as RedirectResponse

from muli.models.base import Base
from muli.platform import words
from muli.platform.errors import MuliError

# Models subclass muli.models.Base (no Flask in the domain); the extension shares its metadata.
db = SQLAlchemy(metadata=Base.metadata)
migrate = Migrate(render_as_batch=True, compare_type=True)
jwt = JWTManager()


def _retry_after(limit: RequestLimit) -> Response:
    """Flask-Limiter's own 429 says when its window frees up. Its header on other answers is
    renamed (Config.RATELIMIT_HEADER_RETRY_AFTER): it would otherwise raise every answer's
    `Retry-After`, the login throttle's 1, 2, 4 s included, to the end of its minute."""
    response = current_app.response_class(status=429)
    response.headers["Retry-After"] = str(max(1, math.ceil(limit.reset_at - time.time())))
    return response


class RouteLimiter(Limiter):
    """Flask-Limiter, with its before-request check skipped while it has nothing to count.

    MULI declares its limits on routes only (`limit` and `shared_limit` on the sign-in doors),
    and those are counted by the decorators' own wrappers when their view runs. The
    before-request check counts the other kinds: application-wide, default, blueprint and
    meta limits, and the in-memory fallback's limits while the storage is down. With none
    declared it finds nothing on any route, after ~50 calls (3-5 % of a plain read's CPU).
    Once one is declared (here or in the config) it runs again on every request, as before.
    tests/unit/test_rate_limits.py holds every kind still enforced."""

    def _middleware_counts_nothing(self) -> bool:
        manager = self.limit_manager
        return not (
            manager._application_limits
            or manager._default_limits
            or manager._blueprint_limits
            or self._meta_limits
            or self._in_memory_fallback
        )

    def _check_request_limit(self, callable_name: str | None = None, in_middleware: bool = True) -> None:
        if in_middleware and self._middleware_counts_nothing():
            return
        super()._check_request_limit(callable_name=callable_name, in_middleware=in_middleware)


limiter = RouteLimiter(key_func=get_remote_address, default_limits=[], on_breach=_retry_after)
babel = Babel()
csrf = CSRFProtect()


def say(message: str, params: dict | None = None) -> str:
    """A domain message (English id, `%(name)s` values apart) in the request's language, its
    times as a person reads them in the portal's time zone (Europe/Oslo)."""
    return words.say(
        message,
        params,
        gettext=gettext,
        locale=str(get_locale() or "nb"),
        zone=get_timezone(),
        now=current_app.extensions["muli.clock"](),
    )


def human_time(at: datetime) -> str:
    """A moment as a person says it, in the request's language and Europe/Oslo: "kl. 05:14",
    "i går kl. 23:10", "28. nov. kl. 05:14" (the portal's `humantime` filter)."""
    return words.human_time(
        at,
        now=current_app.extensions["muli.clock"](),
        gettext=gettext,
        locale=str(get_locale() or "nb"),
        zone=get_timezone(),
    )


def human_day(day: date | str) -> str:
    """A day (or its ISO text, as some views carry it) as "1. des. 2026" / "1 Dec 2026"."""
    return format_date(date.fromisoformat(day) if isinstance(day, str) else day, "medium")


def said(error: MuliError) -> str | None:
    """A domain error's message in the request's language; None when it has none."""
    return say(error.message, error.params) if error.message else None


def said_errors(error: MuliError) -> dict | None:
    """A domain error's per-field messages in the request's language."""
    if not error.errors:
        return error.errors
    return {field: [say(m, error.params) for m in messages] for field, messages in error.errors.items()}


# Registered by muli/app.py's own hook, which decides what may be compressed (BREACH).
compress = Compress()


class DeviceCookie:
    """The known-device cookie of both sign-in doors (the portal and /api/v1/auth/token).

    It holds a random id, signed with the app's secret; the login throttle keeps only its
    hash, per account, after a successful login (muli/trust/throttle.py). HttpOnly,
    SameSite=Strict, path `/`, for `known_device_days`; in production Secure and named with
    the `__Host-` prefix (one host, no Domain), as OWASP ASVS 5.0 3.3.1 and 3.3.3 ask.
    """

    NAME = "muli_device"
    SALT = "muli-known-device"

    def _secure(self) -> bool:
        return bool(current_app.config.get("SESSION_COOKIE_SECURE"))

    def name(self) -> str:
        return ("__Host-" if self._secure() else "") + self.NAME

    def _serializer(self) -> URLSafeSerializer:
        return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=self.SALT)

    def read(self) -> str | None:
        """The device id the browser presented, or None (absent, or not signed by us)."""
        raw = request.cookies.get(self.name())
        if not raw or len(raw) > 200:
            return None
        try:
            value = self._serializer().loads(raw)
        except BadSignature:
            return None
        return value if isinstance(value, str) and 20 <= len(value) <= 100 else None

    def set(self, response, device_id: str) -> None:
        days = current_app.extensions["muli.settings"].known_device_days
        response.set_cookie(
            self.name(),
            self._serializer().dumps(device_id),
            max_age=days * 24 * 3600,
            path="/",
            httponly=True,
            secure=self._secure(),
            samesite="Strict",
        )


device_cookie = DeviceCookie()


class OidcFlow:
    """Both provider doors (ID-porten in /auth/idporten, HelseID in /portal/helseid): the
    configured providers (discovery and keys cached per process), and what a sign-in keeps
    between the redirect and the callback (`muli.trust.oidc.Pending`: state, nonce, PKCE
    verifier) in a cookie signed with the app's secret, HttpOnly, for 10 minutes, scoped to
    the door's path. SameSite=Lax: the callback is a top-level navigation coming back from
    the provider's site, which a Strict cookie would not follow. Nothing about the person is
    in it. docs/oidc.md."""

    SALT = "muli-oidc-pending"
    MAX_AGE = 600

    def provider(self, name: str):
        """The configured provider `name`, or None when that sign-in is off."""
        from muli.trust.oidc import Provider

        config = current_app.config.get("MULI_OIDC_PROVIDERS", {}).get(name)
        if config is None:
            return None
        cache = current_app.extensions.setdefault("muli.oidc", {})
        found = cache.get(name)
        if found is None or found.config is not config:
            found = cache[name] = Provider(config)
        return found

    def open_door(self, name: str):
        """The configured provider `name`; 404 when that sign-in is off (the door is not there)."""
        provider = self.provider(name)
        if provider is None:
            abort(404)
        return provider

    def redirect_uri(self, provider, callback_endpoint: str) -> str:
        """Where the provider sends the person back: the registered address, or this service's
        public address and the door's callback."""
        return provider.config.redirect_uri or (
            current_app.config["MULI_PUBLIC_URL"].rstrip("/") + url_for(callback_endpoint)
        )

    def begin(self, name: str, callback_endpoint: str) -> RedirectResponse:
        """Start a sign-in: the redirect to the provider, its pending state kept in the cookie.
        Raises SignInRefused (the provider cannot be reached, PAR refused)."""
        provider = self.open_door(name)
        url, pending = provider.begin(
            self.redirect_uri(provider, callback_endpoint), locale=str(get_locale() or "nb")
        )
        response = redirect(url, 303)
        self.keep(response, pending)
        return response

    def verify(self, name: str):
        """The callback: (provider, the verified ID token) for the pending sign-in, from the
        answer's parameters. Raises SignInRefused (state, code, token, level)."""
        provider = self.open_door(name)
        args = {k: v for k, v in request.args.items() if k in ("state", "code", "error", "iss")}
        return provider, provider.finish(self.pending(name), args)

    def end_session_url(self, name: str) -> str | None:
        """The provider's end-session address (after MULI's own sign-out), or None."""
        provider = self.open_door(name)
        target = provider.end_session_endpoint()
        if not target:
            return None
        params = {"client_id": provider.config.client_id}
        if provider.config.post_logout_redirect_uri:
            params["post_logout_redirect_uri"] = provider.config.post_logout_redirect_uri
        return add_params_to_uri(target, params)

    def _serializer(self) -> URLSafeTimedSerializer:
        return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=self.SALT)

    def cookie_name(self, name: str) -> str:
        return ("__Host-" if current_app.config.get("SESSION_COOKIE_SECURE") else "") + f"muli_oidc_{name}"

    def keep(self, response, pending) -> None:
        response.set_cookie(
            self.cookie_name(pending.provider),
            self._serializer().dumps(pending.as_dict()),
            max_age=self.MAX_AGE,
            path="/",
            httponly=True,
            secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")),
            samesite="Lax",
        )

    def pending(self, name: str):
        """What the sign-in kept, or None (absent, altered, older than 10 minutes)."""
        from muli.trust.oidc import Pending

        raw = request.cookies.get(self.cookie_name(name))
        if not raw or len(raw) > 2000:
            return None
        try:
            return Pending.from_dict(self._serializer().loads(raw, max_age=self.MAX_AGE))
        except (BadSignature, KeyError, TypeError, AttributeError):
            return None

    def forget(self, response, name: str) -> None:
        response.delete_cookie(
            self.cookie_name(name),
            path="/",
            httponly=True,
            secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")),
            samesite="Lax",
        )


oidc_flow = OidcFlow()
