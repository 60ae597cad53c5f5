"""The access log: every read or change of my data by anyone but me, from the audit trail."""

from __future__ import annotations

import pytest

LOG = "/api/v1/me/access-log"


@pytest.fixture
def care(world):
    return world.care_team()


def _log(client, login, **params):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return client.get(f"{LOG}?{query}", headers=login.headers).json


STAFF_READS = [
    ("", "patient.overview"),
    ("/crisis-plan", "crisis_plan.read"),
    ("/crisis-plan.pdf", "crisis_plan.print"),
    ("/mastery-plan", "mastery_plan.read"),
    ("/diary", "diary.list_shared"),
    ("/admissions", "admission.list"),
]


@pytest.mark.parametrize(("path", "action"), STAFF_READS)
def test_every_staff_read_appears_in_the_patients_access_log(client, care, path, action):
    response = client.get(f"/api/v1/staff/patients/{care.patient.id}{path}", headers=care.member.headers)
    assert response.status_code == 200
    newest = _log(client, care.patient)["items"][0]
    assert (newest["action"], newest["who"]["name"], newest["who"]["agency"], newest["emergency"]) == (
        action,
        care.member.staff.display_name,
        care.agency.name,
        False,
    )


def test_a_staff_proposal_appears_in_the_access_log(client, care):
    client.post(
        f"/api/v1/staff/patients/{care.patient.id}/crisis-plan/proposals",
        json={"what_helps": "x"},
        headers=care.member.headers,
    )
    assert _log(client, care.patient)["items"][0]["action"] == "crisis_plan.propose"


def test_the_patients_own_reads_are_not_in_their_access_log(client, care):
    client.get("/api/v1/me/crisis-plan", headers=care.patient.headers)
    client.get("/api/v1/me/diary", headers=care.patient.headers)
    assert _log(client, care.patient)["items"] == []


def test_emergency_access_is_marked_with_its_reason(client, world):
    team = world.team()
    member = world.staff(team)
    patient = world.patient(team)
    client.post(
        f"/api/v1/staff/patients/{patient.id}/emergency-access",
        json={"reason": "Politiet ringte, pasienten på brua"},
        headers=member.headers,
    )
    client.get(f"/api/v1/staff/patients/{patient.id}/crisis-plan", headers=member.headers)
    items = _log(client, patient)["items"]
    assert [(i["action"], i["emergency"], i["reason"]) for i in items] == [
        ("crisis_plan.read", True, "Politiet ringte, pasienten på brua"),
        ("emergency_access.start", True, "Politiet ringte, pasienten på brua"),
    ]


def test_the_log_pages_through_every_event_once(client, care):
    for _ in range(5):
        client.get(f"/api/v1/staff/patients/{care.patient.id}/crisis-plan", headers=care.member.headers)
    seen, cursor = 0, None
    while True:
        page = _log(client, care.patient, limit=2, **({"cursor": cursor} if cursor else {}))
        seen += len(page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == 5


def test_a_tampered_access_log_cursor_is_400(client, care):
    for _ in range(3):
        client.get(f"/api/v1/staff/patients/{care.patient.id}/crisis-plan", headers=care.member.headers)
    cursor = _log(client, care.patient, limit=1)["next_cursor"]
    response = client.get(f"{LOG}?limit=1&cursor=x{cursor[1:]}", headers=care.patient.headers)
    assert response.status_code == 400


def test_the_reason_for_emergency_access_is_kept_encrypted_not_in_the_audit_trail(client, app, world):
    team = world.team()
    member = world.staff(team)
    patient = world.patient(team)
    reason = "Politiet ringte, pasienten på brua"
    client.post(
        f"/api/v1/staff/patients/{patient.id}/emergency-access",
        json={"reason": reason},
        headers=member.headers,
    )
    client.get(f"/api/v1/staff/patients/{patient.id}/crisis-plan", headers=member.headers)
    with app.app_context():
        from sqlalchemy import select

        from muli.extensions import db
        from muli.models.audit import AuditEvent
        from muli.models.consent import EmergencyAccess

        window = db.session.scalars(select(EmergencyAccess)).one()
        stored = db.session.scalars(select(AuditEvent.reason).where(AuditEvent.emergency)).all()
        assert reason not in window.reason_enc
        db.session.remove()
    # The trail names the window (hashed into the chain); the words stay in its encrypted row.
    # The window's opening event also says what it opened (the crisis plan, by default).
    assert stored == [f"emergency_access:{window.id} scopes=crisis_plan", f"emergency_access:{window.id}"]
    assert [i["reason"] for i in _log(client, patient)["items"]] == [reason, reason]


def test_each_entry_says_what_was_done_in_the_patients_language(client, care):
    """The app shows these words, never the action's code (`crisis_plan.read`)."""
    client.get(f"/api/v1/staff/patients/{care.patient.id}/crisis-plan", headers=care.member.headers)
    nb = client.get(LOG, headers=care.patient.headers).json["items"][0]
    en = client.get(LOG, headers={**care.patient.headers, "Accept-Language": "en"}).json["items"][0]
    assert (nb["action"], nb["description"]) == ("crisis_plan.read", "Leste kriseplanen")
    assert en["description"] == "Read the crisis plan"
