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
