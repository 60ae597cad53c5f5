"""A staff proposal tells the patient what it changes, section by section (issue 16, item 4)."""

from __future__ import annotations

import pytest

PLAN = "/api/v1/me/crisis-plan"


@pytest.fixture
def care(world):
    return world.care_team()


def _save(client, login, body):
    etag = client.get(PLAN, headers=login.headers).headers["ETag"]
    response = client.put(PLAN, json=body, headers={**login.headers, "If-Match": etag})
    assert response.status_code == 200, response.json


def _propose(client, care, body):
    url = f"/api/v1/staff/patients/{care.patient.id}/crisis-plan/proposals"
    response = client.post(url, json=body, headers=care.member.headers)
    assert response.status_code == 201, response.json
    return response.json


def _sections(changes) -> dict:
    return {s["section"]: s for s in changes["sections"]}


CURRENT = {
    "warning_signs": [{"sign": "får ikke sove", "action": "ringer Siv"}, {"sign": "trekker meg unna"}],
    "coping_strategies": ["gå en tur", "høre på musikk"],
    "people_to_ask": [{"name": "Siv", "phone": "+4799999999"}],
    "what_helps": "rolig stemme",
    "how_i_want_to_be_met": "at dere banker på; og venter",
}
PROPOSED = {
    "warning_signs": [
        {"sign": "får ikke sove", "action": "ringer Siv; eller legevakten"},
        {"sign": "trekker meg unna"},
    ],
    "coping_strategies": ["gå en tur", "ta en dusj"],
    "people_to_ask": [{"name": "Siv", "phone": "+4799999999"}],
    "what_helps": "rolig stemme og tid",
    "how_i_want_to_be_met": "at dere banker på; og venter",
    "reasons_to_live": ["katten min"],
}


def test_a_proposal_lists_what_it_adds_removes_and_changes_in_each_section(client, care):
    _save(client, care.patient, CURRENT)
    made = _propose(client, care, PROPOSED)
    versions = client.get(f"{PLAN}/versions", headers=care.patient.headers).json["items"]
    proposal = next(v for v in versions if v["status"] == "proposed")
    changes = proposal["changes"]
    assert changes == made["changes"], "staff see the same diff as the patient"
    assert changes["compared_with_version"] == 1
    by = _sections(changes)
    assert list(by)[:2] == ["warning_signs", "coping_strategies"], "every section, in plan order"
    assert by["coping_strategies"]["status"] == "changed"
    assert by["coping_strategies"]["added"] == ["ta en dusj"]
    assert by["coping_strategies"]["removed"] == ["høre på musikk"]
    # A structured item with the same name is changed, old -> new, not removed and added.
    assert by["warning_signs"]["changed"] == [
        {
            "before": {"sign": "får ikke sove", "action": "ringer Siv"},
            "after": {"sign": "får ikke sove", "action": "ringer Siv; eller legevakten"},
        }
    ]
    assert by["warning_signs"]["added"] == [] and by["warning_signs"]["removed"] == []
    assert (by["what_helps"]["kind"], by["what_helps"]["before"], by["what_helps"]["after"]) == (
        "text",
        "rolig stemme",
        "rolig stemme og tid",
    )
    assert by["reasons_to_live"]["added"] == ["katten min"]
    for unchanged in ("people_to_ask", "how_i_want_to_be_met", "distractions", "treatment_preferences"):
        assert by[unchanged]["status"] == "unchanged", unchanged


def test_the_diff_is_against_the_plan_as_it_is_now_not_as_it_was_when_proposed(client, care):
    _propose(client, care, {"coping_strategies": ["gå en tur"]})
    _save(client, care.patient, {"coping_strategies": ["gå en tur", "skrive dagbok"]})
    versions = client.get(f"{PLAN}/versions", headers=care.patient.headers).json["items"]
    proposal = next(v for v in versions if v["status"] == "proposed")
    # Approving would take out what the patient wrote after the proposal was made: say so.
    by = _sections(proposal["changes"])
    assert by["coping_strategies"]["removed"] == ["skrive dagbok"]
    assert proposal["changes"]["compared_with_version"] == 2


def test_only_proposals_carry_changes_and_reordering_is_named(client, care):
    _save(client, care.patient, {"coping_strategies": ["a", "b"]})
    _propose(client, care, {"coping_strategies": ["b", "a"]})
    versions = client.get(f"{PLAN}/versions", headers=care.patient.headers).json["items"]
    current = next(v for v in versions if v["status"] == "current")
    proposal = next(v for v in versions if v["status"] == "proposed")
    assert current["changes"] is None
    section = _sections(proposal["changes"])["coping_strategies"]
    assert (section["status"], section["reordered"], section["added"], section["removed"]) == (
        "changed",
        True,
        [],
        [],
    )


def test_the_changes_are_documented_in_the_openapi_schema(client):
    spec = client.get("/api/openapi.json").json
    schemas = spec["components"]["schemas"]
    version = schemas["CrisisPlanVersionOut"]["properties"]
    assert "changes" in version
    section = schemas["SectionChangeOut"]["properties"]
    # A programme adds sections of its own, so the section is not a fixed enum: the description
    # names MULI's and points to `sections_meta` for the rest.
    assert "enum" not in section["section"]
    assert "warning_signs" in section["section"]["description"]
    assert "sections_meta" in section["section"]["description"]
    assert section["status"]["enum"] == ["changed", "unchanged"]
    assert {"added", "removed", "changed", "before", "after"} <= set(section)


def test_the_patient_declines_a_proposal_and_it_stays_declined(client, care):
    _save(client, care.patient, CURRENT)
    number = _propose(client, care, PROPOSED)["version"]
    answer = client.post(f"{PLAN}/versions/{number}/decline", headers=care.patient.headers)
    assert answer.status_code == 200, answer.json
    assert (answer.json["status"], answer.json["changes"]) == ("declined", None)
    assert answer.json["declined_at"] is not None
    plan = client.get(PLAN, headers=care.patient.headers).json
    assert (plan["version"], plan["what_helps"]) == (1, "rolig stemme"), "the plan stays as it was"
    # Neither approved afterwards nor declined twice.
    assert client.post(f"{PLAN}/versions/{number}/approve", headers=care.patient.headers).status_code == 409
    assert client.post(f"{PLAN}/versions/{number}/decline", headers=care.patient.headers).status_code == 409


def test_only_a_pending_proposal_from_the_team_can_be_declined(client, care):
    _save(client, care.patient, CURRENT)
    assert client.post(f"{PLAN}/versions/1/decline", headers=care.patient.headers).status_code == 409
    assert client.post(f"{PLAN}/versions/7/decline", headers=care.patient.headers).status_code == 404
    number = _propose(client, care, PROPOSED)["version"]
    assert client.post(f"{PLAN}/versions/{number}/approve", headers=care.patient.headers).status_code == 200
    assert client.post(f"{PLAN}/versions/{number}/decline", headers=care.patient.headers).status_code == 409
