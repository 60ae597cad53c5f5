"""Staff edit the crisis plan's list sections as lists: a field per item (and per named part),
rows added, removed and moved without JavaScript; a semicolon stays a semicolon
(issue 16, item 4)."""

from __future__ import annotations

import html
import re

import pytest

from tests.portal.helpers import crisis_plan


@pytest.fixture
def care(world):
    return world.care_team()


def _path(care) -> str:
    return f"/portal/patients/{care.patient.id}"


def _versions(app, care) -> list[dict]:
    answer = app.test_client().get("/api/v1/me/crisis-plan/versions", headers=care.patient.headers)
    return answer.get_json()["items"]


def _value(page: str, name: str) -> str | None:
    """The value of the input called `name` on the page (None: no such input)."""
    tag = re.search(rf'<input[^>]*\bname="{re.escape(name)}"[^>]*>', page)
    if tag is None:
        return None
    value = re.search(r'\bvalue="([^"]*)"', tag.group(0))
    return html.unescape(value.group(1)) if value else ""


def test_each_item_and_each_named_part_has_a_field_of_its_own(app, care, portal_as):
    crisis_plan(
        app.test_client(),
        care.patient,
        warning_signs=[{"sign": "får ikke sove", "action": "ringer Siv; eller mamma"}],
        coping_strategies=["gå en tur", "høre på musikk"],
        professionals=[{"service": "DPS", "phone": "+4722000000", "when_reachable": "08-15"}],
    )
    page = portal_as(care.member).text(_path(care))
    assert _value(page, "warning_signs-0-sign") == "får ikke sove"
    assert _value(page, "warning_signs-0-action") == "ringer Siv; eller mamma"
    assert _value(page, "coping_strategies-0") == "gå en tur"
    assert _value(page, "coping_strategies-1") == "høre på musikk"
    assert _value(page, "coping_strategies-2") == "", "an empty row to fill in"
    assert _value(page, "professionals-0-when_reachable") == "08-15"
    assert "<textarea" not in page.split('id="ed-warning_signs"')[1].split("</fieldset>")[0]
    assert "Legg til rad" in page and ">Opp<" in page and ">Fjern<" in page
    assert 'for="warning_signs-0-sign">Varselsignal' in page


def test_a_semicolon_in_a_text_stays_a_semicolon(app, care, portal_as):
    portal = portal_as(care.member)
    response = portal.post(
        f"{_path(care)}/crisis-plan/proposals",
        {
            "warning_signs-0-sign": "trekker meg unna; slutter å svare",
            "warning_signs-0-action": "ringer Siv; eller legevakten",
            "coping_strategies-0": "gå en tur; helst ved vannet",
            "people_to_ask-0-name": "Siv (søster)",
            "people_to_ask-0-phone": "+47 400 00 000",
        },
        token_from=_path(care),
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    sections = _versions(app, care)[0]["sections"]
    assert sections["warning_signs"] == [
        {"sign": "trekker meg unna; slutter å svare", "action": "ringer Siv; eller legevakten"}
    ]
    assert sections["coping_strategies"] == ["gå en tur; helst ved vannet"]
    assert sections["people_to_ask"] == [{"name": "Siv (søster)", "phone": "+47 400 00 000"}]


def test_add_a_row_without_javascript_keeps_what_was_typed_and_proposes_nothing(app, care, portal_as):
    portal = portal_as(care.member)
    response = portal.post(
        f"{_path(care)}/crisis-plan/proposals",
        {"coping_strategies-0": "gå en tur", "what_helps": "rolig stemme", "row_op": "add:coping_strategies"},
        token_from=_path(care),
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert _value(page, "coping_strategies-0") == "gå en tur"
    assert _value(page, "coping_strategies-1") == ""
    assert "rolig stemme" in page
    assert re.search(r"<details\s+open>\s*<summary>Foreslå en ny versjon", page), "the form stays open"
    assert _versions(app, care) == []


def test_rows_move_up_and_down_and_are_removed_without_javascript(app, care, portal_as):
    portal = portal_as(care.member)
    rows = {"people_to_ask-0-name": "Siv", "people_to_ask-1-name": "Ola", "people_to_ask-2-name": "Kim"}
    url = f"{_path(care)}/crisis-plan/proposals"
    moved = portal.post(url, {**rows, "row_op": "up:people_to_ask:2"}, token_from=_path(care))
    page = moved.get_data(as_text=True)
    assert [_value(page, f"people_to_ask-{i}-name") for i in range(3)] == ["Siv", "Kim", "Ola"]
    down = portal.post(url, {**rows, "row_op": "down:people_to_ask:0"}, token_from=_path(care))
    page = down.get_data(as_text=True)
    assert [_value(page, f"people_to_ask-{i}-name") for i in range(3)] == ["Ola", "Siv", "Kim"]
    removed = portal.post(url, {**rows, "row_op": "remove:people_to_ask:1"}, token_from=_path(care))
    page = removed.get_data(as_text=True)
    assert [_value(page, f"people_to_ask-{i}-name") for i in range(2)] == ["Siv", "Kim"]
    assert _value(page, "people_to_ask-2-name") == "", "an empty row again below the items"
    assert _versions(app, care) == []


def test_a_nonsense_row_operation_changes_nothing(app, care, portal_as):
    portal = portal_as(care.member)
    url = f"{_path(care)}/crisis-plan/proposals"
    for op in ("remove:coping_strategies:99", "up:nosuch:0", "explode", "down:coping_strategies:-1"):
        response = portal.post(
            url, {"coping_strategies-0": "gå en tur", "row_op": op}, token_from=_path(care)
        )
        assert response.status_code == 200, op
        assert _value(response.get_data(as_text=True), "coping_strategies-0") == "gå en tur"
    assert _versions(app, care) == []


def test_a_row_with_a_phone_but_no_name_is_refused_naming_the_field(app, care, portal_as):
    portal = portal_as(care.member)
    response = portal.post(
        f"{_path(care)}/crisis-plan/proposals",
        {"people_to_ask-0-phone": "+4799999999"},
        token_from=_path(care),
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Fyll inn navn, eller tøm raden." in page
    assert _value(page, "people_to_ask-0-phone") == "+4799999999"
    assert _versions(app, care) == []


def test_the_version_history_shows_a_proposal_the_patient_declined(app, care, portal_as):
    portal = portal_as(care.member)
    response = portal.post(
        f"{_path(care)}/crisis-plan/proposals", {"coping_strategies-0": "gå en tur"}, token_from=_path(care)
    )
    assert response.status_code == 302
    api = app.test_client()
    number = _versions(app, care)[0]["version"]
    declined = api.post(f"/api/v1/me/crisis-plan/versions/{number}/decline", headers=care.patient.headers)
    assert declined.status_code == 200, declined.get_json()
    assert "Avslått av pasienten" in portal.text(_path(care))
