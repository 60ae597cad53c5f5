"""CPU per request of the four benchmarked endpoints, in process (Flask's test client, no
server, no wrk): for measuring one change at a time on a loaded machine, where process CPU
divided by requests is steadier than anything timed by the clock.

    .venv/bin/python benchmarks/answers.py seed --db sqlite --dir /tmp/answers   # once
    .venv/bin/python benchmarks/cpu_inproc.py --db sqlite --dir /tmp/answers [-n 300] [--profile DIR]

Works on a fresh copy of `answers.py`'s seeded database (200 open contact requests), with the
production configuration. Each endpoint: 30 requests to warm up, then `n` measured; prints
CPU ms per request (user + system of this process; PostgreSQL's own CPU is not in it).
`--profile DIR` writes a cProfile of each endpoint's measured requests there.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, os.getcwd())
sys.path.insert(0, str(Path(__file__).resolve().parent))

import answers


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("-n", type=int, default=300)
    parser.add_argument("--only", default="")
    parser.add_argument("--profile", type=Path)
    args = parser.parse_args()
    if args.db == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{args.dir / 'cpu.sqlite3'}{suffix}").unlink(missing_ok=True)
        shutil.copy(args.dir / "seed.sqlite3", args.dir / "cpu.sqlite3")
        name = "cpu"
    else:
        name = "answers_cpu"
        answers.pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        answers.pg(f'CREATE DATABASE "{name}" TEMPLATE "answers_seed"')
    app = answers.make_app(args.db, args.dir, name, answers.RUN_AT)
    client = app.test_client()
    import json

    refresh = json.loads((args.dir / f"tokens-{args.db}.json").read_text())
    tokens = {}
    for who, token in refresh.items():
        answer = client.post("/api/v1/auth/refresh", headers=answers.auth(token))
        tokens[who] = answers.auth(answer.get_json()["access_token"])
    plan_etag = client.get("/api/v1/me/crisis-plan", headers=tokens["patient"]).headers["ETag"]
    queue_etag = client.get("/api/v1/staff/contact-requests", headers=tokens["staff"]).headers["ETag"]
    endpoints = {
        "crisis_plan": ("GET", "/api/v1/me/crisis-plan", "patient", None, 200, {}),
        "crisis_plan_304": (
            "GET",
            "/api/v1/me/crisis-plan",
            "patient",
            None,
            304,
            {"If-None-Match": plan_etag},
        ),
        "queue": ("GET", "/api/v1/staff/contact-requests", "staff", None, 200, {}),
        "queue_304": (
            "GET",
            "/api/v1/staff/contact-requests",
            "staff",
            None,
            304,
            {"If-None-Match": queue_etag},
        ),
        "diary": ("POST", "/api/v1/me/diary", "patient", answers.DIARY, 201, {}),
        "contact": ("POST", "/api/v1/me/contact-requests", "patient", answers.CONTACT, 201, "key"),
    }
    counter = [10_000]
    for key, (method, path, who, body, status, headers) in endpoints.items():
        if args.only and key not in args.only.split(","):
            continue

        def once(method=method, path=path, who=who, body=body, status=status, headers=headers, key=key):
            if headers == "key":
                counter[0] += 1
                extra = {"Idempotency-Key": answers.key(counter[0])}
            else:
                extra = headers
            answer = client.open(path, method=method, json=body, headers={**tokens[who], **extra})
            if answer.status_code != status:
                raise RuntimeError(f"{key}: {answer.status_code} {answer.get_data(as_text=True)[:300]}")

        for _ in range(30):
            once()
        # On the CPU's clock, not the wall's: the commit waits on the disk.
        profiler = cProfile.Profile(time.process_time) if args.profile else None
        started, wall = time.process_time(), time.perf_counter()
        if profiler:
            profiler.enable()
        for _ in range(args.n):
            once()
        if profiler:
            profiler.disable()
            args.profile.mkdir(parents=True, exist_ok=True)
            profiler.dump_stats(args.profile / f"{args.db}-{key}.prof")
        cpu = (time.process_time() - started) / args.n * 1000
        wall_ms = (time.perf_counter() - wall) / args.n * 1000
        calls = ""
        if profiler:
            import pstats

            calls = f", {pstats.Stats(profiler).total_calls / args.n:.0f} calls/request"  # type: ignore[attr-defined]
        print(f"{args.db:10} {key:16} {cpu:6.2f} ms CPU/request  ({wall_ms:.2f} ms wall{calls})")
    with app.app_context():
        from muli.extensions import db

        db.engine.dispose()
    if args.db != "sqlite":
        answers.pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return 0


if __name__ == "__main__":
    sys.exit(main())
