"""GET /me: who I am, my team, my trusted person, and the emergency numbers."""

from __future__ import annotations


def test_the_profile_names_the_team_and_the_trusted_contact(client, world):
    care = world.care_team()
    body = client.get("/api/v1/me", headers=care.patient.headers).json
    assert (body["id"], body["team"]["id"]) == (str(care.patient.id), str(care.team.id))
    assert body["trusted_contact"] == {
        "name": care.member.staff.display_name,
        "agency": care.agency.name,
        "phone": None,
    }


def test_the_profile_always_has_113_and_116_117(client, world):
    patient = world.patient(world.team())
    numbers = [
        n["number"] for n in client.get("/api/v1/me", headers=patient.headers).json["emergency_numbers"]
    ]
    assert numbers == ["113", "116 117"]


def test_staff_cannot_use_the_patient_profile(client, world):
    care = world.care_team()
    assert client.get("/api/v1/me", headers=care.member.headers).status_code == 403
