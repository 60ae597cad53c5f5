"""The mastery plan: strategies and goals, versioned like the crisis plan, with 'I tried this'."""

from __future__ import annotations

import uuid

import pytest

PLAN = "/api/v1/me/mastery-plan"


@pytest.fixture
def care(world):
    return world.care_team()


def _save(client, login, body, etag=None):
    etag = etag or client.get(PLAN, headers=login.headers).headers["ETag"]
    return client.put(PLAN, json=body, headers={**login.headers, "If-Match": etag})


def _use(client, login, strategy_id, helped, **extra):
    return client.post(
        f"{PLAN}/strategies/{strategy_id}/uses", json={"helped": helped, **extra}, headers=login.headers
    )


def _plan_with_walk(client, login):
    body = {
        "strategies": [{"title": "Gå en tur rundt vannet", "category": "aktivitet"}],
        "goals": [{"title": "Sove seks timer", "category": "søvn", "target_date": "2026-12-31"}],
    }
    response = _save(client, login, body)
    assert response.status_code == 200, response.json
    return response.json


def test_a_patient_without_a_mastery_plan_gets_an_empty_version_zero(client, care):
    response = client.get(PLAN, headers=care.patient.headers)
    assert (response.json["version"], response.json["strategies"], response.json["goals"]) == (0, [], [])
    assert response.headers["ETag"]


def test_saving_gives_each_strategy_an_id_and_lists_the_categories(client, care):
    plan = _plan_with_walk(client, care.patient)
    assert uuid.UUID(plan["strategies"][0]["id"])
    assert plan["categories"] == ["aktivitet", "søvn"]
    assert plan["goals"][0]["target_date"] == "2026-12-31"


def test_a_strategy_keeps_its_id_and_history_across_versions(client, care):
    plan = _plan_with_walk(client, care.patient)
    walk = plan["strategies"][0]
    _use(client, care.patient, walk["id"], 4)
    again = _save(
        client, care.patient, {"strategies": [{**walk, "title": "Gå en lang tur"}, {"title": "Ringe Siv"}]}
    )
    kept = again.json["strategies"][0]
    assert (kept["id"], kept["title"], kept["times_tried"], again.json["version"]) == (
        walk["id"],
        "Gå en lang tur",
        1,
        2,
    )


def test_an_id_that_is_not_in_the_plan_is_422(client, care):
    response = _save(client, care.patient, {"strategies": [{"id": str(uuid.uuid4()), "title": "x"}]})
    assert response.status_code == 422
    assert "strategies.0.id" in response.json["errors"]


def test_uses_give_times_tried_and_average_helped(client, care):
    walk = _plan_with_walk(client, care.patient)["strategies"][0]["id"]
    for helped in (1, 4, 4):
        assert _use(client, care.patient, walk, helped).status_code == 201
    strategy = client.get(PLAN, headers=care.patient.headers).json["strategies"][0]
    assert (strategy["times_tried"], strategy["average_helped"]) == (3, 3.0)


def test_helped_above_four_is_422(client, care):
    walk = _plan_with_walk(client, care.patient)["strategies"][0]["id"]
    response = _use(client, care.patient, walk, 5)
    assert (response.status_code, list(response.json["errors"])) == (422, ["helped"])


def test_a_use_of_a_strategy_not_in_the_plan_is_404(client, care):
    _plan_with_walk(client, care.patient)
    assert _use(client, care.patient, uuid.uuid4(), 2).status_code == 404


def test_put_without_if_match_is_428(client, care):
    response = client.put(PLAN, json={"strategies": []}, headers=care.patient.headers)
    assert response.status_code == 428


def test_of_two_devices_editing_the_same_version_one_wins_and_the_other_gets_412(client, care):
    etag = client.get(PLAN, headers=care.patient.headers).headers["ETag"]
    first = _save(client, care.patient, {"strategies": [{"title": "a"}]}, etag)
    second = _save(client, care.patient, {"strategies": [{"title": "b"}]}, etag)
    assert (first.status_code, second.status_code) == (200, 412)


def test_a_new_use_changes_the_etag_so_a_cached_copy_is_refreshed(client, care):
    walk = _plan_with_walk(client, care.patient)["strategies"][0]["id"]
    etag = client.get(PLAN, headers=care.patient.headers).headers["ETag"]
    _use(client, care.patient, walk, 2)
    response = client.get(PLAN, headers={**care.patient.headers, "If-None-Match": etag})
    assert (response.status_code, response.json["strategies"][0]["times_tried"]) == (200, 1)


def test_get_with_the_current_etag_is_304(client, care):
    _plan_with_walk(client, care.patient)
    etag = client.get(PLAN, headers=care.patient.headers).headers["ETag"]
    assert client.get(PLAN, headers={**care.patient.headers, "If-None-Match": etag}).status_code == 304


def test_the_answer_can_be_sent_back_unchanged(client, care):
    plan = _plan_with_walk(client, care.patient)
    etag = client.get(PLAN, headers=care.patient.headers).headers["ETag"]
    assert _save(client, care.patient, plan, etag).status_code == 200


def test_staff_read_the_plan_with_its_figures(client, care):
    walk = _plan_with_walk(client, care.patient)["strategies"][0]["id"]
    _use(client, care.patient, walk, 2)
    response = client.get(
        f"/api/v1/staff/patients/{care.patient.id}/mastery-plan", headers=care.member.headers
    )
    assert response.json["strategies"][0]["times_tried"] == 1
