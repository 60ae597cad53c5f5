"""Test data made through the API (the patient's door), for the portal's pages."""

from __future__ import annotations

import uuid


def contact_request(client, patient, message: str = "får ikke sove", urgency: str = "crisis") -> dict:
    response = client.post(
        "/api/v1/me/contact-requests",
        json={"kind": "call_me", "urgency": urgency, "message": message, "callback_phone": "+4790000001"},
        headers={**patient.headers, "Idempotency-Key": str(uuid.uuid4())},
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def crisis_plan(client, patient, **sections) -> None:
    etag = client.get("/api/v1/me/crisis-plan", headers=patient.headers).headers["ETag"]
    response = client.put(
        "/api/v1/me/crisis-plan", json=sections, headers={**patient.headers, "If-Match": etag}
    )
    assert response.status_code == 200, response.get_json()


def diary_entry(client, patient, text: str, mood: int, sleep: float, shared: bool = True) -> None:
    response = client.post(
        "/api/v1/me/diary",
        json={"text": text, "mood": mood, "sleep_hours": sleep, "shared_with_team": shared},
        headers=patient.headers,
    )
    assert response.status_code == 201, response.get_json()
