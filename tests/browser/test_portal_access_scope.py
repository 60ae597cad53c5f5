"""Break-the-glass and the police liaison's list in a real browser at 390 px (a phone held
by a nurse in the emergency room), with screenshots."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import _context
from tests.browser.layout import wider_than_screen
from tests.browser.test_portal_support import contact_request, portal_catalogues, sign_in

__all__ = ["portal_catalogues"]  # autouse: compiles the message catalogues

NARROW = {"width": 390, "height": 844}


@pytest.fixture
def page(browser):
    """A phone-sized page at 390 px (a fixture, so a failure leaves its screenshot)."""
    context = _context(browser, NARROW, is_mobile=True, has_touch=True)
    yield context.new_page()
    context.close()


def _fits(page) -> None:
    """Nothing wider than the screen: no sideways scrolling."""
    assert not (wide := wider_than_screen(page)), wide


def test_break_the_glass_asks_what_is_needed_at_390_px(live_server, world, page, screenshot):
    care = world.care_team()
    contact_request(live_server, care.patient, "får ikke sove")
    nurse = world.staff(care.team, agency=world.agency(kind="acute_ward"), name="Per Akutt")
    sign_in(page, live_server, nurse)
    page.goto(f"{live_server}/portal/patients/{care.patient.id}")
    expect(
        page.get_by_role("heading", name="Pasienten har ikke gitt din virksomhet samtykke")
    ).to_be_visible()
    expect(page.get_by_label("Kriseplan")).to_be_checked()
    expect(page.get_by_label("Kontakthistorikk")).not_to_be_checked()
    expect(page.get_by_label("Delt dagbok")).not_to_be_checked()
    _fits(page)
    page.get_by_label("Hvorfor trenger du tilgang nå?", exact=False).fill(
        "Pasienten er i akutt krise på legevakten nå"
    )
    page.get_by_label("Kontakthistorikk").check()
    screenshot(page, "locked-form")
    page.get_by_role("button", name="Åpne nødtilgang").click()
    expect(page.get_by_text("Nødtilgang til kriseplan, kontakthistorikk i 30 minutter")).to_be_visible()
    contacts = page.locator("#contacts")
    expect(contacts.get_by_role("row")).to_have_count(2)  # the head and the request
    expect(page.locator("#diary")).to_contain_text("Ikke delt med din virksomhet")
    _fits(page)
    screenshot(page, "opened")


def test_the_police_liaisons_list_has_no_figures_at_390_px(live_server, world, page, screenshot):
    care = world.care_team()
    police = world.agency(kind="police")
    officer = world.staff(care.team, agency=police, name="Politikontakt")
    patient = world.patient(
        care.team, consents={care.agency: "all", police: ["crisis_plan"]}, name="Ola Liste"
    )
    contact_request(live_server, patient, "ring meg")
    sign_in(page, live_server, officer)
    page.goto(f"{live_server}/portal/patients/")
    row = page.get_by_role("row").filter(has_text="Ola Liste")
    expect(row).to_be_visible()
    expect(row).not_to_contain_text("kontaktforespørsler")
    screenshot(page, "police-list")
