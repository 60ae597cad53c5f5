"""The morning hand-over: what happened after hours, per patient, with outcomes."""

from __future__ import annotations

import pytest

from tests.contact_support import ask, utc


@pytest.fixture
def care(world, clock):
    clock.set(utc(2026, 11, 21, 0, 40))  # Saturday 01:40 in Oslo
    return world.care_team()


def handover(client, care, day="2026-11-23", who=None):
    who = who or care.member
    return client.get(f"/api/v1/staff/teams/{care.team.id}/handover?date={day}", headers=who.headers)


def test_monday_morning_lists_the_weekend_request_with_its_outcome_and_note(client, clock, care):
    request_id = ask(client, care.patient).json["id"]
    clock.advance(minutes=6)
    client.post(f"/api/v1/staff/contact-requests/{request_id}/acknowledge", headers=care.member.headers)
    client.post(
        f"/api/v1/staff/contact-requests/{request_id}/close",
        json={"outcome": "talked", "note": "snakket, avtalt ny kontakt i morgen"},
        headers=care.member.headers,
    )
    [entry] = handover(client, care).json["patients"]
    [request] = entry["requests"]
    assert entry["patient"]["id"] == str(care.patient.id)
    assert (request["outcome"], request["close_note"]) == ("talked", "snakket, avtalt ny kontakt i morgen")


def test_the_window_runs_from_fridays_closing_to_mondays_opening(client, care):
    body = handover(client, care).json
    assert (body["since"], body["until"]) == ("2026-11-20T14:30:00Z", "2026-11-23T07:00:00Z")


def test_a_request_in_office_hours_the_day_before_is_not_in_the_handover(client, clock, care):
    clock.set(utc(2026, 11, 20, 10, 0))  # Friday 11:00 in Oslo
    ask(client, care.patient)
    assert handover(client, care).json["patients"] == []


def test_escalations_of_the_night_are_listed(app, client, clock, care, runner):
    request_id = ask(client, care.patient).json["id"]
    runner.invoke(args=["muli", "escalate", "--now", "2026-11-21T01:00:00Z", "--no-send"])
    [entry] = handover(client, care).json["patients"]
    kinds = [e["kind"] for e in entry["requests"][0]["escalations"]]
    assert (entry["requests"][0]["id"], kinds) == (request_id, ["backup", "team"])


def test_another_teams_handover_does_not_exist_for_me(client, world, care):
    outsider = world.staff(world.team())
    assert handover(client, care, who=outsider).status_code == 404


def test_a_bad_date_is_a_422(client, care):
    assert handover(client, care, day="23.11.2026").status_code == 422
