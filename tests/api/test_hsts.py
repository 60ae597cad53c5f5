"""Strict-Transport-Security: production sends it on HTTPS answers (directly, or behind the
trusted proxy), never over plain HTTP and never outside production; the nginx template sends
it on every answer, exactly once."""

import re

import pytest

from muli.app import create_app
from muli.config import ProductionConfig
from muli.extensions import db
from tests.conftest import (
    TEST_AUDIT_KEYS,
    TEST_AUDIT_SIGNING_KEYS,
    TEST_DATA_KEYS,
    TEST_INDEX_KEY,
    make_config,
)
from tests.reliability.cluster import TEMPLATE, render_site

HSTS = "Strict-Transport-Security"


@pytest.fixture
def production(app, tmp_path, monkeypatch):
    env = {
        "MULI_INSTANCE_DIR": str(tmp_path),
        "MULI_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "MULI_ALLOW_SQLITE": "1",
        "MULI_SECRET_KEY": "production-like-secret-for-a-test",
        "MULI_JWT_SECRET": "production-like-jwt-secret-for-a-test-0123456789",
        "MULI_DATA_KEYS": TEST_DATA_KEYS,
        "MULI_BLIND_INDEX_KEY": TEST_INDEX_KEY,
        "MULI_AUDIT_KEYS": TEST_AUDIT_KEYS,
        "MULI_AUDIT_SIGNING_KEYS": TEST_AUDIT_SIGNING_KEYS,
        "MULI_TRUSTED_PROXIES": "1",
        "MULI_LOG_LEVEL": "WARNING",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    application = create_app(ProductionConfig())
    yield application
    with application.app_context():
        db.engine.dispose()


def _max_age(value: str) -> int:
    match = re.fullmatch(r"max-age=(\d+); includeSubDomains", value)
    assert match, value
    return int(match.group(1))


def test_production_sends_hsts_over_https(production):
    client = production.test_client()
    direct = client.get("/healthz", base_url="https://muli.invalid")
    assert _max_age(direct.headers[HSTS]) >= 365 * 24 * 3600
    proxied = client.get("/portal/login", headers={"X-Forwarded-Proto": "https"})
    assert _max_age(proxied.headers[HSTS]) >= 365 * 24 * 3600
    problem = client.get("/api/v1/no-such-thing", base_url="https://muli.invalid")
    assert problem.status_code == 404 and HSTS in problem.headers  # error answers too


def test_production_sends_no_hsts_over_plain_http(production):
    assert HSTS not in production.test_client().get("/healthz").headers


def test_development_sends_no_hsts(app, tmp_path):
    application = create_app(make_config(tmp_path, app.config["SQLALCHEMY_DATABASE_URI"]))
    try:
        assert HSTS not in application.test_client().get("/healthz", base_url="https://x.invalid").headers
    finally:
        with application.app_context():
            db.engine.dispose()


def test_the_nginx_template_sends_hsts_on_every_answer_exactly_once():
    site = render_site("443 ssl", ["10.0.1.11:8000"], TEMPLATE.parent)
    server = site[site.index("server {") :]
    directives = [line.split("#")[0].strip() for line in server.splitlines()]
    added = [d for d in directives if d.startswith(f"add_header {HSTS} ")]
    assert len(added) == 1, added
    value = re.fullmatch(rf'add_header {HSTS} "([^"]+)" always;', added[0])
    assert value, added[0]
    assert _max_age(value.group(1)) >= 365 * 24 * 3600
    # add_header in a location would silently replace the server block's: there is none.
    location = server[server.index("location / {") :]
    assert "add_header" not in "\n".join(line.split("#")[0] for line in location.splitlines())
    # The app's own copy is hidden, so the answer carries one header, not two.
    assert f"proxy_hide_header {HSTS};" in directives
