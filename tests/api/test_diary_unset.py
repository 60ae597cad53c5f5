"""Mood and sleep the patient did not give are stored as null (sealed) and given back as null: by the
API, the patient's export and the staff API (the portal: tests/portal/test_diary_unset.py)."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from muli.cli import system_ctx
from muli.extensions import db
from muli.models.diary import DiaryEntry
from muli.patient import diary

DIARY = "/api/v1/me/diary"


def _columns(app, entry_id):
    """What is stored, opened: mood and sleep are sealed (padded, so a reader of the database
    cannot even tell whether there is a figure), and an unset one is sealed as null."""
    with app.app_context():
        ctx = system_ctx()
        entry = db.session.scalars(select(DiaryEntry).where(DiaryEntry.id == uuid.UUID(entry_id))).one()
        stored = tuple(diary._number(ctx, entry, name) for name in ("mood", "sleep_hours"))
        db.session.remove()
        return stored


def test_mood_and_sleep_left_out_or_null_are_stored_as_null(app, client, world):
    patient = world.care_team().patient
    left_out = client.post(DIARY, json={"text": "Sov tre timer."}, headers=patient.headers)
    null = client.post(
        DIARY, json={"text": "Sov tre timer.", "mood": None, "sleep_hours": None}, headers=patient.headers
    )
    for response in (left_out, null):
        assert response.status_code == 201, response.json
        assert (response.json["mood"], response.json["sleep_hours"]) == (None, None)
        assert tuple(_columns(app, response.json["id"])) == (None, None)


def test_a_value_is_cleared_again_with_null(app, client, world):
    patient = world.care_team().patient
    entry = client.post(
        DIARY, json={"text": "Ok dag.", "mood": 4, "sleep_hours": 6.5}, headers=patient.headers
    ).json
    changed = client.patch(f"{DIARY}/{entry['id']}", json={"mood": None}, headers=patient.headers)
    assert changed.status_code == 200, changed.json
    assert (changed.json["mood"], changed.json["sleep_hours"]) == (None, 6.5)
    assert tuple(_columns(app, entry["id"])) == (None, 6.5)


def test_the_export_and_the_staff_api_give_null_for_what_was_not_given(client, world):
    care = world.care_team()
    client.post(DIARY, json={"text": "Uten tall.", "shared_with_team": True}, headers=care.patient.headers)
    export = client.get("/api/v1/me/export", headers=care.patient.headers).json
    assert [(e["mood"], e["sleep_hours"]) for e in export["diary"]] == [(None, None)]
    shared = client.get(f"/api/v1/staff/patients/{care.patient.id}/diary", headers=care.member.headers)
    assert shared.status_code == 200, shared.json
    assert [(e["mood"], e["sleep_hours"]) for e in shared.json["items"]] == [(None, None)]
