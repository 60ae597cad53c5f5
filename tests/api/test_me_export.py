"""The export: everything about me, decrypted, in one document."""

from __future__ import annotations

import pytest


@pytest.fixture
def care(world):
    return world.care_team()


def _export(client, care):
    response = client.get("/api/v1/me/export", headers=care.patient.headers)
    assert response.status_code == 200
    return response.json


def test_the_export_has_a_schema_version(client, care):
    assert _export(client, care)["schema_version"] == 1


def test_the_export_contains_every_diary_entry_decrypted(client, care):
    texts = [f"dag {i}" for i in range(25)]
    for t in texts:
        client.post("/api/v1/me/diary", json={"text": t}, headers=care.patient.headers)
    assert [e["text"] for e in _export(client, care)["diary"]] == texts


def test_the_export_contains_every_crisis_plan_version(client, care):
    etag = client.get("/api/v1/me/crisis-plan", headers=care.patient.headers).headers["ETag"]
    for text in ("first", "second"):
        etag = client.put(
            "/api/v1/me/crisis-plan",
            json={"what_helps": text},
            headers={**care.patient.headers, "If-Match": etag},
        ).headers["ETag"]
    versions = _export(client, care)["crisis_plan"]["versions"]
    assert [v["document"]["what_helps"] for v in versions] == ["first", "second"]


def test_the_export_contains_the_national_id_consents_and_access_log(client, care):
    client.get(f"/api/v1/staff/patients/{care.patient.id}", headers=care.member.headers)
    document = _export(client, care)
    assert len(document["patient"]["national_id"]) == 11
    assert document["consents"]["consents"]
    assert [e["action"] for e in document["access_log"]] == ["patient.overview"]


def test_the_export_contains_strategy_uses_with_their_notes(client, care):
    etag = client.get("/api/v1/me/mastery-plan", headers=care.patient.headers).headers["ETag"]
    plan = client.put(
        "/api/v1/me/mastery-plan",
        json={"strategies": [{"title": "Gå en tur"}]},
        headers={**care.patient.headers, "If-Match": etag},
    ).json
    strategy = plan["strategies"][0]["id"]
    client.post(
        f"/api/v1/me/mastery-plan/strategies/{strategy}/uses",
        json={"helped": 3, "note": "rundt vannet"},
        headers=care.patient.headers,
    )
    uses = _export(client, care)["mastery_plan"]["strategy_uses"]
    assert [(u["strategy_id"], u["helped"], u["note"]) for u in uses] == [(strategy, 3, "rundt vannet")]


def test_timestamps_in_the_export_are_utc_with_z(client, care):
    assert _export(client, care)["exported_at"].endswith("Z")
