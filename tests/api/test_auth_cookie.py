"""The refresh token in an HttpOnly cookie: how the patient app keeps it away from scripts."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.factories import PASSWORD

COOKIE = "muli_refresh"


@pytest.fixture
def patient(world):
    return world.patient(world.team())


def _login(client, patient, **extra):
    return client.post(
        "/api/v1/auth/token",
        json={"username": patient.account.username, "password": PASSWORD, **extra},
    )


def _set_cookie_header(response) -> str:
    headers = [h for h in response.headers.getlist("Set-Cookie") if h.startswith(f"{COOKIE}=")]
    assert len(headers) == 1, response.headers.getlist("Set-Cookie")
    return headers[0]


def _cookie_value(response) -> str:
    return _set_cookie_header(response).split(";", 1)[0].split("=", 1)[1]


def _refresh(client, **kwargs):
    return client.post("/api/v1/auth/refresh", json={"cookie": True}, **kwargs)


def test_login_with_cookie_sets_an_httponly_strict_cookie_on_the_auth_path(client, patient):
    response = _login(client, patient, cookie=True)
    assert response.status_code == 200
    header = _set_cookie_header(response)
    assert "HttpOnly" in header
    assert "SameSite=Strict" in header
    assert "Path=/api/v1/auth" in header
    assert "Max-Age=" in header


def test_login_with_cookie_leaves_the_refresh_token_out_of_the_body(client, patient):
    body = _login(client, patient, cookie=True).get_json()
    assert body["access_token"]
    assert body["token_type"] == "Bearer"
    assert "refresh_token" not in body


def test_the_cookie_is_secure_where_session_cookies_are(app, client, patient):
    app.config["SESSION_COOKIE_SECURE"] = True
    try:
        assert "Secure" in _set_cookie_header(_login(client, patient, cookie=True))
    finally:
        app.config["SESSION_COOKIE_SECURE"] = False


def test_login_without_cookie_answers_as_before(client, patient):
    response = _login(client, patient)
    assert response.get_json()["refresh_token"]
    # Only the known-device cookie (tests/api/test_login_throttle.py), never the refresh token.
    cookies = response.headers.getlist("Set-Cookie")
    assert [c.split("=", 1)[0] for c in cookies] == ["muli_device"]


def test_refresh_reads_the_cookie_and_rotates_it(client, patient):
    first = _cookie_value(_login(client, patient, cookie=True))
    response = _refresh(client)
    assert response.status_code == 200
    assert response.get_json()["access_token"]
    assert "refresh_token" not in response.get_json()
    assert _cookie_value(response) != first


def test_the_refreshed_access_token_reaches_the_api(client, patient):
    _login(client, patient, cookie=True)
    access = _refresh(client).get_json()["access_token"]
    response = client.post("/api/v1/auth/logout", headers={"Authorization": f"Bearer {access}"})
    assert response.status_code == 204


def test_refresh_with_a_spent_cookie_ends_the_whole_family(client, clock, patient):
    clock.set(datetime.now(UTC))
    first = _cookie_value(_login(client, patient, cookie=True))
    second = _cookie_value(_refresh(client))
    clock.advance(seconds=61)  # past the grace for a retry after a lost answer
    client.set_cookie(COOKIE, first, path="/api/v1/auth")
    assert _refresh(client).status_code == 401
    client.set_cookie(COOKIE, second, path="/api/v1/auth")
    assert _refresh(client).status_code == 401


def test_refresh_asking_for_the_cookie_without_one_is_401_problem(client):
    response = _refresh(client)
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"


def test_refresh_refuses_an_access_token_in_the_cookie(client, patient):
    access = _login(client, patient, cookie=True).get_json()["access_token"]
    client.set_cookie(COOKIE, access, path="/api/v1/auth")
    assert _refresh(client).status_code == 401


def test_refresh_refuses_a_forged_cookie(client):
    client.set_cookie(COOKIE, "not.a.token", path="/api/v1/auth")
    assert _refresh(client).status_code == 401


def test_refresh_without_the_cookie_flag_still_wants_a_bearer(client, patient):
    _login(client, patient, cookie=True)
    assert client.post("/api/v1/auth/refresh").status_code == 401


def test_bearer_refresh_is_unchanged(client, patient):
    refresh = _login(client, patient).get_json()["refresh_token"]
    response = client.post("/api/v1/auth/refresh", headers={"Authorization": f"Bearer {refresh}"})
    assert response.status_code == 200
    assert response.get_json()["refresh_token"]
    assert not response.headers.getlist("Set-Cookie")


def test_logout_revokes_and_clears_the_cookie(client, patient):
    access = _login(client, patient, cookie=True).get_json()["access_token"]
    cookie = client.get_cookie(COOKIE, path="/api/v1/auth").value
    response = client.post("/api/v1/auth/logout", headers={"Authorization": f"Bearer {access}"})
    assert response.status_code == 204
    assert "Max-Age=0" in _set_cookie_header(response) or "Expires=Thu, 01 Jan 1970" in (
        _set_cookie_header(response)
    )
    client.set_cookie(COOKIE, cookie, path="/api/v1/auth")
    assert _refresh(client).status_code == 401


def test_the_cookie_option_is_in_the_openapi_document(client):
    spec = client.get("/api/openapi.json").get_json()
    schemas = spec["components"]["schemas"]
    token_in = next(v for k, v in schemas.items() if k.startswith("Token") and "password" in v["properties"])
    assert "cookie" in token_in["properties"]
    assert "HttpOnly" in token_in["properties"]["cookie"]["description"]
    assert any(
        "cookie" in v.get("properties", {}) and "password" not in v["properties"] for v in schemas.values()
    )
