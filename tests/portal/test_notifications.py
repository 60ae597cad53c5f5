"""The portal's notifications page: installable (manifest, service worker under /portal/),
turn notifications on for this browser, see and turn off my devices."""

from __future__ import annotations

import re

from muli.models.push import PushSubscription
from tests.api.test_push_subscriptions import device
from tests.contact_support import rows

PAGE = "/portal/notifications"


def csrf_from_page(html: str) -> str:
    match = re.search(r'data-csrf="([^"]+)"', html)
    assert match, "no CSRF token for the script"
    return match.group(1)


def subscribe(portal, body: dict):
    token = csrf_from_page(portal.text(PAGE))
    return portal.client.post(PAGE + "/subscribe", json=body, headers={"X-CSRFToken": token})


def test_a_clinician_turns_on_notifications_and_sees_the_device(world, portal_as):
    care = world.care_team()
    portal = portal_as(care.member)
    page = portal.text(PAGE)
    assert "Slå på varsler på denne enheten" in page and 'data-public-key="B' in page
    response = subscribe(portal, device(label="Chrome / Android"))
    assert response.status_code == 201, response.get_json()
    page = portal.text(PAGE)
    assert "Chrome / Android" in page and "push.muli.invalid" in page


def test_subscribing_without_the_csrf_token_is_refused(world, portal_as):
    care = world.care_team()
    portal = portal_as(care.member)
    assert portal.client.post(PAGE + "/subscribe", json=device()).status_code == 400
    assert "Chrome" not in portal.text(PAGE)


def test_a_bad_subscription_is_refused_with_the_reason(world, portal_as):
    care = world.care_team()
    portal = portal_as(care.member)
    response = subscribe(portal, {**device(), "endpoint": "http://10.1.2.3/x"})
    assert response.status_code in (400, 422)


def test_a_clinician_turns_a_device_off(world, portal_as):
    care = world.care_team()
    portal = portal_as(care.member)
    device_id = subscribe(portal, device(label="Old phone")).get_json()["id"]
    response = portal.post(f"{PAGE}/{device_id}/remove", token_from=PAGE)
    assert response.status_code == 302
    page = portal.text(PAGE)
    assert "Old phone" not in page and "Ingen enheter får varsler ennå." in page


def test_someone_elses_device_cannot_be_turned_off(app, world, portal_as):
    care = world.care_team()
    portal = portal_as(care.member)
    device_id = subscribe(portal, device(label="Mine")).get_json()["id"]
    portal.client.post("/portal/logout", data={"csrf_token": csrf_from_page(portal.text(PAGE))})
    other = portal_as(care.coordinator)
    assert other.post(f"{PAGE}/{device_id}/remove", token_from=PAGE).status_code == 404
    assert [str(r.id) for r in rows(app, PushSubscription)] == [device_id]


def test_the_portal_is_installable_with_a_service_worker_scoped_to_it(client):
    manifest = client.get("/portal/manifest.webmanifest")
    assert manifest.mimetype == "application/manifest+json"
    assert manifest.get_json()["scope"] == "/portal/"
    worker = client.get("/portal/sw.js")
    assert worker.mimetype == "text/javascript"
    assert worker.headers["Service-Worker-Allowed"] == "/portal/"
    assert "notificationclick" in worker.get_data(as_text=True)


def test_the_page_needs_a_signed_in_clinician(client):
    response = client.get(PAGE)
    assert response.status_code == 302 and "/portal/login" in response.headers["Location"]


def test_a_notification_opened_while_signed_out_returns_to_the_request_after_sign_in(client):
    request_id = "0b5a3c56-0000-4000-8000-000000000001"
    response = client.get(f"/portal/queue/?request={request_id}")
    assert response.status_code == 302
    assert f"request%3D{request_id}" in response.headers["Location"]
