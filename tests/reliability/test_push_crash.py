"""200 contact requests while the worker (outbox relay) and the app server are SIGKILLed at
random moments: every request stored once, and the nurse on call's phone told about every
one of them by a real Web Push service, at least once, each push with a stable id.

The design (muli/contact/notifications.py): a staff member with a subscribed device gets a
push per device and no email; an email only as the fallback for a push that cannot be
delivered. So: one push row per request, every one accepted by the push service, and as
many emails as fallbacks were recorded (none, when the service is up).

The worker is SIGKILLed (its process group) 4 times while it sends, the app server twice
while the requests arrive; each is started again at once. A worker killed after claiming a
row (mid-send, or between the push service's 201 and its own `sent` commit) leaves the row
claimed for the 2-minute lease; the restarted worker sends it after that. The test does
not wait two minutes: once the live worker has settled everything else it runs the same
`send_due` in-process with the clock past the lease (as test_push_live.py does for
back-offs). A row the service already had is re-sent (counted, allowed: at least once)
and must carry the same id and bytes as the first copy.

    MULI_TEST_DB=sqlite .venv/bin/pytest -q -rP tests/reliability/test_push_crash.py
"""

from __future__ import annotations

import json
import os
import random
import signal
import threading
import time
import uuid
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from muli.contact import notifications
from muli.extensions import db
from muli.models.base import utcnow
from muli.models.contact import ContactRequest
from muli.models.outbox import OutboxAttempt, OutboxMessage
from tests.contact_support import put_on_call
from tests.push_service import PushService
from tests.reliability.live import (
    CONTACT_REQUEST,
    Server,
    SmtpServer,
    Stats,
    environment,
    explain,
    kill_group,
    run_cli,
    send_until_answered,
)
from tests.reliability.test_push_live import send, subscribe

pytestmark = [pytest.mark.reliability, pytest.mark.slow]

TOTAL = int(os.environ.get("MULI_PUSH_CRASH_TOTAL", "200"))
CLIENTS = 6
WORKER_KILLS = 4
DEADLINE = 300  # seconds for the requests: a hard stop for a very slow machine
SETTLE = 60  # seconds for the live worker to send what is left once the requests are in


class Worker:
    """`flask muli worker` in its own process group; its output drained into a list, so a
    chatty relay never blocks on a full pipe."""

    def __init__(self, env: dict):
        self.env = env
        self.proc = None
        self.output: list[str] = []
        self.starts = 0

    def start(self) -> None:
        self.proc = run_cli(self.env, "worker", "--interval", "30")
        self.starts += 1
        threading.Thread(target=self._drain, args=(self.proc,), daemon=True).start()

    def _drain(self, proc) -> None:
        with proc.stdout:  # closed here, at the end of the output (a kill ends it too)
            for line in proc.stdout:
                self.output.append(line.decode(errors="replace"))

    def kill(self) -> None:
        kill_group(self.proc)
        self.proc = None

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        finally:
            self.kill()

    def text(self) -> str:
        return "".join(self.output[-200:])


@pytest.fixture
def service():
    with PushService() as running:
        yield running


@pytest.fixture
def night(app, world, client, service):
    """Nobody in the office; Ola on call for the next hour, with a phone subscribed (and an email)."""
    team = world.team(office_hours={})
    ola = world.staff(team, name="Ola Vaktsen")
    patient = world.patient(team, name="Kari Testesen")
    now = utcnow()
    put_on_call(app, team, ola, now - timedelta(minutes=5), now + timedelta(hours=1))
    phone = subscribe(client, app, service, ola)
    assert ola.staff.email
    return patient, ola, phone


def _server_killer(server: Server, stop: threading.Event, stats: Stats) -> None:
    """SIGKILL the whole app server (master and workers) at about 30 % and 65 % of the
    answered requests, plus a random fraction of a second; started again at once."""
    for share in (0.3, 0.65):
        at = int(TOTAL * share) + random.randint(-10, 10)
        while stats["answered"] < at:
            if stop.wait(0.05):
                return
        time.sleep(random.uniform(0, 0.3))
        server.kill()
        stats.add("server_kills")
        if not stop.is_set():
            server.start()


def _worker_killer(worker: Worker, service, client_hash: str, stop: threading.Event, stats: Stats) -> None:
    """SIGKILL the worker's process group WORKER_KILLS times, each while it is sending: once
    the push service has accepted 3-20 more pushes since the worker's (re)start, and a random
    0-100 ms later (a push takes tens of ms here: the kill lands mid-send or between the
    service's 201 and the worker's commit). Restarted at once. Done early when every
    request's push has arrived (nothing left to interrupt)."""
    while stats["worker_kills"] < WORKER_KILLS and not stop.is_set():
        target = len(service.messages(client_hash)) + random.randint(3, 20)
        while (seen := len(service.messages(client_hash))) < target:
            if seen >= TOTAL or stop.wait(0.02):
                return
        time.sleep(random.uniform(0, 0.1))
        worker.kill()
        stats.add("worker_kills")
        worker.start()


def _outbox(app) -> list[OutboxMessage]:
    with app.app_context():
        found = list(db.session.scalars(select(OutboxMessage)))
        db.session.expunge_all()
        db.session.remove()
        return found


def _unsettled(app) -> int:
    with app.app_context():
        n = db.session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.state.in_(("pending", "sending")))
        )
        db.session.remove()
        return n


def test_two_hundred_requests_all_pushed_at_least_once_while_worker_and_server_are_killed(
    app, night, service, tmp_path
):
    patient, _ola, phone = night
    vapid = app.extensions["muli.vapid"]
    keys = [str(uuid.uuid4()) for _ in range(TOTAL)]
    stats = Stats()
    stop = threading.Event()
    with SmtpServer() as smtp:
        env = environment(app, tmp_path, MULI_VAPID_PRIVATE_KEY=vapid.private_key, MULI_SMTP_URL=smtp.url)
        server = Server(env, tmp_path / "gunicorn.log")
        worker = Worker(env)
        halt = threading.Event()  # ends the worker killer whatever happens
        started = time.monotonic()
        try:
            server.start()
            worker.start()
            killers = [
                threading.Thread(target=_server_killer, args=(server, stop, stats), daemon=True),
                threading.Thread(
                    target=_worker_killer,
                    args=(worker, service, phone["clientHash"], halt, stats),
                    daemon=True,
                ),
            ]
            for killer in killers:
                killer.start()
            timer = threading.Timer(DEADLINE, stop.set)
            timer.start()
            try:
                with ThreadPoolExecutor(CLIENTS) as pool:
                    answered = list(
                        pool.map(lambda k: send_until_answered(server.url, patient, k, stats, stop), keys)
                    )
                requests_took = time.monotonic() - started
            finally:
                stop.set()
                timer.cancel()
                killers[0].join(60)
                killers[1].join(SETTLE)  # it may still be killing the worker through the backlog
                halt.set()
                killers[1].join(30)
            # The live worker sends what is due; rows a killed worker held stay claimed.
            # Settled: nothing pending, and the same rows claimed twice 0.5 s apart.
            deadline, held = time.monotonic() + SETTLE, None
            while time.monotonic() < deadline:
                stuck = {m.id for m in _outbox(app) if m.state == "sending"}
                if _unsettled(app) == len(stuck) and stuck == held:
                    break
                held = stuck
                time.sleep(0.5)
            worker.stop()
            before_lease = {json.loads(m)["id"] for m in service.messages(phone["clientHash"])}
            # What the restarted worker would do once the killed worker's lease ran out.
            after_lease = send(app, smtp, seconds=notifications.LEASE.total_seconds() + 1)
            settled_in = time.monotonic() - started
            mails = list(smtp.sink.messages)
        finally:
            stop.set()
            halt.set()
            worker.kill()
            server.kill()
        received = service.messages(phone["clientHash"])

    with app.app_context():
        stored = set(
            db.session.scalars(select(ContactRequest.id).where(ContactRequest.patient_id == patient.id))
        )
        tries = list(db.session.scalars(select(OutboxAttempt)))
        db.session.expunge_all()
        db.session.remove()
    outbox = _outbox(app)
    pushes = {m.id: m for m in outbox if m.channel == "push"}
    emails = [m for m in outbox if m.channel == "email"]
    payloads = [json.loads(p) for p in received]
    by_id: dict[str, list[str]] = defaultdict(list)
    for raw, p in zip(received, payloads, strict=True):
        by_id[p["id"]].append(raw)
    tags = {p["tag"] for p in payloads}
    resends = len(received) - len(by_id)
    sent_attempts = Counter(a.message_id for a in tries if a.channel == "push" and a.outcome == "sent")
    answered_ids = {uuid.UUID(i) for i in answered if i}
    database = app.config["SQLALCHEMY_DATABASE_URI"].split(":")[0]
    figures = (
        f"push crash test ({database}): {TOTAL} requests in {requests_took:.1f} s (settled at "
        f"{settled_in:.1f} s), {stats['attempts']} attempts, {stats['replayed']} replayed, "
        f"{stats['connection_errors']} connection errors; kills: worker {stats['worker_kills']} "
        f"(started {worker.starts}), "
        f"server {stats['server_kills']}; stored {len(stored)}, "
        f"lost {len(answered_ids - stored)}, duplicated {len(stored) - len(answered_ids)}; "
        f"pushes received {len(received)}, distinct ids {len(by_id)}, distinct request tags "
        f"{len(tags)}, re-sends {resends}; after the lease {after_lease.sent} sent "
        f"({len(set(by_id) - before_lease)} of them first copies: killed before the service had them); "
        f"outbox attempts recorded {len(tries)}, "
        f"emails {len(mails)} ({len(emails)} queued)"
    )
    print("\n" + figures)
    why = f"{figures}\n{explain(app, env, worker.text())}"

    # The requests: exactly once.
    assert stats["worker_kills"] >= 3 and stats["server_kills"] >= 1, why
    assert None not in answered and len(answered_ids) == TOTAL, why
    assert stored == answered_ids, why
    # One push row per request for Ola's one phone, each sent; no email (the push went).
    assert len(pushes) == TOTAL and {m.subject for m in pushes.values()} == {"request"}, why
    assert {m.state for m in pushes.values()} == {"sent"}, why
    assert emails == [] and mails == [], why
    # Every row accepted by the push service at least once, under its own id and the
    # request's tag; a re-send is the same payload byte for byte.
    assert set(by_id) == {str(i) for i in pushes}, why
    assert tags == {f"muli-{i}" for i in stored}, why
    for message_id, copies in by_id.items():
        assert set(copies) == {pushes[uuid.UUID(message_id)].body}, message_id
    # The service received at least what outbox_attempt recorded as sent (a kill between the
    # 201 and the commit loses the record, never the push).
    assert all(len(by_id[str(i)]) >= n for i, n in sent_attempts.items()), why
    # Nothing about Kari on a lock screen: no name, no text, no number, not the nurse's name.
    text = "\n".join(received)
    for word in ("Kari", "Testesen", CONTACT_REQUEST["message"], "91234567", "Ola", "Vaktsen"):
        assert word not in text
