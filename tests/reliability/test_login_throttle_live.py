"""Login throttling in a real gunicorn (real clock, real Argon2, two processes), behind one
trusted proxy (X-Forwarded-For gives the client's address): 50 wrong passwords from a
stranger, sent as fast as the server answers, keep neither the on-call nurse nor the patient
out; the stranger is slowed; the privacy officer sees it.

The account ceiling is lowered to 5 here so that the few attempts a real minute lets
through are enough to cross it (with the default 20 the clock would have to run for an hour).
"""

from __future__ import annotations

import signal
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pyotp
import pytest
import requests
from sqlalchemy import select

from muli.extensions import db
from muli.models.accounts import KnownDevice, LoginThrottle
from muli.models.base import utcnow
from tests.contact_support import put_on_call
from tests.factories import PASSWORD
from tests.reliability.live import Server, environment, run_cli

pytestmark = [pytest.mark.reliability, pytest.mark.slow]

ATTACKER = "203.0.113.66"
ATTACKER_2 = "203.0.113.77"  # the same network: one /24 in the privacy officer's view
FRESH_ATTACKER = "192.0.2.99"


def login(session: requests.Session, url: str, address: str, username: str, password=PASSWORD, totp=None):
    body = {"username": username, "password": password, "cookie": True}
    if totp:
        body["totp"] = totp
    return session.post(
        url + "/api/v1/auth/token", json=body, headers={"X-Forwarded-For": address}, timeout=30
    )


def kind(response) -> str:
    """Whose 429: the login throttle's (too-many-attempts) or Flask-Limiter's minute."""
    if response.status_code != 429:
        return str(response.status_code)
    return response.json()["type"].rsplit("/", 1)[-1]


@pytest.fixture
def server(app, tmp_path):
    env = environment(app, tmp_path, MULI_TRUSTED_PROXIES="1", MULI_LOGIN_ACCOUNT_CEILING="5")
    live = Server(env, tmp_path / "gunicorn.log")
    live.start()
    yield live
    live.kill()


def test_a_real_server_slows_the_stranger_and_lets_the_nurse_and_the_patient_in(app, world, server):
    team = world.team()
    nurse, patient = world.staff(team), world.patient(team)
    officer = world.staff(role="privacy_officer")
    put_on_call(app, team, nurse.staff, utcnow() - timedelta(hours=1), utcnow() + timedelta(hours=8))
    totp = pyotp.TOTP(nurse.totp_secret)
    url = server.url

    # Both have signed in from their own phones before: those are known devices now.
    nurse_phone, patient_phone = requests.Session(), requests.Session()
    first = login(nurse_phone, url, "198.51.100.20", nurse.account.username, totp=totp.at(time.time() - 30))
    assert first.status_code == 200, first.text
    assert "muli_device" in nurse_phone.cookies
    assert login(patient_phone, url, "198.51.100.30", patient.account.username).status_code == 200

    # 50 wrong passwords for each from a stranger's address, as fast as the server answers.
    stranger = requests.Session()
    started = time.monotonic()
    nurse_answers = Counter(
        kind(login(stranger, url, ATTACKER, nurse.account.username, "feil passord", "000000"))
        for _ in range(50)
    )
    patient_answers = Counter(
        kind(login(stranger, url, ATTACKER_2, patient.account.username, "feil passord")) for _ in range(50)
    )
    took = time.monotonic() - started
    print(
        f"50 + 50 wrong passwords in {took:.1f} s:",
        f"nurse {dict(nurse_answers)},",
        f"patient {dict(patient_answers)}",
    )
    # Five free tries each, a few more as the 1, 2, 4 s waits ran out; the rest were refused
    # without looking at the password (or by the per-address minute, after 20 a process).
    for answers in (nurse_answers, patient_answers):
        assert 5 <= answers["401"] <= 12, (answers, took)
        assert answers["too-many-attempts"] >= 10, (answers, took)
        assert set(answers) <= {"401", "too-many-attempts", "too-many-requests"}, answers

    # Right after: the right password from the stranger's address is not even checked...
    t0 = time.time()
    code_now, code_next = totp.at(t0), totp.at(t0 + 30)
    refused = login(stranger, url, ATTACKER, nurse.account.username, totp=code_next)
    assert kind(refused) in ("too-many-attempts", "too-many-requests")
    assert "muli_device" not in refused.headers.get("Set-Cookie", "")
    # ...the nurse's phone gets in at once, even at the stranger's address, unless it meets
    # the per-address minute the stranger used up there (Flask-Limiter's, in the gunicorn
    # process that answers; never the throttle's); then it gets in from her own network.
    at_attacker = login(nurse_phone, url, ATTACKER, nurse.account.username, totp=code_now)
    assert kind(at_attacker) in ("200", "too-many-requests")
    if at_attacker.status_code != 200:
        assert int(at_attacker.headers["Retry-After"]) <= 61
        home = login(nurse_phone, url, "198.51.100.20", nurse.account.username, totp=code_now)
        assert home.status_code == 200
    # ...and so does a borrowed PC while she is on call (with the code the stranger sent).
    borrowed = requests.Session()
    assert login(borrowed, url, "198.51.100.77", nurse.account.username, totp=code_next).status_code == 200
    # The patient: her phone, and a new phone, get in at once.
    assert login(patient_phone, url, "198.51.100.30", patient.account.username).status_code == 200
    assert login(requests.Session(), url, "198.51.100.31", patient.account.username).status_code == 200

    # A fresh stranger's address for the patient, over the ceiling: one try, then 30 s.
    fresh = requests.Session()
    assert login(fresh, url, FRESH_ATTACKER, patient.account.username, "feil passord").status_code == 401
    right = login(fresh, url, FRESH_ATTACKER, patient.account.username)
    wrong = login(fresh, url, FRESH_ATTACKER, patient.account.username, "feil passord")
    assert kind(right) == kind(wrong) == "too-many-attempts"
    assert 28 <= int(right.headers["Retry-After"]) <= 30
    same = ("type", "title", "status")
    assert [right.json()[k] for k in same] == [wrong.json()[k] for k in same]

    # The privacy officer sees both accounts' failures and throttling from the stranger.
    seen = requests.get(url + "/api/v1/staff/audit/login-failures", headers=officer.headers, timeout=30)
    assert seen.status_code == 200, seen.text
    rows = {(r["account_id"], r["network"]): r for r in seen.json()}
    for who in (nurse, patient):
        row = rows[(str(who.account.id), "203.0.113.0/24")]
        assert row["failed"] >= 5 and row["throttled"] >= 10 and row["succeeded"] == 0, row
        assert row["ceiling"] is True
    assert rows[(str(patient.account.id), "192.0.2.0/24")]["throttled"] == 2
    assert ATTACKER not in seen.text


def test_a_burst_in_parallel_cannot_slip_several_guesses_into_one_wait(world, server):
    """16 wrong passwords at once from one address (8 at a time, as many as the server takes
    in): the attempts of one source for one username take turns on a locked row, so once a
    failure sets the wait, the attempts queued behind it are refused unchecked."""
    patient = world.patient(world.team())

    def guess(_):
        return kind(login(requests.Session(), server.url, "203.0.113.88", patient.account.username, "feil"))

    with ThreadPoolExecutor(8) as pool:
        answers = Counter(pool.map(guess, range(16)))
    print(f"16 at once: {dict(answers)}")
    # Five checked: the fifth reaches this server's ceiling (5) and sets a 30 s wait; unlocked,
    # all 16 would have been checked.
    assert answers == {"401": 5, "too-many-attempts": 11}, answers


def test_the_worker_purges_old_throttle_rows_and_unused_devices(app, world, tmp_path):
    patient = world.patient(world.team())
    now = utcnow()
    with app.app_context():
        db.session.add_all(
            [
                LoginThrottle(username_key="a" * 64, source_key="old".ljust(64, "0"), failures=9,
                              updated_at=now - timedelta(days=2)),
                LoginThrottle(username_key="a" * 64, source_key="new".ljust(64, "0"), failures=9,
                              updated_at=now - timedelta(hours=1)),
                KnownDevice(account_id=patient.account.id, device_hash="b" * 64,
                            first_seen_at=now - timedelta(days=400), last_seen_at=now - timedelta(days=200)),
            ]
        )  # fmt: skip
        db.session.commit()
        db.session.remove()
    worker = run_cli(environment(app, tmp_path), "worker", "--interval", "1")
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with app.app_context():
                left = [r.source_key[:3] for r in db.session.scalars(select(LoginThrottle))]
                devices = db.session.scalars(select(KnownDevice)).all()
                db.session.remove()
            if left == ["new"] and not devices:
                break
            time.sleep(0.5)
        worker.send_signal(signal.SIGTERM)
        output = worker.communicate(timeout=60)[0].decode()
    finally:
        if worker.poll() is None:
            worker.kill()
    assert (left, devices) == (["new"], []), output
