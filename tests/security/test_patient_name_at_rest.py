"""A patient's name is not copied in plain text into what they do: not into the audit trail
(`audit_event.actor_name`) and not into the plans they write (`plan_version.author_name`).

0043 sealed the name in the patient's row; the events and versions a patient writes now name
them by kind and account, and whoever may see the name reads it opened from that row (the
plan's answers, the portal, the FHIR CarePlan, the privacy officer's search). Events written
before this change keep the name they hold: the keyed chain covers it, and `verify-audit` still
passes over old and new events together.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy import select, text

from muli.extensions import db
from muli.models.audit import AuditEvent
from muli.platform.context import Actor
from muli.platform.sqlite import erase_traces
from muli.trust import audit
from tests.factories import Care
from tests.security.test_at_rest import stored_bytes

ME = "/api/v1/me"
AUDIT = "/api/v1/staff/audit"


@pytest.fixture
def name() -> str:
    return f"MARKER-PASIENT-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def care(world, name) -> Care:
    team = world.team()
    agency = world.agency(kind="dps")
    coordinator = world.staff(team, role="coordinator", agency=agency)
    member = world.staff(team, role="member", agency=agency)
    patient = world.patient(team, consents={agency: "all"}, name=name, trusted_contact=member)
    return Care(team, agency, coordinator, member, patient)


@pytest.fixture
def officer(world):
    return world.staff(role="privacy_officer")


def _save(client, login, path: str, body: dict) -> dict:
    etag = client.get(path, headers=login.headers).headers["ETag"]
    answer = client.put(path, json=body, headers={**login.headers, "If-Match": etag})
    assert answer.status_code == 200, answer.json
    return answer.json


def _patient_acts_and_writes_plans(client, care) -> None:
    """The patient writes both plans, the team proposes a change, the patient approves it, and
    reads and exports what they have: events and versions by the patient, and by staff."""
    _save(client, care.patient, f"{ME}/crisis-plan", {"what_helps": "Å gå en tur"})
    _save(client, care.patient, f"{ME}/mastery-plan", {"strategies": [{"title": "Pust rolig"}]})
    proposed = client.post(
        f"/api/v1/staff/patients/{care.patient.id}/crisis-plan/proposals",
        json={"what_helps": "Å gå en tur, ringe Kari"},
        headers=care.member.headers,
    )
    assert proposed.status_code == 201, proposed.json
    approved = client.post(
        f"{ME}/crisis-plan/versions/{proposed.json['version']}/approve", headers=care.patient.headers
    )
    assert approved.status_code == 200, approved.json
    _save(client, care.patient, f"{ME}/crisis-plan", {"what_helps": "Å gå en tur, musikk"})
    for path in ("/crisis-plan/versions", "/access-log", "/export", "/export.fhir"):
        assert client.get(ME + path, headers=care.patient.headers).status_code == 200, path
    assert client.get(f"{ME}/crisis-plan.pdf", headers=care.patient.headers).status_code == 200


def _rows(app, table: str) -> list[dict]:
    with app.app_context():
        rows = [dict(r) for r in db.session.execute(text(f"SELECT * FROM {table}")).mappings()]
        db.session.rollback()
    return rows


def _sqlite_files(app) -> bytes:
    """The SQLite file and its write-ahead log, after a checkpoint copied the log back."""
    with app.app_context():
        assert erase_traces(db.engine)
        path = Path(db.engine.url.database)
    wal = path.with_name(path.name + "-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


def test_what_a_patient_does_and_writes_holds_no_copy_of_their_name(app, client, care, name):
    _patient_acts_and_writes_plans(client, care)

    events = _rows(app, "audit_event")
    by_patient = [e for e in events if e["actor_kind"] == "patient"]
    assert len(by_patient) >= 8  # the scan looks at the patient's own events
    assert {e["actor_name"] for e in by_patient} == {None}
    assert {str(e["actor_account_id"]).replace("-", "") for e in by_patient} == {care.patient.account.id.hex}
    versions = _rows(app, "plan_version")
    assert sorted(v["author_kind"] for v in versions) == ["patient", "patient", "patient", "staff"]
    assert {v["author_name"] for v in versions if v["author_kind"] == "patient"} == {None}
    # Staff still sign with their name (it is not about a patient).
    assert {v["author_name"] for v in versions if v["author_kind"] == "staff"} == {
        care.member.staff.display_name
    }
    for table, rows in (("audit_event", events), ("plan_version", versions)):
        for row in rows:
            assert not [c for c, v in row.items() if name in str(v)], (table, row)

    assert name.encode() not in stored_bytes(app)  # every table (PostgreSQL), the files as they lie
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        assert name.encode() not in _sqlite_files(app)


def test_the_displays_still_show_the_patients_name_to_those_who_may_see_it(app, client, care, officer, name):
    _patient_acts_and_writes_plans(client, care)
    patient = care.patient

    # The patient's own answers: the same `written_by` as before, the name opened from their row.
    mine = client.get(f"{ME}/crisis-plan", headers=patient.headers).json["written_by"]
    assert mine == {"kind": "patient", "name": name, "agency": None}
    mastery = client.get(f"{ME}/mastery-plan", headers=patient.headers).json["written_by"]
    assert mastery == {"kind": "patient", "name": name, "agency": None}
    versions = client.get(f"{ME}/crisis-plan/versions", headers=patient.headers).json["items"]
    assert [v["written_by"]["name"] for v in versions] == [name, care.member.staff.display_name, name]
    exported = client.get(f"{ME}/export", headers=patient.headers).json
    assert {v["written_by"]["name"] for v in exported["crisis_plan"]["versions"]} == {
        name,
        care.member.staff.display_name,
    }

    # The team: the plan, its versions (the portal's page), the overview, the FHIR CarePlan.
    staff = f"/api/v1/staff/patients/{patient.id}"
    assert client.get(f"{staff}/crisis-plan", headers=care.member.headers).json["written_by"]["name"] == name
    overview = client.get(staff, headers=care.member.headers).json
    assert overview["crisis_plan"]["written_by"]["name"] == name
    assert overview["mastery_plan"]["written_by"]["name"] == name
    bundle = client.get(f"{staff}/export.fhir", headers=care.member.headers).json
    authors = [
        e["resource"]["author"]["display"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "CarePlan"
    ]
    assert name in authors

    # The privacy officer's search names the patient who acted, and the reading of the name is
    # audited against that patient like the reading of the events about them.
    page = client.get(
        AUDIT, query_string={"patient_id": str(patient.id), "limit": 100}, headers=officer.headers
    ).json
    acted = [e for e in page["items"] if e["actor_kind"] == "patient"]
    assert acted and {e["actor_name"] for e in acted} == {name}
    with app.app_context():
        searches = db.session.scalars(
            select(AuditEvent.patient_id).where(AuditEvent.action == "audit.search")
        ).all()
        db.session.rollback()
    assert patient.id in searches


def test_verify_audit_passes_over_events_from_before_and_after_the_change(app, app_ctx, runner, care, name):
    """An event a patient's request wrote before this change held their name: it stays as it
    was (the chain covers it); newer events hold none; the chain verifies over both."""
    patient = care.patient
    actor = Actor(kind="patient", account_id=patient.account.id, patient_id=patient.patient.id, name=name)
    with pytest.MonkeyPatch.context() as before:
        before.setattr(Actor, "is_patient", property(lambda self: False))  # as record() was
        audit.record(db.session, actor, "crisis_plan.read", patient_id=patient.id, resource="crisis_plan")
        db.session.commit()
    audit.record(db.session, actor, "crisis_plan.read", patient_id=patient.id, resource="crisis_plan")
    db.session.commit()
    assert audit.seal_all(db.session, db.session.commit) == 2
    names = db.session.scalars(select(AuditEvent.actor_name).order_by(AuditEvent.seq)).all()
    assert names == [name, None]
    result = runner.invoke(args=["muli", "verify-audit"])
    assert result.exit_code == 0, result.output


def test_an_old_event_naming_another_patient_shows_a_label_to_the_patient_and_their_team(
    app, client, world, care, officer
):
    """An event from before the change, by another patient against this one, holds that
    patient's name: the patient's access log, export and FHIR export show a label, never the
    other patient's name; the privacy officer sees the name, opened from the other's row."""
    other_name = f"MARKER-ANDRE-{uuid.uuid4().hex[:10]}"
    other = world.patient(care.team, name=other_name)
    actor = Actor(kind="patient", account_id=other.account.id, patient_id=other.id, name=other_name)
    with app.app_context(), pytest.MonkeyPatch.context() as before:
        before.setattr(Actor, "is_patient", property(lambda self: False))  # as record() was
        audit.record(db.session, actor, "diary.read", patient_id=care.patient.id, resource="diary")
        db.session.commit()

    log = client.get(f"{ME}/access-log", headers=care.patient.headers).json["items"]
    assert [e["who"] for e in log if e["action"] == "diary.read"] == [
        {"name": None, "agency": None, "role": None, "kind": "patient"}
    ]
    answer = client.get(f"{ME}/export.fhir", headers=care.patient.headers)
    assert answer.status_code == 200 and other_name not in answer.text
    displays = [
        e["resource"]["agent"][0]["who"]["display"]
        for e in answer.json["entry"]
        if e["resource"]["resourceType"] == "AuditEvent"
        and e["resource"]["subtype"][0]["code"] == "diary.read"
    ]
    assert displays == ["Patient"]
    assert other_name not in client.get(f"{ME}/export", headers=care.patient.headers).text
    page = client.get(AUDIT, query_string={"patient_id": str(care.patient.id)}, headers=officer.headers).json
    assert [e["actor_name"] for e in page["items"] if e["action"] == "diary.read"] == [other_name]
