"""The meeting API: creating, reading, notes with If-Match, actions, signing, addenda."""

from datetime import date

import pytest

from muli.extensions import db
from muli.models.consent import Consent
from muli.models.people import Staff

NOTE = "/api/v1/staff/meetings/{}/notes/{}"

# The app runs on the real clock: meet today.
HELD_ON = date.today().isoformat()


@pytest.fixture
def care(world):
    return world.care_team()


@pytest.fixture
def meeting(client, care):
    answer = client.post(
        f"/api/v1/staff/teams/{care.team.id}/meetings",
        json={"held_on": HELD_ON},
        headers=care.coordinator.headers,
    )
    assert answer.status_code == 201
    return answer.json


def note_url(meeting, care):
    return NOTE.format(meeting["id"], care.patient.id)


def action_body(care, **extra):
    return {
        "patient_id": str(care.patient.id),
        "description": "DPS: time hos psykiater innen fredag",
        "responsible_agency_id": str(care.agency.id),
        "due_on": "2026-11-27",
        **extra,
    }


def test_a_coordinator_creates_a_meeting_with_its_agenda(client, care, meeting):
    got = client.get(f"/api/v1/staff/meetings/{meeting['id']}", headers=care.member.headers).json
    assert [e["patient_id"] for e in got["agenda"]] == [str(care.patient.id)]


def test_a_member_cannot_create_a_meeting(client, care):
    answer = client.post(
        f"/api/v1/staff/teams/{care.team.id}/meetings",
        json={"held_on": HELD_ON},
        headers=care.member.headers,
    )
    assert answer.status_code == 403


def test_the_teams_meetings_are_listed(client, care, meeting):
    page = client.get(f"/api/v1/staff/teams/{care.team.id}/meetings", headers=care.member.headers).json
    assert ([m["id"] for m in page["items"]], page["next_cursor"]) == ([meeting["id"]], None)


def test_another_teams_meeting_answers_404(client, world, meeting):
    stranger = world.care_team()
    assert (
        client.get(f"/api/v1/staff/meetings/{meeting['id']}", headers=stranger.member.headers).status_code
        == 404
    )


def test_another_teams_patient_answers_404_in_a_meeting(client, world, care, meeting):
    stranger = world.care_team()
    url = NOTE.format(meeting["id"], stranger.patient.id)
    assert client.get(url, headers=care.member.headers).status_code == 404


def test_reading_a_note_gives_its_etag(client, care, meeting):
    answer = client.get(note_url(meeting, care), headers=care.member.headers)
    assert answer.headers["ETag"] == answer.json["etag"]


def test_a_note_with_the_etag_just_read_is_saved(client, care, meeting):
    etag = client.get(note_url(meeting, care), headers=care.member.headers).headers["ETag"]
    answer = client.put(
        note_url(meeting, care),
        json={"text": "Sov dårlig"},
        headers={**care.member.headers, "If-Match": etag},
    )
    assert (answer.status_code, answer.json["text"], answer.json["version"]) == (200, "Sov dårlig", 1)


def test_saving_a_note_without_if_match_answers_428(client, care, meeting):
    answer = client.put(note_url(meeting, care), json={"text": "x"}, headers=care.member.headers)
    assert answer.status_code == 428


def test_the_second_of_two_edits_from_the_same_version_answers_412(client, care, meeting):
    etag = client.get(note_url(meeting, care), headers=care.member.headers).headers["ETag"]
    siv = {**care.member.headers, "If-Match": etag}
    ola = {**care.coordinator.headers, "If-Match": etag}
    assert client.put(note_url(meeting, care), json={"text": "Siv"}, headers=siv).status_code == 200
    answer = client.put(note_url(meeting, care), json={"text": "Ola"}, headers=ola)
    assert (answer.status_code, answer.headers["Content-Type"]) == (412, "application/problem+json")


def test_an_unchanged_note_answers_304_to_if_none_match(client, care, meeting):
    etag = client.get(note_url(meeting, care), headers=care.member.headers).headers["ETag"]
    answer = client.get(note_url(meeting, care), headers={**care.member.headers, "If-None-Match": etag})
    assert answer.status_code == 304


def test_a_renamed_author_is_a_new_answer_to_if_none_match_but_no_edit_to_if_match(
    app, client, care, meeting
):
    """The note's answer names its author and agency: after a rename a reader holding the old
    ETag gets the new name (200, not 304), and a save from that ETag still goes through."""
    first = client.get(note_url(meeting, care), headers=care.member.headers).headers["ETag"]
    saved = client.put(
        note_url(meeting, care),
        json={"text": "Sov dårlig"},
        headers={**care.member.headers, "If-Match": first},
    )
    etag = saved.headers["ETag"]
    with app.app_context():
        siv = db.session.get(Staff, care.member.staff.id)
        siv.display_name = "Siv Ny-Etternavn"
        siv.agency.name = "Fjordvik DPS, poliklinikk"
        db.session.commit()
    again = client.get(note_url(meeting, care), headers={**care.member.headers, "If-None-Match": etag})
    assert again.status_code == 200
    assert (again.json["updated_by_name"], again.json["updated_by_agency"]) == (
        "Siv Ny-Etternavn",
        "Fjordvik DPS, poliklinikk",
    )
    assert again.headers["ETag"] != etag
    assert (
        client.get(
            note_url(meeting, care), headers={**care.member.headers, "If-None-Match": again.headers["ETag"]}
        ).status_code
        == 304
    )
    answer = client.put(
        note_url(meeting, care),
        json={"text": "Sov bedre"},
        headers={**care.coordinator.headers, "If-Match": etag},
    )
    assert (answer.status_code, answer.json["version"]) == (200, 2)


def test_a_note_needs_consent_for_the_readers_agency(client, world, care, meeting):
    police = world.staff(care.team, agency=world.agency(kind="police"))
    answer = client.get(note_url(meeting, care), headers=police.headers)
    assert answer.json["type"].endswith("/consent-required")


def test_an_action_is_added_with_its_responsible_agency(client, care, meeting):
    answer = client.post(
        f"/api/v1/staff/meetings/{meeting['id']}/actions", json=action_body(care), headers=care.member.headers
    )
    assert (answer.status_code, answer.json["responsible_agency_name"]) == (201, care.agency.name)


def test_an_action_is_marked_done(client, care, meeting):
    action = client.post(
        f"/api/v1/staff/meetings/{meeting['id']}/actions", json=action_body(care), headers=care.member.headers
    ).json
    answer = client.patch(
        f"/api/v1/staff/actions/{action['id']}", json={"status": "done"}, headers=care.member.headers
    )
    assert answer.json["status"] == "done"


def test_an_unknown_field_in_an_action_answers_422(client, care, meeting):
    answer = client.post(
        f"/api/v1/staff/meetings/{meeting['id']}/actions",
        json=action_body(care, priority="high"),
        headers=care.member.headers,
    )
    assert answer.status_code == 422


def test_a_system_issue_answers_without_a_patient_and_lands_on_the_leaders_list(client, care, meeting):
    issue = client.post(
        f"/api/v1/staff/meetings/{meeting['id']}/actions",
        json=action_body(care, description="Ambulanse og politi: motstridende rutiner", system_issue=True),
        headers=care.member.headers,
    ).json
    listed = client.get(
        f"/api/v1/staff/teams/{care.team.id}/system-issues", headers=care.coordinator.headers
    ).json
    assert (issue["patient_id"], [i["id"] for i in listed["items"]]) == (None, [issue["id"]])


def test_the_leaders_list_is_refused_to_a_member(client, care):
    answer = client.get(f"/api/v1/staff/teams/{care.team.id}/system-issues", headers=care.member.headers)
    assert answer.status_code == 403


def test_after_signing_a_note_edit_answers_409(client, care, meeting):
    etag = client.get(note_url(meeting, care), headers=care.member.headers).headers["ETag"]
    signed = client.post(f"/api/v1/staff/meetings/{meeting['id']}/sign", headers=care.coordinator.headers)
    answer = client.put(
        note_url(meeting, care), json={"text": "x"}, headers={**care.member.headers, "If-Match": etag}
    )
    assert (signed.status_code, answer.status_code) == (200, 409)


def test_after_signing_new_attendees_answer_409(client, care, meeting):
    client.post(f"/api/v1/staff/meetings/{meeting['id']}/sign", headers=care.coordinator.headers)
    answer = client.put(
        f"/api/v1/staff/meetings/{meeting['id']}/attendees",
        json={"staff_ids": [str(care.member.id)]},
        headers=care.member.headers,
    )
    assert answer.status_code == 409


def test_an_addendum_is_accepted_after_signing(client, care, meeting):
    client.post(f"/api/v1/staff/meetings/{meeting['id']}/sign", headers=care.coordinator.headers)
    answer = client.post(
        f"/api/v1/staff/meetings/{meeting['id']}/addenda",
        json={"patient_id": str(care.patient.id), "text": "Kari ringte etter møtet"},
        headers=care.member.headers,
    )
    assert (answer.status_code, answer.json["text"]) == (201, "Kari ringte etter møtet")


def test_attendees_are_set_with_guests(client, care, meeting):
    answer = client.put(
        f"/api/v1/staff/meetings/{meeting['id']}/attendees",
        json={"staff_ids": [str(care.member.id)], "guests": [{"name": "Pia", "agency": "Politiet"}]},
        headers=care.member.headers,
    )
    assert [(a["name"], a["guest"]) for a in answer.json["items"]] == [
        (care.member.staff.display_name, False),
        ("Pia", True),
    ]


def test_a_patient_cannot_reach_the_meeting_api(client, care, meeting):
    answer = client.get(f"/api/v1/staff/meetings/{meeting['id']}", headers=care.patient.headers)
    assert answer.status_code == 403


def test_the_meeting_endpoints_are_in_the_openapi_document(client):
    paths = client.get("/api/openapi.json").json["paths"]
    assert {
        "/api/v1/staff/meetings/{meeting_id}/attendees",
        "/api/v1/staff/meetings/{meeting_id}/notes/{patient_id}",
        "/api/v1/staff/teams/{team_id}/system-issues",
    } <= set(paths)


def test_the_patients_export_has_the_meeting_actions_but_not_the_system_issue(client, care, meeting):
    url = f"/api/v1/staff/meetings/{meeting['id']}/actions"
    client.post(url, json=action_body(care), headers=care.member.headers)
    client.post(
        url,
        json=action_body(care, description="Rutinekollisjon", system_issue=True),
        headers=care.member.headers,
    )
    exported = client.get("/api/v1/me/export", headers=care.patient.headers).json
    assert [a["description"] for a in exported["meetings"]["meeting_actions"]] == [
        "DPS: time hos psykiater innen fredag"
    ]


def test_the_staff_overview_lists_the_patients_open_actions(client, care, meeting):
    client.post(
        f"/api/v1/staff/meetings/{meeting['id']}/actions", json=action_body(care), headers=care.member.headers
    )
    overview = client.get(f"/api/v1/staff/patients/{care.patient.id}", headers=care.member.headers).json
    assert [a["description"] for a in overview["open_meeting_actions"]] == [
        "DPS: time hos psykiater innen fredag"
    ]


def test_another_teams_action_answers_404(client, world, care, meeting):
    action = client.post(
        f"/api/v1/staff/meetings/{meeting['id']}/actions", json=action_body(care), headers=care.member.headers
    ).json
    stranger = world.care_team()
    answer = client.patch(
        f"/api/v1/staff/actions/{action['id']}", json={"status": "done"}, headers=stranger.member.headers
    )
    assert answer.status_code == 404


def test_an_action_for_another_teams_patient_answers_404(client, world, care, meeting):
    stranger = world.care_team()
    body = action_body(care, patient_id=str(stranger.patient.id))
    answer = client.post(
        f"/api/v1/staff/meetings/{meeting['id']}/actions", json=body, headers=care.member.headers
    )
    assert answer.status_code == 404


def test_the_staff_overview_withholds_open_actions_without_meeting_notes_consent(
    client, world, care, meeting
):
    client.post(
        f"/api/v1/staff/meetings/{meeting['id']}/actions", json=action_body(care), headers=care.member.headers
    )
    ward = world.agency(kind="acute_ward")
    nurse = world.staff(care.team, agency=ward)
    with world.app.app_context():
        db.session.add(
            Consent(patient_id=care.patient.id, agency_id=ward.id, scope="crisis_plan", state="granted")
        )
        db.session.commit()
    overview = client.get(f"/api/v1/staff/patients/{care.patient.id}", headers=nurse.headers).json
    assert overview["open_meeting_actions"] is None


def test_a_meeting_date_far_from_today_answers_422(client, care):
    answer = client.post(
        f"/api/v1/staff/teams/{care.team.id}/meetings",
        json={"held_on": "0001-01-01"},
        headers=care.coordinator.headers,
    )
    assert (answer.status_code, list(answer.json["errors"])) == (422, ["held_on"])
