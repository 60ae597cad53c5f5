"""The crisis plan form in the portal edits lists as lists, with and without JavaScript, and
the meeting agenda shows its flags in words (issue 16, item 4). Norwegian, 1280 and 768 px."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

from tests.api.test_agenda_flags import _action, _meeting, _reviewed
from tests.browser.layout import wider_than_screen
from tests.browser.test_portal_support import portal_catalogues, sign_in
from tests.portal.helpers import crisis_plan

__all__ = ["portal_catalogues"]  # autouse: compiles the message catalogues

DESKTOP = {"width": 1280, "height": 900}
TABLET = {"width": 768, "height": 1024}


def _page(browser, viewport, *, javascript: bool = True):
    context = browser.new_context(
        viewport=viewport, locale="nb-NO", timezone_id="Europe/Oslo", java_script_enabled=javascript
    )
    context.set_default_timeout(20_000)
    return context, context.new_page()


@pytest.fixture
def desktop(browser):
    context, page = _page(browser, DESKTOP)
    yield page
    context.close()


@pytest.fixture
def tablet_without_js(browser):
    context, page = _page(browser, TABLET, javascript=False)
    yield page
    context.close()


def _open_form(page, live_server, care):
    sign_in(page, live_server, care.member)
    page.goto(f"{live_server}/portal/patients/{care.patient.id}")
    page.get_by_text("Foreslå en ny versjon").click()
    return page.locator("#propose-form")


def _proposal(client, care) -> dict:
    items = client.get("/api/v1/me/crisis-plan/versions", headers=care.patient.headers).get_json()["items"]
    proposed = [v for v in items if v["status"] == "proposed"]
    assert len(proposed) == 1, items
    return proposed[0]["sections"]


def test_rows_are_added_moved_and_removed_in_place_with_javascript(
    live_server, world, client, desktop, screenshot
):
    care = world.care_team()
    crisis_plan(client, care.patient, coping_strategies=["gå en tur", "høre på musikk"])
    form = _open_form(desktop, live_server, care)
    posts = []
    desktop.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    coping = form.locator("#ed-coping_strategies")
    expect(coping.locator("li.row")).to_have_count(3)  # two items and an empty row
    coping.get_by_role("button", name="Legg til rad").click()
    expect(coping.locator("li.row")).to_have_count(4)
    new_row = coping.get_by_label("Det jeg kan gjøre selv, punkt 4")
    expect(new_row).to_be_focused()
    new_row.fill("ta en dusj; varm")
    coping.get_by_role("button", name="Opp (punkt 4)").click()
    coping.get_by_role("button", name="Fjern (punkt 1)").click()
    expect(coping.locator("li.row")).to_have_count(3)
    values = [coping.get_by_label(f"Det jeg kan gjøre selv, punkt {i}").input_value() for i in (1, 2, 3)]
    assert values == ["høre på musikk", "ta en dusj; varm", ""]
    signs = form.locator("#ed-warning_signs")
    signs.get_by_label("Varselsignal (punkt 1)").fill("får ikke sove")
    signs.get_by_label("Det gjør jeg da (punkt 1)").fill("ringer Siv; eller legevakten")
    assert posts == [], "the row buttons work in place, without a round trip"
    screenshot(desktop, "plan-form-1280")
    form.get_by_role("button", name="Foreslå denne versjonen").click()
    expect(desktop.get_by_text("er foreslått", exact=False)).to_be_visible()
    sections = _proposal(client, care)
    assert sections["coping_strategies"] == ["høre på musikk", "ta en dusj; varm"]
    assert sections["warning_signs"] == [{"sign": "får ikke sove", "action": "ringer Siv; eller legevakten"}]


def test_rows_are_added_and_moved_without_javascript(
    live_server, world, client, tablet_without_js, screenshot
):
    page = tablet_without_js
    care = world.care_team()
    crisis_plan(client, care.patient, people_to_ask=[{"name": "Siv (søster)", "phone": "+4799999999"}])
    form = _open_form(page, live_server, care)
    people = form.locator("#ed-people_to_ask")
    people.get_by_label("Navn (punkt 2)").fill("Ola (nabo)")
    people.get_by_label("Telefon (punkt 2)").fill("+4791111111")
    people.get_by_role("button", name="Legg til rad").click()  # a round trip: the page comes back
    people = page.locator("#ed-people_to_ask")
    expect(people.locator("li.row")).to_have_count(3)
    assert people.get_by_label("Navn (punkt 2)").input_value() == "Ola (nabo)", "what was typed is kept"
    people.get_by_role("button", name="Opp (punkt 2)").click()
    people = page.locator("#ed-people_to_ask")
    assert people.get_by_label("Navn (punkt 1)").input_value() == "Ola (nabo)"
    screenshot(page, "plan-form-768-no-js")
    assert (
        client.get("/api/v1/me/crisis-plan/versions", headers=care.patient.headers).get_json()["items"][0][
            "status"
        ]
        == "current"
    ), "moving rows proposes nothing"
    page.get_by_role("button", name="Foreslå denne versjonen").click()
    expect(page.get_by_text("er foreslått", exact=False)).to_be_visible()
    assert _proposal(client, care)["people_to_ask"] == [
        {"name": "Ola (nabo)", "phone": "+4791111111"},
        {"name": "Siv (søster)", "phone": "+4799999999"},
    ]


def test_the_agenda_flags_read_in_words_at_desktop_and_tablet_width(
    live_server, world, client, browser, screenshot
):
    care = world.care_team()
    held_on = date.today()
    anna = world.patient(care.team, name="Anna", consents={care.agency: "all"})
    _reviewed(client, care.patient, held_on - timedelta(days=10))
    _reviewed(client, anna, held_on - timedelta(days=200))
    earlier = _meeting(client, care, held_on - timedelta(days=14))
    _action(client, care, earlier, anna, held_on - timedelta(days=7))
    meeting_id = _meeting(client, care, held_on)
    context, page = _page(browser, DESKTOP)
    try:
        sign_in(page, live_server, care.member)  # once: a TOTP code is good for one sign-in
        for viewport, name in ((DESKTOP, "1280"), (TABLET, "768")):
            page.set_viewport_size(viewport)
            page.goto(f"{live_server}/portal/meetings/{meeting_id}")
            flags = page.locator(f"#p-{anna.id} ul.flags")
            expect(flags).to_contain_text("1 forfalt tiltak, frist")
            expect(flags).to_contain_text("Kriseplanen er ikke gjennomgått med teamet på over 3 måneder")
            assert page.locator(f"#p-{care.patient.id} ul.flags").count() == 0
            expect(page.locator("[aria-labelledby=co-h] li").first).to_contain_text("Forfalt")
            headings = page.locator("section.panel h3").all_inner_texts()
            assert headings[0].startswith("1. Anna"), headings
            assert not (wide := wider_than_screen(page)), wide
            screenshot(page, f"agenda-{name}")
    finally:
        context.close()
