"""Every portal page in a real browser at tablet width, with a screenshot of each."""

import re
import uuid
from datetime import date

import requests
from playwright.sync_api import expect

from muli.trust.national_id import synthetic_numbers
from tests.browser.test_portal_support import contact_request, portal_catalogues, sign_in, sign_out

__all__ = ["portal_catalogues"]  # autouse: compiles the message catalogues


def _api(live_server, method, path, login, **kwargs):
    response = requests.request(
        method, f"{live_server}/api/v1{path}", headers=login.headers, timeout=30, **kwargs
    )
    assert response.status_code < 300, response.text
    return response


def _kari(live_server, care):
    patient = care.patient
    etag = _api(live_server, "GET", "/me/crisis-plan", patient).headers["ETag"]
    plan = {
        "warning_signs": [{"sign": "får ikke sove", "action": "ring Siv"}],
        "coping_strategies": ["gå en tur rundt vannet"],
        "people_to_ask": [{"name": "Siv (søster)", "phone": "+4799999999"}],
        "how_i_want_to_be_met": "Snakk rolig. Ikke si at jeg må legges inn med en gang.",
        "what_helps": "At noen kjenner historien min.",
    }
    response = requests.put(
        f"{live_server}/api/v1/me/crisis-plan",
        json=plan,
        headers={**patient.headers, "If-Match": etag},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    for mood, sleep, text in ((3, 4, "tung dag"), (5, 6, "litt bedre"), (7, 8, "god tur rundt vannet")):
        _api(
            live_server,
            "POST",
            "/me/diary",
            patient,
            json={"text": text, "mood": mood, "sleep_hours": sleep, "shared_with_team": True},
        )
    for admitted in ("2026-01-10", "2026-04-02", "2026-07-19"):
        _api(
            live_server,
            "POST",
            f"/staff/patients/{patient.id}/admissions",
            care.member,
            json={"admitted_on": admitted, "facility": "PAM", "involuntary": admitted == "2026-04-02"},
        )


def test_each_page_renders_for_the_coordinator_at_tablet_width(live_server, world, tablet, screenshot):
    care = world.care_team()
    _kari(live_server, care)
    contact_request(live_server, care.patient, "får ikke sove")
    tablet.goto(f"{live_server}/portal/login")
    screenshot(tablet, "login")
    sign_in(tablet, live_server, care.coordinator)

    tablet.get_by_role("link", name="Pasienter").first.click()
    expect(tablet.get_by_role("link", name=care.patient.name)).to_be_visible()
    screenshot(tablet, "patients")
    tablet.get_by_role("link", name=care.patient.name).click()
    expect(tablet.get_by_text("At noen kjenner historien min.").first).to_be_visible()
    expect(tablet.locator("svg.chart")).to_have_count(2)
    screenshot(tablet, "patient")

    tablet.goto(f"{live_server}/portal/patients/enrol")
    tablet.get_by_label("Navnet pasienten vil bli kalt").fill("Nora")
    nid = next(synthetic_numbers(date(1977, 5, 17), start=400 + uuid.uuid4().int % 400))
    tablet.get_by_label("Fødselsnummer (11 sifre)").fill(nid)
    tablet.locator(f'input[name="consent-{care.agency.id}"][value="crisis_plan"]').check()
    tablet.get_by_label("Teamet vurderer at pasienten oppfyller kriteriene for programmet").check()
    screenshot(tablet, "enrol")
    tablet.get_by_role("button", name="Skriv inn og lag aktiveringskode").click()
    code = tablet.get_by_test_id("activation-code").inner_text()
    assert re.fullmatch(r"[A-Z0-9]{5}-[A-Z0-9]{5}", code)
    screenshot(tablet, "enrolled-letter")

    for name, label in (("handover", "Morgenoverlevering"), ("rota", "Vaktplan"), ("outcomes", "Resultater")):
        tablet.get_by_role("link", name=label).first.click()
        expect(tablet.get_by_role("heading", level=1)).to_be_visible()
        screenshot(tablet, name)
    sign_out(tablet)


def test_the_privacy_officer_reviews_emergency_access_in_the_browser(live_server, world, tablet, screenshot):
    care = world.care_team()
    nurse = world.staff(care.team, agency=world.agency(kind="acute_ward"), name="Per Akutt")
    _api(
        live_server,
        "POST",
        f"/staff/patients/{care.patient.id}/emergency-access",
        nurse,
        json={"reason": "Kari er på legevakten og vi trenger kriseplanen nå"},
    )
    officer = world.staff(role="privacy_officer", agency=care.agency, name="Lise Personvern")
    sign_in(tablet, live_server, officer)
    tablet.get_by_role("link", name="Nødtilganger til gjennomgang").first.click()
    expect(tablet.get_by_text("Kari er på legevakten og vi trenger kriseplanen nå")).to_be_visible()
    screenshot(tablet, "emergency-review")
    tablet.get_by_label("Berettiget", exact=True).check()
    tablet.get_by_role("button", name="Lagre gjennomgangen").click()
    expect(tablet.get_by_text("Gjennomgangen er lagret: Berettiget.")).to_be_visible()
    tablet.get_by_role("link", name="Tilgangslogg").first.click()
    expect(tablet.get_by_text("Åpnet journalen i en nødsituasjon, uten samtykke").first).to_be_visible()
    screenshot(tablet, "access-log")


def test_the_privacy_officer_sees_failed_logins_and_throttling(live_server, world, tablet, screenshot):
    care = world.care_team()
    wrong = {"username": care.member.account.username, "password": "feil passord", "totp": "000000"}
    answers = [
        requests.post(f"{live_server}/api/v1/auth/token", json=wrong, timeout=30).status_code
        for _ in range(7)
    ]
    assert answers == [401] * 6 + [429]
    officer = world.staff(role="privacy_officer", agency=care.agency, name="Lise Personvern")
    sign_in(tablet, live_server, officer)
    tablet.get_by_role("link", name="Tilgangslogg").first.click()
    tablet.get_by_role("link", name="Mislykkede innlogginger og struping").click()
    expect(tablet.get_by_role("heading", name="Mislykkede innlogginger og struping")).to_be_visible()
    row = tablet.get_by_role("row").filter(has_text=care.member.staff.display_name)
    expect(row).to_contain_text("127.0.0.0/24")
    expect(row.get_by_role("cell")).to_have_text(
        [re.compile(".*"), re.compile(".*"), "6", "1", "0", re.compile(".*"), re.compile(".*")]
    )
    screenshot(tablet, "login-failures")


def test_the_portal_is_usable_from_the_keyboard(live_server, world, tablet):
    care = world.care_team()
    tablet.goto(f"{live_server}/portal/login")
    expect(tablet.get_by_label("Brukernavn")).to_be_focused()  # autofocus: type straight away
    tablet.keyboard.press("Tab")
    expect(tablet.get_by_label("Passord")).to_be_focused()
    sign_in(tablet, live_server, care.member)
    tablet.keyboard.press("Tab")
    expect(tablet.locator(".skip")).to_be_focused()
    tablet.keyboard.press("Enter")
    tablet.keyboard.press("Tab")
    assert tablet.evaluate("document.querySelector('main').contains(document.activeElement)")
    tablet.keyboard.press("Enter")
    expect(tablet.get_by_role("heading", level=1)).to_be_visible()
