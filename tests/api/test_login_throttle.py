"""Throttling that cannot be turned against the user (issue 13): 50 wrong passwords from a
stranger slow the stranger, never the on-call nurse or the patient on their own device.

Each client is a browser (its own cookie jar) at an address (REMOTE_ADDR). The clock is the
app's, moved past each wait; Flask-Limiter's per-address minute (real time) is reset between
attempts, as it is not what these tests are about (tests/api/test_behind_a_proxy.py is).
Argon2 is made cheap here (about a hundred checks a test); tests/reliability/
test_login_throttle_live.py runs the real thing in a real server.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyotp
import pytest

from muli.extensions import limiter
from tests.contact_support import SATURDAY_NIGHT, put_on_call
from tests.factories import PASSWORD

TOKEN = "/api/v1/auth/token"
ATTACKER = "203.0.113.66"
FRESH_ATTACKER = "192.0.2.99"
NURSE_HOME = "198.51.100.20"
WRONG = "not the password at all"


pytestmark = pytest.mark.usefixtures("cheap_argon2")


def token(client, address, login, password=PASSWORD, totp=None, **extra):
    limiter.reset()
    body = {"username": login.account.username, "password": password, "cookie": True, **extra}
    if totp:
        body["totp"] = totp
    return client.post(TOKEN, json=body, environ_base={"REMOTE_ADDR": address})


def code(login, clock):
    return pyotp.TOTP(login.totp_secret).at(clock.now)


def staff_token(client, address, login, clock):
    """The nurse's right password and a fresh code (a new 30 s step: codes are single-use)."""
    clock.advance(seconds=30)
    return token(client, address, login, totp=code(login, clock))


def hammer(app, clock, login, address, checked: int) -> list[int]:
    """`checked` wrong passwords that are actually checked (401), from one address, waiting
    out every 429 by moving the clock. Answers the Retry-After of each 429 on the way."""
    client, waits, failed = app.test_client(), [], 0
    while failed < checked:
        answer = token(client, address, login, WRONG, totp="000000")
        if answer.status_code == 429:
            waits.append(int(answer.headers["Retry-After"]))
            clock.advance(seconds=waits[-1])
            continue
        assert answer.status_code == 401, answer.json
        failed += 1
    return waits


def retry_afters_until_blocked(client, clock, login, address, rounds: int) -> list[int]:
    """Wrong passwords from `address`: each 429's Retry-After, waiting each one out."""
    waits = []
    while len(waits) < rounds:
        answer = token(client, address, login, WRONG, totp="000000")
        if answer.status_code == 429:
            assert answer.content_type == "application/problem+json"
            waits.append(int(answer.headers["Retry-After"]))
            clock.advance(seconds=waits[-1])
        else:
            assert answer.status_code == 401
    return waits


@pytest.fixture
def night(app, world, clock):
    """Saturday night: the nurse is on call until 08:00, and has signed in from her phone."""
    clock.set(SATURDAY_NIGHT)
    team = world.team()
    nurse = world.staff(team)
    put_on_call(
        app, team, nurse.staff, SATURDAY_NIGHT - timedelta(hours=6), SATURDAY_NIGHT + timedelta(hours=7)
    )
    phone = app.test_client()
    assert staff_token(phone, NURSE_HOME, nurse, clock).status_code == 200
    return nurse, phone


def test_fifty_wrong_passwords_do_not_keep_the_on_call_nurse_out(app, world, clock, night):
    nurse, phone = night
    waits = hammer(app, clock, nurse, ATTACKER, 50)
    # The stranger was slowed: five free tries, then 1, 2, 4 ... s, capped at 5 minutes.
    assert waits[:9] == [1, 2, 4, 8, 16, 32, 64, 128, 256]
    assert set(waits[9:]) == {300}

    # Her phone (a known device) gets in at once, even from the attacker's own address.
    assert staff_token(phone, NURSE_HOME, nurse, clock).status_code == 200
    assert staff_token(phone, ATTACKER, nurse, clock).status_code == 200
    # A borrowed PC (a fresh device) while she is on call: in at once, a typo forgiven.
    borrowed = app.test_client()
    assert token(borrowed, "198.51.100.77", nurse, totp="000000").status_code == 401
    assert staff_token(borrowed, "198.51.100.77", nurse, clock).status_code == 200


def test_a_fresh_attacker_address_is_slowed_and_its_right_password_is_not_even_checked(app, clock, night):
    nurse, phone = night
    hammer(app, clock, nurse, ATTACKER, 50)
    fresh = app.test_client()
    assert retry_afters_until_blocked(fresh, clock, nurse, FRESH_ATTACKER, 4) == [1, 2, 4, 8]

    # One more wrong password: the address must now wait 16 s. Within that wait, the right
    # password and code get the very same answer as a wrong one: nothing about correctness.
    assert token(fresh, FRESH_ATTACKER, nurse, WRONG, totp="000000").status_code == 401
    right = token(fresh, FRESH_ATTACKER, nurse, totp=code(nurse, clock))
    wrong = token(fresh, FRESH_ATTACKER, nurse, WRONG, totp="000000")
    assert right.status_code == wrong.status_code == 429
    assert right.json == wrong.json
    assert "muli_device" not in str(right.headers.getlist("Set-Cookie"))
    # The code was not spent either: the phone can use it.
    assert token(phone, NURSE_HOME, nurse, totp=code(nurse, clock)).status_code == 200


def test_off_call_a_fresh_device_is_slowed_by_the_ceiling_but_never_locked_out(app, world, clock):
    clock.set(SATURDAY_NIGHT)
    nurse = world.staff(world.team())  # not on the rota tonight
    hammer(app, clock, nurse, ATTACKER, 50)
    borrowed = app.test_client()
    # The right password is checked at once from a fresh device...
    assert staff_token(borrowed, "198.51.100.77", nurse, clock).status_code == 200
    # ...but over the ceiling a fresh device has no free typos: one, and it waits 30 s.
    other = app.test_client()
    assert token(other, "198.51.100.78", nurse, totp="000000").status_code == 401
    waiting = token(other, "198.51.100.78", nurse, totp=code(nurse, clock))
    assert waiting.status_code == 429 and waiting.headers["Retry-After"] == "30"
    clock.advance(seconds=30)
    assert staff_token(other, "198.51.100.78", nurse, clock).status_code == 200


def test_a_patient_is_not_locked_out_of_the_app_by_fifty_wrong_passwords(app, world, clock):
    clock.set(SATURDAY_NIGHT)
    patient = world.patient(world.team())
    phone = app.test_client()
    assert token(phone, "198.51.100.30", patient).status_code == 200  # her phone is known from now on

    hammer(app, clock, patient, ATTACKER, 50)

    # Her phone: in at once, from home or from the attacker's network.
    assert token(phone, "198.51.100.30", patient).status_code == 200
    assert token(phone, ATTACKER, patient).status_code == 200
    # A new phone: the right password still works at once.
    assert token(app.test_client(), "198.51.100.31", patient).status_code == 200
    # A fresh attacker address: over the ceiling it gets no free tries, and waits 30, 60 ...
    fresh = app.test_client()
    assert token(fresh, FRESH_ATTACKER, patient, WRONG).status_code == 401
    assert retry_afters_until_blocked(fresh, clock, patient, FRESH_ATTACKER, 4) == [30, 60, 120, 240]
    # During its wait the right password is not checked, and the answer says nothing.
    assert token(fresh, FRESH_ATTACKER, patient, WRONG).status_code == 401
    right, wrong = token(fresh, FRESH_ATTACKER, patient), token(fresh, FRESH_ATTACKER, patient, WRONG)
    assert right.status_code == wrong.status_code == 429
    assert right.json == wrong.json and right.headers["Retry-After"] == wrong.headers["Retry-After"]


def test_the_device_cookie_is_signed_httponly_strict_and_only_a_hash_is_kept(app, world, clock):
    from sqlalchemy import select

    from muli.extensions import db
    from muli.models.accounts import KnownDevice

    patient = world.patient(world.team())
    phone = app.test_client()
    answer = token(phone, "198.51.100.30", patient)
    (header,) = [h for h in answer.headers.getlist("Set-Cookie") if h.startswith("muli_device=")]
    for part in ("HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=15552000"):
        assert part in header
    value = header.split(";", 1)[0].split("=", 1)[1]
    with app.app_context():
        stored = db.session.scalars(select(KnownDevice)).all()
        db.session.remove()
    assert [d.account_id for d in stored] == [patient.account.id]
    assert value not in stored[0].device_hash and stored[0].device_hash not in value

    # A forged or tampered cookie is no device at all: the attacker's address stays slowed.
    hammer(app, clock, patient, ATTACKER, 7)
    forger = app.test_client()
    forger.set_cookie("muli_device", value[:-2] + ("AA" if not value.endswith("AA") else "BB"))
    assert token(forger, ATTACKER, patient).status_code == 429


def test_the_privacy_officer_sees_the_failures_and_the_throttling(app, world, clock, night):
    nurse, phone = night
    hammer(app, clock, nurse, ATTACKER, 50)
    fresh = app.test_client()
    retry_afters_until_blocked(fresh, clock, nurse, FRESH_ATTACKER, 2)
    refused = token(fresh, FRESH_ATTACKER, nurse, WRONG, totp="000000")
    assert refused.status_code in (401, 429)
    assert staff_token(phone, NURSE_HOME, nurse, clock).status_code == 200

    officer = world.staff(role="privacy_officer")
    clock.set(datetime.now(UTC))  # the audit trail is stamped with the real time
    rows = app.test_client().get("/api/v1/staff/audit/login-failures", headers=officer.headers)
    assert rows.status_code == 200, rows.json
    mine = [r for r in rows.json if r["account_id"] == str(nurse.account.id)]
    by_failed = sorted(mine, key=lambda r: -r["failed"])
    attacker, second = by_failed[0], by_failed[1]
    assert attacker["failed"] == 50 and attacker["throttled"] == 35 + 9 and attacker["succeeded"] == 0
    assert attacker["network"] == "203.0.113.0/24" and attacker["source_kind"] == "address"
    assert len(attacker["source_tag"]) == 8 and "203.0.113.66" not in str(rows.json)
    assert second["network"] == "192.0.2.0/24" and second["throttled"] >= 2
    assert attacker["ceiling"] is True
    assert attacker["account_label"].startswith(nurse.staff.display_name)
    assert attacker["account_kind"] == "staff"
    # Her own sign-ins (a known device, no failures) are not listed as failures.
    assert all(r["source_kind"] == "address" for r in mine)

    # Nobody else may look.
    assert (
        app.test_client().get("/api/v1/staff/audit/login-failures", headers=nurse.headers).status_code == 403
    )


def test_in_production_the_device_cookie_is_secure_and_host_only(app, world):
    patient = world.patient(world.team())
    app.config["SESSION_COOKIE_SECURE"] = True
    try:
        answer = token(app.test_client(), "198.51.100.30", patient)
    finally:
        app.config["SESSION_COOKIE_SECURE"] = False
    (header,) = [h for h in answer.headers.getlist("Set-Cookie") if "muli_device" in h]
    assert header.startswith("__Host-muli_device=")
    assert "Secure" in header and "Path=/;" in header + ";" and "Domain" not in header
