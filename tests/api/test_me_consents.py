"""Consent per agency and scope: withdrawal bites on the next request, history kept, all audited."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from muli.extensions import db
from muli.models.audit import AuditEvent

CONSENTS = "/api/v1/me/consents"


@pytest.fixture
def care(world):
    return world.care_team()


def _set(client, care, scope, state, agency=None):
    body = {"consents": [{"agency_id": str((agency or care.agency).id), "scope": scope, "state": state}]}
    return client.put(CONSENTS, json=body, headers=care.patient.headers)


def _plan(client, care):
    return client.get(f"/api/v1/staff/patients/{care.patient.id}/crisis-plan", headers=care.member.headers)


def test_the_patient_sees_every_scope_for_every_agency_of_the_team(client, care):
    consents = client.get(CONSENTS, headers=care.patient.headers).json["consents"]
    assert {(c["agency_name"], c["scope"], c["state"]) for c in consents} == {
        (care.agency.name, scope, "granted")
        for scope in ("crisis_plan", "mastery_plan", "shared_diary", "contact_requests", "meeting_notes")
    }


def test_an_agency_without_consent_is_shown_as_withdrawn(client, world, care):
    other = world.agency()
    world.staff(care.team, agency=other)
    consents = client.get(CONSENTS, headers=care.patient.headers).json["consents"]
    assert {c["state"] for c in consents if c["agency_id"] == str(other.id)} == {"withdrawn"}


def test_withdrawal_takes_effect_on_the_next_staff_request_and_granting_restores_it(client, care):
    assert _plan(client, care).status_code == 200
    assert _set(client, care, "crisis_plan", "withdrawn").status_code == 200
    refused = _plan(client, care)
    assert (refused.status_code, refused.json["type"].rsplit("/", 1)[1]) == (403, "consent-required")
    _set(client, care, "crisis_plan", "granted")
    assert _plan(client, care).status_code == 200


def test_withdrawing_one_scope_leaves_the_others(client, care):
    _set(client, care, "crisis_plan", "withdrawn")
    response = client.get(
        f"/api/v1/staff/patients/{care.patient.id}/mastery-plan", headers=care.member.headers
    )
    assert response.status_code == 200


def test_every_change_is_in_the_history_newest_first_with_who_made_it(client, care):
    _set(client, care, "shared_diary", "withdrawn")
    _set(client, care, "shared_diary", "granted")
    history = client.get(CONSENTS, headers=care.patient.headers).json["history"]
    diary = [(h["state"], h["changed_by"]["kind"]) for h in history if h["scope"] == "shared_diary"]
    assert diary[:2] == [("granted", "patient"), ("withdrawn", "patient")]


def test_every_change_is_audited(client, app, care):
    _set(client, care, "shared_diary", "withdrawn")
    with app.app_context():
        actions = db.session.scalars(
            select(AuditEvent.resource_id).where(AuditEvent.action == "consent.withdraw")
        ).all()
    assert actions == [f"{care.agency.id}:shared_diary"]


def test_setting_the_same_state_again_changes_nothing(client, care):
    before = len(client.get(CONSENTS, headers=care.patient.headers).json["history"])
    _set(client, care, "crisis_plan", "granted")
    assert len(client.get(CONSENTS, headers=care.patient.headers).json["history"]) == before


def test_an_agency_not_on_the_team_is_422(client, world, care):
    response = _set(client, care, "crisis_plan", "granted", agency=world.agency())
    assert response.status_code == 422
    assert "consents.0.agency_id" in response.json["errors"]


def test_an_unknown_scope_is_422(client, care):
    assert _set(client, care, "horoscope", "granted").status_code == 422


def test_a_withdrawal_mid_session_stops_the_overview_when_no_consent_is_left(client, care):
    body = {
        "consents": [
            {"agency_id": str(care.agency.id), "scope": s, "state": "withdrawn"}
            for s in ("crisis_plan", "mastery_plan", "shared_diary", "contact_requests", "meeting_notes")
        ]
    }
    client.put(CONSENTS, json=body, headers=care.patient.headers)
    response = client.get(f"/api/v1/staff/patients/{care.patient.id}", headers=care.member.headers)
    assert response.status_code == 403
