"""The patient's own phone number (issue 14): set at enrolment, changed by the patient,
encrypted at rest, shown to whoever may answer the patient's requests — and "Ringer nå"."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from sqlalchemy import select, text

from muli.extensions import db
from muli.models.audit import AuditEvent
from muli.models.people import Patient
from muli.trust import national_id
from tests.contact_support import SATURDAY_NIGHT, ask, rows

ME = "/api/v1/me"
STAFF = "/api/v1/staff/contact-requests"
ENROL = "/api/v1/staff/patients"
_numbers = national_id.synthetic_numbers(date(1984, 4, 4), start=200)


@pytest.fixture
def care(world, clock):
    clock.set(SATURDAY_NIGHT)
    return world.care_team()


def set_phone(client, patient, phone):
    return client.put(ME + "/phone", json={"phone": phone}, headers=patient.headers)


def raw_patient_row(app, patient_id) -> str:
    """Every column of the patient's row as the database holds it, joined into one string."""
    with app.app_context():
        row = db.session.execute(
            text("SELECT * FROM patient WHERE id = :id"),
            {"id": patient_id if db.engine.dialect.name == "postgresql" else uuid.UUID(str(patient_id)).hex},
        ).one()
        db.session.remove()
    return " ".join(str(value) for value in row)


def actions(app, patient_id, action) -> list[AuditEvent]:
    return rows(app, AuditEvent, patient_id=uuid.UUID(str(patient_id)), action=action)


# --- the patient's side -------------------------------------------------------------------------


def test_the_patient_sets_their_number_and_sees_it_in_the_profile(client, care):
    assert client.get(ME, headers=care.patient.headers).json["phone"] is None
    r = set_phone(client, care.patient, "000 00 101")
    assert r.status_code == 200, r.json
    assert r.json["phone"] == "+4700000101"
    assert client.get(ME, headers=care.patient.headers).json["phone"] == "+4700000101"


@pytest.mark.parametrize(
    ("given", "stored"),
    [("+47 000 00 102", "+4700000102"), ("0047 00000103", "+4700000103"), ("000-00-104", "+4700000104")],
)
def test_norwegian_numbers_are_written_as_plus_47_and_eight_digits(client, care, given, stored):
    assert set_phone(client, care.patient, given).json["phone"] == stored


@pytest.mark.parametrize("given", ["1234567", "+46 70 000 00 00", "000001011", "ring meg", "+47 0000 010"])
def test_a_number_that_is_not_norwegian_is_a_422_naming_the_field(client, care, given):
    r = set_phone(client, care.patient, given)
    assert r.status_code == 422
    assert r.headers["Content-Type"].startswith("application/problem+json")
    assert "phone" in r.json["errors"]
    assert client.get(ME, headers=care.patient.headers).json["phone"] is None


def test_null_removes_the_number(client, care):
    set_phone(client, care.patient, "00000101")
    assert set_phone(client, care.patient, None).json["phone"] is None
    assert set_phone(client, care.patient, "").json["phone"] is None


def test_the_number_is_encrypted_at_rest(client, app, care):
    set_phone(client, care.patient, "+47 000 00 101")
    raw = raw_patient_row(app, care.patient.id)
    assert "00000101" not in raw.replace(" ", "")
    with app.app_context():
        stored = db.session.scalars(select(Patient).where(Patient.id == care.patient.id)).one()
        assert stored.phone_enc and "00000101" not in stored.phone_enc
        db.session.remove()


def test_changing_the_number_is_audited(client, app, care):
    set_phone(client, care.patient, "00000101")
    set_phone(client, care.patient, None)
    assert len(actions(app, care.patient.id, "profile.phone.change")) == 1
    assert len(actions(app, care.patient.id, "profile.phone.remove")) == 1


def test_staff_cannot_use_the_patients_phone_endpoint(client, care):
    assert set_phone(client, care.member, "00000101").status_code == 403


def test_a_patient_changes_only_their_own_number(client, world, care):
    other = world.patient(care.team)
    set_phone(client, other, "00000109")
    set_phone(client, care.patient, "00000101")
    assert client.get(ME, headers=other.headers).json["phone"] == "+4700000109"


def test_the_phone_endpoint_is_in_the_openapi_document(client):
    spec = client.get("/api/openapi.json").json
    assert "put" in spec["paths"]["/api/v1/me/phone"]
    assert "phone" in spec["components"]["schemas"]["ProfileOut"]["properties"]
    assert "post" in spec["paths"]["/api/v1/staff/contact-requests/{request_id}/call"]


# --- enrolment ----------------------------------------------------------------------------------


def enrolment(care, **overrides):
    body = {
        "display_name": "Nora",
        "national_id": next(_numbers),
        "team_id": str(care.team.id),
        "criteria_confirmed": True,
    }
    return body | overrides


def test_the_coordinator_sets_the_number_at_enrolment(client, app, care):
    r = client.post(ENROL, json=enrolment(care, phone="000 00 201"), headers=care.coordinator.headers)
    assert r.status_code == 201, r.json
    with app.app_context():
        patient = db.session.get(Patient, uuid.UUID(r.json["id"]))
        from muli.cli import system_ctx

        assert system_ctx().keys.open(patient, "phone") == "+4700000201"
        db.session.remove()
    assert "00000201" not in raw_patient_row(app, r.json["id"]).replace(" ", "")


def test_a_bad_number_at_enrolment_is_a_422_and_enrols_nobody(client, app, care):
    r = client.post(ENROL, json=enrolment(care, phone="12"), headers=care.coordinator.headers)
    assert r.status_code == 422
    assert "phone" in r.json["errors"]
    assert len(rows(app, Patient)) == 1  # only the care team's own patient


# --- the responder's side -----------------------------------------------------------------------


def test_the_responder_sees_the_patients_number_in_the_queue_and_the_request(client, app, care):
    set_phone(client, care.patient, "00000101")
    request_id = ask(client, care.patient).json["id"]
    [item] = client.get(STAFF, headers=care.member.headers).json["items"]
    assert (item["patient_phone"], item["callback_phone"], item["call_back_on"]) == (
        "+4700000101",
        None,
        "+4700000101",
    )
    detail = client.get(f"{STAFF}/{request_id}", headers=care.member.headers).json
    assert detail["call_back_on"] == "+4700000101"
    assert actions(app, care.patient.id, "contact_request.read")


def test_a_number_for_tonight_comes_first(client, care):
    set_phone(client, care.patient, "00000101")
    body = {"kind": "call_me", "urgency": "crisis", "callback_phone": "+4700000199"}
    request_id = ask(client, care.patient, body).json["id"]
    detail = client.get(f"{STAFF}/{request_id}", headers=care.member.headers).json
    assert (detail["callback_phone"], detail["patient_phone"], detail["call_back_on"]) == (
        "+4700000199",
        "+4700000101",
        "+4700000199",
    )


def test_staff_of_another_team_see_neither_the_request_nor_the_number(client, world, care):
    set_phone(client, care.patient, "00000101")
    request_id = ask(client, care.patient).json["id"]
    outsider = world.staff(world.team())
    assert client.get(STAFF, headers=outsider.headers).json["items"] == []
    r = client.get(f"{STAFF}/{request_id}", headers=outsider.headers)
    assert r.status_code == 404
    assert "00000101" not in r.get_data(as_text=True)


def test_a_privacy_officer_is_not_a_responder(client, world, care):
    set_phone(client, care.patient, "00000101")
    request_id = ask(client, care.patient).json["id"]
    officer = world.staff(care.team, role="privacy_officer", agency=care.agency)
    r = client.get(f"{STAFF}/{request_id}", headers=officer.headers)
    assert r.status_code in (403, 404)
    assert "00000101" not in r.get_data(as_text=True)


# --- "Ringer nå" ----------------------------------------------------------------------------------


def test_calling_now_takes_the_request_and_the_patient_sees_who_is_calling(client, app, clock, care):
    request_id = ask(client, care.patient).json["id"]
    clock.advance(minutes=6)
    r = client.post(f"{STAFF}/{request_id}/call", headers=care.member.headers)
    assert r.status_code == 200, r.json
    assert r.json["state"] == "acknowledged"
    assert r.json["acknowledged_by"]["id"] == str(care.member.id)
    mine = client.get(f"{ME}/contact-requests/{request_id}", headers=care.patient.headers).json
    assert mine["call_started_by"]["name"] == care.member.staff.display_name
    assert mine["call_started_at"] == mine["acknowledged_at"]
    assert len(actions(app, care.patient.id, "contact_request.call")) == 1
    assert len(actions(app, care.patient.id, "contact_request.acknowledge")) == 1


def test_calling_again_moves_the_time_on(client, clock, care):
    request_id = ask(client, care.patient).json["id"]
    client.post(f"{STAFF}/{request_id}/acknowledge", headers=care.member.headers)
    first = client.post(f"{STAFF}/{request_id}/call", headers=care.member.headers).json["call_started_at"]
    clock.advance(minutes=5)
    again = client.post(f"{STAFF}/{request_id}/call", headers=care.member.headers)
    assert again.status_code == 200
    assert again.json["call_started_at"] > first


def test_calling_a_request_someone_else_has_is_a_409_naming_them(client, care):
    request_id = ask(client, care.patient).json["id"]
    client.post(f"{STAFF}/{request_id}/acknowledge", headers=care.coordinator.headers)
    r = client.post(f"{STAFF}/{request_id}/call", headers=care.member.headers)
    assert r.status_code == 409
    assert r.json["type"].endswith("/already-acknowledged")
    assert care.coordinator.staff.display_name in r.json["detail"]
    mine = client.get(f"{ME}/contact-requests/{request_id}", headers=care.patient.headers).json
    assert mine["call_started_at"] is None


def test_calling_a_cancelled_request_is_a_409(client, care):
    request_id = ask(client, care.patient).json["id"]
    client.post(f"{ME}/contact-requests/{request_id}/cancel", headers=care.patient.headers)
    r = client.post(f"{STAFF}/{request_id}/call", headers=care.member.headers)
    assert r.status_code == 409
    assert r.json["type"].endswith("/invalid-state")


def test_staff_of_another_team_cannot_say_they_are_calling(client, world, care):
    request_id = ask(client, care.patient).json["id"]
    outsider = world.staff(world.team())
    assert client.post(f"{STAFF}/{request_id}/call", headers=outsider.headers).status_code == 404
    assert client.post(f"{STAFF}/{request_id}/call", headers=care.patient.headers).status_code == 403
