"""The record as a FHIR R4 Bundle: every resource validates, consent and audit as for /me/export."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle

from muli.models.audit import AuditEvent
from muli.patient import fhir
from tests.contact_support import rows
from tests.fhir_support import rich_patient

ME = "/api/v1/me/export.fhir"


def staff_url(patient_id) -> str:
    return f"/api/v1/staff/patients/{patient_id}/export.fhir"


@pytest.fixture
def care(client, clock, world):
    return rich_patient(client, clock, world)


def _bundle(response) -> dict:
    assert response.status_code == 200, response.data[:500]
    assert response.mimetype == "application/fhir+json"
    return json.loads(response.data)


def _resources(bundle: dict, kind: str) -> list[dict]:
    return [e["resource"] for e in bundle.get("entry", []) if e["resource"]["resourceType"] == kind]


def test_every_resource_of_a_full_export_validates_against_the_r4_models(client, care):
    bundle = _bundle(client.get(ME, headers=care.patient.headers))
    Bundle.model_validate(bundle)
    kinds = Counter()
    for entry in bundle["entry"]:
        resource = entry["resource"]
        model = get_fhir_model_class(resource["resourceType"])
        # Each entry on its own, strictly: a round trip through its model changes nothing.
        assert json.loads(model.model_validate(resource).model_dump_json(exclude_none=True)) == resource
        assert entry["fullUrl"] == f"urn:uuid:{resource['id']}"
        kinds[resource["resourceType"]] += 1
    assert kinds["Patient"] == 1
    assert kinds["CarePlan"] == 4  # crisis plan v1-v3, mastery plan v1
    assert kinds["Encounter"] == 3
    assert kinds["CommunicationRequest"] == 1
    assert kinds["Communication"] == 3  # the patient's first message, the reply, "Takk"
    assert kinds["Consent"] == 2 * 5  # two agencies x five scopes
    assert kinds["Organization"] == 2
    assert kinds["PractitionerRole"] >= 1
    assert kinds["AuditEvent"] >= 1
    # Every reference inside the bundle resolves inside the bundle.
    urls = {e["fullUrl"] for e in bundle["entry"]}
    text = json.dumps(bundle)
    for ref in {part.split('"')[0] for part in text.split('"reference": "')[1:]}:
        assert ref in urls


def test_the_patient_carries_the_national_id_with_the_norwegian_system(client, care):
    [patient] = _resources(_bundle(client.get(ME, headers=care.patient.headers)), "Patient")
    official = [i for i in patient["identifier"] if i.get("use") == "official"]
    assert official[0]["system"] == fhir.FNR_SYSTEM
    assert len(official[0]["value"]) == 11
    assert patient["meta"]["profile"] == [fhir.NO_BASIS + "no-basis-Patient"]


def test_care_plans_keep_every_version_with_status_and_sections(client, care):
    plans = _resources(_bundle(client.get(ME, headers=care.patient.headers)), "CarePlan")
    crisis = sorted(
        (p for p in plans if p["category"][0]["coding"][0]["code"] == "crisis"), key=lambda p: p["title"]
    )
    assert [p["status"] for p in crisis] == ["revoked", "active", "draft"]
    helps = [
        a["detail"]["description"]
        for a in crisis[1]["activity"]
        if a["detail"]["code"]["coding"][0]["code"] == "what_helps"
    ]
    assert helps == ["andre"]
    assert crisis[1]["replaces"] == [{"reference": f"urn:uuid:{crisis[0]['id']}"}]


def test_encounters_hold_period_facility_and_the_involuntary_flag(client, care):
    encounters = _resources(_bundle(client.get(ME, headers=care.patient.headers)), "Encounter")
    encounters.sort(key=lambda e: e["period"]["start"])
    assert [e["status"] for e in encounters] == ["finished", "finished", "in-progress"]
    assert [e["type"][0]["coding"][0]["code"] for e in encounters] == [
        "involuntary",
        "voluntary",
        "voluntary",
    ]
    assert {e["location"][0]["location"]["display"] for e in encounters} == {"PAM Sandviken"}
    assert "end" not in encounters[2]["period"]


def test_messages_are_communications_based_on_their_request(client, care):
    bundle = _bundle(client.get(ME, headers=care.patient.headers))
    [request] = _resources(bundle, "CommunicationRequest")
    texts = [c["payload"][0]["contentString"] for c in _resources(bundle, "Communication")]
    assert texts == ["Kan noen ringe meg?", "Jeg ringer om fem minutter", "Takk"]
    for c in _resources(bundle, "Communication"):
        assert c["basedOn"] == [{"reference": f"urn:uuid:{request['id']}"}]


def test_a_withdrawn_consent_is_a_deny_provision(client, care):
    consents = _resources(_bundle(client.get(ME, headers=care.patient.headers)), "Consent")
    mine = [
        c
        for c in consents
        if c["provision"]["actor"][0]["reference"]["reference"] == f"urn:uuid:{care.agency.id}"
    ]
    by_scope = {c["provision"]["code"][0]["coding"][0]["code"]: c["provision"]["type"] for c in mine}
    assert by_scope["meeting_notes"] == "deny"
    assert by_scope["crisis_plan"] == "permit"


def test_the_access_log_becomes_audit_events(client, care):
    events = _resources(_bundle(client.get(ME, headers=care.patient.headers)), "AuditEvent")
    assert "patient.overview" in {e["subtype"][0]["code"] for e in events}


def test_every_export_is_audited_once(app, client, care):
    before = len(rows(app, AuditEvent, action="patient.export_fhir"))
    client.get(ME, headers=care.patient.headers)
    client.get(staff_url(care.patient.id), headers=care.member.headers)
    events = rows(app, AuditEvent, action="patient.export_fhir")
    assert len(events) == before + 2
    assert {e.actor_kind for e in events[before:]} == {"patient", "staff"}
    assert {e.patient_id for e in events} == {care.patient.id}


def test_staff_get_only_what_their_agency_has_consent_for_and_never_the_access_log(client, world, care):
    full = _bundle(client.get(staff_url(care.patient.id), headers=care.member.headers))
    assert _resources(full, "AuditEvent") == []
    assert len(_resources(full, "CarePlan")) == 4
    client.put(
        "/api/v1/me/consents",
        json={
            "consents": [
                {"agency_id": str(care.agency.id), "scope": scope, "state": "withdrawn"}
                for scope in ("crisis_plan", "contact_requests")
            ]
        },
        headers=care.patient.headers,
    )
    narrow = _bundle(client.get(staff_url(care.patient.id), headers=care.member.headers))
    assert {p["category"][0]["coding"][0]["code"] for p in _resources(narrow, "CarePlan")} == {"mastery"}
    assert _resources(narrow, "CommunicationRequest") == []
    assert _resources(narrow, "Communication") == []


def test_staff_without_any_consent_get_403_consent_required(client, world, care):
    other = world.agency(kind="police")
    stranger = world.staff(care.team, role="member", agency=other)
    answer = client.get(staff_url(care.patient.id), headers=stranger.headers)
    assert answer.status_code == 403
    assert answer.json["type"].endswith("/consent-required")


def test_staff_of_another_team_get_404(client, world, care):
    outsider = world.staff(world.team(), role="member", agency=care.agency)
    assert client.get(staff_url(care.patient.id), headers=outsider.headers).status_code == 404


def test_a_patient_cannot_use_the_staff_route_nor_staff_the_patients(client, care):
    assert client.get(staff_url(care.patient.id), headers=care.patient.headers).status_code == 403
    assert client.get(ME, headers=care.member.headers).status_code == 403
