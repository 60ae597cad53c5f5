"""Enrolment (coordinator only), the patient list, and the Idempotency-Key mechanism."""

import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from muli.extensions import db
from muli.models.audit import AuditEvent
from muli.models.consent import Consent
from muli.models.people import Admission, Patient
from muli.trust import national_id

URL = "/api/v1/staff/patients"
_numbers = national_id.synthetic_numbers(date(1979, 9, 9))


@pytest.fixture
def care(world):
    return world.care_team()


def enrolment(care, **overrides):
    body = {
        "display_name": "Kari",
        "national_id": next(_numbers),
        "team_id": str(care.team.id),
        "admissions_last_12_months": [str(date.today() - timedelta(days=d)) for d in (200, 90, 20)],
        "consents": [{"agency_id": str(care.agency.id), "scopes": ["crisis_plan", "shared_diary"]}],
        "criteria_confirmed": True,
    }
    return body | overrides


def count(app, model):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def test_a_coordinator_enrols_a_patient_and_gets_the_activation_code_once(client, app, care):
    r = client.post(URL, json=enrolment(care), headers=care.coordinator.headers)
    assert r.status_code == 201
    assert len(r.json["activation_code"]) == 11
    listed = client.get(URL, headers=care.coordinator.headers).json["items"]
    assert all("activation_code" not in p for p in listed)


def test_enrolment_records_baseline_admissions_and_consents(client, app, care):
    client.post(URL, json=enrolment(care), headers=care.coordinator.headers)
    assert count(app, Admission) == 3
    with app.app_context():
        scopes = set(db.session.scalars(select(Consent.scope).where(Consent.state == "granted")))
    assert {"crisis_plan", "shared_diary"} <= scopes


def test_the_national_id_is_stored_encrypted(client, app, care):
    body = enrolment(care)
    r = client.post(URL, json=body, headers=care.coordinator.headers)
    with app.app_context():
        patient = db.session.get(Patient, uuid.UUID(r.json["id"]))
        assert body["national_id"] not in patient.national_id_enc
        assert app.extensions["muli.keys"].open(patient, "national_id") == body["national_id"]


def test_a_member_cannot_enrol(client, care):
    r = client.post(URL, json=enrolment(care), headers=care.member.headers)
    assert r.status_code == 403


def test_a_coordinator_cannot_enrol_into_another_team(client, world, care):
    other = world.team()
    r = client.post(URL, json=enrolment(care, team_id=str(other.id)), headers=care.coordinator.headers)
    assert r.status_code == 403
    assert r.json["type"].endswith("not-on-team")


def test_a_patient_token_cannot_enrol(client, care):
    assert client.post(URL, json=enrolment(care), headers=care.patient.headers).status_code == 403


def test_an_invalid_national_id_is_a_422_naming_the_field(client, care):
    r = client.post(URL, json=enrolment(care, national_id="12345678901"), headers=care.coordinator.headers)
    assert r.status_code == 422
    assert "national_id" in r.json["errors"]


def test_the_same_person_cannot_be_enrolled_twice(client, care):
    body = enrolment(care)
    assert client.post(URL, json=body, headers=care.coordinator.headers).status_code == 201
    again = client.post(URL, json=body | {"display_name": "K."}, headers=care.coordinator.headers)
    assert again.status_code == 409


def test_consent_for_an_agency_not_on_the_team_is_refused(client, world, care):
    stranger = world.agency()
    body = enrolment(care, consents=[{"agency_id": str(stranger.id), "scopes": ["crisis_plan"]}])
    r = client.post(URL, json=body, headers=care.coordinator.headers)
    assert r.status_code == 422
    assert "consents.0.agency_id" in r.json["errors"]


def test_an_unknown_consent_scope_is_a_422(client, care):
    body = enrolment(care, consents=[{"agency_id": str(care.agency.id), "scopes": ["everything"]}])
    assert client.post(URL, json=body, headers=care.coordinator.headers).status_code == 422


def test_enrolment_twice_with_one_idempotency_key_makes_one_patient(client, app, care):
    headers = care.coordinator.headers | {"Idempotency-Key": str(uuid.uuid4())}
    body = enrolment(care)
    first = client.post(URL, json=body, headers=headers)
    second = client.post(URL, json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.headers["Idempotent-Replayed"] == "true"
    assert second.json == first.json
    assert count(app, Patient) == 2  # the care team's patient and this one


def test_one_idempotency_key_with_another_body_is_a_422(client, care):
    headers = care.coordinator.headers | {"Idempotency-Key": str(uuid.uuid4())}
    client.post(URL, json=enrolment(care), headers=headers)
    r = client.post(URL, json=enrolment(care), headers=headers)
    assert r.status_code == 422
    assert r.json["type"].endswith("idempotency-key-reused")


def test_idempotency_keys_belong_to_one_user(client, world, care):
    other = world.staff(care.team, role="coordinator", agency=care.agency)
    key = str(uuid.uuid4())
    a = client.post(URL, json=enrolment(care), headers=care.coordinator.headers | {"Idempotency-Key": key})
    b = client.post(URL, json=enrolment(care), headers=other.headers | {"Idempotency-Key": key})
    assert a.status_code == b.status_code == 201
    assert a.json["id"] != b.json["id"]


def test_a_malformed_idempotency_key_is_a_400(client, care):
    r = client.post(URL, json=enrolment(care), headers=care.coordinator.headers | {"Idempotency-Key": "x"})
    assert r.status_code == 400


def test_a_failed_request_does_not_burn_its_idempotency_key(client, care):
    headers = care.coordinator.headers | {"Idempotency-Key": str(uuid.uuid4())}
    bad = enrolment(care, national_id="12345678901")
    assert client.post(URL, json=bad, headers=headers).status_code == 422
    assert client.post(URL, json=bad, headers=headers).status_code == 422


def test_the_patient_list_shows_only_my_teams_patients(client, world, care):
    elsewhere = world.team()
    world.patient(elsewhere)
    items = client.get(URL, headers=care.member.headers).json["items"]
    assert [p["id"] for p in items] == [str(care.patient.id)]


def test_the_patient_list_pages_newest_first_without_repeats(client, world, care):
    for _ in range(4):
        world.patient(care.team)
    seen, cursor = [], None
    while True:
        query = f"?limit=2&cursor={cursor}" if cursor else "?limit=2"
        page = client.get(URL + query, headers=care.member.headers).json
        seen += [p["id"] for p in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 5


def test_a_tampered_cursor_is_a_400_not_a_500(client, care):
    r = client.get(URL + "?cursor=bm90LWEtY3Vyc29y", headers=care.member.headers)
    assert r.status_code == 400
    assert r.json["type"].endswith("invalid-cursor")


@pytest.mark.parametrize("limit", [0, 101, -1])
def test_a_limit_out_of_range_is_a_422(client, care, limit):
    assert client.get(f"{URL}?limit={limit}", headers=care.member.headers).status_code == 422


@pytest.mark.parametrize("role", ["privacy_officer", "admin"])
def test_roles_without_clinical_access_cannot_list_patients(client, world, care, role):
    person = world.staff(care.team, role=role, agency=care.agency)
    assert client.get(URL, headers=person.headers).status_code == 403


# --- the programme's criteria: the coordinator confirms the team judges them met ---------------


def test_the_confirmation_of_the_criteria_is_in_the_audit_trail_with_the_enrolment(client, app, care):
    r = client.post(URL, json=enrolment(care), headers=care.coordinator.headers)
    assert r.status_code == 201, r.json
    with app.app_context():
        events = db.session.execute(
            select(AuditEvent.action, AuditEvent.resource_id).where(
                AuditEvent.action.in_(("patient.enrol", "patient.criteria_confirmed"))
            )
        ).all()
    assert sorted(events) == [("patient.criteria_confirmed", r.json["id"]), ("patient.enrol", r.json["id"])]


@pytest.mark.parametrize(
    ("confirmed", "language", "said"),
    [
        (False, "nb", "Bekreft at teamet vurderer at pasienten oppfyller kriteriene for programmet"),
        (False, "en", "Confirm that the team judges the patient to meet the programme's criteria"),
        (None, "nb", "Bekreft at teamet vurderer at pasienten oppfyller kriteriene for programmet"),
        (None, "en", "Confirm that the team judges the patient to meet the programme's criteria"),
    ],
    ids=["false-nb", "false-en", "missing-nb", "missing-en"],
)
def test_an_enrolment_without_the_confirmation_is_refused_naming_it_in_the_readers_language(
    client, app, care, confirmed, language, said
):
    body = enrolment(care)
    if confirmed is None:
        del body["criteria_confirmed"]
    else:
        body["criteria_confirmed"] = confirmed
    r = client.post(URL, json=body, headers={**care.coordinator.headers, "Accept-Language": language})
    assert (r.status_code, list(r.json["errors"])) == (422, ["criteria_confirmed"])
    assert r.json["errors"]["criteria_confirmed"][0].startswith(said)
    assert count(app, Patient) == 1  # the care team's patient only: nothing enrolled


@pytest.mark.parametrize("sent", [1, "true", "yes", None, [True], {"value": True}])
def test_the_confirmation_is_json_true_and_nothing_else(client, app, care, sent):
    r = client.post(URL, json=enrolment(care, criteria_confirmed=sent), headers=care.coordinator.headers)
    assert (r.status_code, list(r.json["errors"])) == (422, ["criteria_confirmed"])
    assert count(app, Patient) == 1


def test_a_refused_confirmation_does_not_burn_the_idempotency_key(client, care):
    headers = care.coordinator.headers | {"Idempotency-Key": str(uuid.uuid4())}
    body = enrolment(care)
    refused = client.post(URL, json=body | {"criteria_confirmed": False}, headers=headers)
    assert refused.status_code == 422
    assert client.post(URL, json=body, headers=headers).status_code == 201


def test_another_teams_id_is_refused_before_the_confirmation_is_looked_at(client, world, care):
    other = world.team()
    body = enrolment(care, team_id=str(other.id), criteria_confirmed=False)
    r = client.post(URL, json=body, headers=care.coordinator.headers)
    assert (r.status_code, r.json["type"].rsplit("/", 1)[1]) == (403, "not-on-team")
    assert "errors" not in r.json
