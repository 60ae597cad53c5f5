"""Issue 8, "beyond one machine": the production layout on loopback, with SIGKILLs.

nginx (deploy/nginx-muli.conf) in front of two gunicorn app instances, two `muli worker`
processes, one PostgreSQL database, Redis for the rate limits, an SMTP sink. 300 contact
requests, each retried with its Idempotency-Key until a 201, while one app instance (its
whole process group) and one worker are killed with SIGKILL. Then: none lost, none
duplicated, every escalation step once, every escalation email received (distinct
Message-IDs; an at-least-once resend keeps its Message-ID and is counted apart).
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
import redis
import requests
from sqlalchemy import func, select, text, update

from muli.contact.notifications import LEASE
from muli.extensions import db
from muli.models.audit import AuditEvent
from muli.models.base import utcnow
from muli.models.contact import ContactEscalation, ContactRequest
from muli.models.idempotency import IdempotencyRecord
from muli.models.outbox import OutboxMessage
from muli.trust import audit
from tests.conftest import database_kind
from tests.contact_support import put_on_call
from tests.reliability.cluster import Group, Nginx, Redis, worker
from tests.reliability.live import Server, SmtpServer, Stats, environment, send_until_answered

pytestmark = [
    pytest.mark.reliability,
    pytest.mark.slow,
    pytest.mark.skipif(
        database_kind() != "postgresql", reason="one database shared by several hosts: PostgreSQL"
    ),
]

TOTAL = int(os.environ.get("MULI_MULTI_HOST_TOTAL", "300"))
CLIENTS = 8
PATIENTS = 4
DEADLINE = 600  # seconds for the requests: a hard stop for a very slow machine
SETTLE = 300  # seconds for the workers to finish escalating and sending afterwards


@dataclass
class Cluster:
    nginx: Nginx
    apps: list[Server]
    workers: list[Group]
    redis: Redis
    smtp: SmtpServer
    kills: dict = field(default_factory=dict)


@pytest.fixture
def cluster(app, tmp_path):
    # No audit chain head yet: the two workers' first sealing passes at once create it
    # (muli/trust/audit.py makes that safe; this run found the race when requests made it).
    with contextlib.ExitStack() as stack:
        smtp = stack.enter_context(SmtpServer())
        store = Redis(tmp_path)
        stack.callback(store.kill)
        store.start()
        env = environment(
            app,
            tmp_path,
            MULI_ENV="production",
            MULI_TRUSTED_PROXIES="1",
            MULI_RATELIMIT_STORAGE_URL=store.url,
            MULI_SMTP_URL=smtp.url,
        )
        apps = [Server(env, tmp_path / f"app{n}.log") for n in (1, 2)]
        for server in apps:
            stack.callback(server.kill)
            server.start()
        nginx = Nginx(tmp_path, [f"127.0.0.1:{server.port}" for server in apps])
        stack.callback(nginx.kill)
        nginx.start()
        # PGAPPNAME names each worker's database sessions, so the test can see (in
        # pg_stat_activity) when the one it kills is inside a transaction.
        workers = [
            worker({**env, "PGAPPNAME": f"muli-worker-{n}"}, tmp_path / f"worker{n}.log") for n in (1, 2)
        ]
        for process in workers:
            stack.callback(process.kill)
            process.start()
        yield Cluster(nginx, apps, workers, store, smtp)


@pytest.fixture
def night(app, world):
    """No office hours; Ola primary and Kristin (coordinator) backup on call for the next hour.

    The team's acknowledge window is 0 minutes: every request is overdue the moment it is
    stored, so both escalation steps fall due while requests are still arriving and the
    workers are being killed: no clock is moved and no row is edited to make them due."""
    team = world.team(office_hours={}, acknowledge_window_minutes=0)
    ola = world.staff(team, name="Ola Vakt")
    kristin = world.staff(team, role="coordinator", name="Kristin Koordinator")
    patients = [world.patient(team, name=f"Pasient {n}") for n in range(PATIENTS)]
    now = utcnow()
    put_on_call(app, team, ola, now - timedelta(minutes=5), now + timedelta(hours=1))
    put_on_call(app, team, kristin, now - timedelta(minutes=5), now + timedelta(hours=1), "backup")
    return patients


def _in_transaction(app, name: str, timeout: float = 20) -> str:
    """Wait (at most `timeout` s) until a session of the process named `name` is inside a
    transaction; answers what it was doing, for the report."""
    deadline = time.monotonic() + timeout
    with app.app_context(), db.engine.connect() as conn:
        while time.monotonic() < deadline:
            row = conn.execute(
                text(
                    "SELECT state, left(regexp_replace(query, '\\s+', ' ', 'g'), 60) FROM pg_stat_activity"
                    " WHERE application_name = :name AND xact_start IS NOT NULL"
                ),
                {"name": name},
            ).first()
            conn.rollback()
            if row:
                return f"{row[0]}: {row[1]}"
            time.sleep(0.002)
    return "not caught in a transaction"


def _killer(app, cluster: Cluster, stats: Stats, stop: threading.Event, started: float) -> None:
    """Tied to progress, not to the clock: one worker at 25 % answered (at a moment its
    database session is inside a transaction), one app instance (gunicorn master and
    workers, mid-request) at 35 %, and that instance started again at once, as a supervisor
    would. Its start takes seconds, often longer than the rest of the requests: that nginx
    takes it back is checked afterwards (`_taken_back`)."""

    def kill_worker():
        cluster.kills["worker_was"] = _in_transaction(app, "muli-worker-1")
        cluster.workers[0].kill()

    plan = [
        (0.25, "worker", kill_worker),
        (0.35, "app", lambda: cluster.apps[0].kill()),
        (0.35, "app_restart", lambda: cluster.apps[0].start()),
    ]
    for fraction, name, act in plan:
        while stats["answered"] < TOTAL * fraction:
            if stop.wait(0.02):
                return
        time.sleep(random.uniform(0, 0.2))  # land anywhere in a request's steps
        act()
        cluster.kills[name] = (utcnow(), time.monotonic() - started, stats["answered"])


def _rate_limit(cluster: Cluster) -> dict:
    """22 wrong logins through nginx from one client (each with a different forged
    X-Forwarded-For), 4 at a time so that a slow machine stays well inside the limit's
    minute: the instances count them together in Redis."""

    def login(n: int) -> tuple[int, str | None]:
        response = requests.post(
            cluster.nginx.url + "/api/v1/auth/token",
            # A name of its own each time: the per-name lockout (5 failures) stays out of it.
            json={"username": f"ingen-slik-{n}", "password": "feil passord"},
            headers={"X-Forwarded-For": f"198.51.100.{n}"},
            timeout=30,
        )
        return response.status_code, response.headers.get("X-RateLimit-Remaining")

    started = time.monotonic()
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(login, range(22)))
    took = time.monotonic() - started
    statuses = [status for status, _ in answers]
    remaining = [left for _, left in answers]
    time.sleep(0.5)  # nginx writes the last line after the answer has gone
    lines = [
        line for line in cluster.nginx.access_log.read_text().splitlines() if "/api/v1/auth/token" in line
    ]
    upstreams = Counter(re.search(r"upstream=(\S+)", line).group(1) for line in lines)
    keys = redis.Redis.from_url(cluster.redis.url).keys("*")
    return {
        "statuses": statuses,
        "remaining": remaining,
        "upstreams": upstreams,
        "redis_keys": len(keys),
        "seconds": round(took, 1),
    }


def _logins_without_redis(cluster: Cluster) -> list[int]:
    """Kill Redis, then log in (wrongly) through nginx: answered, not 500."""
    cluster.redis.kill()
    return [
        requests.post(
            cluster.nginx.url + "/api/v1/auth/token",
            json={"username": f"uten-redis-{n}", "password": "feil passord"},
            timeout=30,
        ).status_code
        for n in range(4)
    ]


def _taken_back(cluster: Cluster, timeout: float = 60) -> float | None:
    """Seconds until nginx sends requests to the restarted instance again (its
    fail_timeout over), seen in nginx's log as a /readyz answered 200 by that instance."""
    address = f"127.0.0.1:{cluster.apps[0].port}"
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        with contextlib.suppress(requests.RequestException):
            requests.get(cluster.nginx.url + "/readyz", timeout=10)
        time.sleep(0.2)
        for line in cluster.nginx.access_log.read_text().splitlines():
            if "GET /readyz" in line and f"upstream={address} upstream_status=200" in line:
                return time.monotonic() - started
    return None


def _settle(app, cluster: Cluster, deadline: float) -> int:
    """Wait until the workers have escalated and sent everything; answers how many leases
    of the killed worker were expired.

    The killed worker may have died holding a claimed email (`sending`, 2-minute lease).
    Rather than wait the two minutes, the lease's end is simulated: rows still `sending`
    once all else is done and claimed before the kill (claimed_until <= kill + LEASE) get
    claimed_until moved into the past, which is what the passage of time would do."""
    killed_at = cluster.kills["worker"][0]
    expired: set = set()
    while time.monotonic() < deadline:
        with app.app_context():
            behind = db.session.scalar(
                select(func.count()).where(
                    ContactRequest.escalation_level < 2, ContactRequest.state == "open"
                )
            )
            pending = db.session.scalar(select(func.count()).where(OutboxMessage.state == "pending"))
            sending = list(
                db.session.execute(
                    select(OutboxMessage.id, OutboxMessage.claimed_until).where(
                        OutboxMessage.state == "sending"
                    )
                )
            )
            if not behind and not pending and not sending:
                db.session.remove()
                return len(expired)
            stale = {row.id for row in sending if row.claimed_until <= killed_at + LEASE}
            if not behind and not pending and stale - expired and len(stale) == len(sending):
                db.session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id.in_(stale - expired), OutboxMessage.state == "sending")
                    .values(claimed_until=utcnow() - timedelta(seconds=1))
                )
                db.session.commit()
                expired |= stale
            db.session.remove()
        time.sleep(0.5)
    raise AssertionError(
        f"the workers did not finish within {SETTLE} s: {behind} requests behind, {pending} emails pending"
    )


def test_two_hosts_behind_nginx_lose_nothing_double_nothing_and_escalate_once(app, night, cluster):
    patients = night
    limits = _rate_limit(cluster)
    # Shared storage: exactly 20 pass whichever instance answers; with memory:// each of
    # the 4 gunicorn processes (2 per instance) would count on its own and let all 22 by.
    assert Counter(limits["statuses"]) == {401: 20, 429: 2}, limits
    assert len(limits["upstreams"]) == 2, limits  # both instances answered
    assert limits["redis_keys"] >= 1

    keys = [str(uuid.uuid4()) for _ in range(TOTAL)]
    owner = {key: patients[n % PATIENTS] for n, key in enumerate(keys)}
    stats = Stats()
    stop = threading.Event()
    started = time.monotonic()
    killer = threading.Thread(target=_killer, args=(app, cluster, stats, stop, started), daemon=True)
    killer.start()
    timer = threading.Timer(DEADLINE, stop.set)
    timer.start()
    try:
        with ThreadPoolExecutor(CLIENTS) as pool:
            answered = list(
                pool.map(lambda k: send_until_answered(cluster.nginx.url, owner[k], k, stats, stop), keys)
            )
        requests_done = time.monotonic() - started
        killer.join(180)  # the restart of the killed instance may still be under way
    finally:
        stop.set()
        timer.cancel()
    expired = _settle(app, cluster, time.monotonic() + SETTLE)
    elapsed = time.monotonic() - started
    back_after = _taken_back(cluster)
    redis_gone = _logins_without_redis(cluster)

    with app.app_context():
        stored = {
            row.id: row.escalation_level
            for row in db.session.execute(select(ContactRequest.id, ContactRequest.escalation_level))
        }
        steps = Counter(
            db.session.execute(select(ContactEscalation.request_id, ContactEscalation.kind)).all()
        )
        outbox = list(
            db.session.execute(select(OutboxMessage.id, OutboxMessage.dedupe_key, OutboxMessage.state))
        )
        records = set(db.session.scalars(select(IdempotencyRecord.key)))
        # The workers sealed as they went; seal what came after their last pass, then every
        # event must have its place in one chain.
        by_workers = db.session.scalar(select(func.count()).where(AuditEvent.chain_pos.is_not(None)))
        audit.seal_all(db.session, db.session.commit)
        breaks = list(audit.verify(db.session))
        unsealed = db.session.scalar(select(func.count()).where(AuditEvent.chain_pos.is_(None)))
        db.session.remove()
    received = Counter(str(message["Message-ID"]) for message in cluster.smtp.sink.messages)
    served = Counter(  # which instance answered each contact request, as nginx saw it
        re.search(r"upstream=(.*) upstream_status=(.*) rt=", line).groups()
        for line in cluster.nginx.access_log.read_text().splitlines()
        if "/api/v1/me/contact-requests" in line
    )

    answered_ids = {uuid.UUID(i) for i in answered if i}
    purposes = Counter((key.split(":")[0], key.split(":")[1]) for _id, key, _state in outbox)
    per_request = Counter(
        tuple(sorted((p, n) for (p, r), n in purposes.items() if r == str(rid))) for rid in stored
    )
    expected_ids = {f"<{row.id}@muli.outbox>" for row in outbox}
    escalation_ids = {f"<{row.id}@muli.outbox>" for row in outbox if row.dedupe_key.startswith("escalation-")}
    duplicates = sum(n - 1 for n in received.values())
    kills = {
        name: f"{value[1]:.1f} s after start, {value[2]} answered" if isinstance(value, tuple) else value
        for name, value in cluster.kills.items()
    }
    print(
        f"\nmulti-host run (nginx, 2 app instances, 2 workers, PostgreSQL, Redis): {TOTAL} requests from "
        f"{CLIENTS} clients / {PATIENTS} patients in {requests_done:.1f} s, settled in {elapsed:.1f} s; "
        f"{stats['attempts']} attempts, {stats['connection_errors']} connection errors, "
        f"{stats['replayed']} replayed; statuses "
        f"{ {k: v for k, v in sorted(stats.counts.items()) if k.startswith('status_')} }; "
        f"stored {len(stored)}, lost {len(answered_ids - set(stored)) + answered.count(None)}, "
        f"duplicated {len(stored) - len(answered_ids)}; escalation steps {sum(steps.values())} "
        f"({dict(Counter(kind for _, kind in steps))}, "
        f"max per request and step {max(steps.values(), default=0)}); outbox {len(outbox)} rows; "
        f"emails received {sum(received.values())}, distinct Message-IDs {len(received)} "
        f"(escalation {len(escalation_ids & set(received))}), duplicates (same Message-ID) {duplicates}; "
        f"leases of the killed worker expired {expired}; kills {kills}; "
        f"restarted instance taken back by nginx after {back_after and round(back_after, 1)} s; "
        f"nginx (upstream, status): {dict(served)}; "
        f"rate limit: {limits}; logins with Redis killed: {redis_gone}; "
        f"{dict(stats.counts)}"
    )

    assert {"worker", "app", "app_restart"} <= set(cluster.kills), "both kills must have happened mid-run"
    assert back_after is not None, "nginx never sent a request to the restarted instance"
    # 0 lost, 0 duplicated: every key answered, one stored request and one record per key.
    assert None not in answered and len(answered_ids) == TOTAL
    assert set(stored) == answered_ids
    assert records == set(keys)
    # Every escalation exactly once: both steps for every request, no step twice.
    assert set(stored.values()) == {2}
    assert set(steps.values()) == {1} and len(steps) == 2 * TOTAL
    # One email per recipient and purpose: the responder, the backup, the team of two.
    assert per_request == {(("escalation-backup", 1), ("escalation-team", 2), ("request", 1)): TOTAL}, (
        per_request
    )
    assert {state for _id, _key, state in outbox} == {"sent"}
    # Every email arrived; a resend (at least once) keeps its Message-ID and is counted
    # apart: at most the one mail the killed worker had in hand.
    assert set(received) == expected_ids
    assert len(escalation_ids) == 3 * TOTAL
    assert duplicates <= 1
    assert breaks == []
    assert unsealed == 0 and by_workers > 0, (unsealed, by_workers)
    # Redis down: a patient can still log in; the instances count in memory meanwhile.
    assert redis_gone == [401] * 4
