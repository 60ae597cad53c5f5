"""A MULI vold patient reads and edits their programme's own crisis-plan sections in the app,
in its order and with its titles, and sees a staff proposal's changes to them (issue 18)."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from muli.cli import system_ctx
from muli.extensions import db
from muli.patient import programme
from muli.team import programmes
from tests.browser.axe import assert_accessible
from tests.browser.layout import wider_than_screen
from tests.browser.test_patient_app_support import (
    Enrolled,
    _names,
    _numbers,
    activate,
    put_crisis_plan,
    token,
)

APP_WIDTH = 390
ANGER = "Når sinnet tar over \N{EN DASH} tegn jeg kjenner"
AVOID = "Situasjoner og steder jeg bør unngå"


def enrol_in_vold(app, world, client, name: str = "Kari") -> Enrolled:
    """A MULI vold team (a police coordinator and member), and a patient enrolled on it."""
    with app.app_context():
        row = programmes.install_built_in(system_ctx(), "muli-vold")
        db.session.commit()
        programme_id = row.id
    team = world.team(programme_id=programme_id)
    police = world.agency(kind="police")
    coordinator = world.staff(team, role="coordinator", agency=police, name="Vera Koordinator")
    member = world.staff(team, role="member", agency=police, name="Pia Politi")
    response = client.post(
        "/api/v1/staff/patients",
        json={
            "display_name": name,
            "national_id": next(_numbers),
            "team_id": str(team.id),
            "consents": [{"agency_id": str(police.id), "scopes": ["crisis_plan", "contact_requests"]}],
            "trusted_contact_id": str(member.id),
            "criteria_confirmed": True,
        },
        headers=coordinator.headers,
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    return Enrolled(
        body["id"], body["activation_code"], team, police, coordinator, member, f"vold{next(_names)}"
    )


def test_a_muli_vold_patient_edits_an_own_section_and_sees_it_after_a_reload(
    app, live_server, phone, world, client
):
    phone.set_viewport_size({"width": APP_WIDTH, "height": 844})
    kari = enrol_in_vold(app, world, client)
    activate(phone, live_server, kari)
    headers = token(client, kari)
    put_crisis_plan(
        client,
        headers,
        {
            "what_helps": "Å gå en tur.",
            "safe_environment": ["kniven i skuffen hos Siv"],
            "extra": {"police_contact": "Snakk rolig."},
        },
    )
    phone.goto(f"{live_server}/app/#/crisis/edit")
    form = phone.locator("form")
    # The programme's titles in its order; its own sections as editors; what it hides not shown.
    form.get_by_label(AVOID).wait_for()
    labels = form.locator("legend, label").all_inner_texts()
    assert labels.index(ANGER) < labels.index(AVOID)
    assert labels.index(AVOID) < labels.index("Det jeg gjør for å roe meg ned")
    assert labels.index("Hvis politiet møter meg") < labels.index("Slik vil jeg bli møtt")
    assert "Gjøre omgivelsene trygge" not in labels
    assert form.get_by_label("Hvis politiet møter meg").input_value() == "Snakk rolig."
    assert not (wide := wider_than_screen(phone)), wide
    assert_accessible(phone, "crisis/edit, MULI vold")
    form.get_by_label(AVOID).fill("Byen etter midnatt\nFesten hos Ali")
    form.get_by_label("Hvis politiet møter meg").fill("Snakk rolig, ikke ta på meg.")
    with phone.expect_response(
        lambda r: r.url.endswith("/me/crisis-plan") and r.request.method == "PUT"
    ) as saved:
        form.get_by_role("button", name="Lagre").click()
    assert saved.value.status == 200
    phone.locator("#crisis-plan").get_by_text("Festen hos Ali").wait_for()
    phone.reload()
    plan = phone.locator("#crisis-plan")
    plan.get_by_role("heading", name=AVOID).wait_for()
    assert plan.get_by_text("Byen etter midnatt").is_visible()
    assert plan.get_by_text("Snakk rolig, ikke ta på meg.").is_visible()
    assert_accessible(phone, "crisis, MULI vold")
    # Stored as sent; the section the programme hides kept, not emptied by the app.
    stored = client.get("/api/v1/me/crisis-plan", headers=headers).get_json()
    assert stored["extra"] == {
        "risk_situations": ["Byen etter midnatt", "Festen hos Ali"],
        "police_contact": "Snakk rolig, ikke ta på meg.",
    }
    assert stored["safe_environment"] == ["kniven i skuffen hos Siv"]
    assert stored["what_helps"] == "Å gå en tur."


def test_a_proposal_to_an_own_section_shows_in_the_diff_with_the_programmes_title(
    app, live_server, phone, world, client
):
    phone.set_viewport_size({"width": APP_WIDTH, "height": 844})
    kari = enrol_in_vold(app, world, client)
    activate(phone, live_server, kari)
    put_crisis_plan(
        client, token(client, kari), {"what_helps": "Å gå en tur.", "extra": {"risk_situations": ["Byen"]}}
    )
    proposed = client.post(
        f"/api/v1/staff/patients/{kari.patient_id}/crisis-plan/proposals",
        json={
            "what_helps": "Å gå en tur.",
            "extra": {"risk_situations": ["Byen", "Toget"], "police_contact": "Ring Siv."},
        },
        headers=kari.member.headers,
    )
    assert proposed.status_code == 201, proposed.get_json()
    phone.goto(f"{live_server}/app/#/crisis/versions")
    changes = phone.locator(".plan-changes")
    changes.get_by_role("heading", name="Dette endres hvis du godkjenner").wait_for()
    risk = changes.locator("[data-section=risk_situations]")
    assert risk.get_by_role("heading", name=AVOID).is_visible()
    assert risk.locator(".change.added").inner_text() == "Nytt: Toget"
    police = changes.locator("[data-section=police_contact]")
    assert police.get_by_role("heading", name="Hvis politiet møter meg").is_visible()
    assert police.locator("dd.after").inner_text() == "Ring Siv."
    # Unchanged sections by the programme's titles; the one it hides not listed.
    folded = changes.locator("details.unchanged")
    folded.locator("summary").click()
    assert folded.get_by_text(ANGER).is_visible()
    assert folded.get_by_text("Gjøre omgivelsene trygge").count() == 0
    assert_accessible(phone, "crisis/versions, MULI vold")


def test_a_muli_vold_mastery_plan_shows_and_edits_under_the_programmes_titles(
    app, live_server, phone, world, client
):
    phone.set_viewport_size({"width": APP_WIDTH, "height": 844})
    kari = enrol_in_vold(app, world, client)
    activate(phone, live_server, kari)
    headers = token(client, kari)
    etag = client.get("/api/v1/me/mastery-plan", headers=headers).headers["ETag"]
    client.put(
        "/api/v1/me/mastery-plan",
        json={"strategies": [{"title": "Gå ut og pust"}], "goals": [{"title": "Møte opp på jobb"}]},
        headers={**headers, "If-Match": etag},
    )
    phone.goto(f"{live_server}/app/#/mastery")
    phone.get_by_role("heading", name="Mål for hverdagen").wait_for()
    headings = phone.locator("main h2").all_inner_texts()
    assert headings.index("Mål for hverdagen") < headings.index("Strategier")
    assert phone.get_by_role("heading", name="Gå ut og pust").is_visible()
    phone.goto(f"{live_server}/app/#/mastery/edit")
    legends = phone.locator("form legend")
    legends.first.wait_for()
    assert legends.all_inner_texts() == ["Mål for hverdagen", "Strategier"]
    assert_accessible(phone, "mastery/edit, MULI vold")


def test_a_consent_the_programme_no_longer_asks_for_is_shown_as_not_in_use_and_can_be_withdrawn(
    app, live_server, phone, world, client, screenshot
):
    phone.set_viewport_size({"width": APP_WIDTH, "height": 844})
    kari = enrol_in_vold(app, world, client)  # the police: crisis plan and contact requests
    with app.app_context():
        raw = programme.exported(programme.built_in("muli-vold")) | {"consent_scopes": ["crisis_plan"]}
        programmes.install(system_ctx(), programme.validate(raw))
        db.session.commit()
    activate(phone, live_server, kari)
    phone.get_by_role("link", name="Samtykke").click()
    police = phone.locator("fieldset.consent", has_text=kari.agency.name)
    requests_switch = police.get_by_role("switch", name=re.compile("^Meldinger i forespørslene mine"))
    expect(requests_switch).to_be_checked()
    note = police.get_by_text("Teamets program bruker ikke lenger dette samtykket")
    expect(note).to_be_visible()
    expect(police.locator(".hint")).to_have_count(1)  # the crisis plan's consent is in use
    assert not (wide := wider_than_screen(phone)), wide
    assert_accessible(phone, "consents, one not in use")
    screenshot(phone, "consent-not-in-use")
    # A tap, not uncheck(): withdrawn, the consent leaves the list (the programme no longer
    # asks for it), and uncheck() would wait for a switch that is gone to read unchecked.
    requests_switch.click()
    phone.get_by_text("Samtykket er trukket tilbake").wait_for()
    expect(police.get_by_role("switch")).to_have_count(1)  # withdrawn: no longer listed
    consents = client.get("/api/v1/me/consents", headers=token(client, kari)).get_json()["consents"]
    assert [(c["scope"], c["state"], c["in_use"]) for c in consents] == [("crisis_plan", "granted", True)]
