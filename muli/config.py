"""Settings from MULI_* environment variables, one class per environment."""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path

from muli.trust.oidc import ProviderConfig


class ConfigError(RuntimeError):
    """A setting that production cannot start without is missing or wrong."""


def _read_secret(path: str | None) -> str | None:
    if not path:
        return None
    try:
        return Path(path).read_text().strip() or None
    except OSError as error:
        raise ConfigError(f"cannot read {path}: {error.strerror}")


# Sign-in through national OpenID Providers (docs/oidc.md): what each defaults to. Off unless
# MULI_<NAME>_ISSUER and MULI_<NAME>_CLIENT_ID are set.
OIDC_DEFAULTS: dict[str, dict] = {
    "idporten": {
        "scopes": "openid profile",
        "acr": "idporten-loa-substantial",
        "acr_claim": "acr",
        "acr_levels": ("idporten-loa-low", "idporten-loa-substantial", "idporten-loa-high"),
        "pid_claim": "pid",
        "hpr_claim": None,
    },
    "helseid": {
        "scopes": "openid profile helseid://scopes/identity/pid "
        "helseid://scopes/identity/security_level helseid://scopes/hpr/hpr_number",
        "acr": "4",
        "acr_claim": "helseid://claims/identity/security_level",
        "acr_levels": ("1", "2", "3", "4"),
        "pid_claim": "helseid://claims/identity/pid",
        "hpr_claim": "helseid://claims/hpr/hpr_number",
    },
}


def oidc_providers(env=os.environ.get) -> dict[str, ProviderConfig]:
    """The providers configured by MULI_IDPORTEN_* and MULI_HELSEID_* (docs/oidc.md)."""
    found = {}
    for name, defaults in OIDC_DEFAULTS.items():
        prefix = f"MULI_{name.upper()}_"
        issuer, client_id = env(prefix + "ISSUER"), env(prefix + "CLIENT_ID")
        if not issuer or not client_id:
            continue
        key_text = env(prefix + "CLIENT_KEY") or _read_secret(env(prefix + "CLIENT_KEY_FILE"))
        try:
            key = json.loads(key_text) if key_text else None
        except ValueError:
            raise ConfigError(f"{prefix}CLIENT_KEY is not a JSON Web Key")
        levels = env(prefix + "ACR_LEVELS")
        found[name] = ProviderConfig(
            name=name,
            issuer=issuer,
            client_id=client_id,
            scopes=env(prefix + "SCOPES") or defaults["scopes"],
            acr=env(prefix + "ACR") or defaults["acr"],
            acr_claim=env(prefix + "ACR_CLAIM") or defaults["acr_claim"],
            acr_levels=tuple(levels.split()) if levels else defaults["acr_levels"],
            pid_claim=env(prefix + "PID_CLAIM") or defaults["pid_claim"],
            hpr_claim=env(prefix + "HPR_CLAIM") or defaults["hpr_claim"],
            client_key=key,
            client_secret=env(prefix + "CLIENT_SECRET") or _read_secret(env(prefix + "CLIENT_SECRET_FILE")),
            use_par=(env(prefix + "PAR") or "1") != "0",
            dpop=(env(prefix + "DPOP") or "0") == "1",
            redirect_uri=env(prefix + "REDIRECT_URI"),
            post_logout_redirect_uri=env(prefix + "POST_LOGOUT_REDIRECT_URI"),
        )
    return found


class Config:
    ENV_NAME = "development"
    TESTING = False
    # hide_parameters: a database error's message (logged with its traceback) names the
    # statement but never the values bound to it, which may be a patient's text. pool_pre_ping
    # is dropped for SQLite (muli.app.engine_options): a local file has no server to lose.
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True, "hide_parameters": True}
    # Login throttling: no lock-out, growing waits per username and source (docs/authentication.md).
    MULI_LOGIN_FREE_FAILURES = 5
    MULI_LOGIN_DELAY_CAP_SECONDS = 300
    MULI_LOGIN_ACCOUNT_CEILING = 20
    MULI_LOGIN_CEILING_FIRST_DELAY_SECONDS = 30
    MULI_LOGIN_WINDOW_SECONDS = 24 * 3600
    MULI_KNOWN_DEVICE_DAYS = 180
    LOGIN_THROTTLE_SETTINGS = (
        "MULI_LOGIN_FREE_FAILURES",
        "MULI_LOGIN_DELAY_CAP_SECONDS",
        "MULI_LOGIN_ACCOUNT_CEILING",
        "MULI_LOGIN_CEILING_FIRST_DELAY_SECONDS",
        "MULI_LOGIN_WINDOW_SECONDS",
        "MULI_KNOWN_DEVICE_DAYS",
    )
    # Sessions that end (docs/authentication.md): staff API logins need password and code
    # again after this many hours; the portal's idle and absolute limits.
    MULI_STAFF_REAUTH_HOURS = 12
    MULI_PORTAL_IDLE_MINUTES = 30
    MULI_PORTAL_ABSOLUTE_HOURS = 10
    SESSION_SETTINGS = ("MULI_STAFF_REAUTH_HOURS", "MULI_PORTAL_IDLE_MINUTES", "MULI_PORTAL_ABSOLUTE_HOURS")
    MULI_IDEMPOTENCY_TTL = timedelta(hours=48)
    MULI_OUTBOX_KEEP_DAYS = 30  # retention of sent notifications and delivery attempts (docs/retention.md)
    MULI_HSTS: str | None = None  # production only (ProductionConfig)
    MULI_EMERGENCY_ACCESS_MINUTES = 30

    # Tokens: HS256 pinned both ways, audience and token type checked on every request.
    JWT_ALGORITHM = "HS256"
    JWT_DECODE_ALGORITHMS = ["HS256"]
    JWT_ACCESS_TOKEN_EXPIRES = timedelta(minutes=15)
    JWT_REFRESH_TOKEN_EXPIRES = timedelta(days=30)
    JWT_ENCODE_AUDIENCE = "muli-api"
    JWT_DECODE_AUDIENCE = "muli-api"
    JWT_ENCODE_ISSUER = "muli"
    JWT_DECODE_ISSUER = "muli"
    JWT_TOKEN_LOCATION = ["headers"]
    JWT_ERROR_MESSAGE_KEY = "detail"

    MAX_CONTENT_LENGTH = 1024 * 1024
    JSON_SORT_KEYS = False

    API_TITLE = "MULI API"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api"
    OPENAPI_JSON_PATH = "openapi.json"
    OPENAPI_SWAGGER_UI_PATH = "docs"
    OPENAPI_SWAGGER_UI_URL = "/api/docs/static/"

    RATELIMIT_HEADERS_ENABLED = True
    # Flask-Limiter would set Retry-After on every answer of a limited route, raised to the end
    # of its window; its own 429s get theirs from muli/extensions.py instead, and the login
    # throttle's 429s keep their exact wait.
    RATELIMIT_HEADER_RETRY_AFTER = "X-RateLimit-Retry-After"
    RATELIMIT_ENABLED = True
    # Redis down must not lock a patient out at 2 a.m.: count in this process meanwhile
    # (the per-username throttle is in the database and does not depend on it).
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    RATELIMIT_SWALLOW_ERRORS = True

    BABEL_DEFAULT_LOCALE = "nb"
    BABEL_DEFAULT_TIMEZONE = "Europe/Oslo"
    MULI_LOCALES = ("nb", "en")

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    PERMANENT_SESSION_LIFETIME = timedelta(hours=10)
    WTF_CSRF_TIME_LIMIT = None

    def __init__(self) -> None:
        env = os.environ.get
        default_instance = Path(__file__).resolve().parent.parent / "instance"
        self.INSTANCE_DIR = Path(env("MULI_INSTANCE_DIR") or default_instance)
        self.SECRET_KEY = env("MULI_SECRET_KEY") or self.SECRET_KEY
        self.JWT_SECRET_KEY = env("MULI_JWT_SECRET") or self.JWT_SECRET_KEY
        self.SQLALCHEMY_DATABASE_URI = env("MULI_DATABASE_URL") or self.default_database_url()
        self.MULI_DATA_KEYS = env("MULI_DATA_KEYS")
        self.MULI_BLIND_INDEX_KEY = env("MULI_BLIND_INDEX_KEY")
        # The audit chain's HMAC keys and the checkpoints' signing keys (docs/audit-trail.md):
        # from the variable, or from the file its _FILE variant names; generated in development.
        self.MULI_AUDIT_KEYS = env("MULI_AUDIT_KEYS") or _read_secret(env("MULI_AUDIT_KEYS_FILE"))
        self.MULI_AUDIT_SIGNING_KEYS = env("MULI_AUDIT_SIGNING_KEYS") or _read_secret(
            env("MULI_AUDIT_SIGNING_KEYS_FILE")
        )
        # Where checkpoints of the audit chain are appended, outside the database.
        self.MULI_AUDIT_ANCHOR_FILE = Path(
            env("MULI_AUDIT_ANCHOR_FILE") or self.INSTANCE_DIR / "audit-anchors.jsonl"
        )
        self.MULI_AUDIT_CHECKPOINT_SECONDS = float(env("MULI_AUDIT_CHECKPOINT_SECONDS") or 300)
        # verify-audit fails on events not sealed by the worker this long after they happened.
        self.MULI_AUDIT_SEAL_BOUND = float(env("MULI_AUDIT_SEAL_BOUND") or 300)
        self.MULI_PUBLIC_URL = env("MULI_PUBLIC_URL", "http://127.0.0.1:5000")
        self.MULI_SMTP_URL = env("MULI_SMTP_URL")
        self.MULI_MAIL_FROM = env("MULI_MAIL_FROM", "muli@localhost")
        # Web Push: the VAPID private key (base64url raw P-256 or DER) and a contact for the
        # push services (mailto: or https:). Generated into instance/ in development.
        self.MULI_VAPID_PRIVATE_KEY = env("MULI_VAPID_PRIVATE_KEY")
        self.MULI_VAPID_SUBJECT = env("MULI_VAPID_SUBJECT") or f"mailto:{self.MULI_MAIL_FROM}"
        self.MULI_LOG_LEVEL = env("MULI_LOG_LEVEL", "INFO")
        self.RATELIMIT_STORAGE_URI = env("MULI_RATELIMIT_STORAGE_URL", "memory://")
        # How many reverse proxies (nginx) stand in front of the app and set X-Forwarded-*:
        # 0 (default) trusts none of those headers; behind one nginx set 1.
        self.MULI_TRUSTED_PROXIES = int(env("MULI_TRUSTED_PROXIES", "0"))
        for name in self.LOGIN_THROTTLE_SETTINGS + self.SESSION_SETTINGS:
            setattr(self, name, int(env(name) or getattr(self, name)))
        self.MULI_OUTBOX_KEEP_DAYS = int(env("MULI_OUTBOX_KEEP_DAYS") or self.MULI_OUTBOX_KEEP_DAYS)
        # ID-porten (patients) and HelseID (staff): off unless configured (docs/oidc.md).
        self.MULI_OIDC_PROVIDERS = oidc_providers(env)

    SECRET_KEY: str | None = None
    JWT_SECRET_KEY: str | None = None

    def default_database_url(self) -> str:
        return f"sqlite:///{self.INSTANCE_DIR / 'muli.sqlite3'}"

    def check(self) -> None:
        """Fail fast when a setting this environment cannot run without is missing."""


class DevelopmentConfig(Config):
    """Laptop defaults: SQLite in instance/, keys generated into instance/ with a warning."""


class TestingConfig(Config):
    ENV_NAME = "testing"
    TESTING = True
    SECRET_KEY = "test-secret-key-not-for-production"  # noqa: S105 - tests only
    JWT_SECRET_KEY = "test-jwt-secret-not-for-production-0123456789"  # noqa: S105 - tests only


class ProductionConfig(Config):
    ENV_NAME = "production"
    SESSION_COOKIE_SECURE = True
    # Strict-Transport-Security on every HTTPS answer (nginx adds the same: deploy/).
    MULI_HSTS = "max-age=31536000; includeSubDomains"

    REQUIRED = {
        "SECRET_KEY": "MULI_SECRET_KEY",
        "JWT_SECRET_KEY": "MULI_JWT_SECRET",
        "MULI_DATA_KEYS": "MULI_DATA_KEYS",
        "MULI_BLIND_INDEX_KEY": "MULI_BLIND_INDEX_KEY",
        "MULI_AUDIT_KEYS": "MULI_AUDIT_KEYS",
        "MULI_AUDIT_SIGNING_KEYS": "MULI_AUDIT_SIGNING_KEYS",
    }

    def check(self) -> None:
        missing = [env for attr, env in self.REQUIRED.items() if not getattr(self, attr)]
        if missing:
            raise ConfigError("production refuses to start without " + ", ".join(missing))
        if self.SQLALCHEMY_DATABASE_URI.startswith("sqlite") and not os.environ.get("MULI_ALLOW_SQLITE"):
            raise ConfigError("production needs MULI_DATABASE_URL (PostgreSQL)")
        for provider in self.MULI_OIDC_PROVIDERS.values():
            if not provider.issuer.startswith("https://"):
                raise ConfigError(f"MULI_{provider.name.upper()}_ISSUER must be an https:// URL")


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def load(name: str | None = None) -> Config:
    """The settings for MULI_ENV (development by default), read now from the environment."""
    name = name or os.environ.get("MULI_ENV", "development")
    try:
        cls = CONFIGS[name]
    except KeyError:
        raise ConfigError(f"unknown MULI_ENV {name!r}; use one of {', '.join(CONFIGS)}")
    return cls()
