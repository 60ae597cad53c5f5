"""Kari at 01:40 on one bar of signal: the plan opens with no network, and what she writes
offline is sent once when the phone reconnects (checked through the API)."""

from __future__ import annotations

import time

from playwright.sync_api import expect

from tests.browser.test_patient_app_support import (
    activate,
    enrol,
    put_crisis_plan,
    token,
    wait_for_worker,
    wait_until,
)

BACK_ONLINE_MS = 45_000


def _offline_with_plan(live_server, phone, world, client):
    kari = enrol(world, client)
    activate(phone, live_server, kari)
    put_crisis_plan(client, token(client, kari))
    phone.get_by_role("link", name="Når det er krise").click()
    phone.get_by_text("ring Siv (søster)").wait_for()
    wait_for_worker(phone)
    phone.context.set_offline(True)
    return kari


def test_the_crisis_plan_opens_after_a_reload_with_no_network(live_server, phone, world, client, screenshot):
    _offline_with_plan(live_server, phone, world, client)
    phone.reload()
    phone.get_by_text("ring Siv (søster)").wait_for()
    # Drawn after the plan, from the kept copy's date and the network state: wait, not peek.
    expect(phone.get_by_text("lagret versjon fra")).to_be_visible()
    expect(phone.get_by_text("Du er uten nett")).to_be_visible()
    screenshot(phone, "crisis-plan-offline")


def test_the_app_starts_from_home_with_no_network(live_server, phone, world, client):
    _offline_with_plan(live_server, phone, world, client)
    phone.goto(f"{live_server}/app/")
    phone.get_by_role("heading", name="Hei, Kari!").wait_for()
    assert phone.locator("#sos a[href='tel:113']").is_visible()
    phone.get_by_role("link", name="Når det er krise").click()
    phone.get_by_text("gå en tur rundt vannet").wait_for()


def test_a_diary_entry_and_a_contact_request_made_offline_arrive_once(
    live_server, phone, world, client, screenshot
):
    kari = _offline_with_plan(live_server, phone, world, client)
    phone.goto(f"{live_server}/app/#/diary/new")
    phone.get_by_label("Hva vil du skrive?").fill("Får ikke sove i natt.")
    assert not phone.get_by_role("switch", name="Del med teamet mitt").is_checked()
    phone.get_by_role("button", name="Lagre").click()
    phone.get_by_text("Venter på nett").first.wait_for()
    phone.get_by_text("Får ikke sove i natt.").wait_for()
    screenshot(phone, "diary-waiting")

    phone.goto(f"{live_server}/app/#/contact")
    phone.get_by_label("Vil du si noe?").fill("får ikke sove, stemmene er sterke")
    phone.get_by_role("button", name="Ring meg").click()
    phone.get_by_role("heading", name="Forespørselen venter på nett").wait_for()
    assert phone.get_by_text("2 venter på å bli sendt").is_visible()
    screenshot(phone, "contact-waiting")

    phone.context.set_offline(False)
    phone.locator("#contact-state").wait_for(timeout=BACK_ONLINE_MS)
    phone.get_by_text("Sendt").first.wait_for()
    screenshot(phone, "contact-sent")
    time.sleep(2)  # a late retry would show up now

    headers = token(client, kari)
    diary = client.get("/api/v1/me/diary", headers=headers).get_json()["items"]
    assert [(e["text"], e["shared_with_team"]) for e in diary] == [("Får ikke sove i natt.", False)]
    requests = client.get("/api/v1/me/contact-requests", headers=headers).get_json()["items"]
    assert len(requests) == 1
    assert requests[0]["kind"] == "call_me"
    assert [m["body"] for m in requests[0]["messages"]] == ["får ikke sove, stemmene er sterke"]
    assert phone.evaluate("JSON.parse(localStorage.getItem('muli.outbox') || '[]').length") == 0


def test_a_reload_while_waiting_keeps_the_queue_and_still_sends_once(live_server, phone, world, client):
    kari = _offline_with_plan(live_server, phone, world, client)
    phone.goto(f"{live_server}/app/#/diary/new")
    phone.get_by_label("Hva vil du skrive?").fill("Skrevet på bussen uten dekning.")
    phone.get_by_role("button", name="Lagre").click()
    phone.get_by_text("Venter på nett").first.wait_for()
    phone.reload()
    phone.get_by_text("Skrevet på bussen uten dekning.").wait_for()
    phone.context.set_offline(False)
    wait_until(phone, "JSON.parse(localStorage.getItem('muli.outbox') || '[]').length === 0", 45)
    diary = client.get("/api/v1/me/diary", headers=token(client, kari)).get_json()["items"]
    assert [e["text"] for e in diary] == ["Skrevet på bussen uten dekning."]
