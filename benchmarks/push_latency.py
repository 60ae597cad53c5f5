"""Tap -> push accepted by the push service, beside tap -> email accepted by the SMTP server.

The whole path as it runs in production, on 127.0.0.1: gunicorn (2 workers x 4 threads)
answers the patient's POST /api/v1/me/contact-requests; `flask muli worker` (its outbox
relay: LISTEN/NOTIFY on PostgreSQL, a 250 ms poll on SQLite) sends the notification; a real
Web Push service (web-push-testing: checks VAPID, decrypts) and an aiosmtpd server receive.

Two patients on two teams tap in turn: Kari's nurse on call has a subscribed phone (push),
Per's has none (email). Latency = when the push service answered 201 (`outbox_attempt.
finished_at`, written by the worker) or when the SMTP server received the mail, minus the
instant before the tap's POST was sent (the same machine's clock). Lost = a tap whose
notification never arrived; duplicated = a notification that arrived twice.

    .venv/bin/python benchmarks/push_latency.py [--taps 200] [--gap 0.1] [--pg URL]

`--pg postgresql+psycopg://postgres@127.0.0.1:54329/postgres` also runs on PostgreSQL (a
throwaway database is created and dropped). Prints a Markdown table and writes
benchmarks/results/push_latency.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from muli.config import TestingConfig  # noqa: E402
from muli.extensions import db  # noqa: E402
from tests import conftest  # noqa: E402
from tests.contact_support import put_on_call  # noqa: E402
from tests.factories import World  # noqa: E402
from tests.push_service import PushService  # noqa: E402
from tests.reliability.live import Server, SmtpServer, environment, run_cli  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "push_latency.json"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def make_app(tmp: Path, pg_url: str | None):
    from flask_migrate import upgrade

    from muli.app import create_app

    if pg_url:
        os.environ["MULI_TEST_PG_URL"] = pg_url
        url = conftest.fresh_postgres_database(f"muli_bench_push_{os.getpid()}")
    else:
        url = f"sqlite:///{tmp / 'bench.sqlite3'}"
    app = create_app(conftest.make_config(tmp, url))
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"), revision="heads")
    return app, url


def run_one(kind: str, taps: int, gap: float, pg_url: str | None) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="muli-push-bench-"))
    app, url = make_app(tmp, pg_url)
    world = World(app)
    now = datetime.now(UTC)
    kari_team, per_team = world.team(office_hours={}), world.team(office_hours={})
    ola = world.staff(kari_team, role="member")  # has a phone that gets push
    eva = world.staff(per_team, role="member")  # has none: email
    kari, per = world.patient(kari_team), world.patient(per_team)
    put_on_call(app, kari_team, ola, now - timedelta(hours=1), now + timedelta(hours=3))
    put_on_call(app, per_team, eva, now - timedelta(hours=1), now + timedelta(hours=3))
    vapid = app.extensions["muli.vapid"]
    received_at: dict[str, float] = {}
    server = worker = None
    with PushService() as service, SmtpServer() as smtp:
        sub = service.subscribe(vapid.public_key)
        with app.test_client() as client:
            body = {"endpoint": sub["endpoint"], "keys": sub["keys"], "label": "bench"}
            assert (
                client.post("/api/v1/staff/push-subscriptions", json=body, headers=ola.headers).status_code
                == 201
            )
        # When each mail arrives (the sink keeps the message; we note the instant).
        original = smtp.sink.handle_DATA

        async def timed(server_, session, envelope):
            answer = await original(server_, session, envelope)
            message = smtp.sink.messages[-1]
            received_at[message["Message-ID"].strip("<>").split("@")[0]] = time.time()
            return answer

        smtp.sink.handle_DATA = timed
        env = environment(
            app, tmp, MULI_SMTP_URL=smtp.url, MULI_VAPID_PRIVATE_KEY=vapid.private_key, MULI_LOG_LEVEL="ERROR"
        )
        env["MULI_PUBLIC_URL"] = "https://muli.invalid"
        try:
            server = Server(env, tmp / "gunicorn.log")
            server.start()
            worker = run_cli(env, "worker", "--interval", "30")
            http = requests.Session()
            tapped: dict[str, tuple[str, float]] = {}  # request id -> (channel, tap instant)
            # Warm-up: the worker imports the app; its first notification is not counted.
            http.post(
                server.url + "/api/v1/me/contact-requests",
                json={"kind": "chat", "urgency": "talk"},
                headers={**kari.headers, "Idempotency-Key": str(uuid.uuid4())},
                timeout=30,
            )
            deadline = time.monotonic() + 120
            while not service.messages(sub["clientHash"]) and time.monotonic() < deadline:
                time.sleep(0.1)
            warm = {json.loads(m)["url"] for m in service.messages(sub["clientHash"])}
            for i in range(taps * 2):
                who, channel = (kari, "push") if i % 2 == 0 else (per, "email")
                started = time.time()
                response = http.post(
                    server.url + "/api/v1/me/contact-requests",
                    json={"kind": "call_me", "urgency": "crisis", "message": "får ikke sove"},
                    headers={**who.headers, "Idempotency-Key": str(uuid.uuid4())},
                    timeout=30,
                )
                if response.status_code == 201:
                    tapped[response.json()["id"]] = (channel, started)
                time.sleep(gap)
            # Wait for the stragglers (bounded).
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                pushes = len(service.messages(sub["clientHash"])) - len(warm)
                if pushes >= taps and len(received_at) >= taps:
                    break
                time.sleep(0.2)
            time.sleep(2)  # anything arriving twice arrives now
            pushed = [json.loads(m) for m in service.messages(sub["clientHash"])]
        finally:
            if worker is not None:
                worker.send_signal(signal.SIGTERM)
                try:
                    worker.communicate(timeout=30)
                except Exception:
                    worker.kill()
            if server is not None:
                server.kill()
    try:
        return measure(app, kind, url, tapped, pushed, warm, received_at, pg_url)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def measure(app, kind, url, tapped, pushed, warm, received_at, pg_url) -> dict:
    from sqlalchemy import select

    from muli.models.outbox import OutboxAttempt, OutboxMessage

    push_latency, email_latency = [], []
    by_request: dict[str, int] = {}
    for payload in pushed:
        if payload["url"] in warm:
            continue
        request_id = payload["url"].rsplit("#r-", 1)[-1]
        by_request[request_id] = by_request.get(request_id, 0) + 1
    with app.app_context():
        rows = db.session.execute(
            select(
                OutboxMessage.id, OutboxMessage.dedupe_key, OutboxMessage.channel, OutboxAttempt.finished_at
            )
            .join(OutboxAttempt, OutboxAttempt.message_id == OutboxMessage.id)
            .where(OutboxAttempt.outcome == "sent")
        ).all()
        db.session.remove()
        db.engine.dispose()
    accepted = {}
    for row_id, dedupe_key, channel, finished in rows:
        request_id = dedupe_key.split(":")[1]
        accepted[(request_id, channel)] = (str(row_id), finished.timestamp())
    lost = {"push": 0, "email": 0}
    for request_id, (channel, started) in tapped.items():
        got = accepted.get((request_id, channel))
        if channel == "push":
            if got is None or by_request.get(request_id, 0) == 0:
                lost["push"] += 1
                continue
            push_latency.append(got[1] - started)
        else:
            if got is None or got[0] not in received_at:
                lost["email"] += 1
                continue
            email_latency.append(received_at[got[0]] - started)
    duplicated = sum(n - 1 for n in by_request.values() if n > 1)
    if pg_url:
        conftest.drop_postgres_database(url)

    def stats(values):
        return {
            "n": len(values),
            "p50_ms": round(statistics.median(values) * 1000) if values else None,
            "p99_ms": round(percentile(values, 99) * 1000) if values else None,
            "max_ms": round(max(values) * 1000) if values else None,
        }

    return {
        "database": kind,
        "taps": len(tapped),
        "push": {**stats(push_latency), "lost": lost["push"], "duplicated": duplicated},
        "email": {**stats(email_latency), "lost": lost["email"]},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--taps", type=int, default=200, help="taps per channel")
    parser.add_argument("--gap", type=float, default=0.1, help="seconds between taps")
    parser.add_argument("--pg", help="a PostgreSQL admin URL: also run there")
    args = parser.parse_args()
    assert TestingConfig  # the benchmark runs the app with the test settings (fresh keys)
    results = [run_one("sqlite", args.taps, args.gap, None)]
    if args.pg:
        results.append(run_one("postgresql", args.taps, args.gap, args.pg))
    load = os.getloadavg()
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({"at": stamp, "load": load, "results": results}, indent=2) + "\n")
    print(f"\n{stamp}, load average {load[0]:.1f}, {args.taps} taps per channel, {args.gap:g} s apart\n")
    print("| database | path | p50 | p99 | max | lost | duplicated |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for r in results:
        p, e = r["push"], r["email"]
        print(
            f"| {r['database']} | tap → push accepted | {p['p50_ms']} ms | {p['p99_ms']} ms | "
            f"{p['max_ms']} ms | {p['lost']} | {p['duplicated']} |"
        )
        print(
            f"| {r['database']} | tap → email accepted | {e['p50_ms']} ms | {e['p99_ms']} ms | "
            f"{e['max_ms']} ms | {e['lost']} | - |"
        )


if __name__ == "__main__":
    threading.excepthook = lambda args: print("thread failed:", args.exc_value, file=sys.stderr)
    main()
