"""`flask muli worker` as a real process: escalates, sends the emails, stops on SIGTERM."""

from __future__ import annotations

import signal
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from muli.cli import system_ctx
from muli.contact import requests as contact_requests
from muli.extensions import db
from muli.models.accounts import Account
from muli.models.base import utcnow
from muli.models.contact import ContactEscalation
from muli.models.outbox import OutboxMessage
from muli.trust import accounts
from tests.contact_support import put_on_call
from tests.reliability.live import SmtpServer, environment, explain, run_cli

pytestmark = [pytest.mark.reliability, pytest.mark.slow]


def _count(app, query) -> int:
    with app.app_context():
        n = db.session.scalar(query)
        db.session.remove()
        return n


def test_the_worker_escalates_and_emails_what_is_overdue_then_stops_on_sigterm(app, world, tmp_path):
    team = world.team(office_hours={})
    kristin = world.staff(team, role="coordinator")
    patient = world.patient(team)
    half_an_hour_ago = utcnow() - timedelta(minutes=30)
    with app.app_context():
        ctx = system_ctx()
        ctx.clock = lambda: half_an_hour_ago
        actor = accounts.actor_for(ctx, db.session.get(Account, patient.account.id))
        for _ in range(5):
            contact_requests.create(ctx.acting_as(actor), contact_requests.NewRequest("chat", "talk"))
        db.session.commit()
        db.session.remove()
    put_on_call(app, team, kristin, utcnow() - timedelta(hours=1), utcnow() + timedelta(hours=1), "backup")

    with SmtpServer() as smtp:
        env = environment(app, tmp_path, MULI_SMTP_URL=smtp.url)
        worker = run_cli(env, "worker", "--interval", "1")
        try:
            deadline = time.monotonic() + 180
            while time.monotonic() < deadline and len(smtp.sink.messages) < 10:
                time.sleep(0.5)
            worker.send_signal(signal.SIGTERM)
            output = worker.communicate(timeout=60)[0].decode()
        finally:
            if worker.poll() is None:
                worker.kill()
        received = len(smtp.sink.messages)

    steps = _count(app, select(func.count()).select_from(ContactEscalation))
    sent = _count(app, select(func.count()).where(OutboxMessage.state == "sent"))
    assert (steps, sent, received) == (10, 10, 10), explain(app, env, output)
    assert worker.returncode == 0 and "worker stopped" in output
