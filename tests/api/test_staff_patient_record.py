"""The staff side: overview, admissions and break-the-glass access, all through the access policy."""

from __future__ import annotations

import pytest


@pytest.fixture
def care(world):
    return world.care_team()


def _url(patient, tail=""):
    return f"/api/v1/staff/patients/{patient.id}{tail}"


def _share(client, care, text, mood, sleep=None, shared=True):
    body = {"text": text, "mood": mood, "sleep_hours": sleep, "shared_with_team": shared}
    client.post("/api/v1/me/diary", json=body, headers=care.patient.headers)


def test_the_overview_shows_the_current_plans(client, care):
    etag = client.get("/api/v1/me/crisis-plan", headers=care.patient.headers).headers["ETag"]
    client.put(
        "/api/v1/me/crisis-plan",
        json={"what_helps": "ro"},
        headers={**care.patient.headers, "If-Match": etag},
    )
    body = client.get(_url(care.patient), headers=care.member.headers).json
    assert (body["crisis_plan"]["version"], body["crisis_plan"]["document"]["what_helps"]) == (1, "ro")
    assert body["mastery_plan"] is None


def test_the_overview_shows_mood_and_sleep_of_shared_entries_only_oldest_first(client, care):
    _share(client, care, "a", 3, 5.0)
    _share(client, care, "private", 0, shared=False)
    _share(client, care, "b", 6, 7.5)
    points = client.get(_url(care.patient), headers=care.member.headers).json["diary_points"]
    assert [(p["mood"], p["sleep_hours"]) for p in points] == [(3, 5.0), (6, 7.5)]


def test_the_overview_shows_consent_state_and_trusted_contact(client, care):
    body = client.get(_url(care.patient), headers=care.member.headers).json
    assert body["trusted_contact"]["name"] == care.member.staff.display_name
    assert len(body["consent"]["my_agency_scopes"]) == 5 and body["withheld"] == []


def test_the_overview_withholds_what_my_agency_has_no_consent_for(client, world):
    team, agency = world.team(), world.agency()
    member = world.staff(team, agency=agency)
    patient = world.patient(team, consents={agency: ["mastery_plan"]})
    body = client.get(_url(patient), headers=member.headers).json
    assert (body["crisis_plan"], body["diary_points"]) == (None, None)
    assert body["withheld"] == ["contact_requests", "crisis_plan", "meeting_notes", "shared_diary"]


def test_the_overview_without_any_consent_is_403_consent_required(client, world):
    team = world.team()
    member = world.staff(team)
    patient = world.patient(team)
    response = client.get(_url(patient), headers=member.headers)
    assert (response.status_code, response.json["type"].rsplit("/", 1)[1]) == (403, "consent-required")


def test_an_admission_is_recorded_and_listed_newest_first(client, care):
    for day in ("2026-10-01", "2026-11-01"):
        response = client.post(
            _url(care.patient, "/admissions"),
            json={"admitted_on": day, "facility": "PAM", "involuntary": day == "2026-11-01"},
            headers=care.member.headers,
        )
        assert response.status_code == 201
    items = client.get(_url(care.patient, "/admissions"), headers=care.member.headers).json["items"]
    assert [(a["admitted_on"], a["involuntary"]) for a in items] == [
        ("2026-11-01", True),
        ("2026-10-01", False),
    ]


def test_a_discharge_before_the_admission_is_422(client, care):
    response = client.post(
        _url(care.patient, "/admissions"),
        json={
            "admitted_on": "2026-10-05",
            "discharged_on": "2026-10-01",
            "facility": "PAM",
            "involuntary": False,
        },
        headers=care.member.headers,
    )
    assert (response.status_code, list(response.json["errors"])) == (422, ["discharged_on"])


def test_emergency_access_opens_the_record_for_thirty_minutes(client, clock, world):
    team = world.team()
    member = world.staff(team)
    patient = world.patient(team)
    started = client.post(
        _url(patient, "/emergency-access"),
        json={"reason": "Ringer fra legevakt, akutt"},
        headers=member.headers,
    )
    assert started.status_code == 201
    assert client.get(_url(patient, "/crisis-plan"), headers=member.headers).status_code == 200
    clock.advance(minutes=30, seconds=1)
    assert client.get(_url(patient, "/crisis-plan"), headers=member.headers).status_code == 403


def test_emergency_access_without_a_real_reason_is_422(client, world):
    team = world.team()
    member = world.staff(team)
    patient = world.patient(team)
    response = client.post(
        _url(patient, "/emergency-access"), json={"reason": "fordi"}, headers=member.headers
    )
    assert response.status_code == 422


def test_emergency_access_is_for_one_staff_member_only(client, world):
    team = world.team()
    first, second = world.staff(team), world.staff(team)
    patient = world.patient(team)
    client.post(
        _url(patient, "/emergency-access"), json={"reason": "Akutt situasjon nå"}, headers=first.headers
    )
    assert client.get(_url(patient, "/crisis-plan"), headers=second.headers).status_code == 403


def test_a_privacy_officer_cannot_read_clinical_content(client, world, care):
    officer = world.staff(care.team, role="privacy_officer", agency=care.agency)
    assert client.get(_url(care.patient, "/crisis-plan"), headers=officer.headers).status_code == 403
