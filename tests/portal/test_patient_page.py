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
        {
            "what_helps": "rolig stemme",
            "people_to_ask-0-name": "Siv (søster)",
            "people_to_ask-0-phone": "+4799999999",
        },
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


def test_the_patient_page_shows_the_contact_requests_without_their_text(world, app, portal_as):
    from tests.contact_support import ask

    care = world.care_team()
    api = app.test_client()
    text = "klarer ikke mer i kveld"
    first = ask(api, care.patient, {"kind": "chat", "urgency": "crisis", "message": text})
    assert ask(api, care.patient, {"kind": "call_me", "urgency": "talk"}).status_code == 201
    acknowledge = f"/api/v1/staff/contact-requests/{first.json['id']}/acknowledge"
    taken = api.post(acknowledge, headers=care.member.headers)
    assert taken.status_code == 200
    page = portal_as(care.coordinator).text(f"/portal/patients/{care.patient.id}")
    contacts = page.split('id="contacts"', 1)[1].split("</section>", 1)[0]
    assert contacts.count("<tr>") == 3  # the head and two requests, newest first
    assert contacts.index("Ring meg") < contacts.index("Chat")
    assert care.member.staff.display_name in contacts and "etter 0 min" in contacts
    assert "Ingen ennå" in contacts  # the second one: nobody has taken it
    assert text not in contacts


def test_the_plans_phone_numbers_and_the_requests_lead_to_a_call(world, app, portal_as):
    from tests.contact_support import ask

    care = world.care_team()
    api = app.test_client()
    crisis_plan(api, care.patient, people_to_ask=[{"name": "Siv", "phone": "+47 000 00 101"}])
    made = ask(api, care.patient).json
    page = portal_as(care.member).text(f"/portal/patients/{care.patient.id}")
    assert '<a href="tel:+4700000101">+47 000 00 101</a>' in page
    assert f'href="/portal/queue/{made["id"]}"' in page


def test_the_patient_page_links_the_fhir_export_which_downloads_a_bundle(world, portal_as):
    care = world.care_team()
    portal = portal_as(care.member)
    page = portal.get(f"/portal/patients/{care.patient.id}").get_data(as_text=True)
    href = f"/portal/patients/{care.patient.id}/export.fhir"
    assert f'href="{href}"' in page
    assert "Last ned som FHIR" in page
    response = portal.get(href)
    assert response.status_code == 200
    assert response.mimetype == "application/fhir+json"
    assert response.get_json()["resourceType"] == "Bundle"
