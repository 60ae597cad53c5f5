from tests.portal.helpers import crisis_plan, diary_entry


def test_the_patient_page_shows_the_plan_the_shared_diary_and_a_chart(world, app, portal_as):
    care = world.care_team()
    api = app.test_client()
    crisis_plan(
        api, care.patient, what_helps="at noen kjenner historien min", warning_signs=[{"sign": "søvnløs"}]
    )
    diary_entry(api, care.patient, "en god dag", 7, 8)
    diary_entry(api, care.patient, "bare for meg", 2, 3, shared=False)
    page = portal_as(care.member).text(f"/portal/patients/{care.patient.id}")
    assert "at noen kjenner historien min" in page
    assert "en god dag" in page
    assert "bare for meg" not in page
    assert "<svg" in page


def test_a_member_proposes_a_crisis_plan_version(world, app, portal_as):
    care = world.care_team()
    portal = portal_as(care.member)
    path = f"/portal/patients/{care.patient.id}"
    response = portal.post(
        f"{path}/crisis-plan/proposals",
        {"what_helps": "rolig stemme", "people_to_ask": "Siv (søster) ; +4799999999"},
        token_from=path,
    )
    assert response.status_code == 302
    page = portal.text(path)
    assert "venter på pasienten" in page
    versions = app.test_client().get("/api/v1/me/crisis-plan/versions", headers=care.patient.headers)
    item = versions.get_json()["items"][0]
    assert item["sections"]["people_to_ask"] == [{"name": "Siv (søster)", "phone": "+4799999999"}]


def test_the_crisis_plan_prints_as_pdf(world, portal_as):
    care = world.care_team()
    response = portal_as(care.member).get(f"/portal/patients/{care.patient.id}/crisis-plan.pdf")
    assert response.status_code == 200
    assert response.data.startswith(b"%PDF")


def test_an_admission_is_recorded_and_shown_on_the_timeline(world, portal_as):
    care = world.care_team()
    portal = portal_as(care.member)
    path = f"/portal/patients/{care.patient.id}"
    response = portal.post(
        f"{path}/admissions", {"admitted_on": "2026-01-05", "facility": "PAM"}, token_from=path
    )
    assert response.status_code == 302
    assert "Innleggelser" in portal.text(path)
    assert "<circle" in portal.text(path)


def test_without_consent_the_page_offers_emergency_access_with_a_reason(world, portal_as):
    care = world.care_team()
    outsider_agency = world.agency(kind="acute_ward")
    nurse = world.staff(care.team, agency=outsider_agency)
    portal = portal_as(nurse)
    path = f"/portal/patients/{care.patient.id}"
    locked = portal.get(path)
    assert locked.status_code == 403
    assert "Åpne nødtilgang" in locked.get_data(as_text=True)
    short = portal.post(f"{path}/emergency-access", {"reason": "kort"}, token_from=path)
    assert short.status_code == 403
    assert 'id="reason-error"' in short.get_data(as_text=True)
    response = portal.post(
        f"{path}/emergency-access", {"reason": "Pasienten er i akutt krise på legevakten nå"}, token_from=path
    )
    assert response.status_code == 302
    page = portal.get(path)
    assert page.status_code == 200
    assert "Nødtilgang til" in page.get_data(as_text=True)


def test_another_teams_patient_does_not_exist_for_me(world, portal_as):
    care = world.care_team()
    other = world.care_team()
    assert portal_as(care.member).get(f"/portal/patients/{other.patient.id}").status_code == 404
