"""The privacy officer's access log and the break-the-glass review queue."""

from datetime import date

import pytest

AUDIT = "/api/v1/staff/audit"
QUEUE = "/api/v1/staff/audit/emergency-access"
REASON = "Pasienten er i akutt krise og vi trenger kriseplanen nå"

# The app runs on the real clock: meet today.
HELD_ON = date.today().isoformat()


@pytest.fixture
def care(world):
    return world.care_team()


@pytest.fixture
def officer(world):
    return world.staff(role="privacy_officer")


@pytest.fixture
def outsider(world, care):
    """A clinician on the team whose agency has no consent: needs break-the-glass."""
    return world.staff(care.team, agency=world.agency(kind="acute_ward"))


@pytest.fixture
def glass_broken(client, care, outsider):
    answer = client.post(
        f"/api/v1/staff/patients/{care.patient.id}/emergency-access",
        json={"reason": REASON},
        headers=outsider.headers,
    )
    assert answer.status_code == 201
    return answer.json


def read_overview(client, care, login):
    assert client.get(f"/api/v1/staff/patients/{care.patient.id}", headers=login.headers).status_code == 200


def test_the_privacy_officer_finds_the_reads_of_a_patients_data(client, care, officer):
    read_overview(client, care, care.member)
    page = client.get(AUDIT, query_string={"patient_id": str(care.patient.id)}, headers=officer.headers).json
    assert [(e["action"], e["actor_name"]) for e in page["items"]] == [
        ("patient.overview", care.member.staff.display_name)
    ]


def test_a_team_member_cannot_read_the_access_log(client, care):
    assert client.get(AUDIT, headers=care.member.headers).status_code == 403


def test_a_coordinator_cannot_read_the_access_log(client, care):
    assert client.get(AUDIT, headers=care.coordinator.headers).status_code == 403


def test_the_log_is_filtered_by_staff_member(client, care, officer):
    read_overview(client, care, care.member)
    read_overview(client, care, care.coordinator)
    page = client.get(
        AUDIT, query_string={"staff_id": str(care.coordinator.id)}, headers=officer.headers
    ).json
    assert {e["actor_name"] for e in page["items"]} == {care.coordinator.staff.display_name}


def test_the_log_is_filtered_by_time(client, care, officer):
    read_overview(client, care, care.member)
    page = client.get(AUDIT, query_string={"to": "2000-01-01"}, headers=officer.headers).json
    assert page["items"] == []


def test_the_log_is_paginated_by_cursor_without_repeats(client, care, officer):
    for _ in range(3):
        read_overview(client, care, care.member)
    query = {"patient_id": str(care.patient.id), "limit": 2}
    first = client.get(AUDIT, query_string=query, headers=officer.headers).json
    second = client.get(
        AUDIT, query_string={**query, "cursor": first["next_cursor"]}, headers=officer.headers
    ).json
    seqs = [e["seq"] for e in first["items"] + second["items"]]
    assert seqs == sorted(set(seqs), reverse=True) and len(seqs) == 3


def test_the_log_shows_no_clinical_content(client, care, officer):
    meeting = client.post(
        f"/api/v1/staff/teams/{care.team.id}/meetings",
        json={"held_on": HELD_ON},
        headers=care.coordinator.headers,
    ).json
    url = f"/api/v1/staff/meetings/{meeting['id']}/notes/{care.patient.id}"
    etag = client.get(url, headers=care.member.headers).headers["ETag"]
    client.put(url, json={"text": "Stemmene er sterke"}, headers={**care.member.headers, "If-Match": etag})
    answer = client.get(AUDIT, headers=officer.headers)
    assert "meeting_note.write" in answer.text and "Stemmene" not in answer.text


def test_an_emergency_access_waits_in_the_queue_with_its_reason(client, officer, glass_broken):
    items = client.get(QUEUE, headers=officer.headers).json["items"]
    assert [(i["id"], i["reason"], i["reviewed"]) for i in items] == [(glass_broken["id"], REASON, False)]


def test_the_queue_shows_what_was_done_during_the_emergency_access(
    client, care, outsider, officer, glass_broken
):
    client.get(f"/api/v1/staff/patients/{care.patient.id}", headers=outsider.headers)
    item = client.get(QUEUE, headers=officer.headers).json["items"][0]
    assert "patient.overview" in [a["action"] for a in item["actions_during"]]


def test_a_reviewed_emergency_access_leaves_the_queue(client, officer, glass_broken):
    reviewed = client.post(f"{QUEUE}/{glass_broken['id']}/review", headers=officer.headers)
    assert (reviewed.json["reviewed"], reviewed.json["reviewed_by_name"]) == (
        True,
        officer.staff.display_name,
    )
    assert client.get(QUEUE, headers=officer.headers).json["items"] == []


def test_reviewed_emergency_accesses_are_listed_on_request(client, officer, glass_broken):
    client.post(f"{QUEUE}/{glass_broken['id']}/review", headers=officer.headers)
    items = client.get(QUEUE, query_string={"reviewed": "true"}, headers=officer.headers).json["items"]
    assert [i["id"] for i in items] == [glass_broken["id"]]


def test_reviewing_twice_answers_409(client, officer, glass_broken):
    client.post(f"{QUEUE}/{glass_broken['id']}/review", headers=officer.headers)
    assert client.post(f"{QUEUE}/{glass_broken['id']}/review", headers=officer.headers).status_code == 409


def test_a_member_cannot_review_an_emergency_access(client, care, glass_broken):
    assert client.post(f"{QUEUE}/{glass_broken['id']}/review", headers=care.member.headers).status_code == 403


def test_an_unknown_emergency_access_answers_404(client, officer):
    answer = client.post(f"{QUEUE}/00000000-0000-4000-8000-000000000000/review", headers=officer.headers)
    assert answer.status_code == 404


def test_the_patient_sees_that_the_privacy_officer_reviewed_the_access(client, care, officer, glass_broken):
    client.post(f"{QUEUE}/{glass_broken['id']}/review", headers=officer.headers)
    log = client.get("/api/v1/me/access-log", headers=care.patient.headers).json["items"]
    assert "emergency_access.review" in [e["action"] for e in log]


@pytest.mark.parametrize("bound", ["0001-01-01", "9999-12-31", "0001-01-01T00:00:00Z"])
def test_a_search_bound_out_of_range_answers_422(client, officer, bound):
    assert (
        client.get(AUDIT, query_string={"from": bound, "to": bound}, headers=officer.headers).status_code
        == 422
    )
