"""How the patient app tells an ended session from an ended account (issue 14).

A session that ends (logout elsewhere, a spent or expired refresh token, a forced end) is a
plain 401: the app drops its tokens and keeps the crisis plan on the phone. An account the
team disabled is a 401 whose problem type ends in `account-disabled`: the app then removes
everything it keeps."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from muli.cli import system_ctx
from muli.extensions import db
from muli.models.accounts import Account, RefreshToken
from muli.trust import accounts
from tests.factories import PASSWORD


@pytest.fixture
def patient(world):
    return world.patient(world.team())


def login(client, patient) -> str:
    r = client.post(
        "/api/v1/auth/token",
        json={"username": patient.account.username, "password": PASSWORD, "cookie": True},
    )
    assert r.status_code == 200
    return r.json["access_token"]


def refresh(client):
    return client.post("/api/v1/auth/refresh", json={"cookie": True})


def disable(app, patient) -> None:
    with app.app_context():
        ctx = system_ctx()
        accounts.disable_account(ctx, ctx.session.get(Account, patient.account.id))
        db.session.commit()


def end_sessions(app, patient) -> None:
    """What a forced end does: every refresh token of the account revoked."""
    with app.app_context():
        db.session.execute(
            update(RefreshToken)
            .where(RefreshToken.account_id == patient.account.id)
            .values(revoked_at=system_ctx().now())
        )
        db.session.commit()


def kind(response) -> str:
    return response.json["type"].rsplit("/", 1)[-1]


def test_a_disabled_account_is_told_so_on_refresh(client, app, patient):
    login(client, patient)
    disable(app, patient)
    r = refresh(client)
    assert r.status_code == 401
    assert kind(r) == "account-disabled"


def test_a_disabled_account_is_told_so_on_any_request(client, app, patient):
    token = login(client, patient)
    disable(app, patient)
    r = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401
    assert kind(r) == "account-disabled"


def test_an_ended_session_is_a_plain_401(client, app, patient):
    login(client, patient)
    end_sessions(app, patient)
    r = refresh(client)
    assert r.status_code == 401
    assert kind(r) == "authentication-failed"


def test_after_logout_the_old_access_token_is_a_plain_401(client, patient):
    token = login(client, patient)
    client.post("/api/v1/auth/logout", headers={"Authorization": f"Bearer {token}"})
    r = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401
    assert kind(r) == "authentication-failed"
