"""Sign-in through ID-porten and HelseID in Chromium, against a real OpenID Provider
(oidc-provider on 127.0.0.1, tests/oidc_op.py): the patient lands in the app with her crisis
plan, a person who is not enrolled is told so, and a nurse signs in to the portal."""

from __future__ import annotations

import pytest
import requests

from tests.browser.test_patient_app_support import BROWSER_TIMEOUT_MS, KARI_PLAN, put_crisis_plan
from tests.oidc_fixtures import (
    NURSE_HPR,
    NURSE_PID,
    PATIENT_PID,
    configure,
    enrol_as,
    link_staff,
    start_providers,
)
from tests.oidc_op import LocalProviders


@pytest.fixture(scope="module")
def op(app, live_server):
    with start_providers(app) as providers:
        yield providers


@pytest.fixture
def on(app, op: LocalProviders):
    configure(app, op)
    yield op
    app.config["MULI_OIDC_PROVIDERS"] = {}


def test_a_patient_signs_in_with_id_porten_and_reads_her_crisis_plan(
    app, live_server, phone, world, client, on
):
    team = world.team()
    agency = world.agency(kind="dps")
    patient = world.patient(team, consents={agency: "all"}, name="MinIDTestPasient")
    enrol_as(app, patient.id, PATIENT_PID)
    put_crisis_plan(client, patient.headers, KARI_PLAN)
    phone.set_default_timeout(BROWSER_TIMEOUT_MS)
    phone.goto(f"{live_server}/app/")
    phone.get_by_role("link", name="Logg inn med ID-porten").click()
    phone.get_by_role("heading", name="ID-porten — testinnlogging").wait_for()
    phone.get_by_role("button", name="MinIDTestPasient").click()
    phone.get_by_role("heading", name="Hei, MinIDTestPasient!").wait_for()
    phone.get_by_role("link", name="Når det er krise").click()
    phone.get_by_text("ring Siv (søster)").wait_for()
    assert phone.get_by_text("gå en tur rundt vannet").is_visible()
    # Logout ends MULI's session and offers ID-porten's end-session.
    phone.goto(f"{live_server}/app/#/settings")
    phone.get_by_role("button", name="Logg ut").click()
    phone.get_by_role("button", name="Logg ut og slett fra telefonen").click()
    phone.get_by_role("heading", name="Logg inn").wait_for()
    assert "muli_refresh" not in {c["name"] for c in phone.context.cookies()}
    phone.get_by_role("link", name="Logg også ut av ID-porten").click()
    phone.wait_for_url(f"{on.idporten.url}/session/end**")


def test_a_person_who_is_not_enrolled_is_told_so_in_the_app(live_server, phone, on):
    phone.set_default_timeout(BROWSER_TIMEOUT_MS)
    phone.goto(f"{live_server}/app/")
    phone.get_by_role("link", name="Logg inn med ID-porten").click()
    phone.get_by_role("button", name="Ikke innrullert").click()
    phone.locator("#signin-refused").get_by_text("du er ikke innrullert i MULI").wait_for()
    assert "signin=" not in phone.url  # said once; a reload does not repeat it
    assert phone.get_by_label("Brukernavn").is_visible()  # the fallback is still there


def test_past_the_bound_on_sign_ins_the_app_says_to_wait_a_minute(live_server, phone, on, screenshot):
    """Twenty starts from this address in a minute (someone hammering the door); the next one,
    Kari's, is sent back to the app, which says to wait and still offers the other sign-in."""
    for _ in range(20):
        answer = requests.get(f"{live_server}/auth/idporten/login", allow_redirects=False, timeout=10)
        assert answer.status_code == 303 and answer.headers["Location"].startswith(on.idporten.url)
    phone.set_default_timeout(BROWSER_TIMEOUT_MS)
    phone.goto(f"{live_server}/app/")
    phone.get_by_role("link", name="Logg inn med ID-porten").click()
    phone.locator("#signin-refused").get_by_text("Vent et minutt og prøv igjen").wait_for()
    screenshot(phone, "signin-busy-390")
    assert phone.get_by_label("Brukernavn").is_visible()


def test_a_nurse_signs_in_to_the_portal_with_helseid(app, live_server, tablet, world, on):
    care = world.care_team()
    link_staff(app, care.member.staff.id, NURSE_PID, NURSE_HPR)
    tablet.set_default_timeout(BROWSER_TIMEOUT_MS)
    tablet.goto(f"{live_server}/portal/login")
    tablet.get_by_role("link", name="Logg inn med HelseID").click()
    tablet.get_by_role("button", name="Sykepleier Nina", exact=True).click()
    tablet.wait_for_url(f"{live_server}/portal/")
    tablet.get_by_text(care.member.staff.display_name).first.wait_for()
