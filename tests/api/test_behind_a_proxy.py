"""Behind nginx: the per-address login limit counts the client's address, not the proxy's."""

import pytest

from muli.app import create_app
from muli.extensions import db, limiter
from tests.conftest import make_config

TOKEN = "/api/v1/auth/token"
LIMIT = 20  # per minute per address (api/resources/auth.py)


def _app(app, tmp_path, proxies: int):
    config = make_config(tmp_path, app.config["SQLALCHEMY_DATABASE_URI"])
    config.MULI_TRUSTED_PROXIES = proxies
    application = create_app(config)
    yield application
    with application.app_context():
        db.engine.dispose()
    limiter.reset()


@pytest.fixture
def proxied(app, tmp_path):
    yield from _app(app, tmp_path, proxies=1)


@pytest.fixture
def direct(app, tmp_path):
    yield from _app(app, tmp_path, proxies=0)


def _attempt(client, n: int, forwarded_for: str):
    body = {"username": f"ghost{n}", "password": "not the password at all"}
    return client.post(TOKEN, json=body, headers={"X-Forwarded-For": forwarded_for})


def test_behind_one_proxy_each_client_address_has_its_own_login_limit(proxied):
    client = proxied.test_client()
    responses = [_attempt(client, n, "192.0.2.10") for n in range(LIMIT + 1)]
    answers = [r.status_code for r in responses]
    assert answers[:LIMIT] == [401] * LIMIT and answers[LIMIT] == 429
    # The limiter's own 429 says when to come back; its other answers carry no Retry-After
    # (which would otherwise override the login throttle's exact wait).
    assert 1 <= int(responses[LIMIT].headers["Retry-After"]) <= 61
    assert responses[LIMIT].content_type == "application/problem+json"
    assert all("Retry-After" not in r.headers for r in responses[:LIMIT])
    assert _attempt(client, 99, "192.0.2.11").status_code == 401  # another phone is not blocked


def test_without_a_trusted_proxy_a_forged_forwarded_for_does_not_dodge_the_limit(direct):
    client = direct.test_client()
    answers = [_attempt(client, n, f"192.0.2.{n}").status_code for n in range(LIMIT + 1)]
    assert answers[LIMIT] == 429
