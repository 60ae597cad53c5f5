"""The privacy officer's pages in a real browser, on a phone (390 px) and a desk (1280 px):
filter the access log, find the security events, give a verdict; an address stays on one line."""

import pytest
import requests
from playwright.sync_api import expect

from tests.browser.layout import wider_than_screen
from tests.browser.test_portal_support import portal_catalogues, sign_in

__all__ = ["portal_catalogues"]  # autouse: compiles the message catalogues

WIDTHS = {"phone": {"width": 390, "height": 844}, "desk": {"width": 1280, "height": 900}}
REASON = "Kari er på legevakten og vi trenger kriseplanen nå"


@pytest.fixture(params=sorted(WIDTHS))
def page(request, browser):
    context = browser.new_context(
        viewport=WIDTHS[request.param],
        locale="nb-NO",
        timezone_id="Europe/Oslo",
        is_mobile=request.param == "phone",
        has_touch=request.param == "phone",
    )
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def _get(live_server, path, login):
    response = requests.get(f"{live_server}/api/v1{path}", headers=login.headers, timeout=30)
    assert response.status_code == 200, response.text
    return response


def _scene(live_server, world):
    """A team member reads Kari's plan; a nurse from the acute ward breaks the glass."""
    care = world.care_team()
    _get(live_server, f"/staff/patients/{care.patient.id}/crisis-plan", care.member)
    nurse = world.staff(
        care.team, agency=world.agency(name="Legevakten", kind="acute_ward"), name="Per Akutt"
    )
    response = requests.post(
        f"{live_server}/api/v1/staff/patients/{care.patient.id}/emergency-access",
        json={"reason": REASON},
        headers=nurse.headers,
        timeout=30,
    )
    assert response.status_code == 201, response.text
    _get(live_server, f"/staff/patients/{care.patient.id}", nurse)
    officer = world.staff(role="privacy_officer", agency=care.agency, name="Lise Personvern")
    return care, nurse, officer


def _one_line(page, text: str) -> int:
    """How many lines the first text node holding `text` is laid out on."""
    return page.evaluate(
        """(text) => {
            const walker = document.createTreeWalker(document.querySelector('main'), NodeFilter.SHOW_TEXT);
            while (walker.nextNode()) {
                const node = walker.currentNode;
                const at = node.data.indexOf(text);
                if (at < 0) continue;
                const range = document.createRange();
                range.setStart(node, at);
                range.setEnd(node, at + text.length);
                const tops = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
                return tops.size;
            }
            return -1;
        }""",
        text,
    )


def test_the_privacy_officer_filters_the_log_and_finds_security_events(live_server, world, page, screenshot):
    care, _nurse, officer = _scene(live_server, world)
    sign_in(page, live_server, officer)
    page.goto(f"{live_server}/portal/audit/")
    expect(page.get_by_role("heading", name="Tilgangslogg", level=1)).to_be_visible()
    # The address the reads came from stays on one line, at any width.
    expect(page.get_by_text("127.0.0.1").first).to_be_visible()
    assert _one_line(page, "127.0.0.1") == 1
    screenshot(page, "log")

    page.get_by_label("Pasient", exact=True).select_option(label=care.patient.name)
    page.get_by_label("Type").select_option(label="Lesing av pasientens opplysninger")
    page.get_by_role("button", name="Søk").click()
    table = page.locator("table.log")
    expect(table).to_contain_text("Leste kriseplanen")
    expect(table).to_contain_text(care.member.staff.display_name)
    expect(table).not_to_contain_text("Søkte i tilgangsloggen")
    expect(page.get_by_role("link", name="Last ned som PDF")).to_be_visible()
    screenshot(page, "log-filtered")

    page.get_by_role("link", name="Sikkerhetshendelser").click()
    expect(table).to_contain_text("Åpnet journalen i en nødsituasjon, uten samtykke")
    expect(table).to_contain_text("Per Akutt")
    expect(table).not_to_contain_text(care.member.staff.display_name)
    expect(page.get_by_label("Bare sikkerhetshendelser", exact=False)).to_be_checked()

    page.get_by_label("Virksomhet").select_option(label="Legevakten")
    page.get_by_role("button", name="Søk").click()
    expect(table.locator("tbody tr").first).to_contain_text("Per Akutt")
    expect(table).not_to_contain_text("Lise Personvern")
    screenshot(page, "log-security")
    # No page is wider than the screen.
    assert not (wide := wider_than_screen(page)), wide


def test_the_privacy_officer_gives_a_verdict_and_reviews_again(live_server, world, page, screenshot):
    _care, _nurse, officer = _scene(live_server, world)
    sign_in(page, live_server, officer)
    page.get_by_role("link", name="Nødtilganger til gjennomgang").first.click()
    card = page.locator("article.emergency").filter(has_text="Per Akutt")
    expect(card).to_contain_text(REASON)
    card.get_by_text("Hva som ble gjort i tidsrommet", exact=False).click()
    expect(card).to_contain_text("Åpnet oversikten over pasienten")
    screenshot(page, "queue")

    card.get_by_label("Må følges opp").check()
    card.get_by_label("Kommentar (valgfritt)").fill("Spør legevakten om krisen var meldt")
    card.get_by_role("button", name="Lagre gjennomgangen").click()
    expect(page.get_by_text("Gjennomgangen er lagret: Må følges opp.")).to_be_visible()
    card = page.locator("article.emergency").filter(has_text="Per Akutt")  # still in the queue
    expect(card.locator("ol.reviews")).to_contain_text("Spør legevakten om krisen var meldt")
    expect(card.locator("ol.reviews")).to_contain_text("Lise Personvern")

    card.get_by_label("Berettiget", exact=True).check()
    card.get_by_role("button", name="Lagre gjennomgangen").click()
    expect(page.get_by_text("Ingenting å gjennomgå.")).to_be_visible()
    page.get_by_role("link", name="Vis de som er gjennomgått").click()
    reviews = page.locator("article.emergency").filter(has_text="Per Akutt").locator("ol.reviews li")
    expect(reviews).to_have_count(2)
    expect(reviews.nth(0)).to_contain_text("Må følges opp")
    expect(reviews.nth(1)).to_contain_text("Berettiget")
    screenshot(page, "reviewed")
    assert not (wide := wider_than_screen(page)), wide
