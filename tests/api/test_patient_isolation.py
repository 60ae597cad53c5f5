"""Every /me route reaches only my data; every patient-scoped /staff route only my teams' patients."""

from __future__ import annotations

import uuid

import pytest

STAFF_ROUTES = [
    ("get", ""),
    ("get", "/crisis-plan"),
    ("post", "/crisis-plan/proposals"),
    ("get", "/crisis-plan.pdf"),
    ("get", "/mastery-plan"),
    ("get", "/diary"),
    ("get", "/admissions"),
    ("post", "/admissions"),
    ("post", "/emergency-access"),
]
BODIES = {
    "/crisis-plan/proposals": {"what_helps": "x"},
    "/admissions": {"admitted_on": "2026-11-01", "facility": "PAM", "involuntary": False},
    "/emergency-access": {"reason": "Akutt situasjon nå"},
}


@pytest.fixture
def two_teams(world):
    mine, theirs = world.care_team(), world.care_team()
    return mine, theirs


@pytest.mark.parametrize(("method", "tail"), STAFF_ROUTES)
def test_another_teams_patient_is_404_on_every_staff_route(client, two_teams, method, tail):
    mine, theirs = two_teams
    url = f"/api/v1/staff/patients/{theirs.patient.id}{tail}"
    response = getattr(client, method)(url, json=BODIES.get(tail), headers=mine.member.headers)
    assert response.status_code == 404


@pytest.mark.parametrize(("method", "tail"), STAFF_ROUTES)
def test_an_unknown_patient_id_is_404_on_every_staff_route(client, two_teams, method, tail):
    mine, _ = two_teams
    url = f"/api/v1/staff/patients/{uuid.uuid4()}{tail}"
    response = getattr(client, method)(url, json=BODIES.get(tail), headers=mine.member.headers)
    assert response.status_code == 404


@pytest.mark.parametrize(("method", "tail"), STAFF_ROUTES)
def test_a_patient_token_is_403_on_every_staff_route(client, two_teams, method, tail):
    mine, _ = two_teams
    url = f"/api/v1/staff/patients/{mine.patient.id}{tail}"
    response = getattr(client, method)(url, json=BODIES.get(tail), headers=mine.patient.headers)
    assert response.status_code == 403


def _other_patients_things(client, other):
    """Ids of a diary entry, a plan version and a strategy that belong to the other patient."""
    h = other.patient.headers
    entry = client.post("/api/v1/me/diary", json={"text": "theirs"}, headers=h).json["id"]
    etag = client.get("/api/v1/me/mastery-plan", headers=h).headers["ETag"]
    plan = client.put(
        "/api/v1/me/mastery-plan", json={"strategies": [{"title": "s"}]}, headers={**h, "If-Match": etag}
    ).json
    client.post(
        f"/api/v1/staff/patients/{other.patient.id}/crisis-plan/proposals",
        json={"what_helps": "x"},
        headers=other.member.headers,
    )
    return entry, plan["strategies"][0]["id"]


def test_another_patients_diary_entry_is_404_for_read_edit_and_delete(client, two_teams):
    mine, theirs = two_teams
    entry, _ = _other_patients_things(client, theirs)
    url = f"/api/v1/me/diary/{entry}"
    assert client.get(url, headers=mine.patient.headers).status_code == 404
    assert client.patch(url, json={"text": "mine now"}, headers=mine.patient.headers).status_code == 404
    assert client.delete(url, headers=mine.patient.headers).status_code == 404
    assert client.get(url, headers=theirs.patient.headers).json["text"] == "theirs"


def test_another_patients_strategy_is_404(client, two_teams):
    mine, theirs = two_teams
    _, strategy = _other_patients_things(client, theirs)
    url = f"/api/v1/me/mastery-plan/strategies/{strategy}/uses"
    assert client.post(url, json={"helped": 2}, headers=mine.patient.headers).status_code == 404


def test_another_patients_proposal_cannot_be_approved(client, two_teams):
    mine, theirs = two_teams
    _other_patients_things(client, theirs)
    response = client.post("/api/v1/me/crisis-plan/versions/1/approve", headers=mine.patient.headers)
    assert response.status_code == 404


def test_my_lists_and_documents_hold_none_of_another_patients_data(client, two_teams):
    mine, theirs = two_teams
    _other_patients_things(client, theirs)
    h = mine.patient.headers
    assert client.get("/api/v1/me/diary", headers=h).json["items"] == []
    assert client.get("/api/v1/me/mastery-plan", headers=h).json["strategies"] == []
    assert client.get("/api/v1/me/crisis-plan/versions", headers=h).json["items"] == []
    assert client.get("/api/v1/me/access-log", headers=h).json["items"] == []
    export = client.get("/api/v1/me/export", headers=h).json
    assert (export["diary"], export["crisis_plan"]["versions"], export["access_log"]) == ([], [], [])


def test_a_consent_for_another_teams_agency_is_422(client, two_teams):
    mine, theirs = two_teams
    body = {"consents": [{"agency_id": str(theirs.agency.id), "scope": "crisis_plan", "state": "granted"}]}
    assert client.put("/api/v1/me/consents", json=body, headers=mine.patient.headers).status_code == 422


# Fixed ids: parametrize ids must be the same in every xdist worker.
NOBODYS = "00000000-0000-4000-8000-000000000000"
ME_ROUTES = [
    ("get", "/api/v1/me"),
    ("get", "/api/v1/me/crisis-plan"),
    ("put", "/api/v1/me/crisis-plan"),
    ("get", "/api/v1/me/crisis-plan.pdf"),
    ("get", "/api/v1/me/crisis-plan/versions"),
    ("post", "/api/v1/me/crisis-plan/versions/1/approve"),
    ("get", "/api/v1/me/mastery-plan"),
    ("put", "/api/v1/me/mastery-plan"),
    ("post", f"/api/v1/me/mastery-plan/strategies/{NOBODYS}/uses"),
    ("get", "/api/v1/me/diary"),
    ("post", "/api/v1/me/diary"),
    ("get", f"/api/v1/me/diary/{NOBODYS}"),
    ("get", "/api/v1/me/consents"),
    ("put", "/api/v1/me/consents"),
    ("get", "/api/v1/me/access-log"),
    ("get", "/api/v1/me/export"),
]


@pytest.mark.parametrize(("method", "url"), ME_ROUTES)
def test_a_staff_token_is_403_on_every_me_route(client, two_teams, method, url):
    mine, _ = two_teams
    assert getattr(client, method)(url, json={}, headers=mine.member.headers).status_code == 403


@pytest.mark.parametrize(("method", "url"), ME_ROUTES)
def test_no_token_is_401_on_every_me_route(client, method, url):
    assert getattr(client, method)(url, json={}).status_code == 401
