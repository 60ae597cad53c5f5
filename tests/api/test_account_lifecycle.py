"""Accounts that can be cut off (issue 15): an administrator (API and CLI) disables and enables,
forces a new password, resets the second factor, sees and ends a staff member's sessions; a
patient changes their password and ends their own sessions. All audited."""

from __future__ import annotations

from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import select

from muli.extensions import db
from muli.models.accounts import Account
from muli.models.audit import AuditEvent
from tests.factories import PASSWORD, bearer

TOKEN, REFRESH = "/api/v1/auth/token", "/api/v1/auth/refresh"
ADMIN = "/api/v1/admin/accounts"
NEW_PASSWORD = "a-brand-new-long-passphrase-9"


@pytest.fixture
def team(world):
    return world.team()


@pytest.fixture
def nurse(world, team):
    return world.staff(team)


@pytest.fixture
def admin(world, team):
    return world.staff(team, role="admin")


@pytest.fixture
def patient(world, team):
    return world.patient(team)


def staff_login(client, clock, login, password=PASSWORD, secret=None, **extra):
    clock.advance(seconds=30)  # a code of a step not used yet
    code = pyotp.TOTP(secret or login.totp_secret).at(clock.now)
    body = {"username": login.account.username, "password": password, "totp": code, **extra}
    return client.post(TOKEN, json=body)


def patient_login(client, patient, password=PASSWORD):
    return client.post(TOKEN, json={"username": patient.account.username, "password": password})


def audited(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_an_administrator_disables_and_enables_an_account(app, client, clock, admin, nurse):
    tokens = staff_login(client, clock, nurse).json
    r = client.post(f"{ADMIN}/{nurse.account.id}/disable", headers=admin.headers)
    assert r.status_code == 200, r.json
    assert r.json["disabled_at"]
    # At once: the access token, the refresh token, and signing in.
    assert client.get("/api/v1/staff/patients", headers=bearer(tokens["access_token"])).status_code == 401
    assert client.post(REFRESH, headers=bearer(tokens["refresh_token"])).status_code == 401
    assert staff_login(client, clock, nurse).status_code == 401
    assert client.post(f"{ADMIN}/{nurse.account.id}/enable", headers=admin.headers).status_code == 200
    assert staff_login(client, clock, nurse).status_code == 200
    (disabled,) = audited(app, "account.disable")
    (enabled,) = audited(app, "account.enable")
    assert disabled.actor_account_id == enabled.actor_account_id == admin.account.id
    assert disabled.resource_id == enabled.resource_id == str(nurse.account.id)


def test_only_an_administrator_may(client, world, team, nurse, patient):
    coordinator = world.staff(team, role="coordinator")
    for headers, status in ((coordinator.headers, 403), (nurse.headers, 403), (patient.headers, 403)):
        r = client.post(f"{ADMIN}/{nurse.account.id}/disable", headers=headers)
        assert r.status_code == status, r.json
    assert client.get(ADMIN, headers=coordinator.headers).status_code == 403


def test_an_administrator_cannot_disable_their_own_account(client, admin):
    r = client.post(f"{ADMIN}/{admin.account.id}/disable", headers=admin.headers)
    assert r.status_code == 403
    assert r.json["type"].endswith("own-account")


def test_a_forced_password_reset_asks_for_a_new_password_at_the_next_sign_in(
    app, client, clock, admin, nurse
):
    before = staff_login(client, clock, nurse).json
    assert client.post(f"{ADMIN}/{nurse.account.id}/password-reset", headers=admin.headers).status_code == 200
    assert client.post(REFRESH, headers=bearer(before["refresh_token"])).status_code == 401
    refused = staff_login(client, clock, nurse)
    assert refused.status_code == 403
    assert refused.json["type"].endswith("password-change-required")
    weak = staff_login(client, clock, nurse, new_password="short")
    assert weak.status_code == 422 and "new_password" in weak.json["errors"]
    assert staff_login(client, clock, nurse, new_password=NEW_PASSWORD).status_code == 200
    assert staff_login(client, clock, nurse).status_code == 401  # the old password is gone
    assert staff_login(client, clock, nurse, password=NEW_PASSWORD).status_code == 200
    assert len(audited(app, "account.password_reset")) == 1
    assert len(audited(app, "account.password_change")) == 1


def test_a_totp_reset_shows_a_new_secret_once_and_old_codes_die(app, client, clock, admin, nurse):
    r = client.post(f"{ADMIN}/{nurse.account.id}/totp-reset", headers=admin.headers)
    assert r.status_code == 200
    secret = r.json["secret"]
    assert r.json["otpauth_uri"].startswith("otpauth://totp/")
    assert secret != nurse.totp_secret
    assert staff_login(client, clock, nurse).status_code == 401  # a code from the old secret
    assert staff_login(client, clock, nurse, secret=secret).status_code == 200
    with app.app_context():
        stored = db.session.get(Account, nurse.account.id).totp_secret_enc
    assert secret not in stored  # sealed, never in plain text
    assert len(audited(app, "account.totp_reset")) == 1


def test_an_administrator_sees_a_staff_members_sessions_and_ends_one(app, client, clock, admin, nurse):
    phone = staff_login(client, clock, nurse, cookie=False).json
    desk = app.test_client()
    desk_tokens = staff_login(desk, clock, nurse).json
    listed = client.get(f"{ADMIN}/{nurse.account.id}/sessions", headers=admin.headers)
    assert listed.status_code == 200
    assert [s["kind"] for s in listed.json["items"]] == ["api", "api"]
    newest = listed.json["items"][0]
    assert {"created_at", "last_used_at", "user_agent"} <= set(newest)
    ended = client.delete(f"{ADMIN}/{nurse.account.id}/sessions/{newest['id']}", headers=admin.headers)
    assert ended.status_code == 204
    answers = [
        client.post(REFRESH, headers=bearer(t["refresh_token"])).status_code for t in (phone, desk_tokens)
    ]
    assert sorted(answers) == [200, 401]
    (event,) = audited(app, "session.end")
    assert event.resource_id == newest["id"]
    missing = client.delete(f"{ADMIN}/{nurse.account.id}/sessions/{newest['id']}", headers=admin.headers)
    assert missing.status_code == 404


def test_the_staff_list_shows_each_account(client, admin, nurse):
    r = client.get(ADMIN, headers=admin.headers)
    assert r.status_code == 200
    assert {a["username"] for a in r.json["items"]} == {admin.account.username, nurse.account.username}


def test_a_patient_changes_their_password_and_other_devices_are_signed_out(app, client, patient):
    here = patient_login(client, patient).json
    other = patient_login(client, patient).json
    wrong = client.post(
        "/api/v1/account/password",
        headers=bearer(here["access_token"]),
        json={"current_password": "not my password at all", "new_password": NEW_PASSWORD},
    )
    assert wrong.status_code == 422 and "current_password" in wrong.json["errors"]
    r = client.post(
        "/api/v1/account/password",
        headers=bearer(here["access_token"]),
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
    )
    assert r.status_code == 204, r.json
    assert client.post(REFRESH, headers=bearer(other["refresh_token"])).status_code == 401
    assert client.post(REFRESH, headers=bearer(here["refresh_token"])).status_code == 200
    assert patient_login(client, patient).status_code == 401
    assert patient_login(client, patient, NEW_PASSWORD).status_code == 200
    outcomes = sorted(e.outcome for e in audited(app, "account.password_change"))
    assert outcomes == ["failed", "ok"]


def test_a_patient_sees_and_ends_their_own_sessions(client, patient, world, team):
    here = patient_login(client, patient).json
    other = patient_login(client, patient).json
    listed = client.get("/api/v1/account/sessions", headers=bearer(here["access_token"])).json["items"]
    assert len(listed) == 2
    (current,) = [s for s in listed if s["current"]]
    (lost_phone,) = [s for s in listed if not s["current"]]
    # Someone else's session is not mine to end.
    stranger = world.patient(team)
    assert (
        client.delete(f"/api/v1/account/sessions/{lost_phone['id']}", headers=stranger.headers).status_code
        == 404
    )
    assert (
        client.delete(
            f"/api/v1/account/sessions/{lost_phone['id']}", headers=bearer(here["access_token"])
        ).status_code
        == 204
    )
    assert client.post(REFRESH, headers=bearer(other["refresh_token"])).status_code == 401
    assert client.post(REFRESH, headers=bearer(here["refresh_token"])).status_code == 200
    assert current["kind"] == "api"


def test_the_command_line_cuts_an_account_off_and_lets_it_back(app, runner, client, clock, nurse):
    tokens = staff_login(client, clock, nurse).json
    result = runner.invoke(args=["muli", "account", "sessions", nurse.account.username])
    assert result.exit_code == 0 and " api " in result.output
    result = runner.invoke(args=["muli", "account", "disable", nurse.account.username])
    assert result.exit_code == 0, result.output
    assert client.post(REFRESH, headers=bearer(tokens["refresh_token"])).status_code == 401
    assert staff_login(client, clock, nurse).status_code == 401
    assert runner.invoke(args=["muli", "account", "enable", nurse.account.username]).exit_code == 0
    result = runner.invoke(args=["muli", "account", "reset-totp", nurse.account.username])
    assert result.exit_code == 0
    secret = result.output.split("(shown once): ")[1].split()[0]
    assert staff_login(client, clock, nurse, secret=secret).status_code == 200
    assert runner.invoke(args=["muli", "account", "reset-password", nurse.account.username]).exit_code == 0
    assert staff_login(client, clock, nurse, secret=secret).status_code == 403
    assert runner.invoke(args=["muli", "account", "disable", "nobody-such"]).exit_code != 0
    assert [e.actor_kind for e in audited(app, "account.disable")] == ["system"]


def test_ended_sessions_are_purged_after_their_keeping_time(app, client, clock, patient):
    from muli.trust import sessions

    tokens = patient_login(client, patient).json
    client.post("/api/v1/auth/logout", headers=bearer(tokens["access_token"]))
    with app.app_context():
        assert sessions.purge_ended_sessions(db.session, clock.now + timedelta(days=29)) == 0
        assert sessions.purge_ended_sessions(db.session, clock.now + timedelta(days=31)) == 2  # family, token
        db.session.commit()
