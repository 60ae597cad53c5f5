import html

import pytest
from sqlalchemy import select

from muli.extensions import db
from muli.models.audit import AuditEvent

QUEUE = "/portal/audit/emergency-access"


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
    officer = world.staff(role="privacy_officer", agency=care.agency, name="Olga Ombud")
    portal = portal_as(officer)
    queue = portal.text(QUEUE)
    assert "Per Akutt" in queue
    assert "Pasienten er i akutt krise på legevakten nå" in queue
    assert "Åpnet oversikten over pasienten" in queue  # plain words, not patient.overview
    assert "patient.overview" not in queue
    assert "<strong>Åpnet:</strong> Kriseplan</p>" in queue  # what the window opened (its scopes)
    access_id = queue.split('id="e-')[1].split('"')[0]
    response = portal.post(
        f"{QUEUE}/{access_id}/review",
        {"verdict": "justified", "comment": "Legevakten bekreftet krisen"},
        token_from=QUEUE,
    )
    assert response.status_code == 302
    assert "Ingenting å gjennomgå." in portal.text(QUEUE)
    reviewed = portal.text(f"{QUEUE}?reviewed=1")
    assert "Per Akutt" in reviewed
    assert "Berettiget" in reviewed and "Legevakten bekreftet krisen" in reviewed
    assert officer.staff.display_name in reviewed


def glass_broken_and_officer(world, portal_as):
    care = world.care_team()
    break_the_glass(world, care, portal_as)
    officer = world.staff(role="privacy_officer", agency=care.agency, name="Olga Ombud")
    portal = portal_as(officer)
    access_id = portal.text(QUEUE).split('id="e-')[1].split('"')[0]
    return care, portal, access_id


def test_a_review_needs_a_verdict(world, portal_as):
    _care, portal, access_id = glass_broken_and_officer(world, portal_as)
    response = portal.post(f"{QUEUE}/{access_id}/review", {"comment": "uten vurdering"}, token_from=QUEUE)
    assert response.status_code == 302
    queue = portal.text(QUEUE)
    assert "Velg en vurdering." in queue
    assert f'id="e-{access_id}"' in queue and "uten vurdering" not in queue


def test_an_access_needing_follow_up_stays_and_is_reviewed_again_with_its_history(world, portal_as):
    _care, portal, access_id = glass_broken_and_officer(world, portal_as)
    portal.post(
        f"{QUEUE}/{access_id}/review", {"verdict": "follow_up", "comment": "Spør Per"}, token_from=QUEUE
    )
    queue = portal.text(QUEUE)
    assert f'id="e-{access_id}"' in queue and "Må følges opp" in queue and "Spør Per" in queue
    assert "Gjennomgå på nytt" in queue
    portal.post(
        f"{QUEUE}/{access_id}/review",
        {"verdict": "not_justified", "comment": "Ingen krise"},
        token_from=QUEUE,
    )
    assert "Ingenting å gjennomgå." in portal.text(QUEUE)
    reviewed = portal.text(f"{QUEUE}?reviewed=1")
    assert reviewed.index("Spør Per") < reviewed.index("Ingen krise")  # oldest first, both kept
    assert "Ikke berettiget" in reviewed


def test_the_access_log_speaks_plain_words_in_either_language(world, portal_as, app):
    care = world.care_team()
    member = portal_as(care.member)
    member.get(f"/portal/patients/{care.patient.id}")
    member.post("/portal/logout", token_from="/portal/")
    officer = world.staff(role="privacy_officer", agency=care.agency)
    portal = portal_as(officer)
    page = portal.text(f"/portal/audit/?patient_id={care.patient.id}")
    assert "Åpnet oversikten over pasienten" in page
    assert "Teammedlem" in page  # the role in words
    english = portal.text(f"/portal/audit/?patient_id={care.patient.id}&lang=en")
    assert "Opened the patient&#39;s overview" in english or "Opened the patient's overview" in english


def test_the_access_log_is_filtered_by_agency_kind_and_security_events(world, portal_as):
    care = world.care_team()
    nurse = break_the_glass(world, care, portal_as)  # its events are emergency ones
    member = portal_as(care.member)
    member.get(f"/portal/patients/{care.patient.id}")
    member.post("/portal/logout", token_from="/portal/")
    officer = world.staff(role="privacy_officer", agency=care.agency)
    portal = portal_as(officer)

    def results(query: str) -> str:
        return html.unescape(portal.text(f"/portal/audit/?{query}").split("<table", 1)[1])

    by_agency = results(f"agency_id={nurse.staff.agency_id}&patient_id={care.patient.id}")
    assert "Per Akutt" in by_agency and care.member.staff.display_name not in by_agency
    security = results("security=1")
    assert "Per Akutt" in security and care.member.staff.display_name not in security
    assert "Åpnet journalen i en nødsituasjon, uten samtykke" in security
    reads = results(f"kind=read&patient_id={care.patient.id}")
    assert care.member.staff.display_name in reads and "Søkte i tilgangsloggen" not in reads
    form = portal.text("/portal/audit/?kind=read&security=1")
    assert '<option value="read" selected>' in form and 'name="security" value="1" checked' in form


def test_the_privacy_officer_exports_a_patients_access_log_as_pdf(world, portal_as, app):
    care = world.care_team()
    officer = world.staff(role="privacy_officer", agency=care.agency)
    portal = portal_as(officer)
    page = portal.text(f"/portal/audit/?patient_id={care.patient.id}&from=2026-01-01")
    href = html.unescape(page.split('id="export-pdf" href="')[1].split('"')[0])
    assert href == f"/portal/audit/patients/{care.patient.id}/access-log.pdf?from=2026-01-01"
    response = portal.get(href)
    assert (response.status_code, response.mimetype, response.data[:5]) == (200, "application/pdf", b"%PDF-")
    with app.app_context():
        exported = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "audit.export_access_log")
        ).all()
    assert [(e.patient_id, e.actor_name) for e in exported] == [(care.patient.id, officer.staff.display_name)]


def test_the_export_is_for_the_privacy_officer_only(world, portal_as):
    care = world.care_team()
    portal = portal_as(care.coordinator)
    assert portal.get(f"/portal/audit/patients/{care.patient.id}/access-log.pdf").status_code == 403


def test_the_access_log_is_searched_by_patient(world, portal_as):
    care = world.care_team()
    other = world.care_team()
    member = portal_as(care.member)
    member.get(f"/portal/patients/{care.patient.id}")
    member.post("/portal/logout", token_from="/portal/")
    officer = world.staff(role="privacy_officer", agency=care.agency)
    page = portal_as(officer).text(f"/portal/audit/?patient_id={care.patient.id}")
    form, results = page.split("<table", 1)
    assert "Åpnet oversikten over pasienten" in results
    assert care.member.staff.display_name in results
    assert other.patient.name not in results
    # The officer picks people by name; the one searched for stays chosen.
    assert f'<option value="{care.patient.id}" selected>{care.patient.name}</option>' in form
    assert other.patient.name in form
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
