"""Monday's coordination meeting (SCENARIOS journey 3) in a real browser, then English."""

from playwright.sync_api import expect

from tests.browser.test_portal_support import portal_catalogues, sign_in

__all__ = ["portal_catalogues"]  # autouse: compiles the message catalogues


def test_a_coordinator_holds_the_meeting_writes_a_note_adds_an_action_and_signs(
    live_server, world, tablet, screenshot
):
    care = world.care_team()
    sign_in(tablet, live_server, care.coordinator)
    tablet.get_by_role("link", name="Samhandlingsmøter").first.click()
    screenshot(tablet, "meetings")
    tablet.get_by_label("Dato for møtet").fill("2026-11-23")
    tablet.get_by_role("button", name="Opprett møtet").click()
    expect(tablet.get_by_role("heading", name=care.patient.name, exact=False)).to_be_visible()

    agenda_item = tablet.locator(f"#p-{care.patient.id}")
    agenda_item.get_by_label("Notat og beslutninger (lagres kryptert)").fill(
        "Kari hadde en tung natt; snakket med Ola. Vi gjennomgår kriseplanen."
    )
    agenda_item.get_by_role("button", name="Lagre notatet").click()
    expect(tablet.get_by_text("Notatet er lagret.")).to_be_visible()

    agenda_item = tablet.locator(f"#p-{care.patient.id}")
    agenda_item.get_by_text("Legg til et tiltak").click()
    agenda_item.get_by_label("Tiltak").fill("DPS: time hos psykiater innen fredag")
    agenda_item.get_by_label("Ansvarlig virksomhet").select_option(str(care.agency.id))
    agenda_item.get_by_label("Frist").fill("2026-11-27")
    agenda_item.get_by_role("button", name="Legg til tiltaket").click()
    expect(tablet.get_by_text("Tiltaket er lagt til.")).to_be_visible()
    expect(tablet.locator(f"#p-{care.patient.id}")).to_contain_text("DPS: time hos psykiater innen fredag")
    screenshot(tablet, "meeting-open")

    tablet.get_by_role("button", name="Signer møtet").click()
    expect(tablet.get_by_text("Møtet er signert og låst.", exact=False)).to_be_visible()
    expect(tablet.get_by_role("button", name="Lagre notatet")).to_have_count(0)
    screenshot(tablet, "meeting-signed")

    tablet.get_by_role("button", name="English").click()
    expect(tablet.get_by_role("button", name="Sign out")).to_be_visible()
    expect(tablet.get_by_role("heading", name="Coordination meeting", exact=False)).to_be_visible()
    assert tablet.locator("html").get_attribute("lang") == "en"
    screenshot(tablet, "meeting-in-english")
