"""The rota over HTTP: the coordinator runs it, the team reads it."""

from __future__ import annotations

import pytest

from tests.contact_support import SATURDAY_NIGHT


@pytest.fixture
def care(world, clock):
    clock.set(SATURDAY_NIGHT)
    return world.care_team()


def url(team) -> str:
    return f"/api/v1/staff/teams/{team.id}/on-call-shifts"


def shift(staff, starts="2026-11-21T15:00:00Z", ends="2026-11-22T07:00:00Z", level="primary") -> dict:
    return {"staff_id": str(staff.id), "starts_at": starts, "ends_at": ends, "level": level}


def test_the_coordinator_puts_someone_on_call(client, care):
    response = client.post(url(care.team), json=shift(care.member), headers=care.coordinator.headers)
    assert response.status_code == 201
    assert (response.json["staff_name"], response.json["starts_at"]) == (
        care.member.staff.display_name,
        "2026-11-21T15:00:00Z",
    )


def test_the_team_reads_the_rota(client, care):
    client.post(url(care.team), json=shift(care.member), headers=care.coordinator.headers)
    items = client.get(url(care.team), headers=care.member.headers).json["items"]
    assert [i["staff_id"] for i in items] == [str(care.member.id)]


def test_an_overlapping_primary_shift_is_a_409_saying_who_is_on_call(client, world, care):
    other = world.staff(care.team, agency=care.agency, name="Per Akutt")
    client.post(url(care.team), json=shift(other), headers=care.coordinator.headers)
    response = client.post(
        url(care.team),
        json=shift(care.member, starts="2026-11-22T06:00:00Z", ends="2026-11-22T10:00:00Z"),
        headers=care.coordinator.headers,
    )
    assert response.status_code == 409
    assert "Per Akutt" in response.json["detail"]


def test_a_shift_without_a_time_zone_is_a_422(client, care):
    body = shift(care.member, starts="2026-11-21T15:00:00")
    response = client.post(url(care.team), json=body, headers=care.coordinator.headers)
    assert (response.status_code, list(response.json["errors"])) == (422, ["starts_at"])


def test_a_member_cannot_change_the_rota(client, care):
    response = client.post(url(care.team), json=shift(care.member), headers=care.member.headers)
    assert response.status_code == 403


def test_another_teams_rota_cannot_be_read(client, world, care):
    outsider = world.staff(world.team())
    assert client.get(url(care.team), headers=outsider.headers).status_code == 404


def test_another_teams_rota_cannot_be_changed(client, world, care):
    outsider = world.staff(world.team(), role="coordinator")
    response = client.post(url(care.team), json=shift(care.member), headers=outsider.headers)
    assert response.status_code == 403


def test_a_patient_cannot_read_the_rota(client, care):
    assert client.get(url(care.team), headers=care.patient.headers).status_code == 403
