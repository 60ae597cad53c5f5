"""Issue 18 at 390 px, in Norwegian: the administrator imports a programme file on a phone (a
file that leaves out the kind of an agency on a team running it is refused, naming who is in
the way; one that drops a consent scope is installed), and the coordinator reads the patient
page (that consent marked as not in use) and the enrolment form with its criteria."""

from __future__ import annotations

import yaml
from playwright.sync_api import expect

from muli.cli import system_ctx
from muli.extensions import db
from muli.patient import programme
from muli.team import programmes
from tests.browser.axe import assert_accessible
from tests.browser.layout import wider_than_screen
from tests.browser.test_portal_support import portal_catalogues, sign_in, sign_out

__all__ = ["portal_catalogues"]  # autouse: compiles the message catalogues

WIDTH = 390


def _fits(page) -> None:
    assert not (wide := wider_than_screen(page)), wide


def _import(page, live_server, raw: dict) -> None:
    page.goto(f"{live_server}/portal/admin/programmes/")
    page.get_by_label("Programfil (JSON eller YAML)").fill(yaml.safe_dump(raw, allow_unicode=True))
    # The answer's stylesheet is loaded before the page is measured: measured while it was
    # still on its way (a loaded machine), the 80-column textarea made the page 661 px wide.
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("button", name="Importer").click()


def test_an_administrator_and_a_coordinator_on_a_phone_in_norwegian(
    app, live_server, world, phone, screenshot
):
    phone.set_viewport_size({"width": WIDTH, "height": 844})
    with app.app_context():
        programme_id = programmes.install_built_in(system_ctx(), "muli-vold").id
        db.session.commit()
    team = world.team(name="MULI vold Fjordvik", programme_id=programme_id)
    police, nav = (
        world.agency(name="Politiet Fjordvik", kind="police"),
        world.agency(name="NAV Fjordvik", kind="nav"),
    )
    coordinator = world.staff(team, role="coordinator", agency=police, name="Vera Koordinator")
    world.staff(team, agency=nav, name="Nils Nav")
    # A name with no place to break (as generated names and long compound words have): the
    # refusal that lists it must still fit the phone.
    corrections = world.agency(name="Kriminalomsorgsregionvestfjordviksavdelingen", kind="police")
    world.staff(team, agency=corrections, name="Kristoffersen-Sandvikstrandheimen")
    patient = world.patient(
        team, consents={police: ["crisis_plan"], nav: ["mastery_plan"]}, name="Ung Voldsen"
    )
    admin = world.staff(role="admin", agency=police, name="Ada Admin")

    sign_in(phone, live_server, admin)
    raw = programme.exported(programme.built_in("muli-vold"))
    _import(phone, live_server, raw | {"agency_kinds": [k for k in raw["agency_kinds"] if k != "police"]})
    errors = phone.locator("#import-errors")
    expect(errors).to_contain_text("agency_kinds: Ansatte på team som kjører dette programmet")
    expect(errors).to_contain_text("MULI vold Fjordvik: Vera Koordinator (Politiet Fjordvik, police)")
    _fits(phone)
    assert errors.evaluate("e => e.scrollWidth <= e.clientWidth")  # the long name wraps
    assert_accessible(phone, "import refused, 390 px")
    screenshot(phone, "import-refused")
    _import(phone, live_server, raw | {"consent_scopes": ["crisis_plan", "shared_diary", "contact_requests"]})
    phone.wait_for_url(f"{live_server}/portal/admin/programmes/muli-vold")
    _fits(phone)
    screenshot(phone, "imported")
    sign_out(phone)

    sign_in(phone, live_server, coordinator)
    phone.goto(f"{live_server}/portal/patients/{patient.id}")
    row = phone.locator("#c-h + table tr", has_text="NAV Fjordvik")
    expect(row.get_by_text("Ikke i bruk")).to_be_visible()
    expect(phone.get_by_text("teamets program ber ikke lenger om det")).to_be_visible()
    assert_accessible(phone, "patient page, consent not in use, 390 px")
    screenshot(phone, "patient-consent-not-in-use")
    phone.goto(f"{live_server}/portal/patients/enrol?team={team.id}")
    expect(
        phone.get_by_label("Teamet vurderer at pasienten oppfyller kriteriene for programmet")
    ).to_be_visible()
    # Only the consent the programme asks for now: the mastery plan is no longer offered.
    expect(phone.locator(f'input[name="consent-{nav.id}"][value="mastery_plan"]')).to_have_count(0)
    _fits(phone)
    assert_accessible(phone, "enrol, 390 px")
    screenshot(phone, "enrol")
