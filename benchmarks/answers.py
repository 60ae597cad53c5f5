"""The answers of the benchmarked endpoints, byte for byte: for checking that a change to how
they are computed (issue 19) changes nothing a client sees.

    # once, with any tree: a seeded database (SQLite file or PostgreSQL template) and tokens
    .venv/bin/python benchmarks/answers.py seed --db sqlite --dir /tmp/answers
    # with each tree to compare (run from that tree's root, this script from anywhere):
    .venv/bin/python /path/to/benchmarks/answers.py run --db sqlite --dir /tmp/answers --out before.txt
    diff before.txt after.txt        # must be empty

`run` works on a fresh copy of the seeded database, in process (Flask's test client), at a
fixed clock (`muli.clock`), with the production configuration and fixed keys. It calls
GET /me/crisis-plan (a MULI patient and a MULI vold patient: plain, If-None-Match current and
stale), GET /staff/contact-requests (first page, its 304, a smaller page and the next one,
acknowledged and closed), POST /me/diary and POST /me/contact-requests (and their idempotent
replays, an altered message, refused bodies), and writes each answer's status, headers
(without Date and X-Request-Id) and body, the OpenAPI document, then the audit events the
run appended (action, patient, resource, emergency, reason, in order). PostgreSQL: `MULI_PG_PORT` (5432).

One normalisation, because a write makes new random ids (uuid4, the models' default): a UUID
that is not in the seeded database is written as `<new-N>`, numbered by first appearance in
the output. Every id of the seeded data is compared as it is. And one more, for the same
reason: a write gives its team's queue a new random version, so the queue's first-page ETag
(a digest over the versions) differs on every run once something was written; from the first
successful write on, such a digest is written as `<queue-tag-N>`, numbered by first
appearance (so "the same tag again" and "a new tag" still show). Nothing else is normalised:
times come from the fixed clock, cursors and ETags are deterministic over the same rows.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, os.getcwd())  # the tree under test is the one the script is run from

SEED_AT = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
RUN_AT = datetime(2026, 11, 20, 11, 7, 30, tzinfo=UTC)
OPEN_REQUESTS = 200
PG_PORT = os.environ.get("MULI_PG_PORT", "5432")
PG_ADMIN = f"postgresql://postgres@127.0.0.1:{PG_PORT}/postgres"
# Fixed keys: the same ciphertexts decrypt in every run (made with muli's own generators).
ENV = {
    "MULI_ENV": "production",
    "MULI_ALLOW_SQLITE": "1",
    "MULI_DATA_KEYS": "answers1:N9JIlv0MUfE7dZiwjBBhURpVgnOifEORa1MDVbYESFM",
    "MULI_BLIND_INDEX_KEY": "nFn6vTuj1RhZP2VEAbQGNRGK64aKO6UkJI2e83SQ1jo",
    "MULI_AUDIT_KEYS": "answersa1:bKRYqt5C48foE-E67I8s8YY5Ait7t-4q_mVm4bhjWQI",
    "MULI_AUDIT_SIGNING_KEYS": "answerss1:PI-6NBZGu7bdQRTIUgrjo61upSjOQTIHKFoc4vdkkag",
    "MULI_JWT_SECRET": "58csKBXzWlmZRd1zg_ZjI52bsg1f9DBKxYPNH6Es6goGw8chcwfC4UynIfgOIBuND0hxY2jeADUC9c1",
    "MULI_SECRET_KEY": "kF5TVS1c9UDAj2YxhD0NubIgOfIBiUMCuPC0cSxcw7bGoG6sE3HNPYxK1Z8gd9g_bZk",
    "MULI_LOG_LEVEL": "WARNING",
}
DIARY = {
    "text": "Sov dårlig i natt, men gikk en tur langs fjorden og ringte søsteren min.",
    "mood": 5,
    "sleep_hours": 6.5,
    "tags": ["søvn", "tur"],
}
CONTACT = {
    "kind": "call_me",
    "urgency": "talk",
    "message": "Jeg vil gjerne snakke med noen i kveld.",
    "callback_phone": "+4791234567",
}
VOLD_PLAN = {
    "warning_signs": [{"sign": "Blir sint fort", "action": "Går ut"}],
    "coping_strategies": ["Pust med magen"],
    "people_to_ask": [{"name": "Bror", "phone": "+4700000111"}],
    "what_helps": "Rolig stemme.",
}
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# The queue's first-page ETag: `queue-<digest of the teams' versions and the page>-<tick>`.
_QUEUE_TAG = re.compile(r"queue-[0-9a-f]{24}(?=-\d)")


def database_url(kind: str, directory: Path, name: str) -> str:
    if kind == "sqlite":
        return f"sqlite:///{directory / f'{name}.sqlite3'}"
    return f"postgresql+psycopg://postgres@127.0.0.1:{PG_PORT}/{name}"


def make_app(kind: str, directory: Path, name: str, at: datetime):
    os.environ.update(ENV)
    os.environ["MULI_DATABASE_URL"] = database_url(kind, directory, name)
    instance = directory / f"instance-{kind}-{name}"
    instance.mkdir(parents=True, exist_ok=True)
    os.environ["MULI_INSTANCE_DIR"] = str(instance)
    from muli.app import create_app

    app = create_app()
    app.extensions["muli.clock"] = lambda: at
    return app


def pg(sql: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(sql)


def seed(kind: str, directory: Path) -> None:
    import pyotp
    from flask_migrate import upgrade
    from sqlalchemy import select

    from muli import demo
    from muli.cli import system_ctx
    from muli.extensions import db
    from muli.models.accounts import Account
    from muli.models.people import Staff, Team
    from muli.team import enrolment
    from muli.trust import accounts, audit

    directory.mkdir(parents=True, exist_ok=True)
    if kind == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{directory / 'seed.sqlite3'}{suffix}").unlink(missing_ok=True)
    else:
        pg('DROP DATABASE IF EXISTS "answers_seed" WITH (FORCE)')
        pg('CREATE DATABASE "answers_seed"')
    app = make_app(kind, directory, "answers_seed" if kind != "sqlite" else "seed", SEED_AT)
    with app.app_context():
        upgrade(revision="heads")
        ctx = system_ctx()
        logins = demo.seed(ctx)
        db.session.commit()
        # A MULI vold patient with a login (the demo's have none): sections_meta and extra.
        vera = db.session.scalars(select(Account).where(Account.username == "vera")).one()
        team = db.session.scalars(select(Team).where(Team.name == demo.VOLD_TEAM)).one()
        tor = db.session.scalars(select(Staff).join(Account).where(Account.username == "tor")).one()
        coordinator = ctx.acting_as(accounts.actor_for(ctx, vera))
        consents = [
            enrolment.ConsentGiven(a.id, list(enrolment.consent_scopes(ctx, team)))
            for a in {m.agency for m in team_members(db.session, team.id)}
        ]
        _patient, code = enrolment.enrol(
            coordinator,
            enrolment.Enrolment(
                display_name="Svein Svar",
                national_id="01010100050",
                team_id=team.id,
                consents=consents,
                trusted_contact_id=tor.id,
                phone="+4700000150",
                criteria_confirmed=True,
            ),
        )
        accounts.activate(ctx, code, "svein", demo.PASSWORD)
        db.session.commit()
        audit.seal_all(db.session(), db.session.commit)
    client = app.test_client()
    staff = next(s for s in logins["staff"] if s["username"] == "siv")
    tokens = {
        "patient": login(client, {"username": demo.PATIENT_USERNAME, "password": demo.PASSWORD}),
        "vold": login(client, {"username": "svein", "password": demo.PASSWORD}),
        "staff": login(
            client,
            {
                "username": "siv",
                "password": staff["password"],
                "totp": pyotp.TOTP(staff["totp_secret"]).at(SEED_AT),
            },
        ),
    }
    patient = auth(tokens["patient"]["access_token"])
    vold = auth(tokens["vold"]["access_token"])
    siv = auth(tokens["staff"]["access_token"])
    etag = client.get("/api/v1/me/crisis-plan", headers=vold).headers["ETag"]
    answer = client.put("/api/v1/me/crisis-plan", json=VOLD_PLAN, headers={**vold, "If-Match": etag})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    for i in range(OPEN_REQUESTS):
        clock_at(app, SEED_AT, minutes=i // 4)
        body = {**CONTACT, "urgency": ("talk", "crisis")[i % 2]} if i % 7 else {**CONTACT, "message": None}
        answer = client.post(
            "/api/v1/me/contact-requests",
            json=body,
            headers={**(vold if i % 5 == 0 else patient), "Idempotency-Key": key(i)},
        )
        assert answer.status_code == 201, answer.get_data(as_text=True)
        if i in (1, 2, 9):
            rid = answer.get_json()["id"]
            action = "call" if i == 2 else "acknowledge"
            assert (
                client.post(f"/api/v1/staff/contact-requests/{rid}/{action}", headers=siv).status_code == 200
            )
        if i in (3, 11):
            rid = answer.get_json()["id"]
            closed = client.post(
                f"/api/v1/staff/contact-requests/{rid}/close",
                json={"outcome": "talked", "note": "Ok."},
                headers=siv,
            )
            assert closed.status_code == 200, closed.get_data(as_text=True)
    with app.app_context():
        audit.seal_all(db.session(), db.session.commit)
        db.engine.dispose()
    (directory / f"tokens-{kind}.json").write_text(
        json.dumps({k: v["refresh_token"] for k, v in tokens.items()}, indent=1)
    )


def team_members(session, team_id):
    from sqlalchemy import select

    from muli.models.people import Staff, TeamMembership

    return session.scalars(select(Staff).join(TeamMembership).where(TeamMembership.team_id == team_id)).all()


def clock_at(app, at: datetime, **delta) -> None:
    from datetime import timedelta

    when = at + timedelta(**delta)
    app.extensions["muli.clock"] = lambda: when


def login(client, body: dict) -> dict:
    answer = client.post("/api/v1/auth/token", json=body)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return answer.get_json()


def key(n: int) -> str:
    """A fixed Idempotency-Key (a UUID, as the API asks)."""
    return str(uuid.UUID(int=n, version=4))


def auth(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def run(kind: str, directory: Path, out: Path) -> None:
    from sqlalchemy import inspect, select, text

    from muli.extensions import db

    if kind == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{directory / 'run.sqlite3'}{suffix}").unlink(missing_ok=True)
        shutil.copy(directory / "seed.sqlite3", directory / "run.sqlite3")
        name = "run"
    else:
        name = "answers_run"
        pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        pg(f'CREATE DATABASE "{name}" TEMPLATE "answers_seed"')
    app = make_app(kind, directory, name, RUN_AT)
    known: set[str] = set()
    with app.app_context():
        for table in db.metadata.sorted_tables:
            if "id" in table.c and table.name in inspect(db.engine).get_table_names():
                known.update(str(v) for v in db.session.scalars(select(table.c.id)))
        first_seq = db.session.scalar(text("SELECT COALESCE(MAX(seq), 0) FROM audit_event"))
        db.session.remove()
    client = app.test_client()
    refresh = json.loads((directory / f"tokens-{kind}.json").read_text())
    tokens = {}
    for who, token in refresh.items():
        answer = client.post("/api/v1/auth/refresh", headers=auth(token))
        assert answer.status_code == 200, answer.get_data(as_text=True)
        tokens[who] = auth(answer.get_json()["access_token"])
    lines: list[str] = []
    wrote: list[bool] = []
    tags: dict[str, str] = {}

    def masked(text: str) -> str:
        if not wrote:
            return text
        return _QUEUE_TAG.sub(lambda m: tags.setdefault(m.group(0), f"<queue-tag-{len(tags) + 1}>"), text)

    def call(label: str, method: str, path: str, who: str, body=None, headers=None):
        answer = client.open(path, method=method, json=body, headers={**tokens[who], **(headers or {})})
        kept = sorted((k, v) for k, v in answer.headers.items() if k.lower() not in ("date", "x-request-id"))
        lines.append(masked(f"### {label}: {method} {path} {json.dumps(headers or {}, sort_keys=True)}"))
        lines.append(f"status {answer.status_code}")
        lines.extend(masked(f"{k}: {v}") for k, v in kept)
        lines.append(answer.get_data(as_text=True))
        if method != "GET" and answer.status_code < 300:
            wrote.append(True)
        return answer

    for who in ("patient", "vold"):
        plan = call(f"crisis plan ({who})", "GET", "/api/v1/me/crisis-plan", who)
        etag = plan.headers["ETag"]
        call(
            f"crisis plan 304 ({who})", "GET", "/api/v1/me/crisis-plan", who, headers={"If-None-Match": etag}
        )
        call(
            f"crisis plan, weak tag ({who})",
            "GET",
            "/api/v1/me/crisis-plan",
            who,
            headers={"If-None-Match": f"W/{etag}"},
        )
        call(
            f"crisis plan, stale ({who})",
            "GET",
            "/api/v1/me/crisis-plan",
            who,
            headers={"If-None-Match": '"crisis-0-x"'},
        )
    queue = "/api/v1/staff/contact-requests"
    first = call("queue", "GET", queue, "staff")
    call("queue 304", "GET", queue, "staff", headers={"If-None-Match": first.headers["ETag"]})
    call("queue, stale tag", "GET", queue, "staff", headers={"If-None-Match": 'W/"queue-0"'})
    small = call("queue, 7", "GET", f"{queue}?limit=7", "staff")
    cursor = small.get_json()["next_cursor"]
    second = call("queue, 7, page 2", "GET", f"{queue}?limit=7&cursor={cursor}", "staff")
    call(
        "queue, page 2 304",
        "GET",
        f"{queue}?limit=7&cursor={cursor}",
        "staff",
        headers={"If-None-Match": second.headers["ETag"]},
    )
    call("queue, acknowledged", "GET", f"{queue}?state=acknowledged", "staff")
    call("queue, closed", "GET", f"{queue}?state=closed", "staff")
    call("queue, 100", "GET", f"{queue}?limit=100", "staff")
    call("queue, bad state", "GET", f"{queue}?state=nope", "staff")
    diary = "/api/v1/me/diary"
    call("diary", "POST", diary, "patient", DIARY, {"Idempotency-Key": key(1001)})
    call("diary replay", "POST", diary, "patient", DIARY, {"Idempotency-Key": key(1001)})
    call("diary, no key", "POST", diary, "patient", {"text": "Bare tekst", "shared_with_team": True})
    call("diary, bare", "POST", diary, "vold", {"text": "x", "mood": None, "sleep_hours": 0, "tags": []})
    call("diary, bad mood", "POST", diary, "patient", {"text": "x", "mood": 11})
    call("diary, no text", "POST", diary, "patient", {"mood": 1})
    contact = "/api/v1/me/contact-requests"
    call("contact", "POST", contact, "patient", CONTACT, {"Idempotency-Key": key(1002)})
    call("contact replay", "POST", contact, "patient", CONTACT, {"Idempotency-Key": key(1002)})
    call(
        "contact, vold",
        "POST",
        contact,
        "vold",
        {"kind": "chat", "urgency": "crisis"},
        {"Idempotency-Key": key(1003)},
    )
    call(
        "contact, altered",
        "POST",
        contact,
        "patient",
        {"kind": "call_me", "urgency": "talk", "message": "hei \ud83d", "callback_phone": "91234567"},
        {"Idempotency-Key": key(1004)},
    )
    call(
        "contact, bad phone",
        "POST",
        contact,
        "patient",
        {**CONTACT, "callback_phone": "12"},
        {"Idempotency-Key": key(1005)},
    )
    call("contact, no key", "POST", contact, "patient", CONTACT)
    clock_at(app, RUN_AT, hours=11)  # at night: the on-call responder
    call("contact, at night", "POST", contact, "patient", CONTACT, {"Idempotency-Key": key(1006)})
    clock_at(app, RUN_AT)
    call("queue after", "GET", f"{queue}?limit=100&state=open", "staff")
    call("crisis plan after", "GET", "/api/v1/me/crisis-plan", "patient")
    spec = client.get("/api/openapi.json")
    lines.append(f"### the OpenAPI document: status {spec.status_code}")
    lines.append(json.dumps(spec.get_json(), sort_keys=True, indent=1, ensure_ascii=False))
    with app.app_context():
        rows = db.session.execute(
            text(
                "SELECT action, actor_kind, patient_id, resource, resource_id, emergency, reason "
                "FROM audit_event WHERE seq > :seq ORDER BY seq"
            ),
            {"seq": first_seq},
        ).all()
        lines.append("### audit events appended")
        lines.extend(" ".join(str(v) for v in row) for row in rows)
        db.session.remove()
        db.engine.dispose()
    new: dict[str, str] = {}

    def rename(match: re.Match) -> str:
        value = match.group(0)
        if value in known:
            return value
        return new.setdefault(value, f"<new-{len(new) + 1}>")

    out.write_text(_UUID.sub(rename, "\n".join(lines) + "\n"))
    if kind != "sqlite":
        pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("step", choices=("seed", "run"))
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.step == "seed":
        seed(args.db, args.dir)
    else:
        run(args.db, args.dir, args.out or Path(f"answers-{args.db}.txt"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
