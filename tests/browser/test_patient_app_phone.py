"""Issue 14 on a real phone screen: the plan stays on the phone when the session ends, a
number to call back on, "Ola ringer deg", and a layout that fits 320-390 px.

Screenshots at 390 px in Norwegian go to /tmp/muli-phone-screens/ (not the repository)."""

from __future__ import annotations

import itertools
import re
import tempfile
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import update

from muli.cli import system_ctx
from muli.extensions import db
from muli.models.accounts import Account
from muli.models.people import Team
from muli.trust import accounts, sessions
from tests.browser.layout import wider_than_screen
from tests.browser.test_patient_app_support import (
    activate,
    enrol,
    on_call_tonight,
    put_crisis_plan,
    token,
    wait_for_worker,
    wait_until,
)

SHOTS = Path(tempfile.gettempdir()) / "muli-phone-screens"
IPHONE_12 = {"width": 390, "height": 844}
SMALLEST = {"width": 320, "height": 568}


def shot(page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=False)


def _account(world, kari) -> Account:
    return world.account_by_username(kari.username)


def end_the_session_on_the_server(app, world, kari) -> None:
    """A forced end: every login of the account ends, its access tokens with it, at once
    (even one the app fetched in this very second: tokens belong to a login, issue 15)."""
    account = _account(world, kari)
    with app.app_context():
        ctx = system_ctx()
        sessions.end_all_sessions(ctx, ctx.session.get(Account, account.id), "ended")
        db.session.commit()


def end_the_account(app, world, kari) -> None:
    account = _account(world, kari)
    with app.app_context():
        ctx = system_ctx()
        accounts.disable_account(ctx, ctx.session.get(Account, account.id))
        db.session.commit()


def give_the_team_numbers(app, kari) -> None:
    with app.app_context():
        db.session.execute(
            update(Team)
            .where(Team.id == kari.team.id)
            .values(phone="+4700000001", on_call_phone="+4700000002")
        )
        db.session.commit()


def _kari_with_plan(live_server, phone, world, client):
    kari = enrol(world, client)
    activate(phone, live_server, kari)
    put_crisis_plan(client, token(client, kari))
    phone.get_by_role("link", name="Når det er krise").click()
    phone.get_by_text("ring Siv (søster)").wait_for()
    wait_for_worker(phone)
    return kari


# --- the plan stays on the phone ------------------------------------------------------------------


def test_the_plan_opens_offline_after_the_session_was_ended_from_the_server(
    app, live_server, phone, world, client
):
    kari = _kari_with_plan(live_server, phone, world, client)
    end_the_session_on_the_server(app, world, kari)

    # The next start finds the session over: the tokens go, the plan stays, sign-in is offered.
    phone.goto(f"{live_server}/app/#/")
    phone.get_by_role("heading", name="Logg inn").wait_for()
    wait_until(phone, "localStorage.getItem('muli.session') === null")
    assert phone.evaluate("localStorage.getItem('muli.crisis')") is not None

    # No network, not signed in: the plan still opens, from the login screen.
    phone.context.set_offline(True)
    phone.set_viewport_size(IPHONE_12)
    phone.reload()
    phone.get_by_role("link", name="Åpne kriseplanen min").wait_for()
    shot(phone, "login-with-kept-plan")
    phone.get_by_role("link", name="Åpne kriseplanen min").click()
    phone.get_by_text("ring Siv (søster)").wait_for()
    assert phone.get_by_text("Du er ikke logget inn").is_visible()
    shot(phone, "kept-plan-signed-out-offline")
    call_siv = phone.get_by_role("link", name="Ring +47 400 00 000")
    assert call_siv.get_attribute("href") == "tel:+4740000000"
    expect(call_siv).to_have_accessible_description("Siv (søster)")
    assert phone.locator("#sos a[href='tel:113']").is_visible()


def test_the_home_screen_shortcut_opens_the_plan_directly_without_signing_in(
    app, live_server, phone, world, client
):
    kari = _kari_with_plan(live_server, phone, world, client)
    response = client.get("/app/manifest.webmanifest")
    manifest = response.get_json()
    response.close()
    [crisis] = [s for s in manifest["shortcuts"] if s["url"].endswith("#/crisis")]
    end_the_session_on_the_server(app, world, kari)
    # Offline the phone cannot know the session ended: the shortcut opens the saved plan.
    context = phone.context
    phone.close()
    context.set_offline(True)
    launched = context.new_page()  # a shortcut starts the app afresh at its url
    launched.goto(f"{live_server}{crisis['url']}")
    launched.get_by_text("ring Siv (søster)").wait_for()
    launched.get_by_text("lagret versjon fra").wait_for()
    context.set_offline(False)
    launched.reload()  # online now: the session is found over, the plan stays on screen
    launched.get_by_text("Du er ikke logget inn").wait_for()
    wait_until(launched, "localStorage.getItem('muli.session') === null")
    assert launched.get_by_text("ring Siv (søster)").is_visible()


def test_a_session_that_ends_while_the_plan_is_open_leaves_the_plan_on_screen(
    app, live_server, phone, world, client
):
    kari = _kari_with_plan(live_server, phone, world, client)
    end_the_session_on_the_server(app, world, kari)
    phone.reload()
    phone.get_by_text("Du er ikke logget inn").wait_for()
    assert phone.get_by_text("ring Siv (søster)").is_visible()


def test_an_account_the_team_ended_takes_the_plan_off_the_phone(app, live_server, phone, world, client):
    kari = _kari_with_plan(live_server, phone, world, client)
    end_the_account(app, world, kari)
    phone.goto(f"{live_server}/app/#/")
    phone.get_by_role("heading", name="Logg inn").wait_for()
    wait_until(phone, "localStorage.getItem('muli.crisis') === null")
    assert phone.get_by_role("link", name="Åpne kriseplanen min").count() == 0


def test_signing_out_on_purpose_warns_that_the_plan_leaves_the_phone(live_server, phone, world, client):
    _kari_with_plan(live_server, phone, world, client)
    phone.set_viewport_size(IPHONE_12)
    phone.goto(f"{live_server}/app/#/settings")
    phone.get_by_role("button", name="Logg ut").click()
    warning = phone.locator("#logout-warning")
    warning.get_by_text("Kriseplanen blir slettet fra telefonen").wait_for()
    shot(phone, "settings-sign-out-warning")
    phone.get_by_role("button", name="Avbryt").click()
    assert phone.evaluate("localStorage.getItem('muli.crisis')") is not None
    phone.get_by_role("button", name="Logg ut").click()
    phone.get_by_role("button", name="Logg ut og slett fra telefonen").click()
    phone.get_by_role("heading", name="Logg inn").wait_for()
    assert phone.evaluate("localStorage.getItem('muli.crisis')") is None
    assert phone.get_by_role("link", name="Åpne kriseplanen min").count() == 0


# --- a number to call back on -----------------------------------------------------------------------


def test_ring_meg_offers_my_number_and_another_for_tonight(live_server, phone, world, client, clock):
    kari = enrol(world, client)
    on_call_tonight(client, kari, clock.now)
    activate(phone, live_server, kari)
    phone.get_by_role("link", name="Innstillinger").first.click()
    phone.get_by_label("Mitt telefonnummer").fill("12")
    phone.get_by_role("button", name="Lagre").click()
    phone.get_by_text("Det ser ikke ut som et norsk nummer").wait_for()
    phone.get_by_label("Mitt telefonnummer").fill("000 00 101")
    phone.get_by_role("button", name="Lagre").click()
    phone.get_by_text("Nummeret er lagret.").wait_for()

    phone.goto(f"{live_server}/app/#/contact")
    assert phone.get_by_label("Mitt nummer: +4700000101").is_checked()
    assert phone.locator("#calls-on").inner_text() == "Vi ringer +4700000101"
    phone.get_by_label("Et annet nummer i kveld:").check()
    phone.locator("input[name=callback_phone]").fill("000 00 199")
    assert phone.locator("#calls-on").inner_text() == "Vi ringer 000 00 199"
    phone.get_by_role("button", name="Ring meg").click()
    phone.locator("#contact-state").wait_for()
    [request] = client.get("/api/v1/me/contact-requests", headers=token(client, kari)).get_json()["items"]
    assert request["callback_phone"] == "+4700000199"
    staff_view = client.get(f"/api/v1/staff/contact-requests/{request['id']}", headers=kari.member.headers)
    assert (staff_view.get_json()["call_back_on"], staff_view.get_json()["patient_phone"]) == (
        "+4700000199",
        "+4700000101",
    )


def test_the_patient_sees_the_answer_coming(live_server, phone, world, client, clock):
    kari = enrol(world, client)
    on_call_tonight(client, kari, clock.now)
    activate(phone, live_server, kari)
    phone.set_viewport_size(IPHONE_12)
    phone.get_by_role("link", name="Når du vil snakke med noen").click()
    phone.get_by_role("button", name="Ring meg").click()
    phone.locator("#contact-state").wait_for()
    [request] = client.get("/api/v1/me/contact-requests", headers=token(client, kari)).get_json()["items"]

    clock.advance(minutes=6)  # 00:46 UTC: 01:46 in Oslo
    client.post(f"/api/v1/staff/contact-requests/{request['id']}/acknowledge", headers=kari.member.headers)
    seen = re.compile(rf"Ola Nordmann \({kari.agency.name}\) har sett forespørselen din .*01:46")
    phone.get_by_text(seen).wait_for()

    clock.advance(minutes=1)
    called = client.post(f"/api/v1/staff/contact-requests/{request['id']}/call", headers=kari.member.headers)
    assert called.status_code == 200, called.get_json()
    phone.get_by_text(re.compile(r"Ola Nordmann ringer deg nå \(.*01:47\)")).wait_for()
    shot(phone, "contact-ola-calling")


# --- a phone-sized app ------------------------------------------------------------------------------

ROUTES = ("", "#/crisis", "#/contact", "#/settings", "#/diary/new", "#/mastery", "#/consents")

FITS = """() => {
  const out = {boxes: [], clipped: []};
  for (const a of document.querySelectorAll('#sos a')) {
    const r = a.getBoundingClientRect();
    const href = a.getAttribute('href');
    out.boxes.push({left: r.left, right: r.right, top: r.top, bottom: r.bottom, href});
    for (const span of a.querySelectorAll('span')) {
      if (span.scrollWidth > span.clientWidth + 1) out.clipped.push(span.textContent);
    }
  }
  return out;
}"""


@pytest.mark.parametrize("size", [SMALLEST, IPHONE_12], ids=["320", "390"])
def test_the_emergency_bar_fits_and_nothing_overflows(app, live_server, phone, world, client, size):
    kari = enrol(world, client)
    give_the_team_numbers(app, kari)
    activate(phone, live_server, kari)
    phone.set_viewport_size(size)
    for route in ROUTES:
        phone.goto(f"{live_server}/app/{route}")
        phone.locator("#main").locator("h2, p, form, section").first.wait_for()
        phone.locator("#sos a[href='tel:+4700000002']").wait_for()
        fits = phone.evaluate(FITS)
        assert not (wide := wider_than_screen(phone)), (route, wide)
        boxes = fits["boxes"]
        assert [b["href"] for b in boxes] == ["tel:113", "tel:116117", "tel:+4700000001", "tel:+4700000002"]
        for box in boxes:
            assert 0 <= box["left"] < box["right"] <= size["width"], (route, box)
            assert box["bottom"] <= size["height"], (route, box)
        for left, right in itertools.pairwise(boxes):
            assert left["right"] <= right["left"], (route, left, right)
        assert fits["clipped"] == [], (route, fits["clipped"])


@pytest.mark.parametrize("size", [SMALLEST, IPHONE_12], ids=["320", "390"])
def test_ring_meg_and_chat_are_on_the_first_screen(app, live_server, phone, world, client, size):
    kari = enrol(world, client)  # nobody on call: the red "Ingen er på vakt" card is on top too
    give_the_team_numbers(app, kari)
    with app.app_context():  # and no office hours either, whatever the hour the test runs
        db.session.execute(update(Team).where(Team.id == kari.team.id).values(office_hours={}))
        db.session.commit()
    activate(phone, live_server, kari)
    phone.set_viewport_size(size)
    phone.goto(f"{live_server}/app/#/contact")
    phone.get_by_text("Ingen er på vakt akkurat nå").first.wait_for()
    bar_top = phone.locator("#sos").bounding_box()["y"]
    for button in ("#ask-call", "#ask-chat"):
        box = phone.locator(button).bounding_box()
        if size is IPHONE_12 or button == "#ask-call":
            assert box["y"] + box["height"] <= bar_top, (button, box, bar_top)
    assert phone.evaluate("scrollY") == 0
    # The emergency numbers in the red card are links too.
    card = phone.locator("#who-answers")
    assert card.locator("a[href='tel:116117']").is_visible()
    assert card.locator("a[href='tel:113']").is_visible()
    shot(phone, f"contact-nobody-on-call-{size['width']}")


def test_screens_at_390_px_in_norwegian(app, live_server, phone, world, client, clock):
    kari = enrol(world, client)
    give_the_team_numbers(app, kari)
    on_call_tonight(client, kari, clock.now)
    activate(phone, live_server, kari)
    put_crisis_plan(client, token(client, kari))
    phone.set_viewport_size(IPHONE_12)
    for route, name in (
        ("#/", "home"),
        ("#/crisis", "crisis"),
        ("#/contact", "contact"),
        ("#/settings", "settings"),
    ):
        phone.goto(f"{live_server}/app/{route}")
        phone.locator("#main").locator("h2, p, form, section").first.wait_for()
        phone.wait_for_timeout(300)
        shot(phone, name)
        assert not (wide := wider_than_screen(phone)), (route, wide)
    assert phone.evaluate("document.documentElement.lang") == "nb"
