"""Web Push subscriptions: per account and device, encrypted at rest, listed and removed by
their owner; and what the outbox queues once someone has one."""

from __future__ import annotations

import base64
import json
import os
import uuid

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import text

from muli.extensions import db
from muli.models.push import PushSubscription
from tests.contact_support import SATURDAY_NIGHT, WEDNESDAY_MORNING, ask, outbox, put_on_call, rows

ME = "/api/v1/me/push-subscriptions"
STAFF = "/api/v1/staff/push-subscriptions"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def device(endpoint: str | None = None, label: str = "Firefox on Android") -> dict:
    """What a browser's PushSubscription.toJSON() gives (keys made here, as a browser makes them)."""
    public = ec.generate_private_key(ec.SECP256R1()).public_key()
    raw = public.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return {
        "endpoint": endpoint or f"https://push.muli.invalid/wpush/v2/{uuid.uuid4().hex}",
        "expirationTime": None,
        "keys": {"p256dh": b64(raw), "auth": b64(os.urandom(16))},
        "label": label,
    }


@pytest.fixture
def care(world, clock):
    clock.set(SATURDAY_NIGHT)
    return world.care_team()


def test_a_patient_turns_notifications_on_and_sees_the_device_and_the_key(client, care):
    created = client.post(ME, json=device(), headers=care.patient.headers)
    assert created.status_code == 201, created.json
    listed = client.get(ME, headers=care.patient.headers).json
    assert [(i["id"], i["label"], i["service"]) for i in listed["items"]] == [
        (created.json["id"], "Firefox on Android", "push.muli.invalid")
    ]
    # The VAPID public key a browser subscribes with: an uncompressed P-256 point.
    assert base64.urlsafe_b64decode(listed["public_key"] + "==")[0] == 4
    assert "endpoint" not in created.json and "keys" not in created.json


def test_the_endpoint_and_keys_are_encrypted_at_rest(app, client, care):
    sent = device()
    client.post(STAFF, json=sent, headers=care.member.headers)
    with app.app_context():
        stored = " ".join(
            str(v) for row in db.session.execute(text("SELECT * FROM push_subscription")) for v in row
        )
    for secret in (sent["endpoint"], sent["keys"]["p256dh"], sent["keys"]["auth"], "wpush"):
        assert secret not in stored


def test_the_same_device_subscribing_again_keeps_one_entry(client, care):
    again = device()
    client.post(STAFF, json=again, headers=care.member.headers)
    client.post(STAFF, json={**again, "label": "renamed"}, headers=care.member.headers)
    assert [i["label"] for i in client.get(STAFF, headers=care.member.headers).json["items"]] == ["renamed"]


def test_an_owner_removes_a_device_and_nobody_else_can(client, care):
    mine = client.post(STAFF, json=device(), headers=care.member.headers).json["id"]
    assert client.delete(f"{STAFF}/{mine}", headers=care.coordinator.headers).status_code == 404
    assert client.delete(f"{STAFF}/{mine}", headers=care.member.headers).status_code == 204
    assert client.get(STAFF, headers=care.member.headers).json["items"] == []
    assert client.delete(f"{STAFF}/{mine}", headers=care.member.headers).status_code == 404


def test_each_account_sees_only_its_own_devices(client, care):
    client.post(STAFF, json=device(), headers=care.member.headers)
    assert client.get(STAFF, headers=care.coordinator.headers).json["items"] == []
    assert client.get(ME, headers=care.patient.headers).json["items"] == []


def test_patients_and_staff_keep_to_their_own_paths(client, care):
    assert client.get(STAFF, headers=care.patient.headers).status_code == 403
    assert client.get(ME, headers=care.member.headers).status_code == 403
    assert client.get(ME).status_code == 401


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"endpoint": "ftp://push.muli.invalid/x"}, "endpoint"),
        ({"endpoint": "https://10.0.0.1/x"}, "endpoint"),
        ({"endpoint": "https://192.168.1.5/x"}, "endpoint"),
        ({"endpoint": "http://push.muli.invalid/x"}, "endpoint"),
        ({"endpoint": "https://[fd00::1]/x"}, "endpoint"),
        ({"keys": {"p256dh": b64(b"\x04" + os.urandom(10)), "auth": b64(os.urandom(16))}}, "p256dh"),
        ({"keys": {"p256dh": b64(b"\x04" + os.urandom(64)), "auth": b64(os.urandom(3))}}, "auth"),
        ({"keys": {"p256dh": "not base64!", "auth": b64(os.urandom(16))}}, "p256dh"),
    ],
)
def test_a_bad_subscription_is_a_422_naming_the_field(client, care, change, field):
    response = client.post(ME, json={**device(), **change}, headers=care.patient.headers)
    assert response.status_code == 422, response.json
    assert field in json.dumps(response.json)


def test_a_subscription_without_keys_is_a_422(client, care):
    body = device()
    del body["keys"]
    assert client.post(ME, json=body, headers=care.patient.headers).status_code == 422


def test_a_responder_with_a_device_gets_a_push_and_one_without_an_email(app, client, world, care):
    put_on_call(app, care.team, care.member, SATURDAY_NIGHT, SATURDAY_NIGHT.replace(hour=7))
    subscription = client.post(STAFF, json=device(), headers=care.member.headers).json["id"]
    request_id = ask(client, care.patient).json["id"]
    [row] = outbox(app)
    assert (row.channel, row.recipient, row.state) == ("push", subscription, "pending")
    payload = json.loads(row.body)
    assert payload["id"] == str(row.id) and payload["kind"] == "request"
    assert payload["url"] == f"/portal/queue/?request={request_id}#r-{request_id}"
    client.delete(f"{STAFF}/{subscription}", headers=care.member.headers)
    ask(client, care.patient)
    assert sorted(r.channel for r in outbox(app)) == ["email", "push"]


def test_in_office_hours_each_device_of_the_trusted_contact_and_coordinators_gets_one_push(
    app, client, clock, world, care
):
    """The office's recipients and their devices come from one statement: a trusted contact
    who is also a coordinator is pushed once per device (a row twice would break the dedupe
    key's uniqueness); a coordinator without a device is emailed; a patient's devices are
    not staff recipients."""
    clock.set(WEDNESDAY_MORNING)
    both = world.patient(care.team, trusted_contact=care.coordinator)
    client.post(ME, json=device(), headers=both.headers)
    other = world.staff(care.team, role="coordinator", agency=care.agency)
    first = client.post(STAFF, json=device(label="Telefon"), headers=care.coordinator.headers).json["id"]
    clock.set(WEDNESDAY_MORNING.replace(minute=1))
    second = client.post(STAFF, json=device(label="PC"), headers=care.coordinator.headers).json["id"]
    clock.set(WEDNESDAY_MORNING.replace(minute=2))
    request_id = ask(client, both).json["id"]
    assert ask(client, both).status_code == 201  # a second request: its own rows
    mine = [r for r in outbox(app) if f":{request_id}:" in r.dedupe_key]
    assert sorted(r.recipient for r in mine if r.channel == "push") == sorted([first, second])
    assert [r.recipient for r in mine if r.channel == "email"] == [other.staff.email]
    assert {r.dedupe_key.split(":")[2] for r in mine} == {str(care.coordinator.staff.id), str(other.staff.id)}


def test_a_request_taken_by_ringer_naa_is_seen_too(app, client, care):
    """'Ringer nå' on an open request takes it as acknowledging does: the patient hears it."""
    client.post(ME, json=device(), headers=care.patient.headers)
    request_id = ask(client, care.patient).json["id"]
    r = client.post(f"/api/v1/staff/contact-requests/{request_id}/call", headers=care.member.headers)
    assert r.status_code == 200, r.json
    pushed = [json.loads(r.body) for r in outbox(app) if r.channel == "push"]
    assert [p["kind"] for p in pushed if p["kind"] == "seen"] == ["seen"]


def test_the_patients_devices_hear_seen_answered_and_closed_without_names_or_text(app, client, care):
    client.post(ME, json=device(), headers=care.patient.headers)
    body = {"kind": "chat", "urgency": "crisis", "message": "Jeg får ikke sove"}
    request_id = ask(client, care.patient, body).json["id"]
    url = f"/api/v1/staff/contact-requests/{request_id}"
    client.post(url + "/acknowledge", headers=care.member.headers)
    client.post(url + "/messages", json={"body": "Jeg ringer deg nå"}, headers=care.member.headers)
    client.post(
        url + "/close", json={"outcome": "talked", "note": "snakket lenge"}, headers=care.member.headers
    )
    pushed = [json.loads(r.body) for r in outbox(app) if r.channel == "push"]
    assert sorted(p["kind"] for p in pushed) == ["answered", "closed", "seen"]
    assert {p["url"] for p in pushed} == {f"/app/#/contact/{request_id}"}
    everything = json.dumps(pushed, ensure_ascii=False)
    for private in (
        "får ikke sove",
        "ringer deg",
        "snakket",
        care.member.staff.display_name,
        care.patient.name,
    ):
        assert private not in everything


def test_subscribing_is_audited_for_the_patient(app, client, care):
    from muli.models.audit import AuditEvent

    client.post(ME, json=device(), headers=care.patient.headers)
    events = rows(app, AuditEvent, action="push_subscription.create")
    assert [e.patient_id for e in events] == [care.patient.id]


def test_a_subscription_row_is_gone_after_removal(app, client, care):
    mine = client.post(ME, json=device(), headers=care.patient.headers).json["id"]
    client.delete(f"{ME}/{mine}", headers=care.patient.headers)
    assert rows(app, PushSubscription) == []
