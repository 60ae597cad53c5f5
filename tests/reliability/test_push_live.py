"""Web Push against a real push service (web-push-testing on 127.0.0.1): what it received
is checked by the service itself (VAPID signature for the subscription's key, aes128gcm
decryption with the subscription's keys), and a 410 drops the device and emails at once."""

from __future__ import annotations

import json
import signal
import socket
import time
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from muli.cli import system_ctx
from muli.contact import escalation, notifications, push
from muli.extensions import db
from muli.models.base import utcnow
from muli.models.outbox import OutboxAttempt, OutboxMessage
from muli.models.push import PushSubscription
from tests.contact_support import ask, put_on_call, rows
from tests.push_service import PushService
from tests.reliability.live import SmtpServer, environment, run_cli

pytestmark = [pytest.mark.reliability]

STAFF = "/api/v1/staff/push-subscriptions"
ME = "/api/v1/me/push-subscriptions"
WORDS = {
    "kind": "chat",
    "urgency": "crisis",
    "message": "Jeg orker ikke mer i natt",
    "callback_phone": "+4791234567",
}


@pytest.fixture
def service():
    with PushService() as running:
        yield running


@pytest.fixture
def night(app, world):
    """A team with nobody in the office and Ola on call now; Kari, a patient, asks for help."""
    team = world.team(office_hours={})
    ola = world.staff(team, role="member", name="Ola Vaktsen")
    coordinator = world.staff(team, role="coordinator")
    kari = world.patient(team, consents={})
    put_on_call(app, team, ola, utcnow() - timedelta(hours=1), utcnow() + timedelta(hours=2))
    return team, ola, coordinator, kari


def public_key(app) -> str:
    return app.extensions["muli.vapid"].public_key


def subscribe(client, app, service, login, path=STAFF, key=None) -> dict:
    """A device subscribes at the push service (as PushManager.subscribe does) and tells MULI."""
    sub = service.subscribe(key or public_key(app))
    body = {"endpoint": sub["endpoint"], "keys": sub["keys"], "label": "test phone"}
    response = client.post(path, json=body, headers=login.headers)
    assert response.status_code == 201, response.json
    return {**sub, "id": response.json["id"]}


def transports(app, smtp=None) -> dict:
    return {
        "email": notifications.SmtpTransport(smtp.url, "muli@muli.invalid") if smtp else None,
        "push": push.WebPushTransport(app.extensions["muli.vapid"]),
    }


def send(app, smtp=None, **clock) -> notifications.SendReport:
    with app.app_context():
        ctx = system_ctx()
        if clock:
            at = utcnow() + timedelta(**clock)
            ctx.clock = lambda: at
        report = notifications.send_due(ctx, transports(app, smtp), commit=db.session.commit)
        db.session.remove()
        return report


def attempts(app) -> list[OutboxAttempt]:
    with app.app_context():
        found = list(db.session.scalars(select(OutboxAttempt).order_by(OutboxAttempt.finished_at)))
        db.session.expunge_all()
        return found


def private_words(ola, kari) -> list[str]:
    return ["orker ikke", "91234567", kari.name, ola.staff.display_name]


def test_the_push_service_accepts_a_vapid_signed_payload_it_decrypts_with_no_name_or_text(
    app, client, service, night
):
    _team, ola, _coordinator, kari = night
    phone = subscribe(client, app, service, ola)
    request_id = ask(client, kari, WORDS).json["id"]
    assert send(app).sent == 1
    [received] = service.messages(phone["clientHash"])  # decrypted by the service, VAPID checked
    payload = json.loads(received)
    [row] = rows(app, OutboxMessage)
    assert payload["id"] == str(row.id) and payload["kind"] == "request"
    assert payload["url"] == f"/portal/queue/?request={request_id}#r-{request_id}"
    for word in private_words(ola, kari):
        assert word not in received
    [attempt] = attempts(app)
    assert (attempt.outcome, attempt.status, attempt.attempt) == ("sent", 201, 1)


def test_a_push_the_service_refuses_for_a_wrong_vapid_key_falls_back_to_email(app, client, service, night):
    _team, ola, _coordinator, kari = night
    someone_elses_key = push.Vapid(push_key(), "mailto:x@muli.invalid").public_key
    phone = subscribe(client, app, service, ola, key=someone_elses_key)
    with SmtpServer() as smtp:
        ask(client, kari, WORDS)
        report = send(app, smtp)
        mails = list(smtp.sink.messages)
    assert service.messages(phone["clientHash"]) == []
    assert (report.failed, report.fallbacks) == (1, 1)
    assert [m["To"] for m in mails] == [ola.staff.email]
    assert [a.status for a in attempts(app) if a.channel == "push"] == [400]


def push_key() -> str:
    from muli.trust.keys import new_vapid_key

    return new_vapid_key()


def test_an_expired_subscription_is_dropped_and_the_responder_emailed_at_once(app, client, service, night):
    _team, ola, _coordinator, kari = night
    phone = subscribe(client, app, service, ola)
    service.expire(phone["clientHash"])
    with SmtpServer() as smtp:
        ask(client, kari, WORDS)
        report = send(app, smtp)
        mails = list(smtp.sink.messages)
    assert rows(app, PushSubscription) == []
    assert (report.sent, report.failed, report.fallbacks) == (1, 1, 1)  # the push failed, the email went
    [mail] = mails
    assert mail["To"] == ola.staff.email
    for word in private_words(ola, kari):
        assert word not in mail.get_content()
    gone = [a for a in attempts(app) if a.channel == "push"]
    assert [(a.outcome, a.status) for a in gone] == [("gone", 410)]
    assert "email queued" in gone[0].detail
    # The next request goes straight to email: no device left.
    ask(client, kari, WORDS)
    assert sorted(r.channel for r in rows(app, OutboxMessage)) == ["email", "email", "push"]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_push_service_that_is_down_is_retried_with_the_same_id_then_the_responder_emailed(
    app, client, service, night
):
    _team, ola, _coordinator, kari = night
    real = service.subscribe(public_key(app))
    down = {"endpoint": f"http://127.0.0.1:{closed_port()}/notify/x", "keys": real["keys"]}
    assert client.post(STAFF, json=down, headers=ola.headers).status_code == 201
    ask(client, kari, WORDS)
    [row] = rows(app, OutboxMessage)
    first = (send(app), send(app, seconds=1.5), send(app, seconds=4))
    assert [(r.retried, r.failed, r.fallbacks) for r in first] == [(1, 0, 0), (1, 0, 0), (0, 1, 1)]
    outcomes = [(a.message_id, a.attempt, a.outcome) for a in attempts(app) if a.channel == "push"]
    assert outcomes == [(row.id, 1, "retry"), (row.id, 2, "retry"), (row.id, 3, "failed")]
    assert sorted((r.channel, r.state) for r in rows(app, OutboxMessage)) == [
        ("email", "pending"),
        ("push", "failed"),
    ]
    assert json.loads(rows(app, OutboxMessage, channel="push")[0].body)["id"] == str(row.id)


def test_the_patient_hears_seen_answered_closed_and_116_117_on_their_phone(app, client, service, night):
    _team, ola, _coordinator, kari = night
    phone = subscribe(client, app, service, kari, path=ME)
    waiting = ask(client, kari, WORDS).json["id"]
    answered = ask(client, kari, WORDS).json["id"]
    url = f"/api/v1/staff/contact-requests/{answered}"
    client.post(url + "/acknowledge", headers=ola.headers)
    client.post(url + "/messages", json={"body": "Jeg ringer deg om to minutter"}, headers=ola.headers)
    client.post(url + "/close", json={"outcome": "talked", "note": "lang samtale"}, headers=ola.headers)
    with app.app_context():
        escalation.run_pass(system_ctx(), now=utcnow() + timedelta(minutes=25), commit=db.session.commit)
        db.session.remove()
    send(app)
    received = [json.loads(m) for m in service.wait_for(phone["clientHash"], 4)]
    assert [(p["kind"], p["url"].rsplit("/", 1)[-1]) for p in received] == [
        ("seen", answered),
        ("answered", answered),
        ("closed", answered),
        ("escalated", waiting),
    ]
    assert "116 117" in received[-1]["body"]
    text = json.dumps(received, ensure_ascii=False)
    for word in [*private_words(ola, kari), "to minutter", "lang samtale"]:
        assert word not in text


def test_the_worker_pushes_a_new_request_to_the_on_call_phone_within_seconds(
    app, client, service, night, tmp_path
):
    _team, ola, _coordinator, kari = night
    phone = subscribe(client, app, service, ola)
    env = environment(app, tmp_path, MULI_VAPID_PRIVATE_KEY=app.extensions["muli.vapid"].private_key)
    worker = run_cli(env, "worker", "--interval", "30")
    try:
        # The first request also waits for the worker to start; the second is the one timed.
        ask(client, kari, WORDS)
        assert len(service.wait_for(phone["clientHash"], 1, timeout=90)) == 1
        committed = time.monotonic()
        request_id = ask(client, kari, WORDS).json["id"]  # the test client returns after the commit
        received = service.wait_for(phone["clientHash"], 2, timeout=10)
        took = time.monotonic() - committed
        worker.send_signal(signal.SIGTERM)
        output = worker.communicate(timeout=60)[0].decode()
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(timeout=10)
    assert len(received) == 2, output
    assert json.loads(received[1])["url"].endswith(f"#r-{request_id}")
    # The issue asks for seconds, not the 30 s pass; 1 s on an idle machine, generous here.
    assert took < 5, f"{took:.2f} s\n{output}"
    database = app.config["SQLALCHEMY_DATABASE_URI"].split(":")[0]
    print(f"request committed -> push accepted: {took * 1000:.0f} ms ({database})")
    assert "worker stopped" in output


def test_a_push_row_for_a_removed_device_falls_back_to_email(app, client, service, night):
    _team, ola, _coordinator, kari = night
    phone = subscribe(client, app, service, ola)
    ask(client, kari, WORDS)
    client.delete(f"{STAFF}/{phone['id']}", headers=ola.headers)
    with SmtpServer() as smtp:
        report = send(app, smtp)
        mails = len(smtp.sink.messages)
    assert (report.failed, report.fallbacks, mails) == (1, 1, 1)
    assert uuid.UUID(phone["id"])


class Killed(BaseException):
    """The sending process dying mid-push (not an error the sender could catch and record)."""


class DiesMidPush:
    def push(self, info, body):
        raise Killed


def test_a_push_whose_sender_died_mid_send_is_taken_over_in_seconds_and_the_lost_attempt_recorded(
    app, client, service, night
):
    _team, ola, _coordinator, kari = night
    phone = subscribe(client, app, service, ola)
    ask(client, kari, WORDS)
    [row] = rows(app, OutboxMessage)
    with app.app_context():
        with pytest.raises(Killed):  # claimed and committed, then the process is gone
            notifications.send_due(
                system_ctx(), {"email": None, "push": DiesMidPush()}, commit=db.session.commit
            )
        db.session.rollback()
        db.session.remove()
    assert send(app, seconds=5).sent == 0  # still the dead sender's: it might yet finish
    assert send(app, seconds=notifications.PUSH_LEASE.total_seconds() + 1).sent == 1
    [received] = service.messages(phone["clientHash"])
    assert json.loads(received)["id"] == str(row.id)
    outcomes = [(a.attempt, a.outcome) for a in attempts(app) if a.message_id == row.id]
    assert outcomes == [(1, "unknown"), (2, "sent")]
