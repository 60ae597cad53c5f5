"""The responder's side: the queue, acknowledging once, messages, closing, consent."""

from __future__ import annotations

import threading

import pytest

from muli.models.consent import CONSENT_SCOPES
from tests.contact_support import SATURDAY_NIGHT, ask

URL = "/api/v1/staff/contact-requests"


@pytest.fixture
def care(world, clock):
    clock.set(SATURDAY_NIGHT)
    return world.care_team()


def test_the_queue_shows_open_requests_oldest_first_with_waiting_time(client, clock, care):
    first = ask(client, care.patient).json["id"]
    clock.advance(minutes=3)
    second = ask(client, care.patient).json["id"]
    clock.advance(minutes=4)
    items = client.get(URL, headers=care.member.headers).json["items"]
    assert [(i["id"], i["waiting_minutes"]) for i in items] == [(first, 7), (second, 4)]


def test_the_queue_pages_oldest_first(client, clock, care):
    ids = []
    for _ in range(3):
        ids.append(ask(client, care.patient).json["id"])
        clock.advance(minutes=1)
    page = client.get(URL + "?limit=2", headers=care.member.headers).json
    rest = client.get(f"{URL}?limit=2&cursor={page['next_cursor']}", headers=care.member.headers).json
    assert [i["id"] for i in page["items"] + rest["items"]] == ids


def test_the_queue_shows_the_escalation_level(client, care):
    ask(client, care.patient)
    [item] = client.get(URL, headers=care.member.headers).json["items"]
    assert item["escalation"]["level"] == 0


def test_the_queue_holds_only_my_teams_requests(client, world, care):
    ask(client, care.patient)
    outsider = world.staff(world.team())
    assert client.get(URL, headers=outsider.headers).json["items"] == []


def test_acknowledged_requests_leave_the_open_queue(client, care):
    request_id = ask(client, care.patient).json["id"]
    client.post(f"{URL}/{request_id}/acknowledge", headers=care.member.headers)
    assert client.get(URL, headers=care.member.headers).json["items"] == []
    acknowledged = client.get(URL + "?state=acknowledged", headers=care.member.headers).json["items"]
    assert [i["id"] for i in acknowledged] == [request_id]


def test_an_unknown_queue_state_is_a_422(client, care):
    assert client.get(URL + "?state=lost", headers=care.member.headers).status_code == 422


def test_the_first_to_acknowledge_wins(client, care):
    request_id = ask(client, care.patient).json["id"]
    response = client.post(f"{URL}/{request_id}/acknowledge", headers=care.member.headers)
    assert (response.status_code, response.json["state"]) == (200, "acknowledged")


def test_the_second_to_acknowledge_gets_409_naming_who_has_it(client, care):
    request_id = ask(client, care.patient).json["id"]
    client.post(f"{URL}/{request_id}/acknowledge", headers=care.member.headers)
    response = client.post(f"{URL}/{request_id}/acknowledge", headers=care.coordinator.headers)
    assert response.status_code == 409
    assert care.member.staff.display_name in response.json["detail"]
    assert care.agency.name in response.json["detail"]


def test_the_409_says_who_and_since_when_in_the_readers_language(client, clock, care):
    """Bokmål unless English is asked for; the time as a person says it in Europe/Oslo (the
    take at 00:40 UTC is 01:40 in Oslo in November), never an ISO timestamp. The problem's
    type stays the same for programs."""
    request_id = ask(client, care.patient).json["id"]
    client.post(f"{URL}/{request_id}/acknowledge", headers=care.member.headers)
    who = f"{care.member.staff.display_name} ({care.agency.name})"
    again = f"{URL}/{request_id}/acknowledge"
    nb = client.post(again, headers=care.coordinator.headers).json
    assert nb["detail"] == f"{who} har denne forespørselen siden kl. 01:40."
    en = client.post(again, headers={**care.coordinator.headers, "Accept-Language": "en"}).json
    assert en["detail"] == f"{who} has this request since 01:40."
    assert nb["type"] == en["type"] == "https://muli.invalid/problems/already-acknowledged"
    clock.advance(days=1)
    later = client.post(again, headers=care.coordinator.headers).json["detail"]
    assert later == f"{who} har denne forespørselen siden i går kl. 01:40."
    clock.advance(days=5)
    week = client.post(again, headers={**care.coordinator.headers, "Accept-Language": "en"}).json["detail"]
    assert week == f"{who} has this request since 21 Nov, 01:40."


def test_twenty_responders_at_once_give_exactly_one_200(app, care, client):
    request_id = ask(client, care.patient).json["id"]
    barrier, statuses = threading.Barrier(20), []

    def tap():
        with app.test_client() as own:
            barrier.wait()
            statuses.append(
                own.post(f"{URL}/{request_id}/acknowledge", headers=care.member.headers).status_code
            )

    threads = [threading.Thread(target=tap) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(statuses) == [200] + [409] * 19


def test_the_responder_sees_the_callback_number_and_the_trusted_contact(client, care):
    body = {"kind": "call_me", "urgency": "crisis", "callback_phone": "+4791234567"}
    request_id = ask(client, care.patient, body).json["id"]
    view = client.get(f"{URL}/{request_id}", headers=care.member.headers).json
    assert view["callback_phone"] == "+4791234567"
    assert view["trusted_contact"]["name"] == care.member.staff.display_name


def test_the_responder_reads_the_message_with_consent(client, care):
    body = {"kind": "chat", "urgency": "talk", "message": "får ikke sove"}
    request_id = ask(client, care.patient, body).json["id"]
    view = client.get(f"{URL}/{request_id}", headers=care.member.headers).json
    assert [m["body"] for m in view["messages"]] == ["får ikke sove"]


def test_without_contact_request_consent_the_responder_sees_the_request_but_not_the_message(
    client, world, care
):
    scopes = [s for s in CONSENT_SCOPES if s != "contact_requests"]
    ward = world.agency(kind="acute_ward")
    nurse = world.staff(care.team, agency=ward)
    patient = world.patient(care.team, consents={ward: scopes})
    request_id = ask(client, patient, {"kind": "chat", "urgency": "talk", "message": "hemmelig"}).json["id"]
    view = client.get(f"{URL}/{request_id}", headers=nurse.headers).json
    assert (view["state"], view["content_visible"], view["messages"]) == ("open", False, [])


def test_without_contact_request_consent_the_responder_can_still_acknowledge(client, world, care):
    ward = world.agency(kind="acute_ward")
    nurse = world.staff(care.team, agency=ward)
    patient = world.patient(care.team, consents={ward: ["crisis_plan"]})
    request_id = ask(client, patient).json["id"]
    assert client.post(f"{URL}/{request_id}/acknowledge", headers=nurse.headers).status_code == 200


def test_the_responder_sees_what_helps_from_the_crisis_plan(app, client, care):
    from muli.cli import system_ctx
    from muli.extensions import db
    from muli.patient import plans

    with app.app_context():
        from muli.models.accounts import Account
        from muli.trust import accounts

        ctx = system_ctx()
        actor = accounts.actor_for(ctx, db.session.get(Account, care.patient.account.id))
        plan = plans.empty_crisis_document()
        plan.update(how_i_want_to_be_met="Snakk rolig.", what_helps="At noen kjenner historien min.")
        plans.save_my_crisis_plan(ctx.acting_as(actor), plan, plans.crisis_etag(0))
        db.session.commit()
    request_id = ask(client, care.patient).json["id"]
    view = client.get(f"{URL}/{request_id}", headers=care.member.headers).json
    assert view["crisis_plan"]["how_i_want_to_be_met"] == "Snakk rolig."
    assert view["crisis_plan"]["what_helps"] == "At noen kjenner historien min."


def test_without_crisis_plan_consent_the_responder_sees_no_plan(client, world, care):
    ward = world.agency(kind="acute_ward")
    nurse = world.staff(care.team, agency=ward)
    patient = world.patient(care.team, consents={ward: ["contact_requests"]})
    request_id = ask(client, patient).json["id"]
    assert client.get(f"{URL}/{request_id}", headers=nurse.headers).json["crisis_plan"] is None


def test_the_responder_writes_to_the_patient(client, care):
    request_id = ask(client, care.patient).json["id"]
    client.post(
        f"{URL}/{request_id}/messages", json={"body": "Jeg ringer deg nå."}, headers=care.member.headers
    )
    mine = client.get(f"/api/v1/me/contact-requests/{request_id}", headers=care.patient.headers).json
    assert [(m["author"], m["body"]) for m in mine["messages"]] == [("staff", "Jeg ringer deg nå.")]


def test_closing_records_the_outcome_and_the_note(client, care):
    request_id = ask(client, care.patient).json["id"]
    client.post(f"{URL}/{request_id}/acknowledge", headers=care.member.headers)
    response = client.post(
        f"{URL}/{request_id}/close",
        json={"outcome": "talked", "note": "snakket, avtalt ny kontakt i morgen"},
        headers=care.member.headers,
    )
    assert (response.json["state"], response.json["outcome"]) == ("closed", "talked")
    assert response.json["close_note"] == "snakket, avtalt ny kontakt i morgen"


def test_closing_with_an_unknown_outcome_is_a_422_naming_outcome(client, care):
    request_id = ask(client, care.patient).json["id"]
    response = client.post(f"{URL}/{request_id}/close", json={"outcome": "fine"}, headers=care.member.headers)
    assert (response.status_code, list(response.json["errors"])) == (422, ["outcome"])


def test_a_closed_request_cannot_be_closed_again(client, care):
    request_id = ask(client, care.patient).json["id"]
    client.post(f"{URL}/{request_id}/close", json={"outcome": "no_answer"}, headers=care.member.headers)
    response = client.post(
        f"{URL}/{request_id}/close", json={"outcome": "talked"}, headers=care.member.headers
    )
    assert response.status_code == 409


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("get", "", None),
        ("post", "/acknowledge", None),
        ("post", "/messages", {"body": "hei"}),
        ("post", "/close", {"outcome": "talked"}),
    ],
)
def test_another_teams_request_does_not_exist_for_me(client, world, care, method, suffix, body):
    request_id = ask(client, care.patient).json["id"]
    outsider = world.staff(world.team())
    response = getattr(client, method)(f"{URL}/{request_id}{suffix}", json=body, headers=outsider.headers)
    assert response.status_code == 404


def test_a_privacy_officer_on_the_team_sees_no_queue(client, world, care):
    officer = world.staff(care.team, role="privacy_officer")
    assert client.get(URL, headers=officer.headers).status_code == 403


def test_a_patient_cannot_use_the_staff_queue(client, care):
    assert client.get(URL, headers=care.patient.headers).status_code == 403


def _queue_actions(app, patient_id) -> list[str]:
    from sqlalchemy import select

    from muli.extensions import db
    from muli.models.audit import AuditEvent

    with app.app_context():
        query = select(AuditEvent.action).where(AuditEvent.patient_id == patient_id).order_by(AuditEvent.seq)
        return [a for a in db.session.scalars(query) if a.startswith("contact_request.queue")]


def test_the_queue_poll_is_304_while_the_page_is_as_the_client_has_it_and_audited_as_such(
    app, client, clock, care
):
    ask(client, care.patient)
    first = client.get(URL, headers=care.member.headers)
    etag = first.headers["ETag"]
    again = client.get(URL, headers={**care.member.headers, "If-None-Match": etag})
    assert (again.status_code, again.data, again.headers["ETag"]) == (304, b"", etag)
    # The 200 is a read of the queue; the 304 read no patient's data (the teams' queue
    # versions only), so the patient's log has the read and nothing more.
    assert _queue_actions(app, care.patient.patient.id) == ["contact_request.queue"]


def test_the_queue_etag_moves_with_the_waiting_minutes(client, clock, care):
    ask(client, care.patient)
    etag = client.get(URL, headers=care.member.headers).headers["ETag"]
    clock.advance(seconds=30)
    assert client.get(URL, headers={**care.member.headers, "If-None-Match": etag}).status_code == 304
    clock.advance(seconds=31)
    later = client.get(URL, headers={**care.member.headers, "If-None-Match": etag})
    assert (later.status_code, later.json["items"][0]["waiting_minutes"]) == (200, 1)
    assert later.headers["ETag"] != etag


def test_the_queue_etag_moves_with_a_new_request_an_acknowledgement_and_a_changed_phone(
    app, client, world, clock, care
):
    first = ask(client, care.patient).json["id"]
    etag = client.get(URL, headers=care.member.headers).headers["ETag"]
    seen = {etag}

    def changed() -> None:
        response = client.get(URL, headers={**care.member.headers, "If-None-Match": etag})
        assert response.status_code == 200
        assert response.headers["ETag"] not in seen
        seen.add(response.headers["ETag"])

    ask(client, care.patient)
    changed()
    client.post(f"{URL}/{first}/acknowledge", headers=care.member.headers)
    changed()
    client.put("/api/v1/me/phone", json={"phone": "+4700000198"}, headers=care.patient.headers)
    changed()


def test_a_later_queue_page_has_an_etag_and_answers_304_to_it(client, clock, care):
    for _ in range(3):
        ask(client, care.patient)
        clock.advance(minutes=1)
    page = client.get(URL + "?limit=2", headers=care.member.headers).json
    url = f"{URL}?limit=2&cursor={page['next_cursor']}"
    etag = client.get(url, headers=care.member.headers).headers["ETag"]
    assert client.get(url, headers={**care.member.headers, "If-None-Match": etag}).status_code == 304


def test_a_queue_poll_that_misses_answers_the_same_bytes_as_a_plain_get(client, clock, care):
    ask(client, care.patient)
    plain = client.get(URL, headers=care.member.headers)
    stale = client.get(URL, headers={**care.member.headers, "If-None-Match": 'W/"queue-0", "other"'})
    assert (stale.status_code, stale.data, stale.headers["ETag"]) == (200, plain.data, plain.headers["ETag"])
