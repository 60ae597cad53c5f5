"""`flask muli worker` as a real process runs retention (docs/retention.md) on its own: rows
past their window are gone after its first pass; the audit trail stays."""

from __future__ import annotations

import signal
import time
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from muli.extensions import db
from muli.models.accounts import RevokedToken
from muli.models.audit import AuditEvent
from muli.models.base import utcnow
from muli.models.idempotency import IdempotencyRecord
from muli.models.outbox import OutboxAttempt, OutboxMessage
from muli.platform.context import SYSTEM
from muli.trust import audit
from tests.reliability.live import environment, explain, run_cli

pytestmark = [pytest.mark.reliability, pytest.mark.slow]


def _left(app) -> dict[str, int]:
    with app.app_context():
        counts = {
            model.__tablename__: db.session.scalar(select(func.count()).select_from(model))
            for model in (IdempotencyRecord, RevokedToken, OutboxMessage, OutboxAttempt, AuditEvent)
        }
        db.session.remove()
        return counts


def test_the_worker_purges_what_is_past_its_window_and_keeps_the_audit_trail(app, world, tmp_path):
    care = world.care_team()
    now = utcnow()
    with app.app_context():
        audit.record(db.session, SYSTEM, "retention.test")
        db.session.add(
            IdempotencyRecord(
                account_id=care.patient.account.id, key=str(uuid.uuid4()), request_hash="h", expires_at=now
            )
        )
        db.session.add(RevokedToken(jti=uuid.uuid4().hex, expires_at=now - timedelta(minutes=1)))
        sent = OutboxMessage(
            dedupe_key="retention-test",
            recipient="staff@muli.invalid",
            subject="MULI",
            body="-",
            state="sent",
            next_attempt_at=now - timedelta(days=40),
            sent_at=now - timedelta(days=40),
            created_at=now - timedelta(days=40),
        )
        db.session.add(sent)
        db.session.flush()
        db.session.add(
            OutboxAttempt(
                message_id=sent.id,
                attempt=1,
                channel="email",
                started_at=sent.sent_at,
                finished_at=sent.sent_at,
                outcome="sent",
            )
        )
        db.session.commit()
        db.session.remove()
    before = _left(app)
    assert before["audit_event"] > 0 and all(before.values()), before

    env = environment(app, tmp_path)
    worker = run_cli(env, "worker", "--interval", "0.5", "--no-relay")
    try:
        deadline = time.monotonic() + 120
        left = before
        while time.monotonic() < deadline and worker.poll() is None:
            left = _left(app)
            if left["idempotency_record"] == 0 and left["outbox_message"] == 0:
                break
            time.sleep(0.5)
        worker.send_signal(signal.SIGTERM)
        output = worker.communicate(timeout=60)[0].decode()
    finally:
        if worker.poll() is None:
            worker.kill()
    after = _left(app)
    assert after == {**{name: 0 for name in before}, "audit_event": before["audit_event"]}, explain(
        app, env, output
    )
    assert worker.returncode == 0 and "worker stopped" in output
