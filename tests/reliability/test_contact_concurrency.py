"""Real processes racing: twenty responders on one request, two workers over 200 overdue requests."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
import requests
from sqlalchemy import select

from muli.cli import system_ctx
from muli.contact import requests as contact_requests
from muli.extensions import db
from muli.models.accounts import Account
from muli.models.base import utcnow
from muli.models.contact import ContactEscalation, ContactMessage
from muli.models.outbox import OutboxMessage
from muli.trust import accounts
from tests.contact_support import ask, put_on_call
from tests.reliability.live import Server, SmtpServer, environment, explain, run_cli

pytestmark = [pytest.mark.reliability, pytest.mark.slow]

REQUESTS = 200
HEALTH_TEXT = "stemmene er sterke"
NAME = "Kari Testesen"


def test_twenty_responders_on_a_live_server_give_exactly_one_200(app, client, world, tmp_path):
    team = world.team(office_hours={})
    responders = [world.staff(team) for _ in range(20)]
    patient = world.patient(team, name=NAME)
    request_id = ask(client, patient).json["id"]
    server = Server(environment(app, tmp_path), tmp_path / "gunicorn.log", workers=2, threads=10)
    server.start()
    try:
        barrier, statuses = threading.Barrier(20), []

        def tap(staff):
            barrier.wait(30)
            url = f"{server.url}/api/v1/staff/contact-requests/{request_id}/acknowledge"
            statuses.append(requests.post(url, headers=staff.headers, timeout=60).status_code)

        threads = [threading.Thread(target=tap, args=(s,)) for s in responders]
        for t in threads:
            t.start()
        for t in threads:
            t.join(90)
    finally:
        server.kill()
    print(f"\nacknowledge race: {Counter(statuses)}")
    assert sorted(statuses) == [200] + [409] * 19


@pytest.fixture
def overdue(app, world):
    """200 requests made when nobody was on call; Kristin (coordinator) is the backup now."""
    team = world.team(office_hours={})
    kristin = world.staff(team, role="coordinator", name="Kristin Koordinator")
    patient = world.patient(team, name=NAME)
    with app.app_context():
        ctx = system_ctx()
        actor = accounts.actor_for(ctx, db.session.get(Account, patient.account.id))
        for _ in range(REQUESTS):
            contact_requests.create(
                ctx.acting_as(actor), contact_requests.NewRequest("call_me", "crisis", HEALTH_TEXT)
            )
        db.session.commit()
        db.session.remove()
    now = utcnow()
    put_on_call(app, team, kristin, now - timedelta(minutes=5), now + timedelta(hours=2), "backup")
    return now


def test_two_workers_escalate_and_email_every_overdue_request_exactly_once(app, overdue, tmp_path):
    when = (overdue + timedelta(minutes=25)).isoformat()
    with SmtpServer() as smtp:
        env = environment(app, tmp_path, MULI_SMTP_URL=smtp.url)
        started = time.monotonic()
        workers = [run_cli(env, "escalate", "--now", when) for _ in range(2)]
        outputs = [w.communicate(timeout=300)[0].decode() for w in workers]
        elapsed = time.monotonic() - started
        assert [w.returncode for w in workers] == [0, 0], outputs
        received = list(smtp.sink.messages)

    with app.app_context():
        steps = Counter(db.session.scalars(select(ContactEscalation.kind)))
        per_request = Counter(
            (row.request_id, row.kind) for row in db.session.scalars(select(ContactEscalation))
        )
        system_messages = len(
            db.session.scalars(select(ContactMessage).where(ContactMessage.author_kind == "system")).all()
        )
        outbox = db.session.scalars(select(OutboxMessage)).all()
        states = Counter(m.state for m in outbox)
        outbox_ids = {f"<{m.id}@muli.outbox>" for m in outbox}
        db.session.remove()

    message_ids = Counter(m["Message-ID"] for m in received)
    print(
        f"\ntwo workers ({app.config['SQLALCHEMY_DATABASE_URI'].split(':')[0]}) in {elapsed:.1f} s: "
        f"escalations {dict(steps)}, emails received {len(received)} "
        f"({sum(n > 1 for n in message_ids.values())} duplicated), outbox {dict(states)}; "
        + " | ".join(o.strip().replace("\n", "; ") for o in outputs)
    )
    assert steps == {"backup": REQUESTS, "team": REQUESTS}, explain(app, env, "\n".join(outputs))
    assert set(per_request.values()) == {1}
    assert system_messages == REQUESTS
    assert states == {"sent": 2 * REQUESTS}
    assert set(message_ids.values()) == {1} and set(message_ids) == outbox_ids


def test_the_emails_the_workers_send_hold_no_name_and_no_health_text(app, overdue, tmp_path):
    when = (overdue + timedelta(minutes=25)).isoformat()
    with SmtpServer() as smtp:
        env = environment(app, tmp_path, MULI_SMTP_URL=smtp.url)
        worker = run_cli(env, "escalate", "--now", when)
        output = worker.communicate(timeout=300)[0].decode()
        received = list(smtp.sink.messages)
    assert worker.returncode == 0, output
    assert len(received) == 2 * REQUESTS, explain(app, env, output)
    for mail in received:
        text = mail["Subject"] + "\n" + mail.get_body(("plain",)).get_content()
        assert NAME not in text and "Kari" not in text
        assert HEALTH_TEXT not in text and "crisis" not in text and "116" not in text
        assert "https://muli.invalid/portal/queue" in text
