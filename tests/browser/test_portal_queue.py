"""The on-call nurse's night (SCENARIOS journey 2) in a real browser on a tablet."""

from playwright.sync_api import expect

from tests.browser.test_portal_support import contact_request, portal_catalogues, sign_in

__all__ = ["portal_catalogues"]  # autouse: compiles the message catalogues


def test_a_request_made_through_the_api_appears_without_reload_and_is_taken_and_closed(
    live_server, world, tablet, screenshot
):
    care = world.care_team()
    sign_in(tablet, live_server, care.member)
    screenshot(tablet, "home")
    tablet.get_by_role("link", name="Vaktkø").first.click()
    expect(tablet.get_by_text("Ingen åpne forespørsler.")).to_be_visible()
    tablet.get_by_role("button", name="Slå på lydvarsel").click()
    tablet.evaluate("window.__loaded = true")  # gone if the page reloads

    made = contact_request(live_server, care.patient, "får ikke sove, stemmene er sterke")

    card = tablet.locator(f"#r-{made['id']}")
    expect(card).to_be_visible(timeout=30_000)
    expect(card).to_contain_text("får ikke sove, stemmene er sterke")
    expect(tablet.locator("#new-banner")).to_be_visible()
    assert tablet.evaluate("window.__loaded") is True, "the page reloaded"
    assert tablet.evaluate("window.muliCues") >= 1
    expect(card).to_contain_text(care.member.staff.display_name)  # the trusted contact
    screenshot(tablet, "queue-new-request")

    card.get_by_role("button", name="Ta denne forespørselen").click()
    expect(tablet.get_by_text("Du har tatt forespørselen.")).to_be_visible()
    card = tablet.locator(f"#r-{made['id']}")
    expect(card).to_contain_text("Tatt av")
    card.get_by_label("Utfall").select_option("talked")
    card.get_by_label("Notat til teamet (valgfritt)").fill("snakket, avtalt ny kontakt i morgen")
    screenshot(tablet, "queue-acknowledged")
    card.get_by_role("button", name="Avslutt forespørselen").click()
    expect(tablet.get_by_text("Forespørselen er avsluttet.")).to_be_visible()
    expect(tablet.locator("table")).to_contain_text("Snakket med pasienten")
    screenshot(tablet, "queue-closed")
