"""The outcomes page on the demo's story, in Chromium at 390 and 1280 px, in bokmål and English:
the headline the sources report, the team's own rows beside the suppressed aggregate,
numbers written the reader's way, nothing wider than the screen."""

from __future__ import annotations

import re

import pyotp
import pytest
from playwright.sync_api import expect

from muli import demo
from tests.browser.layout import wider_than_screen
from tests.browser.test_portal_support import portal_catalogues

__all__ = ["portal_catalogues"]  # autouse: compiles the message catalogues


@pytest.fixture
def kristin(app):
    from muli.cli import system_ctx
    from muli.extensions import db

    with app.app_context():
        seeded = demo.seed(system_ctx())
        db.session.commit()
        db.session.remove()
    return next(s for s in seeded["staff"] if s["username"] == "kristin")


@pytest.mark.parametrize("width", [390, 1280])
def test_the_outcomes_page_tells_the_story_in_both_languages(
    live_server, browser, kristin, screenshot, width
):
    context = browser.new_context(
        viewport={"width": width, "height": 900}, locale="nb-NO", timezone_id="Europe/Oslo"
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        page.goto(f"{live_server}/portal/login")
        page.get_by_label("Brukernavn").fill("kristin")
        page.get_by_label("Passord").fill(demo.PASSWORD)
        page.get_by_label("Kode fra autentiseringsappen").fill(pyotp.TOTP(kristin["totp_secret"]).now())
        page.get_by_role("button", name="Logg inn").click()
        page.wait_for_url(f"{live_server}/portal/")
        page.goto(f"{live_server}/portal/outcomes/")

        expect(
            page.get_by_role("heading", name="Akuttinnleggelsene gikk ned for 5 av 6 pasienter")
        ).to_be_visible()
        expect(page.get_by_text("Pågående opphold siden")).to_be_visible()  # Mats, in hospital now
        main = page.locator("main").inner_text()
        assert re.findall(r"\d\.\d", main) == []  # 3,2 — never 3.2 in bokmål
        assert re.search(r"\d,\d", main)
        assert not (wide := wider_than_screen(page)), wide
        screenshot(page, f"nb-{width}")

        page.get_by_role("button", name="English").click()
        expect(page.get_by_role("heading", name="Acute admissions fell for 5 of 6 patients")).to_be_visible()
        main = page.locator("main").inner_text()
        assert re.findall(r"\d,\d", main) == []
        assert not (wide := wider_than_screen(page)), wide
        screenshot(page, f"en-{width}")
    finally:
        context.close()
