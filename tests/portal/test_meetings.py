import html
import re

from tests.portal.conftest import csrf_token


def create_meeting(portal, care, day="2026-11-23") -> str:
    response = portal.post(f"/portal/meetings/?team={care.team.id}", {"held_on": day})
    assert response.status_code == 302, response.get_data(as_text=True)
    return response.headers["Location"]


def note_form(portal, path, patient_id) -> dict:
    page = portal.text(path)
    etag = re.search(
        rf'/notes/{patient_id}">\s*<input id="csrf_token" name="csrf_token" type="hidden" value="[^"]+">\s*'
        r'<input type="hidden" name="etag" value="([^"]+)">',
        page,
    ).group(1)
    return {"csrf_token": csrf_token(page), "etag": html.unescape(etag)}


def test_a_coordinator_creates_a_meeting_with_every_patient_on_the_agenda(world, portal_as):
    care = world.care_team()
    portal = portal_as(care.coordinator)
    path = create_meeting(portal, care)
    page = portal.text(path)
    assert care.patient.name in page
    assert "Signer møtet" in page


def test_a_member_cannot_create_a_meeting(world, portal_as):
    care = world.care_team()
    portal = portal_as(care.member)
    assert "Opprett møtet" not in portal.text("/portal/meetings/")
    response = portal.post(f"/portal/meetings/?team={care.team.id}", {"held_on": "2026-11-23"})
    assert response.status_code == 200
    assert "Ingen møter ennå" in response.get_data(as_text=True)


def test_a_note_is_saved_and_a_stale_save_keeps_both_texts(world, app, portal_as):
    from tests.portal.conftest import Portal

    care = world.care_team()
    coordinator = portal_as(care.coordinator)
    path = create_meeting(coordinator, care)
    pid = care.patient.id
    siv = Portal(app, app.test_client())
    assert siv.login(care.member).status_code == 302
    mine = note_form(siv, path, pid)
    theirs = note_form(coordinator, path, pid)
    first = coordinator.client.post(f"{path}/notes/{pid}", data={**theirs, "text": "Koordinators notat"})
    assert first.status_code == 302
    second = siv.client.post(f"{path}/notes/{pid}", data={**mine, "text": "Sivs notat"})
    assert second.status_code == 409
    page = second.get_data(as_text=True)
    assert "Koordinators notat" in page
    assert "Sivs notat" in page


def test_a_note_post_without_the_csrf_token_is_refused(world, portal_as):
    care = world.care_team()
    portal = portal_as(care.coordinator)
    path = create_meeting(portal, care)
    form = note_form(portal, path, care.patient.id)
    del form["csrf_token"]
    response = portal.client.post(f"{path}/notes/{care.patient.id}", data={**form, "text": "x"})
    assert response.status_code == 400


def test_actions_system_issues_signing_and_addenda(world, portal_as):
    care = world.care_team()
    portal = portal_as(care.coordinator)
    path = create_meeting(portal, care)
    action = {
        "patient_id": str(care.patient.id),
        "description": "Time hos psykiater innen fredag",
        "responsible_agency_id": str(care.agency.id),
        "assignee_id": str(care.member.id),
        "due_on": "2026-11-27",
    }
    assert portal.post(f"{path}/actions", action, token_from=path).status_code == 302
    issue = {
        "description": "Ambulanse og politi har rutiner som kolliderer",
        "responsible_agency_id": str(care.agency.id),
        "due_on": "2026-12-15",
        "system_issue": "y",
    }
    assert portal.post(f"{path}/actions", issue, token_from=path).status_code == 302
    page = portal.text(path)
    assert "Time hos psykiater innen fredag" in page
    leaders = portal.text(f"/portal/meetings/system-issues?team={care.team.id}")
    assert "rutiner som kolliderer" in leaders
    patient_page = portal.text(f"/portal/patients/{care.patient.id}")
    assert "rutiner som kolliderer" not in patient_page
    assert "Time hos psykiater innen fredag" in patient_page  # the patient's open action
    assert portal.post(f"{path}/sign", token_from=path).status_code == 302
    signed = portal.text(path)
    assert "Låst" in signed
    assert "Lagre notatet" not in signed
    assert portal.post(f"{path}/addenda", {"text": "Tillegg etter møtet"}, token_from=path).status_code == 302
    assert "Tillegg etter møtet" in portal.text(path)


def test_another_teams_meeting_does_not_exist_for_me(world, portal_as):
    care = world.care_team()
    other = world.care_team()
    path = create_meeting(portal_as(other.coordinator), other)
    assert portal_as(care.member).get(path).status_code == 404


def test_a_privacy_officer_sees_no_meetings(world, portal_as):
    care = world.care_team()
    officer = world.staff(care.team, role="privacy_officer", agency=care.agency)
    assert portal_as(officer).get("/portal/meetings/").status_code in (403, 404)
