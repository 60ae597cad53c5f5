"""muli.extensions.RouteLimiter: Flask-Limiter with its before-request check skipped while
only route limits are declared. Every kind of limit Flask-Limiter knows must still be
counted: a limited route that stopped being limited fails here."""

from __future__ import annotations

import pytest
from flask import Blueprint, Flask

from muli.extensions import RouteLimiter, limiter

LIMIT = "2 per minute"


def _app(**limiter_options) -> tuple[Flask, RouteLimiter, Blueprint]:
    app = Flask(__name__)
    app.config.update(RATELIMIT_STORAGE_URI="memory://", RATELIMIT_HEADERS_ENABLED=True)
    app.config.update(limiter_options.pop("config", {}))
    limits = RouteLimiter(key_func=lambda: "192.0.2.1", **limiter_options)
    # Flask-Limiter knows views by their qualified names: one function per view.
    bp = Blueprint("bp", __name__, url_prefix="/bp")
    bp.add_url_rule("/open", "open", _view("in_blueprint"))
    app.add_url_rule("/open", "open", _view("open"))
    app.add_url_rule("/limited", "limited", limits.limit(LIMIT)(_view("limited")))
    shared = limits.shared_limit(LIMIT, scope="door")
    app.add_url_rule("/one", "one", shared(_view("one")))
    app.add_url_rule("/two", "two", shared(_view("two")))
    return app, limits, bp


def _view(name: str):
    def view():
        return "ok"

    view.__name__ = view.__qualname__ = name
    return view


def _statuses(client, path: str, n: int = 3) -> list[int]:
    return [client.get(path).status_code for _ in range(n)]


def test_route_limits_are_counted_and_unlimited_routes_are_not():
    app, limits, bp = _app()
    app.register_blueprint(bp)
    limits.init_app(app)
    assert limits._middleware_counts_nothing()  # the fast path is the one taken here
    client = app.test_client()
    assert _statuses(client, "/limited") == [200, 200, 429]
    first = app.test_client().get("/limited", environ_base={"REMOTE_ADDR": "x"})
    assert first.headers["X-RateLimit-Limit"] == "2"  # headers of a limited route's answers
    # A shared limit counts both routes together.
    assert [client.get("/one").status_code, client.get("/two").status_code] == [200, 200]
    assert client.get("/one").status_code == 429
    # No limit declared: never refused, and no limiter headers.
    answers = [client.get("/open") for _ in range(10)]
    assert {r.status_code for r in answers} == {200}
    assert not any("X-RateLimit-Limit" in r.headers for r in answers)


def test_a_blueprint_limit_is_counted():
    app, limits, bp = _app()
    limits.limit(LIMIT)(bp)
    app.register_blueprint(bp)
    limits.init_app(app)
    assert not limits._middleware_counts_nothing()
    assert _statuses(app.test_client(), "/bp/open") == [200, 200, 429]


@pytest.mark.parametrize(
    "options",
    [
        {"default_limits": [LIMIT]},
        {"config": {"RATELIMIT_DEFAULT": LIMIT}},
        {"application_limits": [LIMIT]},
        {"config": {"RATELIMIT_APPLICATION": LIMIT}},
    ],
    ids=["default", "default-config", "application", "application-config"],
)
def test_default_and_application_limits_are_counted_on_every_route(options):
    app, limits, bp = _app(**options)
    app.register_blueprint(bp)
    limits.init_app(app)
    assert _statuses(app.test_client(), "/open") == [200, 200, 429]


def test_a_meta_limit_is_counted():
    # Past two breaches a minute, every request is refused, limited route or not.
    app, limits, bp = _app(meta_limits=[LIMIT])
    app.register_blueprint(bp)
    limits.init_app(app)
    client = app.test_client()
    assert _statuses(client, "/limited", 5) == [200, 200, 429, 429, 429]
    assert client.get("/open").status_code == 429


def test_the_in_memory_fallbacks_limits_are_counted_while_the_storage_is_down(monkeypatch):
    app, limits, bp = _app(config={"RATELIMIT_IN_MEMORY_FALLBACK": LIMIT})
    app.register_blueprint(bp)
    limits.init_app(app)
    monkeypatch.setattr(limits._storage, "check", lambda: False)
    limits._storage_dead = True
    assert _statuses(app.test_client(), "/open") == [200, 200, 429]


def test_the_apps_limiter_is_the_route_limiter_and_declares_only_route_limits(app):
    # If a limit of another kind is ever declared, the before-request check runs again.
    assert isinstance(limiter, RouteLimiter)
    assert limiter._check_request_limit.__func__ is RouteLimiter._check_request_limit
    assert limiter._middleware_counts_nothing()


def test_the_apps_login_is_limited_and_says_so_and_other_routes_are_not(client):
    body = {"username": "ghost", "password": "not the password at all"}
    login = client.post("/api/v1/auth/token", json=body)
    assert login.status_code == 401
    assert login.headers["X-RateLimit-Limit"] == "20"
    assert login.headers["X-RateLimit-Remaining"] == "19"
    health = client.get("/healthz")
    assert health.status_code == 200 and "X-RateLimit-Limit" not in health.headers
