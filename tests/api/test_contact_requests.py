"""The patient's side of a contact request: never refused, idempotent, one transaction."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select, text

from api import idempotency
from muli.contact import notifications
from muli.contact import requests as contact_requests
from muli.extensions import db
from muli.models.audit import AuditEvent
from muli.models.contact import ContactMessage, ContactRequest
from muli.models.idempotency import IdempotencyRecord
from muli.platform.errors import InvalidState
from tests.conftest import database_kind
from tests.contact_support import (
    SATURDAY_NIGHT,
    WEDNESDAY_MORNING,
    ask,
    key,
    message_rows,
    outbox,
    put_on_call,
    requests,
    rows,
    utc,
)

URL = "/api/v1/me/contact-requests"


@pytest.fixture
def care(world, clock):
    clock.set(SATURDAY_NIGHT)
    return world.care_team()


def test_a_request_without_an_idempotency_key_is_refused_with_400(client, care):
    response = client.post(URL, json={"kind": "chat", "urgency": "talk"}, headers=care.patient.headers)
    assert response.status_code == 400
    assert response.json["type"].endswith("idempotency-key-required")


def test_the_minimal_request_kind_and_urgency_is_accepted(client, care):
    response = ask(client, care.patient, {"kind": "chat", "urgency": "talk"})
    assert response.status_code == 201
    assert response.json["state"] == "open"


def test_with_nobody_reachable_the_request_is_stored_and_routed_to_none(client, app, care):
    response = ask(client, care.patient)
    assert (response.status_code, response.json["routed_to"]) == (201, "none")
    assert [r.id for r in requests(app)] == [uuid.UUID(response.json["id"])]


def test_with_nobody_reachable_the_answer_shows_113_and_116_117(client, care):
    numbers = [n["number"] for n in ask(client, care.patient).json["emergency_numbers"]]
    assert {"113", "116 117"} <= set(numbers)


def test_at_night_the_request_goes_to_the_primary_on_call(client, app, world, care):
    ola = world.staff(care.team, name="Ola Vakt")
    put_on_call(app, care.team, ola, utc(2026, 11, 20, 15), utc(2026, 11, 21, 7))
    body = ask(client, care.patient).json
    assert (body["routed_to"], body["responder"]["name"]) == ("on_call", "Ola Vakt")


def test_the_answer_says_within_how_many_minutes_someone_acknowledges(client, app, world, care):
    put_on_call(app, care.team, world.staff(care.team), utc(2026, 11, 20, 15), utc(2026, 11, 21, 7))
    assert ask(client, care.patient).json["acknowledge_within_minutes"] == 10


def test_in_office_hours_the_request_goes_to_the_office(client, clock, care):
    clock.set(WEDNESDAY_MORNING)
    assert ask(client, care.patient).json["routed_to"] == "office"


def test_the_on_call_gets_an_email_that_names_no_patient_and_no_health_text(client, app, world, care):
    ola = world.staff(care.team)
    put_on_call(app, care.team, ola, utc(2026, 11, 20, 15), utc(2026, 11, 21, 7))
    ask(client, care.patient, {"kind": "call_me", "urgency": "crisis", "message": "får ikke sove"})
    [mail] = outbox(app)
    assert mail.recipient == ola.staff.email
    assert care.patient.name not in mail.subject + mail.body
    assert "sove" not in mail.subject + mail.body
    assert "/portal/queue" in mail.body


def test_the_request_its_message_email_and_audit_event_are_written_together(client, app, world, care):
    put_on_call(app, care.team, world.staff(care.team), utc(2026, 11, 20, 15), utc(2026, 11, 21, 7))
    body = ask(client, care.patient, {"kind": "chat", "urgency": "talk", "message": "hei"}).json
    assert len(message_rows(app, body["id"])) == 1
    assert len(outbox(app)) == 1
    assert len(rows(app, AuditEvent, action="contact_request.create", resource_id=body["id"])) == 1


def test_the_message_is_stored_encrypted(client, app, care):
    body = ask(
        client, care.patient, {"kind": "chat", "urgency": "talk", "message": "stemmene er sterke"}
    ).json
    [stored] = message_rows(app, body["id"])
    assert "stemmene" not in stored.body_enc


def test_a_failed_request_leaves_nothing_behind(client, app, care):
    ask(client, care.patient, {"kind": "chat", "urgency": "talk", "callback_phone": "not a phone"})
    assert requests(app) == [] and outbox(app) == []


@pytest.mark.parametrize(
    ("failure", "status"),
    [(RuntimeError("the disk is full"), 500), (InvalidState("This request is closed."), 409)],
)
def test_a_request_that_fails_after_its_first_insert_leaves_nothing_behind(
    client, app, world, care, monkeypatch, failure, status
):
    """The request and its message are written, then queuing the notification fails: the
    whole transaction goes, the key's claim with it, and a retry with that key is done once."""
    put_on_call(app, care.team, world.staff(care.team), utc(2026, 11, 20, 15), utc(2026, 11, 21, 7))
    written = []

    def fail(ctx, *_args, **_kwargs):
        written.extend(ctx.session.execute(select(ContactRequest.id, ContactMessage.id).join(ContactMessage)))
        raise failure

    monkeypatch.setattr(notifications, "enqueue", fail)
    headers = {**care.patient.headers, **key()}
    body = {"kind": "chat", "urgency": "talk", "message": "hei"}
    assert client.post(URL, json=body, headers=headers).status_code == status
    assert len(written) == 1  # the failure came after the request and its message were inserted
    assert requests(app) == [] and outbox(app) == [] and rows(app, ContactMessage) == []
    assert rows(app, IdempotencyRecord) == []
    assert rows(app, AuditEvent, action="contact_request.create") == []

    monkeypatch.undo()
    again = client.post(URL, json=body, headers=headers)
    assert again.status_code == 201 and "Idempotent-Replayed" not in again.headers
    assert [str(r.id) for r in requests(app)] == [again.json["id"]]
    assert len(outbox(app)) == 1 and len(message_rows(app, again.json["id"])) == 1


@pytest.mark.skipif(database_kind() != "postgresql", reason="the key's advisory lock is PostgreSQL's")
def test_a_key_another_transaction_is_working_on_is_409_at_once_and_done_once_after(client, app, care):
    """PostgreSQL: while another transaction holds the key's lock (a request with that key not
    yet committed), the same key is 409 `idempotency-in-progress` at once, writing nothing
    (the lock and the claim are one statement: the claim is not even tried); once that
    transaction has gone, a retry with the key is done once."""
    key_value = str(uuid.uuid4())
    headers = {**care.patient.headers, "Idempotency-Key": key_value}
    body = {"kind": "chat", "urgency": "talk", "message": "hei"}
    with app.app_context(), db.engine.connect() as other:
        lock = idempotency._lock_key(care.patient.account.id, key_value)
        other.execute(text("SELECT pg_advisory_xact_lock(:lock)"), {"lock": lock})
        busy = client.post(URL, json=body, headers=headers)
        assert (busy.status_code, busy.json["type"].rsplit("/", 1)[-1]) == (409, "idempotency-in-progress")
        assert requests(app) == [] and rows(app, IdempotencyRecord) == []
        other.rollback()
    again = client.post(URL, json=body, headers=headers)
    assert again.status_code == 201 and "Idempotent-Replayed" not in again.headers
    replay = client.post(URL, json=body, headers=headers)
    assert replay.headers.get("Idempotent-Replayed") == "true" and replay.json["id"] == again.json["id"]
    assert [str(r.id) for r in requests(app)] == [again.json["id"]]


def test_in_office_hours_the_trusted_contact_and_the_coordinators_are_emailed_once_each(
    client, app, clock, world, care
):
    clock.set(WEDNESDAY_MORNING)
    second = world.staff(care.team, role="coordinator", agency=care.agency)
    world.staff(world.team(), role="coordinator")  # another team's: not told
    both = world.patient(care.team, trusted_contact=care.coordinator)  # trusted and coordinator
    alone = world.patient(care.team)  # no trusted contact: the coordinators
    emailed = []
    for patient in (care.patient, both, alone):
        request_id = ask(client, patient).json["id"]
        emailed.append(sorted(m.recipient for m in outbox(app) if f":{request_id}:" in m.dedupe_key))
    coordinators = sorted([care.coordinator.staff.email, second.staff.email])
    assert emailed == [sorted([care.member.staff.email, *coordinators]), coordinators, coordinators]


def test_the_same_key_and_body_again_answers_the_first_request(client, app, care):
    headers = {**care.patient.headers, **key()}
    first = client.post(URL, json={"kind": "chat", "urgency": "talk"}, headers=headers)
    again = client.post(URL, json={"kind": "chat", "urgency": "talk"}, headers=headers)
    assert (again.status_code, again.json, again.headers["Idempotent-Replayed"]) == (201, first.json, "true")
    assert len(requests(app)) == 1


def test_the_same_key_with_another_body_is_refused_with_422(client, care):
    headers = {**care.patient.headers, **key()}
    client.post(URL, json={"kind": "chat", "urgency": "talk"}, headers=headers)
    assert client.post(URL, json={"kind": "chat", "urgency": "crisis"}, headers=headers).status_code == 422


def _written(app) -> tuple[int, int, int]:
    return (len(outbox(app)), len(rows(app, ContactMessage)), len(rows(app, AuditEvent)))


def _replayed_and_nothing_more(app, first, again, written) -> None:
    """`again` is `first`'s answer replayed, and it wrote nothing more."""
    assert (again.status_code, again.get_data(), again.headers["Idempotent-Replayed"]) == (
        201,
        first.get_data(),
        "true",
    )
    assert [str(r.id) for r in requests(app)] == [first.json["id"]]
    assert _written(app) == written
    assert len(rows(app, IdempotencyRecord)) == 1


def test_a_repeat_writes_nothing_more_and_answers_the_first(client, app, care):
    headers = {**care.patient.headers, **key()}
    body = {"kind": "chat", "urgency": "talk", "message": "hei"}
    first = client.post(URL, json=body, headers=headers)
    written = _written(app)
    again = client.post(URL, json=body, headers=headers)
    _replayed_and_nothing_more(app, first, again, written)


@pytest.mark.parametrize(
    "other",
    [
        {"kind": "chat", "urgency": "talk", "callback_phone": "12ab"},  # the service refuses it
        {"kind": "visit", "urgency": "talk"},  # the schema refuses it
        {"kind": "chat", "urgency": "talk", "mood": 3},  # an unknown field
    ],
)
def test_a_used_key_with_another_body_is_key_reused_whatever_that_body_would_meet(client, app, care, other):
    """The key is looked at before the body's own refusals: the answer is the key's 422."""
    headers = {**care.patient.headers, **key()}
    assert client.post(URL, json={"kind": "chat", "urgency": "talk"}, headers=headers).status_code == 201
    again = client.post(URL, json=other, headers=headers)
    assert (again.status_code, again.json["type"].rsplit("/", 1)[-1]) == (422, "idempotency-key-reused")
    assert len(requests(app)) == 1 and len(rows(app, IdempotencyRecord)) == 1


@pytest.mark.skipif(database_kind() != "sqlite", reason="claim_last is SQLite's (PostgreSQL claims first)")
def test_a_key_claimed_while_the_request_worked_rolls_its_work_back_and_replays(
    client, app, care, monkeypatch
):
    """SQLite claims the key with its answer after the work (one statement): when another
    request with the key committed first (here: between this one's reads and its first
    write), nothing this one wrote stays and the other's answer is given."""
    headers = {**care.patient.headers, **key()}
    body = {"kind": "chat", "urgency": "talk", "message": "hei"}
    first = client.post(URL, json=body, headers=headers)
    with app.app_context():
        [record] = db.session.execute(select(IdempotencyRecord.__table__)).mappings().all()
        record = dict(record)
        db.session.execute(IdempotencyRecord.__table__.delete())
        db.session.commit()
    written = _written(app)
    reads = contact_requests._first_recipients

    def others_commit_first(*args, **kwargs):
        with db.engine.begin() as other:
            other.execute(IdempotencyRecord.__table__.insert(), record)
        return reads(*args, **kwargs)

    monkeypatch.setattr(contact_requests, "_first_recipients", others_commit_first)
    again = client.post(URL, json=body, headers=headers)
    _replayed_and_nothing_more(app, first, again, written)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "visit", "urgency": "talk"}, "kind"),
        ({"kind": "chat", "urgency": "now"}, "urgency"),
        ({"kind": "chat", "urgency": "talk", "message": "x" * 2001}, "message"),
        ({"kind": "chat", "urgency": "talk", "callback_phone": "12ab"}, "callback_phone"),
        ({"kind": "chat", "urgency": "talk", "callback_phone": "+47 123"}, "callback_phone"),
        ({"kind": "chat", "urgency": "talk", "mood": 3}, "mood"),
        ({"urgency": "talk"}, "kind"),
    ],
)
def test_bad_input_is_a_422_naming_the_field(client, care, body, field):
    response = ask(client, care.patient, body)
    assert response.status_code == 422
    assert field in response.json["errors"]


def test_a_norwegian_number_without_country_code_is_stored_as_e164(client, care):
    body = ask(
        client, care.patient, {"kind": "call_me", "urgency": "talk", "callback_phone": "912 34 567"}
    ).json
    assert body["callback_phone"] == "+4791234567"


def test_timestamps_are_utc_with_z(client, care):
    assert ask(client, care.patient).json["created_at"] == "2026-11-21T00:40:00Z"


def test_my_requests_are_listed_newest_first(client, clock, care):
    first = ask(client, care.patient).json["id"]
    clock.advance(minutes=5)
    second = ask(client, care.patient).json["id"]
    listed = client.get(URL, headers=care.patient.headers).json
    assert [r["id"] for r in listed["items"]] == [second, first]


def test_my_request_list_pages_with_a_cursor(client, clock, care):
    for _ in range(3):
        ask(client, care.patient)
        clock.advance(minutes=1)
    page = client.get(URL + "?limit=2", headers=care.patient.headers).json
    rest = client.get(f"{URL}?limit=2&cursor={page['next_cursor']}", headers=care.patient.headers).json
    assert (len(page["items"]), len(rest["items"]), rest["next_cursor"]) == (2, 1, None)


def test_i_see_who_acknowledged_my_request_and_when(client, clock, care):
    request_id = ask(client, care.patient).json["id"]
    clock.advance(minutes=6)
    client.post(f"/api/v1/staff/contact-requests/{request_id}/acknowledge", headers=care.member.headers)
    body = client.get(f"{URL}/{request_id}", headers=care.patient.headers).json
    assert body["state"] == "acknowledged"
    assert body["acknowledged_by"]["name"] == care.member.staff.display_name
    assert body["acknowledged_by"]["agency"] == care.agency.name
    assert body["acknowledged_at"] == "2026-11-21T00:46:00Z"


def test_i_can_write_more_in_my_open_request(client, care):
    request_id = ask(client, care.patient).json["id"]
    response = client.post(
        f"{URL}/{request_id}/messages", json={"body": "det går litt bedre"}, headers=care.patient.headers
    )
    assert response.status_code == 201
    assert [m["body"] for m in response.json["messages"]] == ["det går litt bedre"]


def test_a_message_retried_with_its_key_is_stored_once(client, app, care):
    request_id = ask(client, care.patient).json["id"]
    headers = {**care.patient.headers, **key()}
    for _ in range(2):
        client.post(f"{URL}/{request_id}/messages", json={"body": "hallo"}, headers=headers)
    assert len(message_rows(app, request_id)) == 1


def test_an_empty_message_is_a_422_naming_body(client, care):
    request_id = ask(client, care.patient).json["id"]
    response = client.post(f"{URL}/{request_id}/messages", json={"body": "   "}, headers=care.patient.headers)
    assert (response.status_code, list(response.json["errors"])) == (422, ["body"])


def test_cancelling_says_i_am_ok_now(client, care):
    request_id = ask(client, care.patient).json["id"]
    response = client.post(f"{URL}/{request_id}/cancel", headers=care.patient.headers)
    assert (response.status_code, response.json["state"]) == (200, "cancelled")


def test_a_cancelled_request_takes_no_more_messages(client, care):
    request_id = ask(client, care.patient).json["id"]
    client.post(f"{URL}/{request_id}/cancel", headers=care.patient.headers)
    response = client.post(f"{URL}/{request_id}/messages", json={"body": "hei"}, headers=care.patient.headers)
    assert response.status_code == 409


def test_a_cancelled_request_cannot_be_acknowledged(client, care):
    request_id = ask(client, care.patient).json["id"]
    client.post(f"{URL}/{request_id}/cancel", headers=care.patient.headers)
    response = client.post(
        f"/api/v1/staff/contact-requests/{request_id}/acknowledge", headers=care.member.headers
    )
    assert response.status_code == 409


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [("get", "", None), ("post", "/messages", {"body": "hei"}), ("post", "/cancel", None)],
)
def test_another_patients_request_does_not_exist_for_me(client, world, care, method, suffix, body):
    request_id = ask(client, care.patient).json["id"]
    other = world.patient(care.team)
    response = getattr(client, method)(f"{URL}/{request_id}{suffix}", json=body, headers=other.headers)
    assert response.status_code == 404


def test_staff_cannot_use_the_patients_contact_requests(client, care):
    response = client.get(URL, headers=care.member.headers)
    assert response.status_code == 403
