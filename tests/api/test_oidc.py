"""Sign-in through ID-porten (patients) and HelseID (staff) against a real OpenID Provider:
oidc-provider on 127.0.0.1 (tests/oidc_op.py), configured as both. The browser's part at
the provider is played by `requests` through the provider's own login page; MULI is the
Flask test client. Negative cases: each refused with a clear answer and an audit event."""

from __future__ import annotations

import pytest

from tests.oidc_fixtures import (
    PATIENT_PID,
    audit_events,
    configure,
    enrol_as,
    start_providers,
)


@pytest.fixture(scope="module")
def op(app):
    with start_providers(app) as providers:
        yield providers


@pytest.fixture
def on(app, op):
    configure(app, op)
    yield op
    app.config["MULI_OIDC_PROVIDERS"] = {}


def callback_base(app, door: str) -> str:
    return app.config["MULI_PUBLIC_URL"].rstrip("/") + door


def start(client, path: str) -> str:
    r = client.get(path)
    assert r.status_code == 303, r.get_data(as_text=True)
    return r.headers["Location"]


def patient_callback(app, client, op, account="MinIDTestPasient", acr=None) -> str:
    """Start at MULI, sign in at the provider; the URL the provider sends the browser back to."""
    authorize = start(client, "/auth/idporten/login")
    return op.idporten.sign_in(
        authorize, account, acr=acr, stop_at=callback_base(app, "/auth/idporten/callback")
    )


def relative(url: str) -> str:
    return url[url.index("/", len("http://")) :]


def test_a_patient_signs_in_with_id_porten_and_gets_muli_tokens_as_after_a_password(app, client, world, on):
    care = world.care_team()
    enrol_as(app, care.patient.id, PATIENT_PID)
    authorize = start(client, "/auth/idporten/login")
    # A pushed authorization request: the browser carries only the request_uri.
    assert authorize.startswith(on.idporten.url + "/auth?")
    assert "request_uri=" in authorize and "code_challenge" not in authorize
    back = on.idporten.sign_in(
        authorize, "MinIDTestPasient", stop_at=callback_base(app, "/auth/idporten/callback")
    )
    r = client.get(relative(back))
    assert r.status_code == 303 and r.headers["Location"] == "/app/#/"
    cookies = r.headers.getlist("Set-Cookie")
    assert any(c.startswith("muli_refresh=") and "HttpOnly" in c for c in cookies)
    r = client.post("/api/v1/auth/refresh", json={"cookie": True})
    assert r.status_code == 200
    me = client.get("/api/v1/me", headers={"Authorization": "Bearer " + r.json["access_token"]})
    assert me.status_code == 200 and me.json["id"] == str(care.patient.id)
    events = audit_events(app, "auth.oidc_login")
    assert [(e.outcome, e.resource, e.patient_id) for e in events] == [("ok", "idporten", care.patient.id)]
