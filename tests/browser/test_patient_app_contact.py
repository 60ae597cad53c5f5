"""Contact requests from the app: the state live (sent → seen by → closed), messages both
ways, "I'm OK now", and the plain answer when nobody is on call."""

from __future__ import annotations

import re

import pytest

from tests.browser.test_patient_app_support import activate, enrol, on_call_tonight, token


def _ask_for_a_call(phone, message="får ikke sove, stemmene er sterke", before=None):
    phone.get_by_role("link", name="Når du vil snakke med noen").click()
    if before:
        phone.get_by_text(before).first.wait_for()
    phone.get_by_label("Vil du si noe?").fill(message)
    phone.get_by_role("button", name="Ring meg").click()
    phone.locator("#contact-state").wait_for()


def _only_request(client, kari):
    items = client.get("/api/v1/me/contact-requests", headers=token(client, kari)).get_json()["items"]
    assert len(items) == 1
    return items[0]


@pytest.fixture
def kari_asked(live_server, phone, world, client, clock):
    """Kari, signed in on her phone with someone on call, has just asked for a call."""
    kari = enrol(world, client)
    on_call_tonight(client, kari, clock.now)
    activate(phone, live_server, kari)
    _ask_for_a_call(phone)
    return kari


def _acknowledged(client, kari) -> dict:
    """Her request, taken by the nurse on call."""
    request = _only_request(client, kari)
    client.post(f"/api/v1/staff/contact-requests/{request['id']}/acknowledge", headers=kari.member.headers)
    return request


def test_a_staff_acknowledgement_shows_up_without_reload(
    live_server, phone, world, client, clock, screenshot
):
    kari = enrol(world, client)
    on_call_tonight(client, kari, clock.now)
    activate(phone, live_server, kari)
    assert phone.get_by_text("På vakt nå: Ola Nordmann").is_visible()
    _ask_for_a_call(phone, before="På vakt nå: Ola Nordmann")
    phone.get_by_text("På vakt nå: Ola Nordmann").wait_for()
    screenshot(phone, "sent")
    request = _only_request(client, kari)
    assert request["routed_to"] == "on_call"

    clock.advance(minutes=6)
    answer = client.post(
        f"/api/v1/staff/contact-requests/{request['id']}/acknowledge", headers=kari.member.headers
    )
    assert answer.status_code == 200, answer.get_json()
    # 00:46 UTC is 01:46 in Oslo (the clock says 21 November, so the date is shown too).
    seen = re.compile(rf"Ola Nordmann \({kari.agency.name}\) har sett forespørselen din .*01:46")
    phone.get_by_text(seen).wait_for()
    assert phone.locator("#contact-state").get_attribute("data-state") == "acknowledged"
    screenshot(phone, "seen")


def test_messages_go_both_ways(phone, client, kari_asked):
    kari = kari_asked
    request = _acknowledged(client, kari)
    sent = client.post(
        f"/api/v1/staff/contact-requests/{request['id']}/messages",
        json={"body": "Jeg ringer deg om to minutter."},
        headers=kari.member.headers,
    )
    assert sent.status_code in (200, 201), sent.get_json()
    phone.get_by_text("Jeg ringer deg om to minutter.").wait_for()
    phone.get_by_label("Skriv en melding").fill("Takk, jeg venter.")
    phone.get_by_role("button", name="Send").click()
    phone.locator(".message.from-patient", has_text="Takk, jeg venter.").wait_for()
    bodies = [m["body"] for m in _only_request(client, kari)["messages"]]
    assert bodies.count("Takk, jeg venter.") == 1


def test_im_ok_now_cancels_the_request(phone, client, kari_asked):
    kari = kari_asked
    phone.get_by_role("button", name="Jeg har det OK nå").click()
    phone.get_by_text("Du sa at du har det OK").wait_for()
    assert _only_request(client, kari)["state"] == "cancelled"


def test_the_closed_request_shows_as_closed(phone, client, kari_asked):
    kari = kari_asked
    request = _acknowledged(client, kari)
    closed = client.post(
        f"/api/v1/staff/contact-requests/{request['id']}/close",
        json={"outcome": "talked", "note": "snakket, avtalt ny kontakt i morgen"},
        headers=kari.member.headers,
    )
    assert closed.status_code == 200, closed.get_json()
    phone.get_by_text("Avsluttet").wait_for()
    assert phone.locator("#contact-state").get_attribute("data-state") == "closed"
    assert phone.get_by_role("link", name="Ny forespørsel").is_visible()


def test_when_nobody_is_on_call_the_app_says_so_and_shows_the_numbers(
    live_server, phone, world, client, clock, screenshot
):
    kari = enrol(world, client)
    activate(phone, live_server, kari)
    _ask_for_a_call(phone, before="Ingen er på vakt akkurat nå. Ring 116 117 eller 113")
    phone.get_by_role("heading", name="Ingen er på vakt akkurat nå").wait_for()
    card = phone.locator(".card.numbers")
    assert card.locator("a[href='tel:116117']").is_visible()
    assert card.locator("a[href='tel:113']").is_visible()
    assert _only_request(client, kari)["routed_to"] == "none"
    screenshot(phone, "nobody-on-call")


def test_a_message_cut_mid_emoji_is_sent_and_the_app_says_what_was_changed(
    live_server, phone, world, client, clock, screenshot
):
    """Half an emoji (what a cut string holds) cannot be stored: the request still goes, with
    U+FFFD in its place, and the app says so, also after the screen has polled again."""
    kari = enrol(world, client)
    on_call_tonight(client, kari, clock.now)
    activate(phone, live_server, kari)
    phone.get_by_role("link", name="Når du vil snakke med noen").click()
    phone.get_by_label("Vil du si noe?").wait_for()
    # A lone high surrogate, made in the page: Python cannot hand one to the browser.
    phone.evaluate("document.querySelector('textarea[name=message]').value = 'Hjelp meg \\ud83d'")
    phone.get_by_role("button", name="Ring meg").click()
    phone.locator("#contact-state").wait_for()
    note = phone.locator("#message-altered")
    note.wait_for()
    assert "byttet ut med" in note.inner_text()
    assert _only_request(client, kari)["messages"][0]["body"] == "Hjelp meg \ufffd"
    phone.wait_for_timeout(5000)  # one poll of the request (every 4 s) later
    assert note.is_visible()
    screenshot(phone, "message-altered")
