"""Two in-process probes of the benchmarked endpoints, on `answers.py`'s seeded database:

    .venv/bin/python benchmarks/answers.py seed --db sqlite --dir /tmp/answers   # once
    # the statements one request of each endpoint sends (SQLAlchemy's, before the driver)
    .venv/bin/python benchmarks/probe.py statements --db sqlite --dir /tmp/answers
    # CPU per request with THREADS threads in one process (SQLite), as gunicorn's gthread
    # worker runs them: compare --threads 1 with --threads 4 to see what sharing the GIL costs
    .venv/bin/python benchmarks/probe.py threads --dir /tmp/answers --threads 4 -n 1200 --only crisis_plan

Why the second: under gunicorn (2 workers x 4 threads) a request costs more CPU than the same
request in process on one thread. Every call that releases the GIL (each sqlite3 step and
commit, socket I/O, lock waits) hands it to another thread, and with WAL every commit by
another connection makes SQLite drop each connection's page cache, so pages are read again.
The statements a request sends therefore count for more than their in-process time.
Each run works on a fresh copy of the seed (PostgreSQL: a database from its template).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, os.getcwd())
sys.path.insert(0, str(Path(__file__).resolve().parent))

import answers

ENDPOINTS = {
    "crisis_plan": ("GET", "/api/v1/me/crisis-plan", "patient", None),
    "queue": ("GET", "/api/v1/staff/contact-requests", "staff", None),
    "diary": ("POST", "/api/v1/me/diary", "patient", answers.DIARY),
    "contact": ("POST", "/api/v1/me/contact-requests", "patient", answers.CONTACT),
}


def _app(kind: str, directory: Path, name: str):
    if kind == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{directory / f'{name}.sqlite3'}{suffix}").unlink(missing_ok=True)
        shutil.copy(directory / "seed.sqlite3", directory / f"{name}.sqlite3")
    else:
        name = f"answers_{name}"
        answers.pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        answers.pg(f'CREATE DATABASE "{name}" TEMPLATE "answers_seed"')
    app = answers.make_app(kind, directory, name, answers.RUN_AT)
    client = app.test_client()
    refresh = json.loads((directory / f"tokens-{kind}.json").read_text())
    tokens = {}
    for who, token in refresh.items():
        answer = client.post("/api/v1/auth/refresh", headers=answers.auth(token))
        tokens[who] = answers.auth(answer.get_json()["access_token"])
    return app, tokens, name


def _call(client, tokens, key: str, serial: list[int]) -> int:
    method, path, who, body = ENDPOINTS[key]
    headers = dict(tokens[who])
    if key == "contact":
        serial[0] += 1
        headers["Idempotency-Key"] = answers.key(50_000 + serial[0])
    answer = client.open(path, method=method, json=body, headers=headers)
    if answer.status_code >= 300:
        raise RuntimeError(f"{key}: {answer.status_code} {answer.get_data(as_text=True)[:300]}")
    return answer.status_code


def statements(args) -> None:
    from sqlalchemy import event

    from muli.extensions import db

    app, tokens, _ = _app(args.db, args.dir, "probe")
    with app.app_context():
        engine = db.engine
    sent: list[str] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _sent(_conn, _cursor, statement, _params, _context, _many):
        sent.append(" ".join(statement.split())[:160])

    client, serial = app.test_client(), [0]
    for key in args.only or ENDPOINTS:
        for _ in range(3):  # the last of three: caches warm, as under load
            sent.clear()
            status = _call(client, tokens, key, serial)
        print(f"== {key} ({status}): {len(sent)} statements")
        for line in sent:
            print("   ", line)


def threads(args) -> None:
    app, tokens, _ = _app("sqlite", args.dir, "probe")
    for key in args.only or ("crisis_plan",):
        serial = [0]

        def work(count: int, key=key, serial=serial) -> None:
            client = app.test_client()
            for _ in range(count):
                _call(client, tokens, key, serial)

        work(30)
        gc.freeze()  # as wsgi.py does after the app is made
        started, wall = time.process_time(), time.perf_counter()
        each = args.n // args.threads
        pool = [threading.Thread(target=work, args=(each,)) for _ in range(args.threads)]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()
        done = each * args.threads
        cpu = (time.process_time() - started) / done * 1000
        print(
            f"sqlite {key:12} threads={args.threads}: {cpu:.2f} ms CPU/request "
            f"({(time.perf_counter() - wall) / done * 1000:.2f} ms wall)"
        )


def main() -> int:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="probe", required=True)
    one = sub.add_parser("statements")
    one.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    two = sub.add_parser("threads")
    two.add_argument("--threads", type=int, default=4)
    two.add_argument("-n", type=int, default=1200)
    for each in (one, two):
        each.add_argument("--dir", type=Path, required=True)
        each.add_argument("--only", type=lambda s: [k for k in s.split(",") if k], default=[])
    args = parser.parse_args()
    statements(args) if args.probe == "statements" else threads(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
