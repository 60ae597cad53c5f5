"""The on-call nurse calls back (issue 14): the queue card and the request page show the
number as a tel: link, and "Ringer nå" tells the patient's app who is calling."""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path

import requests
from playwright.sync_api import expect

from tests.browser.test_portal_support import portal_catalogues, sign_in

__all__ = ["portal_catalogues"]  # autouse: compiles the message catalogues

TONIGHT = "+4700000199"
SHOTS = Path(tempfile.gettempdir()) / "muli-phone-screens"  # not in the repository


def _ask(live_server, patient, **body) -> dict:
    response = requests.post(
        f"{live_server}/api/v1/me/contact-requests",
        json={"kind": "call_me", "urgency": "crisis", **body},
        headers={**patient.headers, "Idempotency-Key": str(uuid.uuid4())},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return response.json()


def _set_phone(live_server, patient, phone: str) -> None:
    response = requests.put(
        f"{live_server}/api/v1/me/phone", json={"phone": phone}, headers=patient.headers, timeout=30
    )
    assert response.status_code == 200, response.text


def _tel_link(link) -> dict:
    """What the browser makes of the link: a tel: URL it would hand to the phone app."""
    return link.evaluate("a => ({protocol: a.protocol, number: a.href.slice(4), text: a.textContent})")


def test_the_queue_card_calls_the_patients_number_and_tells_the_app(live_server, world, tablet):
    care = world.care_team()
    _set_phone(live_server, care.patient, "000 00 101")
    made = _ask(live_server, care.patient)
    sign_in(tablet, live_server, care.member)
    tablet.goto(f"{live_server}/portal/queue/")
    card = tablet.locator(f"#r-{made['id']}")
    expect(card).to_be_visible(timeout=30_000)
    link = card.get_by_test_id(f"call-back-{made['id']}")
    expect(link).to_be_visible()
    assert _tel_link(link) == {"protocol": "tel:", "number": "+4700000101", "text": "+4700000101"}
    box = link.bounding_box()
    assert box["width"] > 0 and box["height"] > 0
    SHOTS.mkdir(exist_ok=True)
    card.screenshot(path=str(SHOTS / "portal-queue-card.png"))

    card.get_by_role("button", name="Ringer nå").click()
    expect(tablet.get_by_text("Pasienten ser nå at du ringer.")).to_be_visible()
    card = tablet.locator(f"#r-{made['id']}")
    expect(card.get_by_test_id(f"calling-{made['id']}")).to_contain_text(care.member.staff.display_name)
    card.screenshot(path=str(SHOTS / "portal-queue-card-calling.png"))
    mine = requests.get(
        f"{live_server}/api/v1/me/contact-requests/{made['id']}", headers=care.patient.headers, timeout=30
    ).json()
    assert mine["state"] == "acknowledged"
    assert mine["call_started_by"]["name"] == care.member.staff.display_name


def test_the_request_page_shows_tonights_number_first(live_server, world, tablet):
    care = world.care_team()
    _set_phone(live_server, care.patient, "00000101")
    made = _ask(live_server, care.patient, callback_phone=TONIGHT)
    sign_in(tablet, live_server, care.member)
    tablet.goto(f"{live_server}/portal/queue/{made['id']}")
    link = tablet.get_by_test_id(f"call-back-{made['id']}")
    expect(link).to_be_visible()
    assert _tel_link(link)["number"] == TONIGHT
    expect(tablet.locator("a[href='tel:+4700000101']")).to_be_visible()  # her own number too


def test_staff_of_another_team_do_not_get_the_request_page(live_server, world, tablet):
    care = world.care_team()
    _set_phone(live_server, care.patient, "00000101")
    made = _ask(live_server, care.patient)
    outsider = world.staff(world.team())
    sign_in(tablet, live_server, outsider)
    response = tablet.goto(f"{live_server}/portal/queue/{made['id']}")
    assert response.status == 404
    assert "00000101" not in tablet.content()
