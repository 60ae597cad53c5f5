import re

from muli.trust.national_id import synthetic_numbers
from tests.portal.conftest import csrf_token

NID = next(synthetic_numbers(__import__("datetime").date(1985, 3, 4), start=300))


def enrol_form(portal, care, **extra):
    page = portal.text(f"/portal/patients/enrol?team={care.team.id}")
    return {
        "csrf_token": csrf_token(page),
        "team": str(care.team.id),
        "display_name": "Kari",
        "national_id": NID,
        "admissions_last_12_months-0": "2026-03-01",
        "admissions_last_12_months-1": "2026-06-10",
        "trusted_contact_id": str(care.member.id),
        f"consent-{care.agency.id}": ["crisis_plan", "contact_requests"],
        "meets_criteria": "y",
        **extra,
    }


def test_the_patient_list_shows_my_teams_patients_only(world, portal_as):
    care = world.care_team()
    other = world.care_team()
    page = portal_as(care.member).text("/portal/patients/")
    assert care.patient.name in page
    assert other.patient.name not in page


def test_a_coordinator_enrols_and_sees_the_activation_code_once(world, portal_as):
    care = world.care_team()
    portal = portal_as(care.coordinator)
    response = portal.client.post(
        f"/portal/patients/enrol?team={care.team.id}", data=enrol_form(portal, care)
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    code = re.search(r'data-testid="activation-code">([A-Z0-9-]+)<', page).group(1)
    assert len(code) == 11
    assert "113" in page
    assert response.headers["Cache-Control"] == "no-store"
    listing = portal.text("/portal/patients/")
    assert "Kari" in listing
    assert code not in listing


def test_the_enrolment_form_offers_consent_per_agency_of_the_team(world, portal_as):
    care = world.care_team()
    page = portal_as(care.coordinator).text("/portal/patients/enrol")
    assert care.agency.name in page
    assert f'name="consent-{care.agency.id}" value="meeting_notes"' in page


def test_an_invalid_national_id_is_shown_on_its_field(world, portal_as):
    care = world.care_team()
    portal = portal_as(care.coordinator)
    form = enrol_form(portal, care, national_id="12345678901")
    response = portal.client.post(f"/portal/patients/enrol?team={care.team.id}", data=form)
    assert response.status_code == 422
    assert 'id="national_id-error"' in response.get_data(as_text=True)


def test_enrolment_without_the_csrf_token_is_refused(world, portal_as):
    care = world.care_team()
    portal = portal_as(care.coordinator)
    form = enrol_form(portal, care)
    del form["csrf_token"]
    response = portal.client.post(f"/portal/patients/enrol?team={care.team.id}", data=form)
    assert response.status_code == 400
    assert "Kari" not in portal.text("/portal/patients/")


def test_a_member_cannot_enrol(world, portal_as):
    care = world.care_team()
    portal = portal_as(care.member)
    assert portal.get("/portal/patients/enrol").status_code == 403
    assert "Skriv inn pasient" not in portal.text("/portal/")


def test_a_privacy_officer_and_an_admin_see_no_patients(world, portal_as, app):
    care = world.care_team()
    for role in ("privacy_officer", "admin"):
        staff = world.staff(care.team, role=role, agency=care.agency)
        portal = portal_as(staff)
        response = portal.get("/portal/patients/")
        assert response.status_code == 403
        assert care.patient.name not in response.get_data(as_text=True)
        portal.post("/portal/logout", token_from="/portal/")


def test_the_patient_list_shows_what_happened_since_the_last_meeting(world, app, portal_as):
    from tests.portal.helpers import contact_request

    care = world.care_team()
    contact_request(app.test_client(), care.patient)
    page = portal_as(care.member).text("/portal/patients/")
    assert "1 kontaktforespørsler" in page


def test_the_patients_phone_is_set_at_enrolment_and_stored_encrypted(app, world, portal_as):
    from sqlalchemy import select

    from muli.cli import system_ctx
    from muli.extensions import db
    from muli.models.people import Patient

    care = world.care_team()
    portal = portal_as(care.coordinator)
    form = enrol_form(portal, care, phone="000 00 301")
    response = portal.client.post(f"/portal/patients/enrol?team={care.team.id}", data=form)
    assert response.status_code == 200
    # The letter's emergency numbers are links a phone can call.
    page = response.get_data(as_text=True)
    assert 'href="tel:113"' in page
    assert 'href="tel:116117"' in page
    with app.app_context():
        ctx = system_ctx()
        index = ctx.keys.blind_index(NID)
        patient = db.session.scalars(select(Patient).where(Patient.national_id_index == index)).one()
        assert ctx.keys.open(patient, "phone") == "+4700000301"
        assert "00000301" not in (patient.phone_enc or "")
        db.session.remove()


def test_a_phone_that_is_not_norwegian_is_shown_on_its_field(world, portal_as):
    care = world.care_team()
    portal = portal_as(care.coordinator)
    form = enrol_form(portal, care, phone="+46 70 000 00 00")
    response = portal.client.post(f"/portal/patients/enrol?team={care.team.id}", data=form)
    assert response.status_code == 422
    assert "Ikke et norsk telefonnummer" in response.get_data(as_text=True)
    assert "Kari" not in portal.text("/portal/patients/")


def test_enrolment_shows_the_programmes_criteria_and_asks_the_team_to_confirm_them(app, world, portal_as):
    from sqlalchemy import select

    from muli.extensions import db
    from muli.models.audit import AuditEvent
    from tests.api.test_programmes import narrow_team

    team = narrow_team(app, world)
    police = world.agency(kind="police")
    coordinator = world.staff(team, role="coordinator", agency=police)
    member = world.staff(team, agency=police)
    portal = portal_as(coordinator)
    page = portal.text(f"/portal/patients/enrol?team={team.id}")
    assert "Hvem MULI vold er for" in page
    assert "med gjentatte voldshendelser meldt til politiet" in page
    # Only the consent the programme asks for is offered.
    assert f'name="consent-{police.id}" value="contact_requests"' in page
    assert f'name="consent-{police.id}" value="meeting_notes"' not in page
    form = {
        "csrf_token": csrf_token(page),
        "team": str(team.id),
        "display_name": "Ungvar Testesen",
        "national_id": NID,
        "trusted_contact_id": str(member.id),
        f"consent-{police.id}": ["crisis_plan", "meeting_notes"],
    }
    unconfirmed = portal.client.post(f"/portal/patients/enrol?team={team.id}", data=form)
    assert unconfirmed.status_code == 400
    assert 'id="meets_criteria-error"' in unconfirmed.get_data(as_text=True)
    assert "Ungvar Testesen" not in portal.text("/portal/patients/")
    confirmed = portal.client.post(
        f"/portal/patients/enrol?team={team.id}", data=form | {"meets_criteria": "y"}
    )
    assert confirmed.status_code == 200
    with app.app_context():
        actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {"patient.enrol", "patient.criteria_confirmed"} <= actions
