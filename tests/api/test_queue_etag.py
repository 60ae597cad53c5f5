"""The queue's conditional poll (issue 19 item 3): a 304 from the teams' queue versions alone.

Safety first: every change that alters what a page of the queue shows must move that page's
ETag, or a nurse's poll keeps answering 304 over a new request. Each change below is made
through the service that makes it in production, and the page polled with the ETag it had.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from muli.contact import escalation
from muli.extensions import db
from muli.models.audit import AuditEvent
from tests.contact_support import SATURDAY_NIGHT, ask

URL = "/api/v1/staff/contact-requests"
ME = "/api/v1/me/contact-requests"


@pytest.fixture
def care(world, clock):
    clock.set(SATURDAY_NIGHT)
    return world.care_team()


def _poll(client, staff, state: str, etag: str | None = None):
    headers = {**staff.headers, **({"If-None-Match": etag} if etag else {})}
    return client.get(f"{URL}?state={state}", headers=headers)


def _escalate(app, clock) -> None:
    with app.app_context():
        from muli.cli import system_ctx

        escalation.run_pass(system_ctx(), now=clock.now, commit=db.session.commit)
        db.session.remove()


def _new_request(app, client, clock, care, request_id):
    ask(client, care.patient)


def _acknowledge(app, client, clock, care, request_id):
    client.post(f"{URL}/{request_id}/acknowledge", headers=care.member.headers)


def _call(app, client, clock, care, request_id):
    client.post(f"{URL}/{request_id}/call", headers=care.member.headers)


def _close(app, client, clock, care, request_id):
    client.post(
        f"{URL}/{request_id}/close", json={"outcome": "talked", "note": None}, headers=care.member.headers
    )


def _cancel(app, client, clock, care, request_id):
    client.post(f"{ME}/{request_id}/cancel", headers=care.patient.headers)


def _escalated(app, client, clock, care, request_id):
    _escalate(app, clock)


def _phone(app, client, clock, care, request_id):
    client.put("/api/v1/me/phone", json={"phone": "+4700000199"}, headers=care.patient.headers)


# (change, the state of the page it must move, what to do first so the change applies)
CHANGES = [
    ("new request", "open", None),
    ("acknowledged", "open", None),
    ("acknowledged", "acknowledged", None),
    ("called (takes it)", "open", None),
    ("called again", "acknowledged", "acknowledge"),
    ("closed", "open", None),
    ("closed", "closed", None),
    ("cancelled by the patient", "open", None),
    ("cancelled by the patient", "closed", None),
    ("escalated by the worker", "open", "late"),
    ("the patient's number", "open", None),
]
DO = {
    "new request": _new_request,
    "acknowledged": _acknowledge,
    "called (takes it)": _call,
    "called again": _call,
    "closed": _close,
    "cancelled by the patient": _cancel,
    "escalated by the worker": _escalated,
    "the patient's number": _phone,
}


@pytest.mark.parametrize(("change", "state", "before"), CHANGES, ids=[f"{c}-{s}" for c, s, _ in CHANGES])
def test_every_change_the_page_shows_moves_its_etag(app, client, clock, care, change, state, before):
    request_id = ask(client, care.patient).json["id"]
    if before == "acknowledge":
        _acknowledge(app, client, clock, care, request_id)
    if before == "late":
        clock.advance(minutes=45)  # past the acknowledge window: the worker escalates now
    first = _poll(client, care.member, state)
    assert _poll(client, care.member, state, first.headers["ETag"]).status_code == 304

    DO[change](app, client, clock, care, request_id)

    again = _poll(client, care.member, state, first.headers["ETag"])
    plain = _poll(client, care.member, state)
    assert again.status_code == 200, change
    assert again.data != first.data, "the change must show on this page, or the case proves nothing"
    assert (again.data, again.headers["ETag"]) == (plain.data, plain.headers["ETag"])
    assert again.headers["ETag"] != first.headers["ETag"]


def test_a_change_in_another_team_leaves_my_queue_at_304(client, world, clock, care):
    ask(client, care.patient)
    etag = _poll(client, care.member, "open").headers["ETag"]
    other = world.care_team()
    ask(client, other.patient)
    assert _poll(client, care.member, "open", etag).status_code == 304
    assert _poll(client, other.member, "open").json["items"]


def test_a_new_request_in_my_second_team_moves_my_etag(client, world, clock, care):
    ask(client, care.patient)
    second = world.team()
    both = world.staff(teams=[care.team, second], agency=care.agency)
    etag = _poll(client, both, "open").headers["ETag"]
    patient = world.patient(second, consents={care.agency: "all"})
    ask(client, patient)
    assert _poll(client, both, "open", etag).status_code == 200


def test_the_etag_holds_until_the_first_waiting_minute_grows(client, clock, care):
    ask(client, care.patient)
    clock.advance(seconds=20)
    ask(client, care.patient)
    etag = _poll(client, care.member, "open").headers["ETag"]
    clock.advance(seconds=39)  # the first request has waited 59 s
    assert _poll(client, care.member, "open", etag).status_code == 304
    clock.advance(seconds=1)  # 60 s: its waiting_minutes is 1 now
    moved = _poll(client, care.member, "open", etag)
    assert (moved.status_code, [i["waiting_minutes"] for i in moved.json["items"]]) == (200, [1, 0])
    assert moved.headers["ETag"] != etag


def test_a_page_with_nothing_waiting_keeps_its_etag_as_time_passes(client, clock, care):
    request_id = ask(client, care.patient).json["id"]
    client.post(f"{URL}/{request_id}/acknowledge", headers=care.member.headers)
    etag = _poll(client, care.member, "acknowledged").headers["ETag"]
    clock.advance(hours=3)
    assert _poll(client, care.member, "acknowledged", etag).status_code == 304


def test_an_etag_with_its_moment_moved_is_not_the_page(client, clock, care):
    ask(client, care.patient)
    etag = _poll(client, care.member, "open").headers["ETag"]
    digest, tick = etag.strip('W/"').rsplit("-", 1)
    clock.advance(minutes=2)
    forged = f'W/"{digest}-{int(tick) + 10**9}"'
    assert _poll(client, care.member, "open", forged).status_code == 200


def test_the_same_etag_for_another_limit_or_state_is_not_a_304(client, clock, care):
    ask(client, care.patient)
    etag = _poll(client, care.member, "open").headers["ETag"]
    headers = {**care.member.headers, "If-None-Match": etag}
    assert client.get(f"{URL}?state=open&limit=5", headers=headers).status_code == 200
    assert _poll(client, care.member, "acknowledged", etag).status_code == 200


def _events(app) -> list[tuple]:
    with app.app_context():
        query = select(AuditEvent.action, AuditEvent.patient_id, AuditEvent.actor_name).order_by(
            AuditEvent.seq
        )
        return [tuple(e) for e in db.session.execute(query) if e.action.startswith("contact_request.queue")]


def test_a_304_reads_no_patient_and_is_audited_once_as_a_check(app, client, world, clock, care):
    ask(client, care.patient)
    other = world.patient(care.team, consents={care.agency: "all"})
    ask(client, other)
    first = _poll(client, care.member, "open")
    again = _poll(client, care.member, "open", first.headers["ETag"])
    assert (again.status_code, again.data, again.headers["ETag"]) == (304, b"", first.headers["ETag"])
    name = _events(app)[0][2]
    assert sorted(_events(app), key=str) == sorted(
        [
            ("contact_request.queue", care.patient.patient.id, name),
            ("contact_request.queue", other.patient.id, name),
            ("contact_request.queue_checked", None, name),
        ],
        key=str,
    )
    assert _events(app)[-1][0] == "contact_request.queue_checked"


def test_a_stale_or_foreign_etag_answers_the_plain_get_byte_for_byte(client, clock, care):
    ask(client, care.patient)
    old = _poll(client, care.member, "open").headers["ETag"]
    ask(client, care.patient)
    plain = _poll(client, care.member, "open")
    for sent in (old, 'W/"queue-0"', '"queue-000000000000000000000000-0"', f'{old}, W/"other"'):
        stale = _poll(client, care.member, "open", sent)
        assert (stale.status_code, stale.data, stale.headers["ETag"]) == (
            200,
            plain.data,
            plain.headers["ETag"],
        )


def test_if_none_match_star_is_a_304_with_the_current_etag(client, clock, care):
    ask(client, care.patient)
    plain = _poll(client, care.member, "open")
    star = _poll(client, care.member, "open", "*")
    assert (star.status_code, star.headers["ETag"]) == (304, plain.headers["ETag"])


def test_an_empty_queue_has_an_etag_and_a_304(client, clock, care):
    etag = _poll(client, care.member, "open").headers["ETag"]
    assert _poll(client, care.member, "open", etag).status_code == 304
    ask(client, care.patient)
    assert _poll(client, care.member, "open", etag).status_code == 200


def test_a_queue_change_is_written_with_its_commit_and_dropped_with_its_rollback(app, client, clock, care):
    from muli.models.contact import ContactQueueVersion, queue_changed

    def version():
        with app.app_context():
            row = db.session.get(ContactQueueVersion, care.team.id)
            db.session.remove()
            return None if row is None else row.version

    ask(client, care.patient)
    before = version()
    assert before is not None
    with app.app_context():
        queue_changed(db.session, care.team.id)
        db.session.rollback()
        db.session.commit()
    assert version() == before
    with app.app_context():
        queue_changed(db.session, care.team.id, care.team.id)
        db.session.commit()
    assert version() not in (None, before)


def test_a_refused_change_leaves_the_queue_at_304(client, world, clock, care):
    request_id = ask(client, care.patient).json["id"]
    client.post(f"{URL}/{request_id}/acknowledge", headers=care.member.headers)
    etag = _poll(client, care.member, "acknowledged").headers["ETag"]
    late = client.post(f"{URL}/{request_id}/acknowledge", headers=care.coordinator.headers)
    assert late.status_code == 409
    assert _poll(client, care.member, "acknowledged", etag).status_code == 304


@pytest.mark.parametrize(
    "sent",
    [
        '""',  # werkzeug reads an empty tag as None
        'W/""',
        '"queue-"',
        '"queue-x-1"',
        '"queue-%s-99999999999999999999999999"' % ("0" * 24),  # a moment past any date
        '*, ""',
        ",",
        '"queue-x"y"',
    ],
)
def test_an_odd_if_none_match_gets_the_page_or_a_304_never_an_error(client, clock, care, sent):
    ask(client, care.patient)
    answer = client.get(URL, headers={**care.member.headers, "If-None-Match": sent})
    assert answer.status_code in (200, 304), (sent, answer.status_code, answer.get_data(as_text=True))
    if answer.status_code == 200:
        assert answer.json["items"] and answer.headers["ETag"].startswith('W/"queue-')
