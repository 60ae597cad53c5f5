"""Nothing about a patient in plain text at rest (issue 15, finding 1).

A reader of the database (the SQLite file and its WAL as they lie on disk; on PostgreSQL
every table's rows as text) must not find what was written through the API: a contact
request's message and callback phone, a message in its thread, diary text sent with an
Idempotency-Key, an enrolment's activation code, an admission's facility and whether it was
involuntary. Replays still answer byte for byte what the first request answered.
"""

from __future__ import annotations

import random
import uuid
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from muli.extensions import db
from muli.trust import national_id
from tests.contact_support import SATURDAY_NIGHT

_numbers = national_id.synthetic_numbers(date(1982, 3, 4), start=400)


@pytest.fixture
def care(world, clock):
    clock.set(SATURDAY_NIGHT)
    return world.care_team()


def key() -> dict:
    return {"Idempotency-Key": str(uuid.uuid4())}


def stored_bytes(app) -> bytes:
    """What a reader of the database finds, without asking the app: on SQLite the database
    file and its write-ahead log as they are (no checkpoint first); on PostgreSQL the text of
    every row of every table."""
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            chunks = []
            for name in inspect(db.engine).get_table_names():
                rows = db.session.execute(text(f'SELECT t::text FROM "{name}" t')).scalars()
                chunks.extend(rows)
            db.session.rollback()
            return "\n".join(chunks).encode()
        path = Path(db.engine.url.database)
    wal = path.with_name(path.name + "-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


def test_what_the_api_wrote_is_not_in_the_database_in_plain_text(app, client, care):
    tag = uuid.uuid4().hex[:12].upper()
    message = f"MARKER-MESSAGE-{tag}"
    phone = f"9{random.randrange(10**6, 10**7)}"
    thread = f"MARKER-THREAD-{tag}"
    diary = f"MARKER-DIARY-{tag}"
    facility = f"MARKER-FACILITY-{tag}"
    patient = care.patient

    asked = client.post(
        "/api/v1/me/contact-requests",
        json={"kind": "call_me", "urgency": "crisis", "message": message, "callback_phone": phone},
        headers={**patient.headers, **key()},
    )
    assert asked.status_code == 201, asked.json
    wrote = client.post(
        f"/api/v1/me/contact-requests/{asked.json['id']}/messages",
        json={"body": thread},
        headers={**patient.headers, **key()},
    )
    assert wrote.status_code in (200, 201), wrote.json
    entry = client.post("/api/v1/me/diary", json={"text": diary}, headers={**patient.headers, **key()})
    assert entry.status_code == 201, entry.json
    enrolled = client.post(
        "/api/v1/staff/patients",
        json={
            "display_name": "Kari",
            "national_id": next(_numbers),
            "team_id": str(care.team.id),
            "admissions_last_12_months": [str(date.today() - timedelta(days=40))],
            "consents": [],
            "criteria_confirmed": True,
        },
        headers={**care.coordinator.headers, **key()},
    )
    assert enrolled.status_code == 201, enrolled.json
    code = enrolled.json["activation_code"]
    admitted = client.post(
        f"/api/v1/staff/patients/{patient.id}/admissions",
        json={"admitted_on": "2026-11-01", "facility": facility, "involuntary": True},
        headers={**care.member.headers, **key()},
    )
    assert admitted.status_code == 201, admitted.json

    # Each answer repeated what it was sent, so a stored answer in plain text would hold it.
    assert message in asked.text and phone in asked.text and thread in wrote.text
    assert diary in entry.text and facility in admitted.text
    stored = stored_bytes(app)
    assert b"MARKER-" not in stored  # no marker at all, whole or in part
    for marker in (message, phone, thread, diary, code, facility, tag):
        assert marker.encode() not in stored, marker


def test_the_involuntary_flag_is_not_stored_in_plain_text(app, client, care):
    """Two admissions alike but for the flag: every column either holds the same value in both
    or a ciphertext, so a reader cannot tell which one was involuntary."""
    url = f"/api/v1/staff/patients/{care.patient.id}/admissions"
    for involuntary in (True, False):
        body = {"admitted_on": "2026-11-01", "facility": "PAM", "involuntary": involuntary}
        assert client.post(url, json=body, headers=care.member.headers).status_code == 201
    with app.app_context():
        rows = db.session.execute(text("SELECT * FROM admission")).mappings().all()
        db.session.rollback()
    assert len(rows) == 2
    differing = {c for c in rows[0] if rows[0][c] != rows[1][c]}
    assert differing, "the two admissions must differ somewhere (their ids)"
    for column in differing - {"id", "created_at"}:
        assert all(str(r[column]).startswith("v1.") for r in rows), column
    listed = client.get(url, headers=care.member.headers).json
    items = listed["items"] if isinstance(listed, dict) else listed
    assert sorted(a["involuntary"] for a in items) == [False, True]


def test_diary_mood_and_sleep_are_not_stored_in_plain_text(app, client, care):
    """Entries alike but for mood and sleep (one with none): every column that differs is a
    ciphertext of one length, so a reader learns neither the figures nor whether there are any."""
    for figures in ({"mood": 2, "sleep_hours": 3.5}, {"mood": 10, "sleep_hours": 11.25}, {}):
        body = {"text": "Samme tekst", **figures}
        assert client.post("/api/v1/me/diary", json=body, headers=care.patient.headers).status_code == 201
    with app.app_context():
        rows = db.session.execute(text("SELECT * FROM diary_entry")).mappings().all()
        db.session.rollback()
    assert len(rows) == 3
    figures_columns = {c for c in rows[0] if len({str(r[c]) for r in rows}) > 1} - {"id", "created_at"}
    assert figures_columns, "mood and sleep must be stored somewhere"
    for column in figures_columns:
        assert all(str(r[column]).startswith("v1.") for r in rows), column
        assert len({len(r[column]) for r in rows}) == 1, column
    listed = client.get("/api/v1/me/diary", headers=care.patient.headers).json["items"]
    assert sorted((e["mood"] or 0, e["sleep_hours"] or 0) for e in listed) == [(0, 0), (2, 3.5), (10, 11.25)]


def test_a_replay_answers_byte_for_byte_what_the_first_answer_said(client, care):
    headers = {**care.patient.headers, **key()}
    body = {"kind": "call_me", "urgency": "talk", "message": "Kan dere ringe?", "callback_phone": "91234567"}
    first = client.post("/api/v1/me/contact-requests", json=body, headers=headers)
    second = client.post("/api/v1/me/contact-requests", json=body, headers=headers)
    assert (first.status_code, second.status_code) == (201, 201)
    assert second.headers["Idempotent-Replayed"] == "true"
    assert second.data == first.data
    assert second.headers["Content-Type"] == first.headers["Content-Type"]


def test_a_deleted_diary_entry_leaves_no_trace_in_the_database_file_or_its_wal(app, client, care):
    """`secure_delete` zeroes the deleted cells in the database file, but the write-ahead log
    kept the pages as they were until a checkpoint copied them back: the delete now ends with
    one, so a reader of both files right after it finds neither the text nor its ciphertext."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("SQLite's write-ahead log; on PostgreSQL VACUUM reclaims dead rows")
    secret = f"MARKER-DELETED-{uuid.uuid4().hex}"
    entry = client.post("/api/v1/me/diary", json={"text": secret}, headers={**care.patient.headers, **key()})
    assert entry.status_code == 201
    with app.app_context():
        sealed = db.session.execute(text("SELECT text_enc FROM diary_entry")).scalar_one().encode()
        db.session.rollback()
    assert sealed in stored_bytes(app)  # the scan finds the entry while it is there
    deleted = client.delete(f"/api/v1/me/diary/{entry.json['id']}", headers=care.patient.headers)
    assert deleted.status_code == 204
    after = stored_bytes(app)
    assert sealed not in after
    assert secret.encode() not in after


def test_key_rotation_reaches_stored_answers_and_admissions_and_a_replay_still_matches(app, client, care):
    """`rotate-keys` finds the new fields by `__encrypted__`: after it, nothing is left under
    the old key and a replay still answers the first answer's bytes."""
    from muli.models import Base
    from muli.models.idempotency import IdempotencyRecord
    from muli.models.people import Admission
    from muli.platform import crypto
    from tests.conftest import TEST_DATA_KEYS, TEST_INDEX_KEY

    assert {IdempotencyRecord, Admission} <= set(crypto.encrypted_models(Base))
    headers = {**care.coordinator.headers, **key()}
    body = {
        "display_name": "Kari",
        "national_id": next(_numbers),
        "team_id": str(care.team.id),
        "admissions_last_12_months": ["2026-10-01"],
        "criteria_confirmed": True,
    }
    first = client.post("/api/v1/staff/patients", json=body, headers=headers)
    assert first.status_code == 201
    old_ring = app.extensions["muli.keys"]
    new_ring = crypto.KeyRing.parse(f"rotated:{crypto.new_key()},{TEST_DATA_KEYS}", TEST_INDEX_KEY)
    app.extensions["muli.keys"] = new_ring
    try:
        with app.app_context():
            assert crypto.rotate(db.session, new_ring, crypto.encrypted_models(Base)) > 0
            db.session.commit()
            stale = db.session.execute(
                text(
                    "SELECT count(*) FROM idempotency_record WHERE body_enc NOT LIKE 'v1.rotated.%' "
                    "UNION ALL SELECT count(*) FROM admission WHERE facility_enc NOT LIKE 'v1.rotated.%' "
                    "OR involuntary_enc NOT LIKE 'v1.rotated.%'"
                )
            ).scalars()
            assert list(stale) == [0, 0]
            db.session.rollback()
        second = client.post("/api/v1/staff/patients", json=body, headers=headers)
    finally:
        app.extensions["muli.keys"] = old_ring
    assert (second.status_code, second.headers["Idempotent-Replayed"]) == (201, "true")
    assert second.data == first.data


def test_a_patients_name_is_sealed_in_their_row_and_shown_as_it_was_written(app, client, care):
    """The name next to the fact of the programme says who is in crisis care: the row holds
    it sealed (no `display_name` column, no plain name in any column), and a reader of the
    whole database does not find it; the API still answers with the name."""
    from sqlalchemy import select

    from muli.models.people import Patient

    name = f"MARKER-NAME-{uuid.uuid4().hex[:10]}"
    body = {
        "display_name": name,
        "national_id": next(_numbers),
        "team_id": str(care.team.id),
        "criteria_confirmed": True,
    }
    enrolled = client.post("/api/v1/staff/patients", json=body, headers={**care.coordinator.headers, **key()})
    assert (enrolled.status_code, enrolled.json["display_name"]) == (201, name)
    table = Patient.__table__
    with app.app_context():
        row = db.session.execute(select(table).where(table.c.id == uuid.UUID(enrolled.json["id"]))).one()
        db.session.rollback()
    assert "display_name" not in row._mapping
    assert row.display_name_enc.startswith("v1.")
    assert not [column for column, value in row._mapping.items() if name in str(value)]
    assert name.encode() not in stored_bytes(app)
    listed = client.get("/api/v1/staff/patients", headers=care.coordinator.headers).json["items"]
    assert name in [p["display_name"] for p in listed]
