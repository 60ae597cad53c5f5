"""The composition root: create_app builds the app from settings, extensions and blueprints."""

from __future__ import annotations

import logging
import time

from flask import Flask, g, redirect, request
from sqlalchemy.exc import IntegrityError, OperationalError
from werkzeug.exceptions import HTTPException, ServiceUnavailable
from werkzeug.middleware.proxy_fix import ProxyFix

from muli import config as config_module
from muli.extensions import babel, csrf, db, jwt, limiter, migrate
from muli.models.base import utcnow
from muli.platform import sqlite
from muli.platform.context import Settings
from muli.platform.errors import MuliError
from muli.platform.log import configure as configure_logging
from muli.trust.keys import load_dev_secret, load_keyring, load_vapid_key

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
    app = Flask(__name__, instance_path=str(config.INSTANCE_DIR), static_folder=None)
    app.config.from_object(config)
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
    app.extensions["muli.settings"] = Settings(
        public_url=config.MULI_PUBLIC_URL,
        login_free_failures=config.MULI_LOGIN_FREE_FAILURES,
        login_delay_cap_seconds=config.MULI_LOGIN_DELAY_CAP_SECONDS,
        login_account_ceiling=config.MULI_LOGIN_ACCOUNT_CEILING,
        login_ceiling_first_delay_seconds=config.MULI_LOGIN_CEILING_FIRST_DELAY_SECONDS,
        login_window_seconds=config.MULI_LOGIN_WINDOW_SECONDS,
        known_device_days=config.MULI_KNOWN_DEVICE_DAYS,
        emergency_access_minutes=config.MULI_EMERGENCY_ACCESS_MINUTES,
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


def register_extensions(app: Flask) -> None:
    db.init_app(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            app.extensions["muli.sqlite_writers"] = sqlite.configure(db.engine)
    migrate.init_app(
        app, db, directory=str(config_module.Path(__file__).resolve().parent.parent / "migrations")
    )
    jwt.init_app(app)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=_select_locale)
    csrf.init_app(app)

    @jwt.token_in_blocklist_loader
    def _revoked(_header, payload):
        from api.context import anonymous_ctx
        from muli.trust.accounts import token_account

        # Kept for the request (a strong reference, so the session's identity map keeps the
        # account and its patient or staff row): api.context builds the Actor from it.
        g.muli_token_account = token_account(anonymous_ctx(), payload)
        return g.muli_token_account is None


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
        return error_page(error) if _portal() else problem.from_domain(error)

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException):
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
            "The database is busy. Try again shortly.",
            headers={"Retry-After": "2"},
        )

    @app.errorhandler(Exception)
    def _unhandled(error: Exception):
        db.session.rollback()
        return error_page(error) if _portal() else problem.internal_error(error)


def register_request_hooks(app: Flask) -> None:
    from api import problem

    def _start():
        g.started = time.perf_counter()
        # The whole body first, before any hook or view touches the database (the token check
        # is a query): a phone on one bar of signal that sends its body a byte at a time then
        # holds a thread, never a database connection, snapshot or lock while it waits.
        if request.method in ("POST", "PUT", "PATCH", "DELETE"):
            request.get_data(cache=True)

    # First of all before-request hooks (the rate limiter and CSRF registered theirs earlier).
    app.before_request_funcs.setdefault(None, []).insert(0, _start)

    @app.after_request
    def _finish(response):
        # One transaction per request: commit what succeeded, drop what did not.
        if response.status_code < 400:
            try:
                db.session.commit()
            except IntegrityError:
                db.session.rollback()
                response = problem.problem(
                    409,
                    "conflict",
                    "Conflict",
                    "The request clashed with another change. Reload and try again.",
                )
            except OperationalError:
                db.session.rollback()
                log.exception("database unavailable at commit")
                response = problem.problem(
                    503,
                    "unavailable",
                    "Service Unavailable",
                    "The database is busy. Try again shortly.",
                    headers={"Retry-After": "2"},
                )
        else:
            db.session.rollback()
        _headers(response)
        log.info(
            "request",
            extra={
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "ms": round((time.perf_counter() - g.get("started", time.perf_counter())) * 1000, 1),
                "request_id": g.get("request_id") or _request_id(),
            },
        )
        return response


def _request_id() -> str:
    from api.context import request_id

    return request_id()


def _headers(response) -> None:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    path = request.path
    if path.startswith("/api/docs"):
        response.headers.setdefault("Content-Security-Policy", DOCS_CSP)
    elif path == "/app" or path.startswith("/app/"):
        response.headers.setdefault("Content-Security-Policy", APP_CSP)
    elif path.startswith("/api/") or response.mimetype in (
        "application/json",
        "application/problem+json",
    ):
        response.headers.setdefault("Content-Security-Policy", API_CSP)
        response.headers["Cache-Control"] = "no-store"
    response.headers["X-Request-ID"] = _request_id()


def register_commands(app: Flask) -> None:
    from muli.cli import muli_cli

    app.cli.add_command(muli_cli)
