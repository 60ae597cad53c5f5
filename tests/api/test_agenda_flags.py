"""The meeting agenda flags overdue actions and crisis plans not reviewed with the team
for more than three months; flagged patients come after those with new events
(issue 16, item 4)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

HELD_ON = date(2026, 11, 23)
EARLIER = HELD_ON - timedelta(days=14)
# Three calendar months before the meeting (written out: the test's own oracle).
THREE_MONTHS_BEFORE = date(2026, 8, 23)


@pytest.fixture
def care(world):
    return world.care_team()


def _reviewed(client, login, on: date | None) -> None:
    """The patient's crisis plan, last reviewed with the team `on` (None: never)."""
    etag = client.get("/api/v1/me/crisis-plan", headers=login.headers).headers["ETag"]
    body = {"what_helps": "rolig stemme", "last_reviewed_with_team_on": on.isoformat() if on else None}
    answer = client.put("/api/v1/me/crisis-plan", json=body, headers={**login.headers, "If-Match": etag})
    assert answer.status_code == 200, answer.json


def _meeting(client, care, held_on: date) -> str:
    answer = client.post(
        f"/api/v1/staff/teams/{care.team.id}/meetings",
        json={"held_on": held_on.isoformat()},
        headers=care.coordinator.headers,
    )
    assert answer.status_code == 201, answer.json
    return answer.json["id"]


def _action(client, care, meeting_id: str, patient, due_on: date) -> str:
    answer = client.post(
        f"/api/v1/staff/meetings/{meeting_id}/actions",
        json={
            "patient_id": str(patient.id),
            "description": "time hos fastlegen",
            "responsible_agency_id": str(care.agency.id),
            "due_on": due_on.isoformat(),
        },
        headers=care.member.headers,
    )
    assert answer.status_code == 201, answer.json
    return answer.json["id"]


def _agenda(client, login, meeting_id: str) -> dict:
    answer = client.get(f"/api/v1/staff/meetings/{meeting_id}", headers=login.headers)
    assert answer.status_code == 200, answer.json
    return {e["display_name"]: e for e in answer.json["agenda"]} | {
        "_order": [e["display_name"] for e in answer.json["agenda"]]
    }


@pytest.fixture
def team(world, client, care):
    """Five patients: one with news, three flagged for different reasons, one in good order."""
    people = {
        name: world.patient(care.team, name=name, consents={care.agency: "all"})
        for name in ("Anna", "Bjørn", "Cecilie", "Dag", "Eva")
    }
    _reviewed(client, care.patient, HELD_ON - timedelta(days=10))
    _reviewed(client, people["Anna"], HELD_ON - timedelta(days=30))
    _reviewed(client, people["Bjørn"], THREE_MONTHS_BEFORE - timedelta(days=1))  # just over 3 months
    _reviewed(client, people["Cecilie"], HELD_ON - timedelta(days=5))
    # Dag has no crisis plan at all; Eva has one never reviewed with the team, and news.
    _reviewed(client, people["Eva"], None)
    earlier = _meeting(client, care, EARLIER)
    _action(client, care, earlier, people["Cecilie"], HELD_ON - timedelta(days=7))
    _action(client, care, earlier, people["Cecilie"], HELD_ON - timedelta(days=3))
    _action(client, care, earlier, people["Anna"], HELD_ON + timedelta(days=3))  # not due yet
    done = _action(client, care, earlier, people["Bjørn"], HELD_ON - timedelta(days=7))
    client.patch(f"/api/v1/staff/actions/{done}", json={"status": "done"}, headers=care.member.headers)
    answer = client.post(
        f"/api/v1/staff/patients/{people['Eva'].id}/admissions",
        json={
            "admitted_on": (HELD_ON - timedelta(days=3)).isoformat(),
            "facility": "PAM",
            "involuntary": False,
        },
        headers=care.member.headers,
    )
    assert answer.status_code == 201, answer.json
    return people, _meeting(client, care, HELD_ON)


def test_each_patient_is_flagged_for_overdue_actions_and_an_unreviewed_crisis_plan(client, care, team):
    _, meeting_id = team
    agenda = _agenda(client, care.member, meeting_id)
    kinds = {name: [f["kind"] for f in agenda[name]["flags"]] for name in agenda["_order"]}
    assert kinds["Anna"] == []
    assert kinds["Bjørn"] == ["crisis_plan_review"], (
        "reviewed just over three months ago; the done action is not overdue"
    )
    assert kinds["Cecilie"] == ["overdue_actions"]
    assert kinds["Dag"] == ["crisis_plan_review"], "no crisis plan at all"
    assert kinds["Eva"] == ["crisis_plan_review"], "never reviewed with the team"
    assert agenda["Cecilie"]["flags"][0] == {
        "kind": "overdue_actions",
        "count": 2,
        "oldest_due_on": (HELD_ON - timedelta(days=7)).isoformat(),
    }
    assert (
        agenda["Bjørn"]["flags"][0]["last_reviewed_with_team_on"]
        == (THREE_MONTHS_BEFORE - timedelta(days=1)).isoformat()
    )
    assert agenda["Dag"]["flags"][0]["last_reviewed_with_team_on"] is None
    assert (agenda["Bjørn"]["flagged"], agenda["Anna"]["flagged"]) == (True, False)


def test_flagged_patients_come_first_after_those_with_new_events(client, care, team):
    _, meeting_id = team
    order = _agenda(client, care.member, meeting_id)["_order"]
    assert order[0] == "Eva", "news first"
    flagged, rest = order[1:4], order[4:]
    assert flagged == ["Bjørn", "Cecilie", "Dag"]
    assert set(rest) == {"Anna", care.patient.name}


def test_a_plan_reviewed_exactly_three_months_before_is_not_flagged(client, world, care):
    _reviewed(client, care.patient, THREE_MONTHS_BEFORE)
    agenda = _agenda(client, care.member, _meeting(client, care, HELD_ON))
    assert agenda[care.patient.name]["flags"] == []


def test_marking_the_overdue_actions_done_takes_the_flag_away(client, care, team):
    people, meeting_id = team
    assert [f["kind"] for f in _agenda(client, care.member, meeting_id)["Cecilie"]["flags"]] == [
        "overdue_actions"
    ]
    marked = 0
    for action in client.get(f"/api/v1/staff/meetings/{meeting_id}", headers=care.member.headers).json[
        "carried_over"
    ]:
        if action["patient_id"] == str(people["Cecilie"].id):
            answer = client.patch(
                f"/api/v1/staff/actions/{action['id']}", json={"status": "done"}, headers=care.member.headers
            )
            assert answer.status_code == 200, answer.json
            marked += 1
    assert marked == 2
    assert _agenda(client, care.member, meeting_id)["Cecilie"]["flags"] == []


def test_the_plan_review_flag_needs_the_crisis_plan_consent(client, world, care):
    other = world.agency(kind="police")
    liaison = world.staff(care.team, agency=other)
    world.patient(care.team, name="Frida", consents={care.agency: "all", other: ["meeting_notes"]})
    agenda = _agenda(client, liaison, _meeting(client, care, HELD_ON))
    assert agenda["Frida"]["flags"] == [], "the police liaison may not learn about the crisis plan"
    assert [
        f["kind"]
        for f in _agenda(client, care.member, _meeting(client, care, HELD_ON + timedelta(days=1)))["Frida"][
            "flags"
        ]
    ] == ["crisis_plan_review"]


def test_the_flags_are_documented_in_the_openapi_schema(client):
    schemas = client.get("/api/openapi.json").json["components"]["schemas"]
    assert "flags" in schemas["MeetingAgendaEntryOut"]["properties"]
    assert schemas["MeetingAgendaFlagOut"]["properties"]["kind"]["enum"] == [
        "overdue_actions",
        "crisis_plan_review",
    ]


def test_three_months_back_ends_on_the_last_day_of_a_shorter_month():
    from muli.team.meetings.agenda import months_before

    assert months_before(date(2026, 5, 31), 3) == date(2026, 2, 28)
    assert months_before(date(2024, 5, 31), 3) == date(2024, 2, 29)
    assert months_before(date(2026, 1, 15), 3) == date(2025, 10, 15)
    assert months_before(HELD_ON, 3) == THREE_MONTHS_BEFORE
