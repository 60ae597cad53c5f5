"""axe-core on every screen of the patient app, at 390 px (a phone) and 1280 px, in Norwegian,
and a sample in English (issue 16, item 6). Each screen is drawn with data in it: an empty
list hides the rows axe should look at."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import update

from muli.extensions import db
from muli.models.people import Team
from tests.browser.axe import describe, page_at_each_width, violations  # noqa: F401 (the `page` fixture)
from tests.browser.test_patient_app_phone import give_the_team_numbers
from tests.browser.test_patient_app_proposal import PROPOSED, _propose
from tests.browser.test_patient_app_support import (
    activate,
    enrol,
    on_call_tonight,
    put_crisis_plan,
    token,
    wait_for_worker,
)
from tests.browser.test_patient_app_tools import _mastery_plan
from tests.browser.test_portal_support import portal_catalogues

__all__ = ["portal_catalogues"]  # autouse: compiles the message catalogues


# (name, route, a selector that is there once the screen has drawn its data)
SIGNED_OUT = [
    ("login", "#/login", "#main form"),
    ("activate", "#/activate", "#main form"),
]
SIGNED_IN = [
    ("home", "#/", "#availability"),
    ("crisis-plan", "#/crisis", "#crisis-plan h2"),
    ("crisis-plan-edit", "#/crisis/edit", "#main form"),
    ("proposal-review", "#/crisis/versions", ".plan-changes"),
    ("mastery-plan", "#/mastery", "#main h2"),
    ("mastery-plan-edit", "#/mastery/edit", "#main form"),
    ("diary-list", "#/diary", "#diary-list li"),
    ("diary-new", "#/diary/new", "#main form"),
    ("diary-entry", "#/diary/{diary_id}", "#main form, #main article, #main .card"),
    # With a live request the screen draws the form, then goes to the request once the API
    # says so (contact.js): either may be what is on screen when it is checked.
    ("contact-new", "#/contact", "#ask-call, #contact-state"),
    ("contact-waiting", "#/contact/{request_id}", "#contact-state"),
    ("consents", "#/consents", "#main h2"),
    ("access-log", "#/access-log", "#access-log li"),
    ("settings", "#/settings", "#my-sessions li"),
]


def _kari_with_everything(app, live_server, page, world, client, clock, on_call: bool = True) -> dict:
    """Kari activated in the page, with a plan, a proposal, a mastery plan, a diary entry, a
    request waiting for an answer, her team's numbers in the emergency bar, and someone on
    call (the home screen says who) or, without `on_call`, nobody and no office hours (the
    contact screen's red card)."""
    kari = enrol(world, client)
    give_the_team_numbers(app, kari)
    if on_call:
        on_call_tonight(client, kari, clock.now)
    else:
        with app.app_context():
            db.session.execute(update(Team).where(Team.id == kari.team.id).values(office_hours={}))
            db.session.commit()
    activate(page, live_server, kari)
    headers = token(client, kari)
    put_crisis_plan(client, headers)
    _propose(client, kari, PROPOSED)
    _mastery_plan(client, headers)
    diary = client.post(
        "/api/v1/me/diary",
        json={"text": "Får ikke sove i natt.", "mood": 3, "sleep_hours": 4, "shared_with_team": True},
        headers=headers,
    )
    assert diary.status_code == 201, diary.get_json()
    request = client.post(
        "/api/v1/me/contact-requests",
        json={"kind": "call_me", "urgency": "crisis", "message": "får ikke sove"},
        headers={**headers, "Idempotency-Key": str(uuid.uuid4())},
    )
    assert request.status_code == 201, request.get_json()
    client.get(f"/api/v1/staff/patients/{kari.patient_id}", headers=kari.member.headers)  # a log line
    return {"diary_id": diary.get_json()["id"], "request_id": request.get_json()["id"], "kari": kari}


def _answered(client, kari, request_id: str) -> None:
    """Ola takes the request, writes, and starts calling: the steps and the messages."""
    base = f"/api/v1/staff/contact-requests/{request_id}"
    for path, body in (
        ("/acknowledge", None),
        ("/messages", {"body": "Jeg ringer deg nå."}),
        ("/call", None),
    ):
        response = client.post(base + path, json=body, headers=kari.member.headers)
        assert response.status_code in (200, 201), (path, response.get_json())


def _check(page, live_server, screens, ids=None, screenshot=None) -> list[str]:
    found = []
    for name, route, ready in screens:
        url = f"{live_server}/app/{route.format(**(ids or {}))}"
        # Screens change by the hash, in the same document: empty <main> first, so `ready`
        # cannot be found on the screen before. The address is read in the same script: the
        # screen before may still move on by itself (the contact form goes to the live
        # request once the API answers), and going to the hash it moved to would draw nothing.
        # After this script, a move it makes draws its screen into <main> again.
        here = page.evaluate("document.getElementById('main')?.replaceChildren(); location.href")
        if here == url:
            page.reload()  # the same hash would draw nothing new
        else:
            page.goto(url)
        page.locator(ready).first.wait_for()
        if page.locator("#main .loading").count():
            page.locator("#main .loading").wait_for(state="detached")
        if screenshot:
            screenshot(page, name)
        if problems := violations(page):
            found.append(describe(problems, f"[{name}] "))
    return found


def test_every_app_screen_passes_axe(app, live_server, page, world, client, clock, screenshot):
    found = _check(page, live_server, SIGNED_OUT, screenshot=screenshot)
    ids = _kari_with_everything(app, live_server, page, world, client, clock)
    found += _check(page, live_server, SIGNED_IN, ids, screenshot)
    # The request answered: seen, a message from Ola, "Ola ringer deg nå".
    _answered(client, ids["kari"], ids["request_id"])
    page.goto(f"{live_server}/app/#/contact/{ids['request_id']}")
    page.locator("#contact-calling").wait_for()
    page.get_by_text("Jeg ringer deg nå.").wait_for()
    if problems := violations(page):
        found.append(describe(problems, "[contact-answered] "))
    screenshot(page, "contact-answered")

    # The settings' sign-out warning, opened.
    page.goto(f"{live_server}/app/#/settings")
    page.locator("#my-sessions li").first.wait_for()
    page.get_by_role("button", name="Logg ut").click()
    page.locator("#logout-warning").wait_for()
    if problems := violations(page):
        found.append(describe(problems, "[settings-logout-warning] "))

    # No network: the kept plan with the offline notice.
    page.goto(f"{live_server}/app/#/crisis")
    page.locator("#crisis-plan h2").first.wait_for()
    wait_for_worker(page)
    page.context.set_offline(True)
    page.reload()
    page.locator("#notice.offline").wait_for()
    page.locator("#crisis-plan h2").first.wait_for()
    if problems := violations(page):
        found.append(describe(problems, "[offline-crisis-plan] "))
    screenshot(page, "offline")
    page.context.set_offline(False)
    assert not found, "axe found:\n" + "\n".join(found)


@pytest.mark.parametrize("page", ["390"], indirect=True)
def test_the_app_in_english_passes_axe(app, live_server, page, world, client, clock):
    _kari_with_everything(app, live_server, page, world, client, clock, on_call=False)
    page.goto(f"{live_server}/app/#/settings")
    page.get_by_label("English").click()
    page.get_by_role("heading", name="Hi, Kari!").wait_for()
    assert page.evaluate("document.documentElement.lang") == "en"
    description = page.locator('meta[name="description"]').get_attribute("content")
    assert description == "Crisis plan, mastery plan, diary and contact with your team."
    sample = [s for s in SIGNED_IN if s[0] in ("home", "crisis-plan", "contact-new", "settings")]
    found = _check(page, live_server, sample)
    page.goto(f"{live_server}/app/#/contact")
    page.locator("#nobody-on-call").wait_for()  # nobody on call: the red card, in English
    if problems := violations(page):
        found.append(describe(problems, "[contact-nobody-on-call] "))
    assert not found, "axe found:\n" + "\n".join(found)


def test_the_axe_check_names_an_unlabelled_slider(browser):
    """The check itself can fail: a page with the slider the diary once had, with no label."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.set_content(
            '<!doctype html><html lang="nb"><head><title>Dagbok</title></head><body><main>'
            '<h1>Dagbok</h1><input type="range" min="1" max="10"></main></body></html>'
        )
        found = violations(page)
        assert [(v["id"], v["impact"]) for v in found] == [("label", "critical")]
        assert [n["target"] for n in found[0]["nodes"]] == ["input"]
        assert describe(found).startswith("label (critical): Form elements must have labels\n    input  ")
    finally:
        context.close()
