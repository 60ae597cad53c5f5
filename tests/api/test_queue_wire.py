"""The queue's first page is built in one pass, in the wire form (issue 19, sixth pass): the
cards write their ids and instants as the schema dumps them and are sent as built. These
tests hold that answer to what the schema's dump of the service's own cards makes, byte for
byte, for cards of every shape (taken, called, closed, escalated, with and without phones),
and hold the audit each read writes.
"""

from __future__ import annotations

import pytest
from flask import jsonify
from sqlalchemy import select

from api.context import current_ctx
from api.resources import staff_contact
from muli.contact import escalation
from muli.contact import requests as contact_requests
from muli.extensions import db
from muli.models.audit import AuditEvent
from tests.contact_support import SATURDAY_NIGHT, ask

URL = "/api/v1/staff/contact-requests"


@pytest.fixture
def care(world, clock):
    clock.set(SATURDAY_NIGHT)
    return world.care_team()


def _varied_queue(app, client, world, clock, care):
    """Requests from two patients in every state the queue shows, with the staff named on
    them, escalated ones (advice), one still to escalate, a callback number and none."""
    other = world.patient(care.team, consents={care.agency: "all"})
    ids = []
    for patient, body in (
        (care.patient, {"kind": "call_me", "urgency": "crisis", "callback_phone": "+4700000191"}),
        (other, {"kind": "call_me", "urgency": "talk"}),
        (care.patient, {"kind": "chat", "urgency": "crisis", "message": "Kan noen ringe meg?"}),
        (other, {"kind": "call_me", "urgency": "crisis"}),
        (care.patient, {"kind": "call_me", "urgency": "talk"}),
        (other, {"kind": "call_me", "urgency": "crisis"}),
    ):
        answer = ask(client, patient, body)
        assert answer.status_code == 201, answer.json
        ids.append(answer.json["id"])
        clock.advance(minutes=3)
    member = care.member.headers
    client.put("/api/v1/me/phone", json={"phone": "+4700000192"}, headers=care.patient.headers)
    assert client.post(f"{URL}/{ids[0]}/acknowledge", headers=member).status_code == 200
    assert client.post(f"{URL}/{ids[1]}/call", headers=member).status_code == 200
    close = {"outcome": "talked", "note": "Snakket en stund."}
    assert client.post(f"{URL}/{ids[2]}/acknowledge", headers=member).status_code == 200
    assert client.post(f"{URL}/{ids[2]}/close", json=close, headers=member).status_code == 200
    client.post(f"/api/v1/me/contact-requests/{ids[3]}/cancel", headers=other.headers)
    for _ in range(3):  # the rest wait long enough to escalate to the whole team
        clock.advance(minutes=30)
        with app.app_context():
            from muli.cli import system_ctx

            escalation.run_pass(system_ctx(), now=clock.now, commit=db.session.commit)
            db.session.remove()
    ids.append(ask(client, care.patient).json["id"])  # a fresh one: its next escalation still due
    return ids


def _dumped_from_values(app, care, state: str, limit: int) -> bytes:
    """The page as the service's own cards dumped through the schema would be sent."""
    with app.test_request_context(f"{URL}?state={state}&limit={limit}", headers=care.member.headers):
        try:
            page = contact_requests.queue_page(current_ctx(), state=state, cursor=None, limit=limit)
            dumped = staff_contact._dump_page({"items": page.items, "next_cursor": page.next_cursor})
            return jsonify(dumped).get_data()
        finally:
            db.session.rollback()
            db.session.remove()


@pytest.mark.parametrize("state", ["open", "acknowledged", "closed"])
@pytest.mark.parametrize("limit", [1, 20])
def test_the_first_page_is_the_schemas_dump_of_the_cards_byte_for_byte(
    app, client, world, clock, care, state, limit
):
    _varied_queue(app, client, world, clock, care)
    sent = client.get(f"{URL}?state={state}&limit={limit}", headers=care.member.headers)
    assert sent.status_code == 200
    assert sent.json["items"], "every state has cards here"
    assert sent.data == _dumped_from_values(app, care, state, limit)


def test_the_varied_queue_has_cards_of_every_shape(app, client, world, clock, care):
    """The byte-for-byte test above covers named staff, instants set and unset, advice and
    both phones: the data it runs on has all of them."""
    _varied_queue(app, client, world, clock, care)
    cards = [
        card
        for state in ("open", "acknowledged", "closed")
        for card in client.get(f"{URL}?state={state}", headers=care.member.headers).json["items"]
    ]
    assert any(c["acknowledged_by"] for c in cards) and any(c["call_started_by"] for c in cards)
    assert any(c["closed_at"] for c in cards) and any(c["cancelled_at"] for c in cards)
    assert any(c["escalation"]["advice"] for c in cards) and any(c["escalation"]["next_at"] for c in cards)
    assert any(c["callback_phone"] for c in cards) and any(c["callback_phone"] is None for c in cards)
    assert all(c["created_at"].endswith("Z") for c in cards)


def test_a_later_page_is_dumped_as_before_and_keeps_its_etag(app, client, world, clock, care):
    _varied_queue(app, client, world, clock, care)
    first = client.get(f"{URL}?state=closed&limit=1", headers=care.member.headers).json
    url = f"{URL}?state=closed&limit=1&cursor={first['next_cursor']}"
    later = client.get(url, headers=care.member.headers)
    assert later.status_code == 200 and later.json["items"]
    assert later.json["items"][0]["id"] != first["items"][0]["id"]
    held = {**care.member.headers, "If-None-Match": later.headers["ETag"]}
    again = client.get(url, headers=held)
    assert again.status_code == 304


def _queue_events(app) -> list[tuple]:
    with app.app_context():
        query = select(AuditEvent.action, AuditEvent.patient_id, AuditEvent.resource).order_by(AuditEvent.seq)
        return [tuple(e) for e in db.session.execute(query) if e.action.startswith("contact_request.queue")]


def test_each_page_read_is_audited_once_per_patient_on_it(app, client, world, clock, care):
    _varied_queue(app, client, world, clock, care)
    before = len(_queue_events(app))
    page = client.get(f"{URL}?state=closed", headers=care.member.headers).json
    on_page = {card["patient"]["id"] for card in page["items"]}
    assert len(on_page) == 2
    events = _queue_events(app)[before:]
    assert sorted((a, str(p), r) for a, p, r in events) == sorted(
        ("contact_request.queue", p, "contact_request") for p in on_page
    )


def test_a_first_page_reads_its_rows_and_versions_in_one_statement(app, client, world, clock, care):
    """One statement, one snapshot: the ETag is made from the versions the rows were read
    with. The page's 304 comes from the versions alone (one read, no request row)."""
    from sqlalchemy import event

    _varied_queue(app, client, world, clock, care)
    with app.app_context():
        engine = db.engine
    seen: list[str] = []

    def statement(conn, cursor, text, params, context, executemany):
        if "contact_queue_version" in text or "FROM contact_request" in text:
            seen.append(text)

    event.listen(engine, "before_cursor_execute", statement)
    try:
        plain = client.get(f"{URL}?state=open", headers=care.member.headers)
        read = list(seen)
        seen.clear()
        held = {**care.member.headers, "If-None-Match": plain.headers["ETag"]}
        assert client.get(f"{URL}?state=open", headers=held).status_code == 304
    finally:
        event.remove(engine, "before_cursor_execute", statement)
    assert plain.status_code == 200 and plain.json["items"]
    assert len(read) == 1 and "contact_queue_version" in read[0] and "FROM contact_request" in read[0]
    assert len(seen) == 1 and "FROM contact_request" not in seen[0]


@pytest.mark.parametrize("teams", [2, 9])  # 9: more than the one statement takes (read apart)
def test_a_staff_in_several_teams_sees_each_teams_cards_and_each_moves_the_etag(
    client, world, clock, care, teams
):
    others = [world.team() for _ in range(teams - 1)]
    both = world.staff(teams=[care.team, *others], agency=care.agency)
    ask(client, care.patient)
    first = client.get(URL, headers=both.headers)
    patient = world.patient(others[-1], consents={care.agency: "all"})
    ask(client, patient)
    second = client.get(URL, headers=both.headers)
    assert len(first.json["items"]) == 1 and len(second.json["items"]) == 2
    assert second.headers["ETag"] != first.headers["ETag"]
    held = {**both.headers, "If-None-Match": second.headers["ETag"]}
    assert client.get(URL, headers=held).status_code == 304
    assert (
        client.get(URL, headers={**both.headers, "If-None-Match": first.headers["ETag"]}).status_code == 200
    )
