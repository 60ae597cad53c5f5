"""Web Push in Chromium: the service workers of the patient app and of the portal show a
delivered push (DevTools' ServiceWorker.deliverPushMessage, as a push service would deliver
it), with no name or text in it, and a tap on it opens the request."""

from __future__ import annotations

import json
import time
import uuid

from tests.browser.test_patient_app_support import (
    PASSWORD,
    activate,
    enrol,
    token,
    wait_for_worker,
    wait_until,
)
from tests.contact_support import key

NOTIFIED = 'navigator.serviceWorker.getRegistration("{scope}").then((r) => r.getNotifications()).then((l) => l.length)'  # noqa: E501


def registration_id(page, scope: str) -> str:
    """The service worker registration's id for `scope`, from DevTools."""
    cdp = page.context.new_cdp_session(page)
    found: dict = {}
    cdp.on(
        "ServiceWorker.workerRegistrationUpdated",
        lambda event: found.update({r["scopeURL"]: r["registrationId"] for r in event["registrations"]}),
    )
    cdp.send("ServiceWorker.enable")
    deadline = time.monotonic() + 20
    while not any(s.endswith(scope) for s in found) and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    [rid] = [r for s, r in found.items() if s.endswith(scope)]
    return rid, cdp


def deliver(page, live_server: str, scope: str, payload: dict) -> None:
    rid, cdp = registration_id(page, scope)
    cdp.send(
        "ServiceWorker.deliverPushMessage",
        {"origin": live_server, "registrationId": rid, "data": json.dumps(payload)},
    )


def shown(page, scope: str) -> list[dict]:
    return page.evaluate(
        f"""navigator.serviceWorker.getRegistration("{scope}").then((r) => r.getNotifications())
        .then((list) => list.map((n) => ({{title: n.title, body: n.body, tag: n.tag, data: n.data}})))"""
    )


def click(page, scope: str) -> None:
    """What a tap does: the service worker's own `notificationclick` listener, given the shown
    notification in a NotificationEvent. DevTools cannot tap a notification, and the browser
    lets only its own (trusted) events extend their life, so `waitUntil` is the one part
    stood in for: it collects the promise the listener hands over, which the test awaits."""
    worker = next(w for w in page.context.service_workers if scope in w.url)
    worker.evaluate(
        """async () => {
          const [n] = await self.registration.getNotifications();
          const event = new NotificationEvent("notificationclick", {notification: n});
          const extended = [];
          Object.defineProperty(event, "waitUntil", {value: (p) => extended.push(p)});
          self.dispatchEvent(event);
          if (extended.length !== 1) throw new Error("the listener did not hand over its work");
          await extended[0];
        }"""
    )
    # The listener closes what was tapped.
    wait_until(page, NOTIFIED.format(scope=scope) + ".then((n) => n === 0)")


def patient_with_a_request(live_server, phone, world, client):
    """Kari in the app with notifications allowed and its worker running, and a request of hers."""
    kari = enrol(world, client)
    phone.context.grant_permissions(["notifications"], origin=live_server)
    activate(phone, live_server, kari)
    wait_for_worker(phone)
    created = client.post(
        "/api/v1/me/contact-requests",
        json={"kind": "chat", "urgency": "talk"},
        headers={**token(client, kari), **key()},
    )
    return kari, created.get_json()["id"]


def test_the_patient_app_shows_a_pushed_notification_and_a_tap_opens_the_request(
    live_server, phone, world, client
):
    _kari, request_id = patient_with_a_request(live_server, phone, world, client)
    payload = {
        "id": str(uuid.uuid4()),
        "kind": "seen",
        "title": "MULI",
        "body": "Noen i teamet har sett forespørselen din.",
        "url": f"/app/#/contact/{request_id}",
        "tag": f"muli-{request_id}",
    }
    deliver(phone, live_server, "/app/", payload)
    wait_until(phone, NOTIFIED.format(scope="/app/"))
    [note] = shown(phone, "/app/")
    assert (note["title"], note["body"], note["data"]["url"]) == ("MULI", payload["body"], payload["url"])
    click(phone, "/app/")
    wait_until(phone, f'location.hash === "#/contact/{request_id}"')
    phone.locator("#contact-state").wait_for()


def test_the_portal_shows_a_pushed_notification_and_a_tap_opens_the_request(live_server, tablet, world):
    from tests.browser.test_portal_support import contact_request, sign_in

    care = world.care_team()
    tablet.context.grant_permissions(["notifications"], origin=live_server)
    sign_in(tablet, live_server, care.member)
    request_id = contact_request(live_server, care.patient, "får ikke sove")["id"]
    tablet.goto(f"{live_server}/portal/notifications")
    tablet.get_by_role("button", name="Slå på varsler på denne enheten").wait_for()
    # Registering the worker as the button does (subscribing needs a real push service,
    # which headless Chromium cannot reach: the server side is tested against one instead).
    tablet.evaluate('navigator.serviceWorker.register("/portal/sw.js", {scope: "/portal/"}).then(() => true)')
    tablet.evaluate("navigator.serviceWorker.ready.then(() => true)")
    tablet.reload()
    wait_until(tablet, "navigator.serviceWorker.controller !== null")
    payload = {
        "id": str(uuid.uuid4()),
        "kind": "request",
        "title": "MULI",
        "body": "En ny forespørsel venter på deg. / A new request is waiting for you.",
        "url": f"/portal/queue/?request={request_id}#r-{request_id}",
        "tag": f"muli-{request_id}",
    }
    deliver(tablet, live_server, "/portal/", payload)
    wait_until(tablet, NOTIFIED.format(scope="/portal/"))
    [note] = shown(tablet, "/portal/")
    assert (note["body"], note["tag"]) == (payload["body"], payload["tag"])
    click(tablet, "/portal/")
    wait_until(tablet, f'location.pathname + location.search === "/portal/queue/?request={request_id}"')
    tablet.locator(f"#r-{request_id}").wait_for()


def test_a_notification_tapped_after_signing_out_opens_its_request_after_sign_in(
    live_server, phone, world, client
):
    kari, request_id = patient_with_a_request(live_server, phone, world, client)
    phone.get_by_role("link", name="Innstillinger").first.click()
    phone.get_by_role("button", name="Logg ut").click()
    phone.get_by_role("button", name="Logg ut og slett fra telefonen").click()
    phone.get_by_role("heading", name="Logg inn").wait_for()
    payload = {
        "id": str(uuid.uuid4()),
        "kind": "answered",
        "title": "MULI",
        "body": "Du har fått svar fra teamet.",
        "url": f"/app/#/contact/{request_id}",
        "tag": f"muli-{request_id}",
    }
    deliver(phone, live_server, "/app/", payload)
    wait_until(phone, NOTIFIED.format(scope="/app/"))
    click(phone, "/app/")
    # Signed out: the request waits behind the sign-in, and opens after it (not home).
    phone.get_by_role("heading", name="Logg inn").wait_for()
    phone.get_by_label("Brukernavn").fill(kari.username)
    phone.get_by_label("Passord").fill(PASSWORD)
    phone.get_by_role("button", name="Logg inn").click()
    wait_until(phone, f'location.hash === "#/contact/{request_id}"')
    phone.locator("#contact-state").wait_for()
