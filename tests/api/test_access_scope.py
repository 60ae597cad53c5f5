"""Access scoped to the need (issue 15, item 6), through the API on the real app.

Break-the-glass opens only what was asked for; activity figures need consent; enrolment
reveals no other team's patients; refused attempts are security events, bounded; the
activation endpoint is throttled and audited.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select, update

from muli.extensions import db
from muli.models.audit import AuditEvent
from muli.models.consent import EmergencyAccess
from muli.models.contact import ContactRequest
from muli.models.people import Patient
from muli.trust import national_id
from tests.contact_support import ask

STAFF = "/api/v1/staff/patients"
REFUSED = "access.refused"  # muli.trust.REFUSED
PER_MINUTE = 10  # muli.trust.refusals.PER_MINUTE
_numbers = national_id.synthetic_numbers(date(1981, 4, 4), start=300)


def events(app, action: str, **where) -> list[AuditEvent]:
    with app.app_context():
        found = list(
            db.session.scalars(select(AuditEvent).filter_by(action=action, **where).order_by(AuditEvent.seq))
        )
        db.session.expunge_all()
        return found


# --- 1. break-the-glass opens only what is needed now ------------------------------------


def _break_glass(client, staff, patient, **body):
    return client.post(
        f"{STAFF}/{patient.id}/emergency-access",
        json={"reason": "Pasienten er på legevakten i akutt krise", **body},
        headers=staff.headers,
    )


@pytest.fixture
def outsider(world):
    """A patient of a team, and a nurse on that team whose agency has no consent at all."""
    team = world.team()
    consenting = world.agency(kind="dps")
    patient = world.patient(team, consents={consenting: "all"})
    nurse = world.staff(team, agency=world.agency(kind="acute_ward"))
    return patient, nurse


def test_break_the_glass_opens_the_crisis_plan_only_unless_more_is_asked(client, app, outsider):
    patient, nurse = outsider
    made = ask(client, patient, {"kind": "chat", "urgency": "crisis", "message": "orker ikke mer"})
    started = _break_glass(client, nurse, patient)
    assert started.status_code == 201
    assert started.json["scopes"] == ["crisis_plan"]
    assert client.get(f"{STAFF}/{patient.id}/crisis-plan", headers=nurse.headers).status_code in (200, 404)
    assert client.get(f"{STAFF}/{patient.id}/diary", headers=nurse.headers).status_code == 403
    assert client.get(f"{STAFF}/{patient.id}/mastery-plan", headers=nurse.headers).status_code == 403
    request = client.get(f"/api/v1/staff/contact-requests/{made.json['id']}", headers=nurse.headers).json
    assert request["content_visible"] is False and request["messages"] == []
    overview = client.get(f"{STAFF}/{patient.id}", headers=nurse.headers).json
    assert overview["consent"]["emergency_scopes"] == ["crisis_plan"]
    assert {"shared_diary", "contact_requests", "mastery_plan", "meeting_notes"} <= set(overview["withheld"])
    assert overview["diary_points"] is None
    # The window records its scopes, and the audit event says which.
    with app.app_context():
        window = db.session.scalars(select(EmergencyAccess)).one()
        assert window.scopes == "crisis_plan"
        db.session.expunge_all()
    (opened,) = events(app, "emergency_access.start")
    assert opened.reason == f"emergency_access:{window.id} scopes=crisis_plan"


def test_break_the_glass_for_the_diary_and_contact_history_opens_those(client, app, outsider):
    patient, nurse = outsider
    made = ask(client, patient, {"kind": "chat", "urgency": "crisis", "message": "orker ikke mer"})
    started = _break_glass(client, nurse, patient, scopes=["shared_diary", "contact_requests"])
    assert started.status_code == 201
    assert started.json["scopes"] == ["contact_requests", "shared_diary"]
    assert client.get(f"{STAFF}/{patient.id}/diary", headers=nurse.headers).status_code == 200
    assert client.get(f"{STAFF}/{patient.id}/crisis-plan", headers=nurse.headers).status_code == 403
    request = client.get(f"/api/v1/staff/contact-requests/{made.json['id']}", headers=nurse.headers).json
    assert request["content_visible"] is True
    (opened,) = events(app, "emergency_access.start")
    assert opened.reason.endswith(" scopes=contact_requests,shared_diary")


def test_the_privacy_officer_sees_what_a_window_opened(client, world, outsider):
    patient, nurse = outsider
    assert _break_glass(client, nurse, patient, scopes=["shared_diary"]).status_code == 201
    officer = world.staff(role="privacy_officer")
    (item,) = client.get("/api/v1/staff/audit/emergency-access", headers=officer.headers).json["items"]
    assert item["scopes"] == ["shared_diary"]


@pytest.mark.parametrize("scopes", [["mastery_plan"], ["meeting_notes"], [], ["crisis_plan", "x"]])
def test_break_the_glass_cannot_open_what_it_does_not_offer(client, app, outsider, scopes):
    patient, nurse = outsider
    refused = _break_glass(client, nurse, patient, scopes=scopes)
    assert refused.status_code == 422
    assert all(name.startswith("scopes") for name in refused.json["errors"])
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(EmergencyAccess)) == 0


# --- 2. no activity figures without consent ------------------------------------------------


@pytest.fixture
def liaison(world, client, app):
    """A care team whose patient made two requests (one escalated), and a police liaison on
    the team whose agency the patient has given only the crisis plan."""
    care = world.care_team()
    police = world.agency(kind="police")
    officer = world.staff(care.team, agency=police, name="Politikontakt")
    patient = world.patient(care.team, consents={care.agency: "all", police: ["crisis_plan"]})
    first = ask(client, patient)
    assert first.status_code == 201
    assert ask(client, patient, {"kind": "chat", "urgency": "talk"}).status_code == 201
    with app.app_context():
        db.session.execute(
            update(ContactRequest)
            .where(ContactRequest.id == uuid.UUID(first.json["id"]))
            .values(escalation_level=1)
        )
        db.session.commit()
    return care, officer, patient


def _agenda_entry(client, meeting_id, reader, patient):
    meeting = client.get(f"/api/v1/staff/meetings/{meeting_id}", headers=reader.headers).json
    return next(e for e in meeting["agenda"] if e["patient_id"] == str(patient.id))


def test_the_meeting_agenda_shows_contact_figures_only_with_consent(client, liaison):
    care, officer, patient = liaison
    held_on = (date.today() + timedelta(days=1)).isoformat()
    made = client.post(
        f"/api/v1/staff/teams/{care.team.id}/meetings",
        json={"held_on": held_on},
        headers=care.coordinator.headers,
    )
    assert made.status_code == 201
    entry = _agenda_entry(client, made.json["id"], care.member, patient)
    assert entry["events"]["contact_requests"] == 2 and entry["events"]["escalations"] == 1
    entry = _agenda_entry(client, made.json["id"], officer, patient)
    assert "contact_requests" not in entry["events"] and "escalations" not in entry["events"]
    assert entry["has_events"] is False


# --- 3. enrolment does not reveal another team's patients ----------------------------------


def _enrol(client, care, nid, name="Kari"):
    return client.post(
        STAFF,
        json={
            "display_name": name,
            "national_id": nid,
            "team_id": str(care.team.id),
            "criteria_confirmed": True,
        },
        headers=care.coordinator.headers,
    )


def test_enrolling_another_teams_patient_answers_as_for_a_new_person(client, app, world):
    theirs, mine = world.care_team(), world.care_team()
    elsewhere, fresh = next(_numbers), next(_numbers)
    assert _enrol(client, theirs, elsewhere).status_code == 201
    new = _enrol(client, mine, fresh)
    again = _enrol(client, mine, elsewhere)
    assert (new.status_code, again.status_code) == (201, 201)
    assert set(new.json) == set(again.json)
    assert again.json["team_id"] == str(mine.team.id) and len(again.json["activation_code"]) == 11
    # A record of its own on my team; the other team's record is untouched and unnamed.
    with app.app_context():
        records = db.session.scalars(
            select(Patient).where(Patient.national_id_index == _blind(app, elsewhere))
        ).all()
        assert sorted(str(p.team_id) for p in records) == sorted([str(theirs.team.id), str(mine.team.id)])
        other = next(p for p in records if p.team_id == theirs.team.id)
        db.session.expunge_all()
    assert str(other.id) not in again.get_data(as_text=True)
    # The overlap goes to the privacy officer, on the new record.
    (flag,) = events(app, "enrolment.elsewhere")
    assert (flag.patient_id, flag.resource_id, flag.outcome) == (
        uuid.UUID(again.json["id"]),
        str(other.id),
        "review",
    )


def test_enrolling_a_patient_of_my_own_team_again_is_409(client, world):
    care = world.care_team()
    nid = next(_numbers)
    assert _enrol(client, care, nid).status_code == 201
    again = _enrol(client, care, nid)
    assert again.status_code == 409 and again.json["type"].endswith("already-enrolled")


def _blind(app, nid: str) -> str:
    from muli.cli import system_ctx

    return system_ctx().keys.blind_index(nid)


# --- 4. refused attempts are security events -----------------------------------------------


def test_a_refused_cross_team_attempt_is_recorded_though_the_request_rolls_back(client, app, world):
    mine, theirs = world.care_team(), world.care_team()
    never = uuid.uuid4()
    other = client.get(f"{STAFF}/{theirs.patient.id}/crisis-plan", headers=mine.member.headers)
    unknown = client.get(f"{STAFF}/{never}/crisis-plan", headers=mine.member.headers)
    # The actor learns nothing: another team's patient answers like an id that never was.
    assert (other.status_code, other.json) == (unknown.status_code, unknown.json) == (404, unknown.json)
    first, second = events(app, REFUSED)
    assert first.actor_account_id == mine.member.account.id and first.actor_role == "member"
    assert (first.patient_id, first.resource, first.resource_id) == (
        theirs.patient.id,
        "patient",
        str(theirs.patient.id),
    )
    assert first.reason == "GET /api/v1/staff/patients/<uuid:patient_id>/crisis-plan: 404 not-found"
    assert (second.patient_id, second.resource_id, second.outcome) == (None, str(never), "refused")
    # Another team, as a coordinator: refused with the team's id.
    team = client.get(f"/api/v1/staff/teams/{theirs.team.id}/meetings", headers=mine.coordinator.headers)
    assert team.status_code == 404
    (refused,) = [e for e in events(app, REFUSED) if e.resource == "team"]
    assert refused.resource_id == str(theirs.team.id)


def test_a_patient_reaching_another_patients_entry_is_recorded_and_not_shown_to_them(client, app, world):
    care = world.care_team()
    other = world.patient(care.team)
    entry = client.post("/api/v1/me/diary", json={"text": "en dag"}, headers=other.headers)
    assert entry.status_code == 201
    tried = client.get(f"/api/v1/me/diary/{entry.json['id']}", headers=care.patient.headers)
    assert tried.status_code == 404
    (refused,) = events(app, REFUSED)
    assert (refused.actor_account_id, refused.patient_id) == (care.patient.account.id, other.patient.id)
    # The other patient's access log does not name the first patient to them.
    log = client.get("/api/v1/me/access-log", headers=other.headers).json["items"]
    assert all(item["action"] != REFUSED for item in log)


def test_a_role_refusal_and_a_wrong_account_kind_are_recorded(client, app, world):
    care = world.care_team()
    officer = world.staff(care.team, role="privacy_officer", agency=care.agency)
    assert client.get(f"{STAFF}/{care.patient.id}/crisis-plan", headers=officer.headers).status_code == 403
    assert client.get(f"{STAFF}/{care.patient.id}", headers=care.patient.headers).status_code == 403
    by_role, by_kind = events(app, REFUSED)
    assert (by_role.actor_role, by_role.reason.endswith("403 forbidden")) == ("privacy_officer", True)
    assert (by_kind.actor_kind, by_kind.reason.endswith("403 wrong-account-kind")) == ("patient", True)


def test_consent_refusals_on_my_own_team_are_not_security_events(client, app, outsider):
    patient, nurse = outsider
    assert client.get(f"{STAFF}/{patient.id}/diary", headers=nurse.headers).status_code == 403
    assert events(app, REFUSED) == []


def test_a_flood_of_refusals_writes_a_bounded_number_of_events(client, app, clock, world):
    mine, theirs = world.care_team(), world.care_team()
    url = f"{STAFF}/{theirs.patient.id}"
    flood = 45
    for _ in range(flood):
        assert client.get(url, headers=mine.member.headers).status_code == 404
    written = events(app, REFUSED)
    per_minute = PER_MINUTE
    # One by one up to the bound, then summaries at 11, 20 and 40.
    assert [e.outcome for e in written] == ["refused"] * per_minute + ["flood"] * 3
    assert written[-1].reason.startswith(f"{4 * per_minute} refused attempts in the minute from")
    # The next minute starts afresh, in the same tally row.
    clock.advance(minutes=1)
    assert client.get(url, headers=mine.member.headers).status_code == 404
    assert events(app, REFUSED)[-1].outcome == "refused"
    from muli.models.refusals import RefusalTally
    from muli.trust import refusals

    assert refusals.PER_MINUTE == PER_MINUTE
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(RefusalTally)) == 1


# --- 5. the activation endpoint is throttled and audited -----------------------------------


def _activate(client, code: str, address: str = "198.51.100.7", username: str = "kari.a"):
    return client.post(
        "/api/v1/auth/activate",
        json={"activation_code": code, "username": username, "password": "en lang og god setning"},
        environ_base={"REMOTE_ADDR": address},
    )


def test_guessing_activation_codes_is_slowed_and_every_attempt_audited(client, app, clock, world):
    care = world.care_team()
    enrolled = _enrol(client, care, next(_numbers))
    code = enrolled.json["activation_code"]
    answers = [_activate(client, f"AAAAA-{n:05d}").status_code for n in range(60)]
    # Five free failures and a sixth that sets a wait; after it guesses are not even checked
    # (the test's clock stands still, so the wait never ends).
    assert answers[:6] == [400] * 6
    assert set(answers[6:]) == {429}
    assert "Retry-After" in _activate(client, "AAAAA-99999").headers
    failed = events(app, "auth.activate", outcome="failed")
    throttled = events(app, "auth.activate", outcome="throttled")
    assert (len(failed), len(throttled)) == (6, 55)
    assert {e.resource for e in failed + throttled} == {"login_address"}
    # The real code, even from the guessing address, waits too; from another address it works.
    assert _activate(client, code).status_code == 429
    assert _activate(client, code, address="203.0.113.9").status_code == 201
