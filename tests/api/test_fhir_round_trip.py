"""Export → import: a patient's admissions leave one team as FHIR Encounters and arrive in a
fresh team through the record system's door; the outcomes come out the same."""

from __future__ import annotations

import json
from datetime import date, timedelta

from muli.models.consent import CONSENT_SCOPES
from muli.trust import national_id
from tests.contact_support import SATURDAY_NIGHT
from tests.fhir_support import client_token, integration_client

_numbers = national_id.synthetic_numbers(date(1977, 5, 17), start=300)
PATIENTS = 5  # the team's figures are suppressed under five patients: five makes them show


def _team(world):
    team = world.team()
    agency = world.agency(kind="dps")
    return team, agency, world.staff(team, role="coordinator", agency=agency)


def _enrol(client, team, agency, coordinator, nid: str, baseline: list[date]) -> str:
    answer = client.post(
        "/api/v1/staff/patients",
        json={
            "display_name": f"Pasient {nid[-3:]}",
            "national_id": nid,
            "team_id": str(team.id),
            "admissions_last_12_months": [d.isoformat() for d in baseline],
            "consents": [{"agency_id": str(agency.id), "scopes": list(CONSENT_SCOPES)}],
            "criteria_confirmed": True,
        },
        headers=coordinator.headers,
    )
    assert answer.status_code == 201, answer.json
    return answer.json["id"]


def _outcomes(client, team, coordinator) -> dict:
    answer = client.get(f"/api/v1/staff/teams/{team.id}/outcomes", headers=coordinator.headers)
    assert answer.status_code == 200, answer.json
    result = answer.json
    result.pop("team_id")
    for row in result["per_patient"]:
        row.pop("patient_id")
    result["per_patient"].sort(key=lambda r: r["display_name"])
    return result


def test_export_then_import_into_a_fresh_team_keeps_the_outcomes_identical(client, runner, world, clock):
    clock.set(SATURDAY_NIGHT)
    today = SATURDAY_NIGHT.date()
    team_a, agency_a, coordinator_a = _team(world)
    team_b, agency_b, coordinator_b = _team(world)
    people = []
    for i in range(PATIENTS):
        nid = next(_numbers)
        baseline = [today - timedelta(days=300 - 40 * k) for k in range(i % 3 + 2)]
        a = _enrol(client, team_a, agency_a, coordinator_a, nid, baseline)
        _enrol(client, team_b, agency_b, coordinator_b, nid, [])  # the fresh team: no admissions yet
        people.append(a)
    clock.advance(days=60)
    now = today + timedelta(days=60)
    for i, patient_id in enumerate(people[:4]):
        stays = [(now - timedelta(days=40), now - timedelta(days=33 + i), i % 2 == 0)]
        if i == 0:
            stays.append((now - timedelta(days=2), None, False))  # still in hospital
        for admitted, discharged, involuntary in stays:
            answer = client.post(
                f"/api/v1/staff/patients/{patient_id}/admissions",
                json={
                    "admitted_on": admitted.isoformat(),
                    "discharged_on": discharged.isoformat() if discharged else None,
                    "facility": f"PAM {i}",
                    "involuntary": involuntary,
                },
                headers=coordinator_a.headers,
            )
            assert answer.status_code == 201, answer.json

    before = _outcomes(client, team_a, coordinator_a)
    exported = []
    for patient_id in people:
        answer = client.get(f"/api/v1/staff/patients/{patient_id}/export.fhir", headers=coordinator_a.headers)
        assert answer.status_code == 200
        exported += [
            e
            for e in json.loads(answer.data)["entry"]
            if e["resource"]["resourceType"] in ("Encounter", "Patient")
        ]
    headers = client_token(client, *integration_client(runner, team_b, "Sykehusets journalsystem"))
    sent = {"resourceType": "Bundle", "type": "collection", "entry": exported}
    imported = client.post("/api/v1/integration/fhir", json=sent, headers=headers)
    assert imported.status_code == 200, imported.json
    encounters = sum(e["resource"]["resourceType"] == "Encounter" for e in exported)
    assert [e["response"]["status"] for e in imported.json["entry"]] == ["201 Created"] * encounters

    after = _outcomes(client, team_b, coordinator_b)
    assert after == before
    # The figures compared are real ones, not suppressed blanks or zeros.
    admissions = next(
        i for h in before["headings"] for i in h["indicators"] if i["key"] == "acute_admissions"
    )
    assert admissions["figures"]["before_12_months"]["value"] > 0
    assert sum(r["acute_admissions"]["since_enrolment"]["value"] for r in before["per_patient"]) == 5
    assert sum(r["involuntary_admissions"]["since_enrolment"]["value"] for r in before["per_patient"]) == 2

    # And again: a resend changes nothing.
    again = client.post("/api/v1/integration/fhir", json=sent, headers=headers)
    assert {e["response"]["status"] for e in again.json["entry"]} == {"200 OK"}
    assert _outcomes(client, team_b, coordinator_b) == before
