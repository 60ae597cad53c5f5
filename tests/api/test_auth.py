"""Accounts and login as API.md says: activate, token, refresh, logout; and what must fail."""

from datetime import UTC, datetime, timedelta

import jwt as pyjwt
import pyotp
import pytest

from muli.extensions import db
from muli.models.accounts import Account
from muli.trust import national_id
from tests.factories import PASSWORD, bearer

TOKEN = "/api/v1/auth/token"


def login(client, username, password=PASSWORD, totp=None):
    body = {"username": username, "password": password}
    if totp:
        body["totp"] = totp
    return client.post(TOKEN, json=body)


@pytest.fixture
def team(world):
    return world.team()


@pytest.fixture
def patient(world, team):
    return world.patient(team)


@pytest.fixture
def nurse(world, team):
    return world.staff(team)


def enrol_and_get_code(client, world, team):
    agency = world.agency()
    coordinator = world.staff(team, role="coordinator", agency=agency)
    nid = next(national_id.synthetic_numbers(datetime(1980, 5, 5).date()))
    body = {"display_name": "Kari", "national_id": nid, "team_id": str(team.id), "criteria_confirmed": True}
    r = client.post("/api/v1/staff/patients", headers=coordinator.headers, json=body)
    assert r.status_code == 201, r.json
    return r.json["activation_code"]


def test_a_patient_activates_once_and_can_then_log_in(client, world, team):
    code = enrol_and_get_code(client, world, team)
    r = client.post("/api/v1/auth/activate", json={"activation_code": code, "username": "kari.n",
                                                  "password": "en lang og god setning"})  # fmt: skip
    assert r.status_code == 201
    assert login(client, "kari.n", "en lang og god setning").status_code == 200


def test_an_activation_code_works_only_once(client, world, team):
    code = enrol_and_get_code(client, world, team)
    body = {"activation_code": code, "username": "first", "password": "en lang og god setning"}
    assert client.post("/api/v1/auth/activate", json=body).status_code == 201
    again = client.post("/api/v1/auth/activate", json={**body, "username": "second"})
    assert again.status_code == 400
    assert again.json["type"].endswith("activation-code-invalid")


def test_an_expired_activation_code_is_refused(client, world, team, clock):
    clock.set(datetime.now(UTC))
    code = enrol_and_get_code(client, world, team)
    clock.advance(days=7, seconds=1)
    r = client.post("/api/v1/auth/activate", json={"activation_code": code, "username": "late",
                                                  "password": "en lang og god setning"})  # fmt: skip
    assert r.status_code == 400


@pytest.mark.parametrize("password", ["short", "password123", "1234567890"])
def test_activation_refuses_short_or_common_passwords(client, world, team, password):
    code = enrol_and_get_code(client, world, team)
    r = client.post("/api/v1/auth/activate", json={"activation_code": code, "username": "kari",
                                                  "password": password})  # fmt: skip
    assert r.status_code == 422
    assert "password" in r.json["errors"]


def test_a_patient_logs_in_with_password_alone(client, patient):
    r = login(client, patient.account.username)
    assert r.status_code == 200
    assert r.json["token_type"] == "Bearer"
    assert r.json["expires_in"] == 900


def test_wrong_password_and_unknown_user_get_the_same_answer(client, patient):
    wrong = login(client, patient.account.username, "not the password at all")
    unknown = login(client, "nobody-here", "not the password at all")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json == unknown.json


def test_staff_without_totp_cannot_log_in(client, nurse):
    assert login(client, nurse.account.username).status_code == 401


def test_staff_with_a_valid_totp_code_log_in(client, nurse):
    assert login(client, nurse.account.username, totp=pyotp.TOTP(nurse.totp_secret).now()).status_code == 200


def test_a_totp_code_cannot_be_used_twice(client, nurse):
    code = pyotp.TOTP(nurse.totp_secret).now()
    assert login(client, nurse.account.username, totp=code).status_code == 200
    assert login(client, nurse.account.username, totp=code).status_code == 401


def _from(client, address, username, password=PASSWORD):
    return client.post(
        TOKEN, json={"username": username, "password": password}, environ_base={"REMOTE_ADDR": address}
    )


def test_repeated_failures_make_that_source_wait_but_lock_no_one_out(app, clock, patient):
    # Five failures from one address are free; the sixth makes that address wait 1 s.
    attacker, phone = app.test_client(), app.test_client()
    for _ in range(6):
        assert _from(attacker, "203.0.113.5", patient.account.username, "wrong password").status_code == 401
    waiting = _from(attacker, "203.0.113.5", patient.account.username)  # even the right password
    assert waiting.status_code == 429
    assert waiting.headers["Retry-After"] == "1", (waiting.json, waiting.headers)
    assert waiting.content_type == "application/problem+json"
    assert waiting.json["type"].endswith("too-many-attempts")
    # Nobody else waits: the right password from another address gets in at once.
    assert _from(phone, "198.51.100.7", patient.account.username).status_code == 200
    clock.advance(seconds=1)
    assert _from(attacker, "203.0.113.5", patient.account.username).status_code == 200


def test_unknown_usernames_are_slowed_the_same_way(clock, client, patient):
    known, unknown = patient.account.username, "ghost"
    answers = {name: [_from(client, "203.0.113.5", name, "wrong password").status_code for _ in range(7)]
               for name in (known, unknown)}  # fmt: skip
    assert answers[known] == answers[unknown] == [401] * 6 + [429]


def test_failed_logins_are_audited(client, app, patient):
    from sqlalchemy import select

    from muli.models.audit import AuditEvent

    login(client, patient.account.username, "wrong password here")
    with app.app_context():
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "auth.login")).all()
    assert [e.outcome for e in events] == ["failed"]


def _claims(app, token):
    return pyjwt.decode(token, app.config["JWT_SECRET_KEY"], algorithms=["HS256"], audience="muli-api")


def _forge(app, claims, key=None, algorithm="HS256"):
    return pyjwt.encode(claims, key or app.config["JWT_SECRET_KEY"], algorithm=algorithm)


ME = "/api/v1/staff/patients"


@pytest.fixture
def staff_tokens(client, nurse):
    return login(client, nurse.account.username, totp=pyotp.TOTP(nurse.totp_secret).now()).json


def test_a_valid_access_token_is_accepted(client, staff_tokens):
    assert client.get(ME, headers=bearer(staff_tokens["access_token"])).status_code == 200


def test_an_expired_access_token_is_refused(client, app, staff_tokens):
    claims = _claims(app, staff_tokens["access_token"])
    claims["exp"] = int((datetime.now(UTC) - timedelta(minutes=1)).timestamp())
    assert client.get(ME, headers=bearer(_forge(app, claims))).status_code == 401


def test_a_token_signed_with_another_key_is_refused(client, app, staff_tokens):
    claims = _claims(app, staff_tokens["access_token"])
    assert client.get(ME, headers=bearer(_forge(app, claims, key="x" * 40))).status_code == 401


def test_a_tampered_token_is_refused(client, staff_tokens):
    head, body, sig = staff_tokens["access_token"].split(".")
    tampered = f"{head}.{body[:-3]}abc.{sig}"
    assert client.get(ME, headers=bearer(tampered)).status_code == 401


def test_an_alg_none_token_is_refused(client, app, staff_tokens):
    claims = _claims(app, staff_tokens["access_token"])
    unsigned = pyjwt.encode(claims, None, algorithm="none")
    r = client.get(ME, headers=bearer(unsigned))
    assert r.status_code == 401
    assert r.content_type == "application/problem+json"


def test_a_token_for_another_audience_is_refused(client, app, staff_tokens):
    claims = _claims(app, staff_tokens["access_token"]) | {"aud": "someone-else"}
    assert client.get(ME, headers=bearer(_forge(app, claims))).status_code == 401


def test_a_refresh_token_is_not_an_access_token(client, staff_tokens):
    assert client.get(ME, headers=bearer(staff_tokens["refresh_token"])).status_code == 401


def test_refresh_gives_a_new_pair_and_spends_the_old_token(client, staff_tokens):
    r = client.post("/api/v1/auth/refresh", headers=bearer(staff_tokens["refresh_token"]))
    assert r.status_code == 200
    assert client.get(ME, headers=bearer(r.json["access_token"])).status_code == 200
    assert r.json["refresh_token"] != staff_tokens["refresh_token"]


def refresh(client, token):
    return client.post("/api/v1/auth/refresh", headers=bearer(token))


def test_reusing_a_spent_refresh_token_later_revokes_the_whole_family(client, clock, nurse):
    clock.set(datetime.now(UTC))
    tokens = login(client, nurse.account.username, totp=pyotp.TOTP(nurse.totp_secret).now()).json
    first = refresh(client, tokens["refresh_token"])
    clock.advance(seconds=61)
    assert refresh(client, tokens["refresh_token"]).status_code == 401
    # The thief's reuse ends the legitimate newer token too.
    assert refresh(client, first.json["refresh_token"]).status_code == 401


def test_reuse_after_the_newer_token_was_used_revokes_the_family_at_once(client, staff_tokens):
    first = refresh(client, staff_tokens["refresh_token"])
    second = refresh(client, first.json["refresh_token"])
    assert refresh(client, staff_tokens["refresh_token"]).status_code == 401
    assert refresh(client, second.json["refresh_token"]).status_code == 401


def test_a_prompt_retry_after_a_lost_answer_gets_the_same_successor(client, staff_tokens):
    lost = refresh(client, staff_tokens["refresh_token"])  # the phone never saw this answer
    retry = refresh(client, staff_tokens["refresh_token"])
    assert retry.status_code == 200
    assert retry.json["refresh_token"] == lost.json["refresh_token"]
    assert refresh(client, retry.json["refresh_token"]).status_code == 200


def test_an_access_token_cannot_refresh(client, staff_tokens):
    assert (
        client.post("/api/v1/auth/refresh", headers=bearer(staff_tokens["access_token"])).status_code == 401
    )


def test_logout_revokes_the_access_token_and_the_refresh_token(client, staff_tokens):
    r = client.post("/api/v1/auth/logout", headers=bearer(staff_tokens["access_token"]),
                    json={"refresh_token": staff_tokens["refresh_token"]})  # fmt: skip
    assert r.status_code == 204
    assert client.get(ME, headers=bearer(staff_tokens["access_token"])).status_code == 401
    assert (
        client.post("/api/v1/auth/refresh", headers=bearer(staff_tokens["refresh_token"])).status_code == 401
    )


def test_disabling_an_account_stops_its_tokens_at_once(client, app, staff_tokens, nurse):
    from muli.cli import system_ctx
    from muli.trust import accounts

    with app.app_context():
        ctx = system_ctx()
        accounts.disable_account(ctx, db.session.get(Account, nurse.account.id))
        db.session.commit()
    assert client.get(ME, headers=bearer(staff_tokens["access_token"])).status_code == 401
    assert (
        client.post("/api/v1/auth/refresh", headers=bearer(staff_tokens["refresh_token"])).status_code == 401
    )
