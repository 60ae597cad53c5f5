import pytest


def break_the_glass(world, care, portal_as):
    nurse = world.staff(care.team, agency=world.agency(kind="acute_ward"), name="Per Akutt")
    portal = portal_as(nurse)
    path = f"/portal/patients/{care.patient.id}"
    response = portal.post(
        f"{path}/emergency-access", {"reason": "Pasienten er i akutt krise på legevakten nå"}, token_from=path
    )
    assert response.status_code == 302
    portal.get(path)
    portal.post("/portal/logout", token_from="/portal/")
    return nurse


def test_the_privacy_officer_reviews_an_emergency_access(world, app, portal_as):
    care = world.care_team()
    break_the_glass(world, care, portal_as)
    officer = world.staff(role="privacy_officer", agency=care.agency)
    portal = portal_as(officer)
    queue = portal.text("/portal/audit/emergency-access")
    assert "Per Akutt" in queue
    assert "Pasienten er i akutt krise på legevakten nå" in queue
    assert "patient.overview" in queue
    access_id = queue.split('id="e-')[1].split('"')[0]
    response = portal.post(
        f"/portal/audit/emergency-access/{access_id}/review", token_from="/portal/audit/emergency-access"
    )
    assert response.status_code == 302
    assert "Ingenting å gjennomgå." in portal.text("/portal/audit/emergency-access")
    assert "Per Akutt" in portal.text("/portal/audit/emergency-access?reviewed=1")


def test_the_access_log_is_searched_by_patient(world, portal_as):
    care = world.care_team()
    other = world.care_team()
    member = portal_as(care.member)
    member.get(f"/portal/patients/{care.patient.id}")
    member.post("/portal/logout", token_from="/portal/")
    officer = world.staff(role="privacy_officer", agency=care.agency)
    page = portal_as(officer).text(f"/portal/audit/?patient_id={care.patient.id}")
    form, results = page.split("<table", 1)
    assert "patient.overview" in results
    assert care.member.staff.display_name in results
    assert other.patient.patient.display_name not in results
    # The officer picks people by name; the one searched for stays chosen.
    assert f'<option value="{care.patient.id}" selected>{care.patient.patient.display_name}</option>' in form
    assert other.patient.patient.display_name in form
    assert f"{care.member.staff.display_name} (" in form


def test_a_review_without_the_csrf_token_is_refused(world, portal_as):
    care = world.care_team()
    officer = world.staff(role="privacy_officer", agency=care.agency)
    portal = portal_as(officer)
    assert portal.client.post(f"/portal/audit/emergency-access/{care.patient.id}/review").status_code == 400


@pytest.mark.parametrize("role", ["member", "coordinator", "admin"])
def test_only_the_privacy_officer_reaches_the_audit_pages(world, portal_as, role):
    care = world.care_team()
    login = {"member": care.member, "coordinator": care.coordinator}.get(role) or world.staff(
        role="admin", agency=care.agency
    )
    portal = portal_as(login)
    assert portal.get("/portal/audit/").status_code == 403
    assert portal.get("/portal/audit/emergency-access").status_code == 403


def test_the_privacy_officer_sees_no_clinical_pages(world, portal_as):
    care = world.care_team()
    officer = world.staff(care.team, role="privacy_officer", agency=care.agency)
    portal = portal_as(officer)
    for path in (
        "/portal/queue/",
        "/portal/patients/",
        f"/portal/patients/{care.patient.id}",
        "/portal/handover/",
    ):
        assert portal.get(path).status_code in (403, 404), path
