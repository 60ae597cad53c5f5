"""axe-core on every page of the staff portal, at 390 px and 1280 px, in Norwegian, and a
sample in English (issue 16, item 6); on each page, too, every word in a table stays whole and no
table runs past the page (tests/browser/layout.py), and at 768 px (an upright tablet) for the
pages with the widest tables. The pages show the demo's story (muli.demo: six
patients, plans, a signed meeting, the rota, an emergency access to review) and one request
open tonight, so tables, cards and forms are there for axe to read."""

from __future__ import annotations

import uuid
from datetime import date

import pyotp
import pytest
import requests
from playwright.sync_api import expect

from muli import demo
from muli.trust.national_id import synthetic_numbers
from tests.browser.axe import describe, page_at_each_width, violations  # noqa: F401 (the `page` fixture)
from tests.browser.layout import table_problems
from tests.browser.test_portal_support import portal_catalogues

__all__ = ["portal_catalogues"]  # autouse: compiles the message catalogues

MEETING = "main a[href*='/portal/meetings/']:not([href*='system-issues']):not([href*='cursor'])"

# Who signs in, then (name, where, a link on that page to follow instead, if any).
# "{patient}" and "{request}" are filled in from the scene.
PAGES = {
    "kristin": [
        ("home", "/portal/", None),
        ("queue", "/portal/queue/", None),
        ("request", "/portal/queue/{request}", None),
        ("handover", "/portal/handover/", None),
        ("patients", "/portal/patients/", None),
        ("patient", "/portal/patients/{patient}", None),
        ("enrol", "/portal/patients/enrol", None),
        ("meetings", "/portal/meetings/", None),
        ("meeting", "/portal/meetings/", MEETING),
        ("system-issues", "/portal/meetings/system-issues", None),
        ("rota", "/portal/rota/", None),
        ("rota-shift", "/portal/rota/", "main a[href*='/portal/rota/shifts/']"),
        ("outcomes", "/portal/outcomes/", None),
        ("notifications", "/portal/notifications", None),
        ("my-account", "/portal/account/", None),
        ("password", "/portal/account/password", None),
        ("forbidden-403", "/portal/audit/", None),
        ("not-found-404", "/portal/no-such-page", None),
    ],
    "lise": [
        ("access-log", "/portal/audit/", None),
        ("access-log-patient", "/portal/audit/?patient_id={patient}", None),
        ("security-events", "/portal/audit/?security=1", None),
        ("emergency-reviews", "/portal/audit/emergency-access", None),
        ("emergency-reviewed", "/portal/audit/emergency-access?reviewed=1", None),
        ("failed-logins", "/portal/audit/logins", None),
    ],
    "pia": [  # the police liaison, without Kari's consent: the locked page and its form
        ("patient-locked", "/portal/patients/{patient}", None),
    ],
    "admin": [  # last: the test goes on as the admin (a second sign-in would reuse the code)
        ("accounts", "/portal/admin/accounts/", None),
        ("account", "/portal/admin/accounts/", "main a[href*='/portal/admin/accounts/']"),
    ],
}


@pytest.fixture
def scene(app, live_server) -> dict:
    """The demo, and Kari asking to be called tonight (the queue's open card)."""
    from muli.cli import system_ctx
    from muli.extensions import db

    with app.app_context():
        seeded = demo.seed(system_ctx())
        db.session.commit()
        db.session.remove()
    kari = seeded["patients"][0]
    login = requests.post(
        f"{live_server}/api/v1/auth/token",
        json={"username": kari["username"], "password": kari["password"]},
        timeout=30,
    )
    assert login.status_code == 200, login.text
    asked = requests.post(
        f"{live_server}/api/v1/me/contact-requests",
        json={"kind": "call_me", "urgency": "crisis", "message": "får ikke sove"},
        headers={
            "Authorization": f"Bearer {login.json()['access_token']}",
            "Idempotency-Key": str(uuid.uuid4()),
        },
        timeout=30,
    )
    assert asked.status_code == 201, asked.text
    return {
        "staff": {s["username"]: s for s in seeded["staff"]},
        "ids": {"patient": kari["id"], "request": asked.json()["id"]},
    }


def sign_in(page, live_server: str, who: dict) -> None:
    page.goto(f"{live_server}/portal/login")
    page.get_by_label("Brukernavn").fill(who["username"])
    page.get_by_label("Passord").fill(who["password"])
    page.get_by_label("Kode fra autentiseringsappen").fill(pyotp.TOTP(who["totp_secret"]).now())
    page.get_by_role("button", name="Logg inn").click()
    page.wait_for_url(f"{live_server}/portal/")


def _open_everything(page) -> None:
    """Folded parts (the plan editor, versions, forms) are checked open."""
    page.evaluate("document.querySelectorAll('main details').forEach((d) => { d.open = true; })")


def check(page, name: str, found: list[str], screenshot=None) -> None:
    _open_everything(page)
    if screenshot:
        screenshot(page, name)
    if problems := violations(page):
        found.append(describe(problems, f"[{name}] "))
    found.extend(f"[{name}] {problem}" for problem in table_problems(page))


def _visit(page, live_server, pages, ids, found, screenshot=None) -> None:
    for name, path, follow in pages:
        page.goto(f"{live_server}{path.format(**ids)}")
        if follow:
            with page.expect_navigation():
                page.locator(follow).first.click()
        expect(page.locator("main h1").first).to_be_visible()
        check(page, name, found, screenshot)


def _kristin_acts(page, live_server, ids, found, screenshot) -> None:
    """Kristin takes tonight's request (the queue's second list, the card's forms), opens
    today's meeting (an open agenda: a note and an action form per patient), then enrols a
    patient (the activation letter)."""
    page.goto(f"{live_server}/portal/queue/")
    card = page.locator(f"#r-{ids['request']}")
    card.get_by_role("button", name="Ta denne forespørselen").click()
    expect(card.get_by_role("button", name="Ta denne forespørselen")).to_have_count(0)
    expect(card).to_be_visible()
    check(page, "queue-taken", found, screenshot)
    page.goto(f"{live_server}/portal/meetings/")
    page.get_by_label("Dato for møtet").fill(date.today().isoformat())
    page.get_by_role("button", name="Opprett møtet").click()
    expect(page.get_by_role("button", name="Signer møtet")).to_be_visible()
    check(page, "meeting-open", found, screenshot)
    page.goto(f"{live_server}/portal/patients/enrol")
    page.get_by_label("Navnet pasienten vil bli kalt").fill("Nora")
    page.get_by_label("Fødselsnummer (11 sifre)").fill(next(synthetic_numbers(date(1977, 5, 17), start=400)))
    page.locator('input[name^="consent-"][value="crisis_plan"]').first.check()
    page.get_by_label("Teamet vurderer at pasienten oppfyller kriteriene for programmet").check()
    page.get_by_role("button", name="Skriv inn og lag aktiveringskode").click()
    expect(page.get_by_test_id("activation-code")).to_be_visible()
    check(page, "enrolled-letter", found, screenshot)


def test_every_portal_page_passes_axe(live_server, page, scene, screenshot):
    found: list[str] = []
    page.goto(f"{live_server}/portal/login")
    check(page, "login", found, screenshot)
    page.get_by_label("Brukernavn").fill("kristin")
    page.get_by_label("Passord").fill("not the password")
    page.get_by_label("Kode fra autentiseringsappen").fill("000000")
    page.get_by_role("button", name="Logg inn").click()
    expect(page.locator("main [role=alert], main .error, main .flash").first).to_be_visible()
    check(page, "login-failed", found, screenshot)

    for who, pages in PAGES.items():
        page.context.clear_cookies()
        sign_in(page, live_server, scene["staff"][who])
        _visit(page, live_server, pages, scene["ids"], found, screenshot)
        if who == "kristin":
            _kristin_acts(page, live_server, scene["ids"], found, screenshot)

    # The admin gives Ola a new authenticator secret: the page with the QR code, shown once.
    page.goto(f"{live_server}/portal/admin/accounts/")
    page.get_by_role("link", name="Ola Vakt").click()
    page.get_by_role("button", name="Gi ny nøkkel til autentiseringsappen").click()
    expect(page.get_by_test_id("totp-secret")).to_be_visible()
    check(page, "totp-secret", found, screenshot)
    assert not found, "axe found:\n" + "\n".join(found)


@pytest.mark.parametrize("page", ["1280"], indirect=True)
def test_the_portal_in_english_passes_axe(live_server, page, scene):
    found: list[str] = []
    sign_in(page, live_server, scene["staff"]["kristin"])
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    assert page.evaluate("document.documentElement.lang") == "en"
    description = page.locator('meta[name="description"]').get_attribute("content")
    assert description.startswith("MULI for the team: the on-call queue")
    sample = [p for p in PAGES["kristin"] if p[0] in ("queue", "patient", "meeting", "rota", "not-found-404")]
    _visit(page, live_server, sample, scene["ids"], found)
    assert not found, "axe found:\n" + "\n".join(found)


# An upright tablet: the widest tables (the patient list, the patient's consents and requests,
# the accounts) are the ones that broke words between the phone's cards and the desktop's room.
TABLET = {
    "kristin": [
        p
        for p in PAGES["kristin"]
        if p[0] in {"queue", "handover", "patients", "patient", "rota", "outcomes"}
    ],
    "lise": [p for p in PAGES["lise"] if p[0] in ("access-log", "failed-logins")],
    "admin": [p for p in PAGES["admin"] if p[0] == "accounts"],
}


def test_portal_tables_keep_words_whole_on_an_upright_tablet(live_server, browser, scene):
    context = browser.new_context(
        viewport={"width": 768, "height": 1024}, locale="nb-NO", timezone_id="Europe/Oslo"
    )
    page = context.new_page()
    found: list[str] = []
    try:
        for who, pages in TABLET.items():
            page.context.clear_cookies()
            sign_in(page, live_server, scene["staff"][who])
            for name, path, _follow in pages:
                page.goto(f"{live_server}{path.format(**scene['ids'])}")
                expect(page.locator("main h1").first).to_be_visible()
                _open_everything(page)
                found.extend(f"[{name}] {problem}" for problem in table_problems(page))
    finally:
        context.close()
    assert not found, "\n".join(found)
