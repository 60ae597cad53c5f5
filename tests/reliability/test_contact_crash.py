"""500 contact requests while gunicorn is killed with SIGKILL at random moments: none lost, none doubled."""

from __future__ import annotations

import os
import random
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from muli.extensions import db
from muli.models.base import utcnow
from muli.models.contact import ContactRequest
from muli.models.idempotency import IdempotencyRecord
from muli.models.outbox import OutboxMessage
from muli.trust import audit
from tests.contact_support import put_on_call
from tests.reliability.live import Server, Stats, environment, send_until_answered

pytestmark = [pytest.mark.reliability, pytest.mark.slow]

TOTAL = int(os.environ.get("MULI_CRASH_TOTAL", "500"))
CLIENTS = 8
DEADLINE = 900  # seconds: a hard stop for a very slow machine; see the printed figures


@pytest.fixture
def night(app, world):
    """No office hours and a primary on call for the next hour: every request routes the same way."""
    team = world.team(office_hours={})
    ola = world.staff(team, name="Ola Vakt")
    patient = world.patient(team, name="Kari Testesen")
    now = utcnow()
    put_on_call(app, team, ola, now - timedelta(minutes=5), now + timedelta(hours=1))
    return patient, ola


@pytest.fixture
def server(app, tmp_path):
    live = Server(environment(app, tmp_path), tmp_path / "gunicorn.log")
    live.start()
    yield live
    live.kill()


def _killer(server, stop: threading.Event, stats: Stats) -> None:
    """SIGKILL at random points of the request stream: after every 25-60 answered requests
    (and a random fraction of a second, to land mid-request). Usually the workers (the master
    forks new ones); every fourth time the whole server, master included, which is then
    started again. Tied to progress, not to the clock, so a slow machine is not killed into
    a standstill and the number of crashes stays about the same everywhere."""
    next_at = random.randint(25, 60)
    while not stop.wait(0.05):
        if stats["answered"] < next_at:
            continue
        time.sleep(random.uniform(0, 0.3))
        if stats["kills"] % 4 == 3:
            server.kill()
            stats.add("server_kills")
            if not stop.is_set():
                server.start()
        else:
            stats.add("worker_kills", server.kill_workers())
        stats.add("kills")
        next_at = stats["answered"] + random.randint(25, 60)


def test_five_hundred_requests_survive_random_sigkills_exactly_once(app, night, server):
    patient, _ola = night
    keys = [str(uuid.uuid4()) for _ in range(TOTAL)]
    stats = Stats()
    stop = threading.Event()
    started = time.monotonic()
    killer = threading.Thread(target=_killer, args=(server, stop, stats), daemon=True)
    killer.start()
    timer = threading.Timer(DEADLINE, stop.set)
    timer.start()
    try:
        with ThreadPoolExecutor(CLIENTS) as pool:
            answered = list(
                pool.map(lambda k: send_until_answered(server.url, patient, k, stats, stop), keys)
            )
    finally:
        stop.set()
        timer.cancel()
        killer.join(60)
    elapsed = time.monotonic() - started
    if server.proc is None:
        server.start()  # the killer may have stopped between a kill and a restart

    with app.app_context():
        stored = set(
            db.session.scalars(select(ContactRequest.id).where(ContactRequest.patient_id == patient.id))
        )
        outbox = list(db.session.scalars(select(OutboxMessage.dedupe_key)))
        idempotency = db.session.scalar(select(func.count()).select_from(IdempotencyRecord))
        breaks = list(audit.verify(db.session))
        integrity = (
            db.session.execute(text("PRAGMA integrity_check")).scalar()
            if db.engine.dialect.name == "sqlite"
            else "ok"
        )
        db.session.remove()

    answered_ids = {uuid.UUID(i) for i in answered if i}
    notified = Counter(key.split(":")[1] for key in outbox)
    print(
        f"\ncrash test ({app.config['SQLALCHEMY_DATABASE_URI'].split(':')[0]}): {TOTAL} requests in "
        f"{elapsed:.1f} s, {stats['kills']} kill rounds ({stats['server_kills']} whole server), "
        f"{stats['attempts']} attempts, "
        f"{stats['replayed']} replayed, {stats['connection_errors']} connection errors, "
        f"stored {len(stored)}, lost {len(answered_ids - stored)}, "
        f"duplicated {len(stored) - len(answered_ids)}, outbox {len(outbox)}; {dict(stats.counts)}"
    )
    assert stats["kills"] >= 5, "the server must actually have been killed during the run"
    assert None not in answered and len(answered_ids) == TOTAL
    assert stored == answered_ids  # none lost, none extra
    assert idempotency == TOTAL
    assert len(outbox) == TOTAL and set(notified.values()) == {1}
    assert {uuid.UUID(i) for i in notified} == stored
    assert integrity == "ok"
    assert breaks == []
