"""Access scoped to the need, in the portal: the break-the-glass form asks what is needed,
the patient list shows no activity figures without consent, refused pages are recorded."""

from __future__ import annotations

import re
import uuid

import pytest
from sqlalchemy import select, update

from muli.extensions import db
from muli.models.audit import AuditEvent
from muli.models.contact import ContactRequest
from tests.contact_support import ask

REASON = "Pasienten er i akutt krise på legevakten nå"


def section(page: str, anchor: str) -> str:
    return page.split(f'id="{anchor}"', 1)[1].split("</section>", 1)[0]


def test_the_emergency_form_asks_what_is_needed_with_the_crisis_plan_ticked(world, portal_as):
    care = world.care_team()
    nurse = world.staff(care.team, agency=world.agency(kind="acute_ward"))
    locked = portal_as(nurse).get(f"/portal/patients/{care.patient.id}")
    assert locked.status_code == 403
    form = locked.get_data(as_text=True)
    assert "Hva trenger du nå?" in form
    tags = re.findall(r'<input[^>]*name="scopes"[^>]*>', form)
    boxes = {re.search(r'value="([a-z_]+)"', t).group(1): " checked" in t for t in tags}
    assert boxes == {"crisis_plan": True, "contact_requests": False, "shared_diary": False}
    assert "Kontakthistorikk" in form and "Delt dagbok" in form


def test_break_the_glass_for_the_contact_history_opens_it_and_not_the_plan(world, app, portal_as):
    care = world.care_team()
    nurse = world.staff(care.team, agency=world.agency(kind="acute_ward"))
    assert ask(app.test_client(), care.patient).status_code == 201
    portal = portal_as(nurse)
    path = f"/portal/patients/{care.patient.id}"
    opened = portal.post(
        f"{path}/emergency-access", {"reason": REASON, "scopes": ["contact_requests"]}, token_from=path
    )
    assert opened.status_code == 302
    page = portal.text(path)
    assert "Ikke delt med din virksomhet." in section(page, "crisis-plan")
    assert section(page, "contacts").count("<tr>") == 2  # the head and the request
    assert 'Åpnet: <span class="badge">Kontakthistorikk</span>' in page


def test_break_the_glass_with_the_default_opens_the_plan_and_not_the_contact_history(world, app, portal_as):
    care = world.care_team()
    nurse = world.staff(care.team, agency=world.agency(kind="acute_ward"))
    assert ask(app.test_client(), care.patient).status_code == 201
    portal = portal_as(nurse)
    path = f"/portal/patients/{care.patient.id}"
    opened = portal.post(
        f"{path}/emergency-access", {"reason": REASON, "scopes": ["crisis_plan"]}, token_from=path
    )
    assert opened.status_code == 302
    page = portal.text(path)
    assert "Ikke delt med din virksomhet." not in section(page, "crisis-plan")
    assert "Ikke delt med din virksomhet." in section(page, "contacts")
    # More can still be asked for while the window is open.
    assert "Åpne nødtilgang" in page


@pytest.fixture
def liaison(world, app):
    """A patient with two requests (one escalated); a police liaison on the team whose
    agency the patient has given only the crisis plan."""
    care = world.care_team()
    police = world.agency(kind="police")
    officer = world.staff(care.team, agency=police, name="Politikontakt")
    patient = world.patient(
        care.team, consents={care.agency: "all", police: ["crisis_plan"]}, name="Ola Liste"
    )
    api = app.test_client()
    first = ask(api, patient)
    assert ask(api, patient, {"kind": "chat", "urgency": "talk"}).status_code == 201
    with app.app_context():
        db.session.execute(
            update(ContactRequest)
            .where(ContactRequest.id == uuid.UUID(first.json["id"]))
            .values(escalation_level=1)
        )
        db.session.commit()
    return care, officer, patient


def _row(page: str, name: str) -> str:
    return page.split(name, 1)[1].split("</tr>", 1)[0]


def test_the_police_liaisons_patient_list_shows_no_contact_figures(liaison, portal_as):
    _care, officer, _patient = liaison
    row = _row(portal_as(officer).text("/portal/patients/"), "Ola Liste")
    assert "kontaktforespørsler" not in row and "eskaleringer" not in row
    assert row.rstrip().endswith('<td data-label="Siden forrige møte">—</td>')  # that cell is empty


def test_a_clinician_with_consent_sees_the_figures_on_the_list(liaison, portal_as):
    care, _officer, _patient = liaison
    row = _row(portal_as(care.member).text("/portal/patients/"), "Ola Liste")
    assert "2 kontaktforespørsler" in row and "1 eskaleringer" in row


def test_the_police_liaison_sees_no_contact_history_on_the_patient_page(liaison, portal_as):
    _care, officer, patient = liaison
    page = portal_as(officer).text(f"/portal/patients/{patient.id}")
    contacts = section(page, "contacts")
    assert "Ikke delt med din virksomhet." in contacts and "<tr>" not in contacts


def test_another_teams_patient_page_is_a_recorded_refusal(world, app, portal_as):
    mine, theirs = world.care_team(), world.care_team()
    assert portal_as(mine.member).get(f"/portal/patients/{theirs.patient.id}").status_code == 404
    with app.app_context():
        (refused,) = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "access.refused")).all()
        assert (refused.patient_id, refused.reason) == (
            theirs.patient.id,
            "GET /portal/patients/<patient_id>: 404 not-found",
        )


def test_acknowledging_another_teams_request_from_the_queue_is_a_recorded_refusal(world, app, portal_as):
    mine, theirs = world.care_team(), world.care_team()
    made = ask(app.test_client(), theirs.patient).json
    portal = portal_as(mine.member)
    response = portal.post(f"/portal/queue/{made['id']}/acknowledge", token_from="/portal/queue/")
    assert response.status_code == 302  # the queue shows the refusal as a message
    with app.app_context():
        (refused,) = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "access.refused")).all()
        assert (refused.patient_id, refused.resource, refused.reason) == (
            theirs.patient.id,
            "patient",
            "POST /portal/queue/<request_id>/acknowledge: 404 not-found",
        )
