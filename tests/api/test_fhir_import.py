"""Admissions from the hospital's record system: a FHIR Bundle of Encounters, posted by an
integration client with its own credentials; idempotent, validated, audited, all or nothing."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from muli.models.audit import AuditEvent
from muli.models.integration import IntegrationClient, IntegrationToken
from muli.models.people import Admission
from muli.trust import national_id
from tests.contact_support import SATURDAY_NIGHT, rows
from tests.fhir_support import bundle, client_token, encounter, integration_client

URL = "/api/v1/integration/fhir"
TODAY = SATURDAY_NIGHT.date()
_numbers = national_id.synthetic_numbers(date(1984, 3, 7), start=200)


@pytest.fixture
def care(world, clock):
    clock.set(SATURDAY_NIGHT)
    return world.care_team()


@pytest.fixture
def nid(client, care):
    return client.get("/api/v1/me/export", headers=care.patient.headers).json["patient"]["national_id"]


@pytest.fixture
def system(client, runner, care):
    client_id, secret = integration_client(runner, care.team)
    return client_token(client, client_id, secret)


def day(n: int) -> str:
    return (TODAY - timedelta(days=n)).isoformat()


def _admissions(client, care) -> list[dict]:
    return client.get(
        f"/api/v1/staff/patients/{care.patient.id}/admissions", headers=care.member.headers
    ).json["items"]


def test_encounters_become_admissions_stored_as_staff_store_them(app, client, care, nid, system):
    sent = bundle(encounter(nid, "E1", day(30), day(25), involuntary=True), encounter(nid, "E2", day(3)))
    answer = client.post(URL, json=sent, headers=system)
    assert answer.status_code == 200, answer.json
    assert answer.mimetype == "application/fhir+json"
    assert answer.json["type"] == "transaction-response"
    assert [e["response"]["status"] for e in answer.json["entry"]] == ["201 Created", "201 Created"]
    got = sorted(_admissions(client, care), key=lambda a: a["admitted_on"])
    assert [(a["admitted_on"], a["discharged_on"], a["facility"], a["involuntary"]) for a in got] == [
        (day(30), day(25), "PAM Sandviken", True),
        (day(3), None, "PAM Sandviken", False),
    ]
    stored = rows(app, Admission, patient_id=care.patient.id)
    for admission in stored:
        assert "Sandviken" not in (admission.facility_enc or "")
        assert admission.source_key is not None and "E1" not in admission.source_key


def test_the_same_identifier_again_updates_or_changes_nothing_never_a_duplicate(
    app, client, care, nid, system
):
    client.post(URL, json=bundle(encounter(nid, "E1", day(10))), headers=system)
    again = client.post(URL, json=bundle(encounter(nid, "E1", day(10))), headers=system)
    assert again.json["entry"][0]["response"]["status"] == "200 OK"
    assert again.json["entry"][0]["response"]["outcome"]["issue"][0]["diagnostics"] == "unchanged"
    discharged = client.post(URL, json=bundle(encounter(nid, "E1", day(10), day(2))), headers=system)
    assert discharged.json["entry"][0]["response"]["outcome"]["issue"][0]["diagnostics"] == "updated"
    assert [(a["admitted_on"], a["discharged_on"]) for a in _admissions(client, care)] == [(day(10), day(2))]
    events = rows(app, AuditEvent, action="admission.import")
    assert len(events) == 2  # created, updated; the resend that changed nothing wrote nothing
    assert {(e.actor_kind, e.actor_name, e.patient_id) for e in events} == {
        ("client", "DIPS Arena", care.patient.id)
    }


def test_a_collection_bundle_and_a_patient_named_by_reference_work_too(client, care, nid, system):
    patient = {
        "resourceType": "Patient",
        "identifier": [{"system": "urn:oid:2.16.578.1.12.4.1.4.1", "value": nid}],
    }
    by_reference = encounter(nid, "E9", day(5), day(4), subject={"reference": "urn:uuid:p1"})
    sent = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"fullUrl": "urn:uuid:p1", "resource": patient}, {"resource": by_reference}],
    }
    answer = client.post(URL, json=sent, headers=system)
    assert answer.status_code == 200, answer.json
    assert answer.json["type"] == "batch-response"
    assert [a["admitted_on"] for a in _admissions(client, care)] == [day(5)]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"}}, "class"),
        ({"period": {"end": "2026-11-01"}}, "period.start"),
        ({"period": {"start": "2026-11"}}, "period.start"),
        ({"status": "finished"}, "period.end"),
        ({"status": "planned"}, "status"),
        ({"identifier": []}, "identifier"),
        ({"location": []}, "location.0.location.display"),
        ({"type": []}, "type"),
        (
            {"subject": {"identifier": {"system": "urn:oid:2.16.578.1.12.4.1.4.1", "value": "12345678901"}}},
            "subject.identifier.value",
        ),
        ({"subject": {"display": "Kari"}}, "subject.identifier"),
        ({"period": {"start": "2099-01-01"}}, "period.start"),
    ],
)
def test_a_wrong_encounter_is_a_422_naming_the_entry_and_nothing_is_stored(
    client, care, nid, system, change, field
):
    sent = bundle(encounter(nid, "OK", day(9)), encounter(nid, "BAD", day(8), **change))
    answer = client.post(URL, json=sent, headers=system)
    assert answer.status_code == 422, answer.json
    assert answer.mimetype == "application/problem+json"
    assert list(answer.json["errors"]) == [f"entry.1.resource.{field}"]
    assert _admissions(client, care) == []


def test_an_unknown_patient_is_a_422_whether_on_another_team_or_nowhere(client, world, care, nid, system):
    elsewhere = world.patient(world.team(), consents={})
    other_nid = client.get("/api/v1/me/export", headers=elsewhere.headers).json["patient"]["national_id"]
    for unknown in (other_nid, next(_numbers)):
        answer = client.post(URL, json=bundle(encounter(unknown, "X", day(2))), headers=system)
        assert answer.status_code == 422
        assert answer.json["errors"] == {
            "entry.0.resource.subject": ["No patient with this national id is enrolled on the team."]
        }


def test_an_invalid_resource_is_a_422_from_the_fhir_models(client, care, nid, system):
    bad = encounter(nid, "E1", day(2))
    bad["colour"] = "blue"
    answer = client.post(URL, json=bundle(bad), headers=system)
    assert answer.status_code == 422
    assert "entry.0.resource.colour" in answer.json["errors"]
    other = client.post(
        URL,
        json=bundle({"resourceType": "Observation", "status": "final", "code": {"text": "x"}}),
        headers=system,
    )
    assert other.status_code == 422
    assert list(other.json["errors"]) == ["entry.0.resource"]


def test_the_same_identifier_twice_in_one_bundle_is_a_422(client, care, nid, system):
    answer = client.post(
        URL, json=bundle(encounter(nid, "E1", day(3)), encounter(nid, "E1", day(2))), headers=system
    )
    assert answer.status_code == 422
    assert list(answer.json["errors"]) == ["entry.1.resource.identifier"]


def test_people_cannot_post_admissions_and_clients_need_a_live_token(app, client, care, nid, clock, system):
    sent = bundle(encounter(nid, "E1", day(3)))
    for headers in (care.member.headers, care.coordinator.headers, care.patient.headers, {}):
        answer = client.post(URL, json=sent, headers=headers)
        assert answer.status_code == 401
        assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    clock.advance(minutes=6)
    assert client.post(URL, json=sent, headers=system).status_code == 401
    assert _admissions(client, care) == []


def test_a_client_token_is_not_a_login_anywhere_else(client, care, system):
    for url in ("/api/v1/me", f"/api/v1/staff/patients/{care.patient.id}", "/api/v1/me/export.fhir"):
        assert client.get(url, headers=system).status_code == 401


def test_wrong_client_credentials_are_401_and_a_scope_the_client_lacks_403(client, runner, care):
    client_id, secret = integration_client(runner, care.team, "Other system")
    base = {"grant_type": "client_credentials", "client_id": client_id}
    for wrong in ({"client_secret": secret + "x"}, {"client_secret": secret, "client_id": "nope"}):
        answer = client.post("/api/v1/integration/token", json={**base, **wrong})
        assert answer.status_code == 401
        assert answer.json["type"].endswith("/invalid-client")
    answer = client.post(
        "/api/v1/integration/token", json={**base, "client_secret": secret, "scope": "patients:read"}
    )
    assert answer.status_code == 403


def test_a_disabled_client_is_cut_off_at_once(client, runner, care, nid):
    client_id, secret = integration_client(runner, care.team, "Soon gone")
    headers = client_token(client, client_id, secret)
    assert runner.invoke(args=["muli", "integration-client", "disable", client_id]).exit_code == 0
    assert client.post(URL, json=bundle(encounter(nid, "E1", day(3))), headers=headers).status_code == 401


def test_secrets_and_tokens_are_kept_only_as_keyed_hashes(app, client, runner, care):
    client_id, secret = integration_client(runner, care.team, "Hashed")
    token = client_token(client, client_id, secret)["Authorization"].split()[1]
    [row] = rows(app, IntegrationClient, name="Hashed")
    assert secret not in row.secret_hash
    assert all(token not in t.token_hash for t in rows(app, IntegrationToken))


def test_a_client_reaches_only_its_own_team(client, runner, world, care, nid):
    other_team = world.team()
    client_id, secret = integration_client(runner, other_team, "Other team's system")
    headers = client_token(client, client_id, secret)
    answer = client.post(URL, json=bundle(encounter(nid, "E1", day(3))), headers=headers)
    assert answer.status_code == 422
    assert _admissions(client, care) == []


def test_expired_client_tokens_are_purged(app, runner, clock, system):
    assert len(rows(app, IntegrationToken)) == 1
    clock.advance(minutes=4)
    assert runner.invoke(args=["muli", "purge"]).exit_code == 0
    assert len(rows(app, IntegrationToken)) == 1  # still live
    clock.advance(minutes=2)
    assert runner.invoke(args=["muli", "purge"]).exit_code == 0
    assert rows(app, IntegrationToken) == []
