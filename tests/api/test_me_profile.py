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


def test_every_route_of_the_patients_tools_is_in_the_openapi_document(client):
    paths = client.get("/api/openapi.json").json["paths"]
    expected = {
        "/api/v1/me",
        "/api/v1/me/crisis-plan",
        "/api/v1/me/crisis-plan.pdf",
        "/api/v1/me/crisis-plan/versions",
        "/api/v1/me/crisis-plan/versions/{version}/approve",
        "/api/v1/me/mastery-plan",
        "/api/v1/me/mastery-plan/strategies/{strategy_id}/uses",
        "/api/v1/me/diary",
        "/api/v1/me/diary/{entry_id}",
        "/api/v1/me/consents",
        "/api/v1/me/access-log",
        "/api/v1/me/export",
        "/api/v1/staff/patients/{patient_id}",
        "/api/v1/staff/patients/{patient_id}/crisis-plan",
        "/api/v1/staff/patients/{patient_id}/crisis-plan/proposals",
        "/api/v1/staff/patients/{patient_id}/crisis-plan.pdf",
        "/api/v1/staff/patients/{patient_id}/mastery-plan",
        "/api/v1/staff/patients/{patient_id}/diary",
        "/api/v1/staff/patients/{patient_id}/admissions",
        "/api/v1/staff/patients/{patient_id}/emergency-access",
    }
    assert expected - set(paths) == set()
