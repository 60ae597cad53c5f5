"""The diary: private by default, validated, paginated stably, idempotent, deleted for good."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy import select, text

from muli.extensions import db
from muli.models.audit import AuditEvent
from muli.models.diary import DiaryEntry
from muli.models.idempotency import IdempotencyRecord
from muli.platform.errors import InvalidState
from muli.trust import audit

DIARY = "/api/v1/me/diary"


@pytest.fixture
def care(world):
    return world.care_team()


def _write(client, login, text="En helt vanlig dag.", **fields):
    response = client.post(DIARY, json={"text": text, **fields}, headers=login.headers)
    assert response.status_code == 201, response.json
    return response.json


def _all_pages(client, login, limit):
    seen, cursor = [], None
    while True:
        query = f"?limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(DIARY + query, headers=login.headers).json
        seen += [e["text"] for e in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            return seen


def test_a_new_entry_is_private_unless_shared(client, care):
    entry = _write(client, care.patient)
    assert entry["shared_with_team"] is False


def test_an_entry_keeps_mood_sleep_and_tags(client, care):
    entry = _write(client, care.patient, mood=4, sleep_hours=5.5, tags=["søvn", "stemmer"])
    assert (entry["mood"], entry["sleep_hours"], entry["tags"]) == (4, 5.5, ["søvn", "stemmer"])


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("mood", 11),
        ("mood", -1),
        ("sleep_hours", 25),
        ("text", ""),
        ("text", "x" * 20_001),
        ("tags", ["x" * 41]),
    ],
)
def test_out_of_range_values_are_422_naming_the_field(client, care, field, value):
    body = {"text": "t", field: value}
    response = client.post(DIARY, json=body, headers=care.patient.headers)
    assert response.status_code == 422
    # A nested field is named by its path (`tags.0`), a plain one by its name.
    assert [k.split(".")[0] for k in response.json["errors"]] == [field]


def test_unknown_fields_are_422(client, care):
    response = client.post(DIARY, json={"text": "t", "colour": "blue"}, headers=care.patient.headers)
    assert response.status_code == 422


def test_the_text_is_stored_encrypted(client, app, care):
    entry = _write(client, care.patient, text="hemmelig dagbok")
    with app.app_context():
        stored = db.session.get(DiaryEntry, uuid.UUID(entry["id"])).text_enc
    assert stored.startswith("v1.") and "hemmelig" not in stored


def test_the_list_is_newest_first(client, care):
    for i in range(3):
        _write(client, care.patient, text=f"entry {i}")
    assert _all_pages(client, care.patient, 2) == ["entry 2", "entry 1", "entry 0"]


def test_pagination_neither_repeats_nor_skips_while_new_entries_arrive(client, care):
    for i in range(7):
        _write(client, care.patient, text=f"old {i}")
    seen, cursor = [], None
    while True:
        query = "?limit=3" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(DIARY + query, headers=care.patient.headers).json
        seen += [e["text"] for e in page["items"]]
        _write(client, care.patient, text=f"new after {len(seen)}")
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [f"old {i}" for i in reversed(range(7))]


def test_a_tampered_cursor_is_400_not_500(client, care):
    for i in range(3):
        _write(client, care.patient, text=f"entry {i}")
    cursor = client.get(f"{DIARY}?limit=1", headers=care.patient.headers).json["next_cursor"]
    tampered = cursor[:-2] + ("AA" if not cursor.endswith("AA") else "BB")
    response = client.get(f"{DIARY}?limit=1&cursor={tampered}", headers=care.patient.headers)
    assert response.status_code == 400
    assert response.json["type"].endswith("invalid-cursor")


def test_a_retried_post_with_the_same_idempotency_key_writes_one_entry(client, care):
    headers = {**care.patient.headers, "Idempotency-Key": str(uuid.uuid4())}
    first = client.post(DIARY, json={"text": "offline"}, headers=headers)
    again = client.post(DIARY, json={"text": "offline"}, headers=headers)
    assert (first.status_code, again.status_code, again.headers.get("Idempotent-Replayed")) == (
        201,
        201,
        "true",
    )
    assert again.json["id"] == first.json["id"]
    assert len(client.get(DIARY, headers=care.patient.headers).json["items"]) == 1


@pytest.mark.parametrize(
    ("failure", "status"),
    [(RuntimeError("the disk is full"), 500), (InvalidState("This request is closed."), 409)],
)
def test_a_write_that_fails_after_its_insert_leaves_nothing_behind(
    client, app, care, monkeypatch, failure, status
):
    """The entry is inserted, then its audit event fails: the whole transaction goes, the
    key's claim with it, and a retry with that key writes the entry once."""
    written = []
    record = audit.record

    def fail(session, actor, action, **kwargs):
        if action != "diary.create":
            return record(session, actor, action, **kwargs)
        written.extend(session.scalars(select(DiaryEntry.id)))
        raise failure

    monkeypatch.setattr(audit, "record", fail)
    headers = {**care.patient.headers, "Idempotency-Key": str(uuid.uuid4())}
    assert client.post(DIARY, json={"text": "ingen spor"}, headers=headers).status_code == status
    assert len(written) == 1  # the failure came after the entry was inserted
    with app.app_context():
        assert db.session.scalars(select(DiaryEntry.id)).all() == []
        assert db.session.scalars(select(IdempotencyRecord.id)).all() == []
        assert (
            db.session.scalars(select(AuditEvent.id).where(AuditEvent.action == "diary.create")).all() == []
        )

    monkeypatch.undo()
    again = client.post(DIARY, json={"text": "ingen spor"}, headers=headers)
    assert again.status_code == 201 and "Idempotent-Replayed" not in again.headers
    assert [e["id"] for e in client.get(DIARY, headers=care.patient.headers).json["items"]] == [
        again.json["id"]
    ]


def test_patch_changes_only_the_fields_sent(client, care):
    entry = _write(client, care.patient, text="before", mood=3)
    changed = client.patch(
        f"{DIARY}/{entry['id']}", json={"shared_with_team": True}, headers=care.patient.headers
    )
    assert (changed.json["text"], changed.json["mood"], changed.json["shared_with_team"]) == (
        "before",
        3,
        True,
    )
    assert changed.json["updated_at"] is not None


def test_patch_refuses_a_mood_of_eleven(client, care):
    entry = _write(client, care.patient)
    response = client.patch(f"{DIARY}/{entry['id']}", json={"mood": 11}, headers=care.patient.headers)
    assert response.status_code == 422


def test_a_deleted_entry_is_gone(client, care):
    entry = _write(client, care.patient)
    assert client.delete(f"{DIARY}/{entry['id']}", headers=care.patient.headers).status_code == 204
    assert client.get(f"{DIARY}/{entry['id']}", headers=care.patient.headers).status_code == 404


def _database_file_bytes(app) -> bytes:
    with app.app_context():
        raw = db.engine.raw_connection()  # autocommit: a checkpoint cannot run inside a transaction
        try:
            busy = raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        finally:
            raw.close()
        assert busy == 0
        path = Path(db.engine.url.database)
    wal = path.with_name(path.name + "-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


def test_a_deleted_entry_leaves_no_trace_of_its_text_in_the_database_file(client, app, care):
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("secure_delete is SQLite's; on PostgreSQL VACUUM reclaims dead rows")
    secret = "SECRET-DIARY-" + uuid.uuid4().hex
    headers = {**care.patient.headers, "Idempotency-Key": str(uuid.uuid4())}
    entry = client.post(DIARY, json={"text": secret}, headers=headers).json
    with app.app_context():
        stored = db.session.execute(text("SELECT text_enc FROM diary_entry")).scalar()
    before = _database_file_bytes(app)
    assert stored.encode() in before  # the check below can see the ciphertext when it is there
    client.delete(f"{DIARY}/{entry['id']}", headers=care.patient.headers)
    after = _database_file_bytes(app)
    assert stored.encode() not in after
    assert secret.encode() not in after


def test_a_retry_after_delete_does_not_write_the_entry_again(client, care):
    headers = {**care.patient.headers, "Idempotency-Key": str(uuid.uuid4())}
    entry = client.post(DIARY, json={"text": "gone"}, headers=headers).json
    client.delete(f"{DIARY}/{entry['id']}", headers=care.patient.headers)
    client.post(DIARY, json={"text": "gone"}, headers=headers)
    assert client.get(DIARY, headers=care.patient.headers).json["items"] == []


def test_staff_see_only_shared_entries(client, care):
    _write(client, care.patient, text="private")
    _write(client, care.patient, text="shared", shared_with_team=True)
    items = client.get(f"/api/v1/staff/patients/{care.patient.id}/diary", headers=care.member.headers).json[
        "items"
    ]
    assert [e["text"] for e in items] == ["shared"]


def test_staff_without_shared_diary_consent_get_403(client, world):
    team = world.team()
    agency = world.agency()
    member = world.staff(team, agency=agency)
    patient = world.patient(team, consents={agency: ["crisis_plan"]})
    response = client.get(f"/api/v1/staff/patients/{patient.id}/diary", headers=member.headers)
    assert (response.status_code, response.json["type"].rsplit("/", 1)[1]) == (403, "consent-required")


def test_unsharing_an_entry_hides_it_from_staff(client, care):
    entry = _write(client, care.patient, text="shared", shared_with_team=True)
    client.patch(f"{DIARY}/{entry['id']}", json={"shared_with_team": False}, headers=care.patient.headers)
    items = client.get(f"/api/v1/staff/patients/{care.patient.id}/diary", headers=care.member.headers).json[
        "items"
    ]
    assert items == []
