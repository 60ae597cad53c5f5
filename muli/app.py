"""The composition root: create_app builds the app from settings, extensions and blueprints."""

from __future__ import annotations

import contextlib
import logging
import time
import types
import weakref

from flask import Flask, Response, g, redirect, request
from flask.sessions import SecureCookieSessionInterface
from flask_limiter.errors import RateLimitExceeded
from sqlalchemy.exc import IntegrityError, OperationalError
from werkzeug.exceptions import HTTPException, ServiceUnavailable
from werkzeug.middleware.proxy_fix import ProxyFix

from muli import config as config_module
from muli.extensions import babel, compress, csrf, db, jwt, limiter, migrate, say
from muli.models.base import utcnow
from muli.platform import sqlite
from muli.platform.context import ERASES, Settings
from muli.platform.errors import MuliError
from muli.platform.log import configure as configure_logging
from muli.platform.words import N_
from muli.trust import audit
from muli.trust.accounts import TOKEN_PERSON
from muli.trust.keys import load_audit_keys, load_dev_secret, load_keyring, load_vapid_key

log = logging.getLogger("muli.request")

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
API_CSP = "default-src 'none'; frame-ancestors 'none'"
# Swagger UI's page has an inline script; only the docs page gets this looser policy.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data:"
)
# The patient app: its own scripts, styles and API only; no inline code, no third parties.
APP_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; worker-src 'self'; manifest-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def create_app(config: config_module.Config | None = None) -> Flask:
    """Build the MULI app. `config` defaults to the class named by MULI_ENV."""
    config = config or config_module.load()
    config.check()
    configure_logging(config.MULI_LOG_LEVEL)
    app = MuliFlask(__name__, instance_path=str(config.INSTANCE_DIR), static_folder=None)
    app.config.from_object(config)
    app.session_interface = SessionCookies()
    _normalise_database_url(app)
    register_secrets(app, config)
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_request_hooks(app)
    register_commands(app)
    proxies = config.MULI_TRUSTED_PROXIES
    if proxies:
        # Behind nginx the client's address (rate limits, logs) and scheme come from the
        # proxy's X-Forwarded-* headers; only as many hops as configured are believed.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)  # type: ignore[method-assign]
    return app


class MuliFlask(Flask):
    """Flask, remembering which of its hooks and views are plain functions.

    Flask passes every hook and view through `ensure_sync` before calling it (15 times a
    request here), which asks `inspect.iscoroutinefunction` each time: six Python calls for
    an answer that never changes for a function. Flask documents `ensure_sync` as the method
    to override. A function found plain is remembered (weakly: nothing is kept alive by it);
    a bound method by its function, since a view class's method is bound to a new instance
    on every request. Anything else (a coroutine function, or what cannot be referenced
    weakly) goes to Flask's own `ensure_sync` every time, as before."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._plain_functions: weakref.WeakSet = weakref.WeakSet()

    def ensure_sync(self, func):
        key = func.__func__ if isinstance(func, types.MethodType) else func
        if key in self._plain_functions:  # False for what cannot be referenced weakly
            return func
        made = super().ensure_sync(func)
        if made is func:
            with contextlib.suppress(TypeError):  # cannot be referenced weakly: asked again next time
                self._plain_functions.add(key)
        return made


class SessionCookies(SecureCookieSessionInterface):
    """Flask's signed-cookie session, whose serializer Flask makes again on every request
    (each API call opens the session too): made once for the app's keys and used while they
    stay the same. The serializer keeps no state between calls."""

    _made: tuple | None = None

    def get_signing_serializer(self, app: Flask):
        keys = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        made = self._made
        if made is None or made[0] != keys:
            made = self._made = (keys, super().get_signing_serializer(app))
        return made[1]


def _normalise_database_url(app: Flask) -> None:
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql+psycopg://" + url.removeprefix(prefix)
    if url.startswith("sqlite:///") and ":memory:" not in url:
        config_module.Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)


def register_secrets(app: Flask, config: config_module.Config) -> None:
    development = config.ENV_NAME != "production"
    instance = config.INSTANCE_DIR
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = load_dev_secret(instance, "session")
    if not app.config.get("JWT_SECRET_KEY"):
        app.config["JWT_SECRET_KEY"] = load_dev_secret(instance, "jwt")
    app.extensions["muli.keys"] = load_keyring(
        config.MULI_DATA_KEYS,
        config.MULI_BLIND_INDEX_KEY,
        instance_dir=instance,
        allow_generate=development,
    )
    app.extensions["muli.audit_keys"] = load_audit_keys(
        config.MULI_AUDIT_KEYS,
        config.MULI_AUDIT_SIGNING_KEYS,
        instance_dir=instance,
        allow_generate=development,
    )
    app.extensions["muli.settings"] = Settings(
        public_url=config.MULI_PUBLIC_URL,
        login_free_failures=config.MULI_LOGIN_FREE_FAILURES,
        login_delay_cap_seconds=config.MULI_LOGIN_DELAY_CAP_SECONDS,
        login_account_ceiling=config.MULI_LOGIN_ACCOUNT_CEILING,
        login_ceiling_first_delay_seconds=config.MULI_LOGIN_CEILING_FIRST_DELAY_SECONDS,
        login_window_seconds=config.MULI_LOGIN_WINDOW_SECONDS,
        known_device_days=config.MULI_KNOWN_DEVICE_DAYS,
        emergency_access_minutes=config.MULI_EMERGENCY_ACCESS_MINUTES,
        outbox_keep_days=config.MULI_OUTBOX_KEEP_DAYS,
        staff_reauth_hours=config.MULI_STAFF_REAUTH_HOURS,
        portal_idle_minutes=config.MULI_PORTAL_IDLE_MINUTES,
        portal_absolute_hours=config.MULI_PORTAL_ABSOLUTE_HOURS,
        push_allow_http=development,
    )
    app.extensions["muli.clock"] = utcnow
    from muli.contact.push import Vapid

    # Web Push: without a key in production, no push (staff are emailed, as before).
    vapid_key = load_vapid_key(
        config.MULI_VAPID_PRIVATE_KEY, instance_dir=instance, allow_generate=development
    )
    app.extensions["muli.vapid"] = Vapid(vapid_key, config.MULI_VAPID_SUBJECT) if vapid_key else None


def engine_options(app: Flask) -> dict:
    """The engine's options for this app's database, as a new dict (the config's is the
    class attribute every app shares). SQLite: no pre-ping. The pool's `SELECT 1` on every
    checkout finds a server gone away and reconnects; a local file has no server, and a
    connection to it does not go stale. It was one statement (and one GIL release) per
    request. PostgreSQL keeps it: a restarted server or a dropped connection is found there."""
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        options["pool_pre_ping"] = False
    return options


def register_extensions(app: Flask) -> None:
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(app)
    db.init_app(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            app.extensions["muli.sqlite_writers"] = sqlite.configure(db.engine)
        audit.use_keys(db.engine, app.extensions["muli.audit_keys"])
    migrate.init_app(
        app, db, directory=str(config_module.Path(__file__).resolve().parent.parent / "migrations")
    )
    jwt.init_app(app)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=_select_locale)
    csrf.init_app(app)
    register_compression(app)

    @jwt.token_in_blocklist_loader
    def _revoked(_header, payload):
        # Only where flask-jwt-extended checks a token itself (refresh, logout); an API
        # request's token is checked by api.context.current_ctx.
        from api.context import anonymous_ctx
        from muli.trust.accounts import token_is_revoked

        return token_is_revoked(anonymous_ctx(), payload)


LOCALES = ("nb", "en")


def _select_locale() -> str:
    """Bokmål unless the user chose English (query or cookie) or the browser prefers it."""
    chosen = request.args.get("lang") or request.cookies.get("muli_lang")
    if chosen in LOCALES:
        return chosen
    return request.accept_languages.best_match(LOCALES) or "nb"


def register_blueprints(app: Flask) -> None:
    import api
    import staff_portal

    api.init_app(app)
    staff_portal.init_app(app)
    app.add_url_rule("/", "root", lambda: redirect("/portal/"))
    import patient_app

    patient_app.init_app(app)


def register_errorhandlers(app: Flask) -> None:
    from api import problem
    from staff_portal import error_page

    def _portal() -> bool:
        return request.path.startswith("/portal")

    @app.errorhandler(MuliError)
    def _domain_error(error: MuliError):
        if error.keep_changes:
            db.session.commit()
        elif error.refusal is not None:
            record_refusal(error)
        return error_page(error) if _portal() else problem.from_domain(error)

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException):
        if (
            isinstance(error, RateLimitExceeded)
            and isinstance(error.response, Response)
            and error.response.get_data()
        ):
            return error.response  # a limit's own answer (the OpenID doors' "wait a minute")
        return error_page(error) if _portal() else problem.from_http(error)

    @app.errorhandler(OperationalError)
    def _database_unavailable(error: OperationalError):
        # SQLite busy past its timeout, or PostgreSQL unreachable: the client should retry.
        db.session.rollback()
        log.warning("database unavailable: %s", type(error.orig).__name__)
        if _portal():
            return error_page(ServiceUnavailable())
        return problem.problem(
            503,
            "unavailable",
            "Service Unavailable",
            say(N_("The database is busy. Try again shortly.")),
            headers={"Retry-After": "2"},
        )

    @app.errorhandler(Exception)
    def _unhandled(error: Exception):
        db.session.rollback()
        return error_page(error) if _portal() else problem.internal_error(error)


def record_refusal(error: MuliError) -> None:
    """A refused attempt to reach another patient or team (`error.refusal`, set by the access
    policy) becomes the security event `access.refused`, committed on its own: the request's
    work is rolled back first. Bounded per actor and minute (`muli.trust.refusals`). If the
    database cannot take it now, the answer is still the refusal (and the log says so)."""
    from api.context import anonymous_ctx
    from muli.trust import refusals

    if not isinstance(error.refusal, refusals.Refusal):
        return
    db.session.rollback()
    rule = request.url_rule.rule if request.url_rule is not None else "(no route)"
    tried = f"{request.method} {rule}: {error.status} {error.code}"
    try:
        refusals.record(anonymous_ctx(), error.refusal, tried)
        db.session.commit()
    except (OperationalError, IntegrityError):
        db.session.rollback()
        log.warning("refused attempt not recorded: database unavailable")


def register_request_hooks(app: Flask) -> None:
    """The hooks every request runs. They read Flask's `request` and `g` through their
    objects (`_get_current_object()`, as werkzeug's LocalProxy documents for an object used
    several times), not through the proxies on each use: a proxy's every attribute is a
    context-variable lookup and two or three Python calls."""
    from api import problem

    def _start():
        req = request._get_current_object()  # type: ignore[attr-defined]
        g._get_current_object().started = time.perf_counter()
        # The whole body first, before any hook or view touches the database (the token check
        # is a query): a phone on one bar of signal that sends its body a byte at a time then
        # holds a thread, never a database connection, snapshot or lock while it waits.
        if req.method in ("POST", "PUT", "PATCH", "DELETE"):
            req.get_data(cache=True)

    # First of all before-request hooks (the rate limiter and CSRF registered theirs earlier).
    app.before_request_funcs.setdefault(None, []).insert(0, _start)

    @app.after_request
    def _finish(response):
        # One transaction per request: commit what succeeded, drop what did not.
        session = db.session()
        erases = session.info.pop(ERASES, False)
        if response.status_code < 400:
            try:
                _commit_at_end(session)
                if erases:
                    sqlite.erase_traces(db.engine)
            except IntegrityError:
                session.rollback()
                response = problem.problem(
                    409,
                    "conflict",
                    "Conflict",
                    say(N_("The request clashed with another change. Reload and try again.")),
                )
            except OperationalError:
                session.rollback()
                log.exception("database unavailable at commit")
                response = problem.problem(
                    503,
                    "unavailable",
                    "Service Unavailable",
                    say(N_("The database is busy. Try again shortly.")),
                    headers={"Retry-After": "2"},
                )
        else:
            session.rollback()
        session.info.pop(TOKEN_PERSON, None)
        req = request._get_current_object()  # type: ignore[attr-defined]
        request_id = _request_id()
        _headers(response, req, request_id, app.config.get("MULI_HSTS"))
        if log.isEnabledFor(logging.INFO):  # the line's fields are made only to be written
            ended = time.perf_counter()
            started = getattr(g._get_current_object(), "started", ended)
            log.info(
                "request",
                extra={
                    "method": req.method,
                    "path": req.path,
                    "status": response.status_code,
                    "ms": round((ended - started) * 1000, 1),
                    "request_id": request_id,
                },
            )
        return response


def _commit_at_end(session) -> None:
    """The request's one commit, once its answer is made. Nothing reads the session's objects
    after it (the session is removed at teardown), so they are not expired one by one first:
    that was a tenth of the commit's time on a plain read."""
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = True


def _request_id() -> str:
    from api.context import request_id

    return request_id()


_SECURITY_HEADERS = tuple((name, name.lower(), value) for name, value in SECURITY_HEADERS.items())
_CSP = "content-security-policy"


def _headers(response, req, request_id: str, hsts: str | None) -> None:
    # What Headers.setdefault would do for each, with the answer's header names read once.
    headers = response.headers
    present = {name.lower() for name, _ in headers.items()}
    for name, lower, value in _SECURITY_HEADERS:
        if lower not in present:
            headers.add(name, value)
    path = req.path
    if path.startswith("/api/docs"):
        if _CSP not in present:
            headers.add("Content-Security-Policy", DOCS_CSP)
    elif path == "/app" or path.startswith("/app/"):
        if _CSP not in present:
            headers.add("Content-Security-Policy", APP_CSP)
    elif path.startswith("/api/") or response.mimetype in (
        "application/json",
        "application/problem+json",
    ):
        if _CSP not in present:
            headers.add("Content-Security-Policy", API_CSP)
        headers["Cache-Control"] = "no-store"
    headers["X-Request-ID"] = request_id
    # HSTS: production, and only on an answer that went out over HTTPS (directly, or as the
    # trusted proxy's X-Forwarded-Proto says): browsers ignore it over plain HTTP anyway.
    if hsts and req.is_secure:
        response.headers["Strict-Transport-Security"] = hsts


# Text worth compressing (a phone on one bar of signal loads the app's scripts and styles).
COMPRESSIBLE = (
    "text/html",
    "text/css",
    "text/javascript",
    "application/javascript",
    "application/json",
    "application/problem+json",
    "application/manifest+json",
    "image/svg+xml",
)
# The token endpoints answer access and refresh tokens, and /refresh is driven by a cookie the
# browser sends by itself: never compressed (BREACH).
NEVER_COMPRESSED = ("/api/v1/auth/",)


def register_compression(app: Flask) -> None:
    """Brotli or gzip for text answers when the client accepts it (Flask-Compress).

    BREACH: compressing a body that holds a secret next to text an attacker chose lets the
    attacker, who can make the victim's browser send requests with its credentials and watch
    the answers' lengths, guess the secret a character at a time. So:
    - a response that set or echoes a token is never compressed: the /api/v1/auth/ answers
      (tokens; /refresh is sent by the browser with its refresh cookie), and every response
      for which a CSRF token was made (Flask-WTF keeps it in `g`): every portal page holds
      one in its forms beside text others wrote (a patient's message, a query string), so
      portal HTML goes uncompressed;
    - API JSON is compressed: its credential is a Bearer token the app sends itself, never
      one the browser adds, so another site cannot make authenticated requests to probe it;
    - except answers with an ETag the client sends back as If-Match (the plans, the meeting
      note): Flask-Compress appends the encoding to a strong ETag, which would make the
      next save fail with 412;
    - static files (the app's scripts and styles, manifests, icons) hold no secret at all.
    The hook is registered before the request hooks so that it runs after them (Flask runs
    after-request functions in reverse), on the final answer.
    """
    app.config.setdefault("COMPRESS_REGISTER", False)
    app.config.setdefault("COMPRESS_MIMETYPES", list(COMPRESSIBLE))
    app.config.setdefault("COMPRESS_ALGORITHM", ["br", "gzip"])
    app.config.setdefault("COMPRESS_STREAMS", False)
    app.config.setdefault("COMPRESS_EVALUATE_CONDITIONAL_REQUEST", True)  # 304 after compression
    compress.init_app(app)

    @app.after_request
    def _compress(response):
        if response.direct_passthrough:
            _read_and_close(response)
        path = request._get_current_object().path  # type: ignore[attr-defined]
        if (
            path.startswith(NEVER_COMPRESSED)
            or "csrf_token" in g._get_current_object()
            or response.status_code != 200
            or response.mimetype not in COMPRESSIBLE
            or (path.startswith("/api/") and "ETag" in response.headers)
        ):
            return response
        return compress.after_request(response)


STATIC_READ_LIMIT = 2 * 1024 * 1024


def _read_and_close(response) -> None:
    """Turn a static file's answer (an open file the server would stream) into bytes, and close
    the file now, whatever the answer's status: a 304 or a HEAD sends no body, a PNG is not
    compressed, and a client that drops the connection (a browser page closed mid-load) leaves
    closing the file to the server's response.close() or to the garbage collector — an open file
    found later, in another test, as a ResourceWarning. Static files are the service's own and
    small; anything larger than STATIC_READ_LIMIT is left to stream."""
    if (response.content_length or 0) > STATIC_READ_LIMIT:
        return
    source = response.response
    response.direct_passthrough = False
    try:
        if request.method == "HEAD" or response.status_code in (204, 304):
            body = b""
        else:
            body = b"".join(response.iter_encoded())
    finally:
        close = getattr(source, "close", None)
        if close is not None:
            close()
    # Headers (Content-Length, Content-Range of a 206) already describe these bytes.
    response.response = [body] if body else []


def register_commands(app: Flask) -> None:
    from muli.cli import muli_cli

    app.cli.add_command(muli_cli)
