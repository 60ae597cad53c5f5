"""Retention that runs (issue 15, docs/retention.md): `muli purge` (and the worker's hourly
pass, which calls the same `housekeeping`) forgets each kind of row after its window and
keeps the audit trail."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select, update

from muli.extensions import db
from muli.models.accounts import LoginThrottle, RefreshToken, RevokedToken
from muli.models.audit import AuditEvent
from muli.models.idempotency import IdempotencyRecord
from muli.models.outbox import OutboxAttempt, OutboxMessage
from muli.models.people import ActivationCode
from muli.trust import national_id
from tests.contact_support import WEDNESDAY_MORNING, ask
from tests.factories import PASSWORD

_numbers = national_id.synthetic_numbers(date(1977, 5, 6), start=500)


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def counts() -> dict[str, int]:
    return {
        "idempotency": count(IdempotencyRecord),
        "revoked": count(RevokedToken),
        "refresh": count(RefreshToken),
        "codes": count(ActivationCode),
        "throttle": count(LoginThrottle),
        "sent": count(OutboxMessage, OutboxMessage.state == "sent"),
        "pending": count(OutboxMessage, OutboxMessage.state == "pending"),
        "attempts": count(OutboxAttempt),
        "audit": count(AuditEvent),
    }


def purge(runner) -> str:
    result = runner.invoke(args=["muli", "purge"])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def rows(app, client, world, clock, cheap_argon2):
    """One of each kind, written the way the service writes it."""
    clock.set(WEDNESDAY_MORNING)
    care = world.care_team()
    patient = care.patient
    # An answer kept for replay, and outbox rows for the team (a request in office hours).
    assert ask(client, patient, {"kind": "chat", "urgency": "talk"}).status_code == 201
    # An activation code (enrolment), a failed login (kept for the throttle), a login and a
    # logout (a refresh token and a revocation).
    enrolled = client.post(
        "/api/v1/staff/patients",
        json={
            "display_name": "Kari",
            "national_id": next(_numbers),
            "team_id": str(care.team.id),
            "criteria_confirmed": True,
        },
        headers={**care.coordinator.headers, "Idempotency-Key": str(uuid.uuid4())},
    )
    assert enrolled.status_code == 201, enrolled.json
    username = patient.account.username
    login = "/api/v1/auth/token"
    assert client.post(login, json={"username": "no-such-user", "password": "wrong"}).status_code == 401
    pair = client.post(login, json={"username": username, "password": PASSWORD}).json
    bearer = {"Authorization": f"Bearer {pair['access_token']}"}
    out = client.post("/api/v1/auth/logout", json={"refresh_token": pair["refresh_token"]}, headers=bearer)
    assert out.status_code == 204
    with app.app_context():
        # The outbox was sent (all but one row, still pending) with one attempt each.
        messages = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        assert len(messages) >= 2
        for message in messages[1:]:
            message.state, message.sent_at, message.attempts = "sent", clock.now, 1
            db.session.add(
                OutboxAttempt(
                    message_id=message.id,
                    attempt=1,
                    channel=message.channel,
                    started_at=clock.now,
                    finished_at=clock.now,
                    outcome="sent",
                )
            )
        db.session.commit()
        before = counts()
        db.session.remove()
    assert all(before.values()), before  # one of each, so the purge below has something to do
    return before


def test_purge_keeps_everything_inside_its_window(app, runner, clock, rows):
    clock.advance(hours=1)
    purge(runner)
    with app.app_context():
        assert counts() == rows


def test_purge_forgets_each_kind_after_its_window_and_keeps_the_audit_trail(app, runner, clock, rows):
    clock.advance(days=60)  # past every window: 48 h, 24 h, 7 days, 30 days
    output = purge(runner)
    with app.app_context():
        after = counts()
    assert after == {
        "idempotency": 0,
        "revoked": 0,
        "refresh": 0,
        "codes": 0,
        "throttle": 0,
        "sent": 0,
        "pending": 1,  # not yet delivered: kept whatever its age
        "attempts": 0,
        "audit": rows["audit"],  # the audit trail is kept
    }
    assert f"{rows['idempotency']} idempotency records" in output
    assert f"{rows['sent']} outbox messages" in output


def test_old_attempts_go_but_a_row_still_pending_stays(app, runner, clock, rows):
    with app.app_context():
        db.session.execute(update(OutboxAttempt).values(finished_at=clock.now - timedelta(days=31)))
        db.session.execute(update(OutboxMessage).values(state="pending", sent_at=None))
        db.session.commit()
    purge(runner)
    with app.app_context():
        assert (count(OutboxAttempt), count(OutboxMessage)) == (0, rows["sent"] + rows["pending"])
