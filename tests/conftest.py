"""Fixtures: one app per test process on SQLite or PostgreSQL (MULI_TEST_DB), real commits,
every table emptied after each test."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from muli.config import TestingConfig
from muli.extensions import db, limiter
from muli.platform.crypto import new_key
from muli.trust.audit import new_signing_key
from tests import factories

TEST_DATA_KEYS = f"test1:{new_key()}"
TEST_INDEX_KEY = new_key()
TEST_AUDIT_KEYS = f"testa1:{new_key()}"
TEST_AUDIT_SIGNING_KEYS = f"tests1:{new_signing_key()}"


def database_kind() -> str:
    return os.environ.get("MULI_TEST_DB", "sqlite")


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def _admin_engine():
    admin_url = os.environ.get("MULI_TEST_PG_URL")
    if not admin_url:
        pytest.exit("MULI_TEST_DB=postgresql needs MULI_TEST_PG_URL (make test starts a server)", 2)
    return create_engine(admin_url, isolation_level="AUTOCOMMIT"), admin_url


def fresh_postgres_database(name: str) -> str:
    """Drop and create a database for this test process; answers its URL."""
    admin, admin_url = _admin_engine()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def drop_postgres_database(url: str) -> None:
    admin, _ = _admin_engine()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    admin.dispose()


def make_config(tmp_dir, database_url: str) -> TestingConfig:
    os.environ["MULI_INSTANCE_DIR"] = str(tmp_dir)
    config = TestingConfig()
    config.SQLALCHEMY_DATABASE_URI = database_url
    config.MULI_DATA_KEYS = TEST_DATA_KEYS
    config.MULI_BLIND_INDEX_KEY = TEST_INDEX_KEY
    config.MULI_AUDIT_KEYS = TEST_AUDIT_KEYS
    config.MULI_AUDIT_SIGNING_KEYS = TEST_AUDIT_SIGNING_KEYS
    config.MULI_LOG_LEVEL = "WARNING"
    return config


def database_url_for(tmp_dir, suffix: str = "") -> str:
    if database_kind() == "postgresql":
        # The pid keeps concurrent test runs (two checkouts, two terminals) apart.
        return fresh_postgres_database(f"muli_test_{os.getpid()}_{_worker()}{suffix}")
    return f"sqlite:///{tmp_dir / f'muli{suffix}.sqlite3'}"


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    from flask_migrate import upgrade

    from muli.app import create_app

    tmp_dir = tmp_path_factory.mktemp("instance")
    url = database_url_for(tmp_dir)
    application = create_app(make_config(tmp_dir, url))
    with application.app_context():
        upgrade(revision="heads")
    yield application
    with application.app_context():
        db.engine.dispose()
    if database_kind() == "postgresql":
        drop_postgres_database(url)


def _empty_tables() -> None:
    # Only tables the migrations made: a model without its migration is caught by
    # tests/unit/test_migrations.py, not by every test failing here.
    existing = set(inspect(db.engine).get_table_names())
    tables = [t for t in db.metadata.sorted_tables if t.name in existing]
    if db.engine.dialect.name == "postgresql":
        names = ", ".join(f'"{t.name}"' for t in tables)
        db.session.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    else:
        for table in reversed(tables):
            db.session.execute(table.delete())
        if db.session.execute(text("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'")).first():
            # AUTOINCREMENT counters (audit_event.seq) start again, as RESTART IDENTITY does.
            db.session.execute(text("DELETE FROM sqlite_sequence"))
    db.session.commit()


@pytest.fixture(autouse=True)
def _clean_state(request):
    yield
    if "app" in request.fixturenames:
        application = request.getfixturevalue("app")
        with application.app_context():
            db.session.rollback()
            _empty_tables()
            db.session.remove()
        # The anchor file goes with the tables it vouches for.
        application.config["MULI_AUDIT_ANCHOR_FILE"].unlink(missing_ok=True)
        limiter.reset()
        application.extensions["muli.clock"] = factories.utcnow


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def app_ctx(app):
    with app.app_context():
        yield
        db.session.remove()


@pytest.fixture
def ctx(app, app_ctx):
    """A system unit of work on the test database, for domain tests."""
    from muli.cli import system_ctx

    return system_ctx()


class Clock:
    """A settable clock for the app: `clock.set(...)`, `clock.advance(minutes=...)`."""

    def __init__(self, app):
        self.app = app
        self.now = datetime(2026, 11, 21, 0, 40, tzinfo=UTC)
        app.extensions["muli.clock"] = lambda: self.now

    def set(self, when: datetime) -> None:
        self.now = when

    def advance(self, **delta) -> None:
        self.now = self.now + timedelta(**delta)


@pytest.fixture
def clock(app):
    return Clock(app)


@pytest.fixture
def cheap_argon2(monkeypatch):
    """For tests of what happens around the password check, a hundred checks at a time:
    accounts made after this get a cheap Argon2 hash, checked by a cheap hasher (so no
    rehash on login). Real cost stays everywhere else, and in the real-server tests."""
    from argon2 import PasswordHasher

    from muli.trust import accounts

    cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    monkeypatch.setattr(accounts, "_hasher", cheap)
    monkeypatch.setattr(accounts, "_DUMMY_HASH", cheap.hash("not-a-real-password"))
    monkeypatch.setattr(factories, "password_hash", lambda: cheap.hash(factories.PASSWORD))


@pytest.fixture
def world(app):
    """Builders for teams, staff and patients with ready-made auth headers."""
    return factories.World(app)


def new_key_id() -> str:
    return uuid.uuid4().hex[:8]
