"""GET /me tells the patient who answers now and when that changes."""

from __future__ import annotations

import pytest

from tests.contact_support import SATURDAY_NIGHT, WEDNESDAY_MORNING, put_on_call, utc


@pytest.fixture
def care(world, clock):
    clock.set(SATURDAY_NIGHT)
    return world.care_team()


def availability(client, care) -> dict:
    return client.get("/api/v1/me", headers=care.patient.headers).json["availability"]


def test_me_names_the_on_call_and_when_their_shift_ends(client, app, world, care):
    ola = world.staff(care.team, name="Ola Vakt")
    put_on_call(app, care.team, ola, utc(2026, 11, 20, 15), utc(2026, 11, 21, 7))
    assert availability(client, care) == {
        "status": "on_call",
        "on_call": {"name": "Ola Vakt", "agency": ola.staff.agency.name},
        "next_change_at": "2026-11-21T07:00:00Z",
        "next_status": "none",
    }


def test_me_says_nobody_is_reachable_until_monday_morning(client, care):
    body = availability(client, care)
    assert (body["status"], body["next_change_at"], body["next_status"]) == (
        "none",
        "2026-11-23T07:00:00Z",
        "office",
    )


def test_me_says_the_office_answers_in_office_hours(client, clock, care):
    clock.set(WEDNESDAY_MORNING)
    assert availability(client, care)["status"] == "office"
