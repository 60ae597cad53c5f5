"""API logins that really end (issue 15): logout, refresh replay, the staff re-authentication
limit, and a forced end in the second a token was issued."""

from __future__ import annotations

import dataclasses
import threading
from datetime import UTC, datetime, timedelta

import jwt as pyjwt
import pyotp
import pytest
from sqlalchemy import select

from muli.extensions import db
from muli.models.accounts import Account
from muli.models.audit import AuditEvent
from tests.factories import PASSWORD, bearer

TOKEN, REFRESH, LOGOUT = "/api/v1/auth/token", "/api/v1/auth/refresh", "/api/v1/auth/logout"
STAFF_PAGE, PATIENT_PAGE = "/api/v1/staff/patients", "/api/v1/me/crisis-plan"


@pytest.fixture
def team(world):
    return world.team()


@pytest.fixture
def nurse(world, team):
    return world.staff(team)


@pytest.fixture
def patient(world, team):
    return world.patient(team)


def staff_login(client, nurse, at=None):
    code = pyotp.TOTP(nurse.totp_secret).at(at or datetime.now(UTC))
    r = client.post(TOKEN, json={"username": nurse.account.username, "password": PASSWORD, "totp": code})
    assert r.status_code == 200, r.json
    return r.json


def patient_login(client, patient):
    r = client.post(TOKEN, json={"username": patient.account.username, "password": PASSWORD})
    assert r.status_code == 200, r.json
    return r.json


def refresh(client, token):
    return client.post(REFRESH, headers=bearer(token))


def actions(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)))


# Finding: logout without the refresh token left that login's refresh token working.


def test_logout_without_the_refresh_token_ends_that_logins_refresh_token(client, patient):
    tokens = patient_login(client, patient)
    other = patient_login(client, patient)  # the same person on another device
    assert client.post(LOGOUT, headers=bearer(tokens["access_token"])).status_code == 204
    assert refresh(client, tokens["refresh_token"]).status_code == 401
    assert client.get(PATIENT_PAGE, headers=bearer(tokens["access_token"])).status_code == 401
    # Only that login ended: the other device carries on.
    assert refresh(client, other["refresh_token"]).status_code == 200


def test_logout_with_a_refreshed_access_token_ends_the_whole_login(client, patient):
    tokens = patient_login(client, patient)
    newer = refresh(client, tokens["refresh_token"]).json
    assert client.post(LOGOUT, headers=bearer(newer["access_token"])).status_code == 204
    assert refresh(client, newer["refresh_token"]).status_code == 401


# Finding: a refresh token replayed within 60 s took the session over.


def test_a_lost_answer_is_survived_by_retrying_with_the_old_token(app, client, patient):
    tokens = patient_login(client, patient)
    lost = refresh(client, tokens["refresh_token"])  # the phone never saw this answer
    assert lost.status_code == 200
    retry = refresh(client, tokens["refresh_token"])
    assert retry.status_code == 200
    assert retry.json["refresh_token"] == lost.json["refresh_token"]  # the same successor
    assert client.get(PATIENT_PAGE, headers=bearer(retry.json["access_token"])).status_code == 200
    onward = refresh(client, retry.json["refresh_token"])
    assert onward.status_code == 200
    assert refresh(client, onward.json["refresh_token"]).status_code == 200
    assert "auth.refresh_reuse" not in actions(app)


def test_a_replay_after_the_client_moved_on_ends_the_login_and_is_a_security_event(app, client, patient):
    tokens = patient_login(client, patient)
    first = refresh(client, tokens["refresh_token"]).json
    second = refresh(client, first["refresh_token"]).json  # the rightful client moved on
    stolen = refresh(client, tokens["refresh_token"])  # a copy of the first token, replayed at once
    assert stolen.status_code == 401
    # The whole login ends: its newest refresh token and its access tokens too.
    assert refresh(client, second["refresh_token"]).status_code == 401
    assert client.get(PATIENT_PAGE, headers=bearer(second["access_token"])).status_code == 401
    with app.app_context():
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "auth.refresh_reuse")).one()
    assert event.outcome == "revoked_family"
    assert event.resource == "refresh_token_family"
    assert "auth.refresh_retry" not in actions(app)
    # The person signs in again and is not hindered.
    assert refresh(client, patient_login(client, patient)["refresh_token"]).status_code == 200


def test_a_replay_racing_the_client_gets_nothing_the_client_does_not_hold(app, client, clock, patient):
    clock.set(datetime.now(UTC))
    tokens = patient_login(client, patient)
    rightful = refresh(client, tokens["refresh_token"]).json
    replayed = refresh(client, tokens["refresh_token"])  # before the client used its new token
    assert replayed.status_code == 200
    assert replayed.json["refresh_token"] == rightful["refresh_token"]
    # The rightful client is not cut off: it carries on with its token.
    onward = refresh(client, rightful["refresh_token"])
    assert onward.status_code == 200
    assert client.get(PATIENT_PAGE, headers=bearer(onward.json["access_token"])).status_code == 200
    # The replayer's copy, superseded and used, ends the login for everyone once it is no
    # prompt retry (60 s), and that is a security event.
    clock.advance(seconds=61)
    assert refresh(client, replayed.json["refresh_token"]).status_code == 401
    assert refresh(client, onward.json["refresh_token"]).status_code == 401
    assert "auth.refresh_reuse" in actions(app)


def test_two_refreshes_at_the_same_moment_get_the_same_successor(app, patient):
    tokens = patient_login(app.test_client(), patient)
    barrier, answers = threading.Barrier(2, timeout=30), []

    def send() -> None:
        client = app.test_client()
        barrier.wait()
        answers.append(refresh(client, tokens["refresh_token"]))

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert [a.status_code for a in answers] == [200, 200], [a.json for a in answers]
    assert answers[0].json["refresh_token"] == answers[1].json["refresh_token"]
    assert refresh(app.test_client(), answers[0].json["refresh_token"]).status_code == 200


def test_a_retry_after_the_grace_ends_the_login(client, clock, patient):
    clock.set(datetime.now(UTC))
    tokens = patient_login(client, patient)
    lost = refresh(client, tokens["refresh_token"]).json
    clock.advance(seconds=61)
    assert refresh(client, tokens["refresh_token"]).status_code == 401
    assert refresh(client, lost["refresh_token"]).status_code == 401


# Finding: a staff refresh token lasted 30 days without the second factor.


def test_a_staff_login_needs_password_and_code_again_after_12_hours(client, clock, nurse):
    clock.set(datetime.now(UTC))
    tokens = staff_login(client, nurse)
    for _ in range(11):  # refreshed every hour, as a busy day would
        clock.advance(hours=1)
        tokens = refresh(client, tokens["refresh_token"]).json
        assert "refresh_token" in tokens, tokens
    clock.advance(hours=1)
    r = refresh(client, tokens["refresh_token"])
    assert r.status_code == 401
    assert r.json["type"].endswith("reauthentication-required")
    assert client.get(STAFF_PAGE, headers=bearer(tokens["access_token"])).status_code == 401
    # Password and a fresh code start a new login.
    fresh = staff_login(client, nurse, at=clock.now + timedelta(seconds=30))
    assert client.get(STAFF_PAGE, headers=bearer(fresh["access_token"])).status_code == 200


def test_the_staff_limit_is_configurable_and_patients_have_none(
    app, client, clock, monkeypatch, nurse, patient
):
    settings = app.extensions["muli.settings"]
    monkeypatch.setitem(app.extensions, "muli.settings", dataclasses.replace(settings, staff_reauth_hours=2))
    clock.set(datetime.now(UTC))
    staff_tokens, patient_tokens = staff_login(client, nurse), patient_login(client, patient)
    clock.advance(hours=2, seconds=1)
    assert refresh(client, staff_tokens["refresh_token"]).status_code == 401
    assert refresh(client, patient_tokens["refresh_token"]).status_code == 200


# Whole seconds: a token issued in the second of a forced end survived it.


def test_a_token_issued_in_the_same_second_as_a_forced_end_does_not_survive(app, client, patient):
    issued = pyjwt.decode(patient.headers["Authorization"][7:], options={"verify_signature": False})["iat"]
    assert client.get(PATIENT_PAGE, headers=patient.headers).status_code == 200
    with app.app_context():
        account = db.session.get(Account, patient.account.id)
        # The forced end came after the token, within the same second.
        account.tokens_valid_after = datetime.fromtimestamp(issued, UTC) + timedelta(microseconds=999_000)
        db.session.commit()
    assert client.get(PATIENT_PAGE, headers=patient.headers).status_code == 401


def test_ending_all_sessions_ends_a_login_made_in_the_same_second_before_it(app, client, patient):
    from muli.cli import system_ctx
    from muli.trust import sessions

    tokens = patient_login(client, patient)
    with app.app_context():
        sessions.end_all_sessions(system_ctx(), db.session.get(Account, patient.account.id), "password")
        db.session.commit()
    assert client.get(PATIENT_PAGE, headers=bearer(tokens["access_token"])).status_code == 401
    assert refresh(client, tokens["refresh_token"]).status_code == 401
    # A login right after (the same second, often) is not caught by the end before it.
    again = patient_login(client, patient)
    assert client.get(PATIENT_PAGE, headers=bearer(again["access_token"])).status_code == 200
