import re
from datetime import timedelta

from tests.portal.helpers import contact_request


def test_the_queue_shows_an_open_request_with_the_patients_message(world, app, portal_as):
    care = world.care_team()
    contact_request(app.test_client(), care.patient, "stemmene er sterke")
    page = portal_as(care.member).text("/portal/queue/")
    assert care.patient.name in page
    assert "stemmene er sterke" in page
    assert "Krise" in page
    assert care.member.staff.display_name in page  # the trusted contact, beside the request


def test_the_poll_answers_the_open_request_ids(world, app, portal_as):
    care = world.care_team()
    portal = portal_as(care.member)
    assert portal.get("/portal/queue/poll").get_json()["open"] == []
    made = contact_request(app.test_client(), care.patient)
    ids = [item["id"] for item in portal.get("/portal/queue/poll").get_json()["open"]]
    assert ids == [made["id"]]


def test_the_poll_names_nobody_and_leaves_no_trace_in_the_access_log(world, app, portal_as):
    from sqlalchemy import func, select

    from muli.extensions import db
    from muli.models.audit import AuditEvent

    care = world.care_team()
    contact_request(app.test_client(), care.patient, "stemmene er sterke")
    portal = portal_as(care.member)

    def reads():
        with app.app_context():
            return db.session.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.patient_id == care.patient.id, AuditEvent.actor_kind == "staff")
            )

    before = reads()
    body = portal.get("/portal/queue/poll").get_data(as_text=True)
    assert reads() == before
    assert care.patient.name not in body
    assert "stemmene" not in body
    portal.text("/portal/queue/")  # the cards name the patient: that read is audited
    assert reads() > before


def test_polling_does_not_keep_an_idle_session_alive(world, portal_as, clock):
    care = world.care_team()
    portal = portal_as(care.member)
    for _ in range(4):
        clock.advance(minutes=10)
        portal.get("/portal/queue/poll")
    assert portal.get("/portal/queue/poll").status_code == 401


def test_a_responder_acknowledges_and_closes_a_request(world, app, portal_as):
    care = world.care_team()
    made = contact_request(app.test_client(), care.patient)
    portal = portal_as(care.member)
    response = portal.post(f"/portal/queue/{made['id']}/acknowledge", token_from="/portal/queue/")
    assert response.status_code == 302
    page = portal.text("/portal/queue/")
    assert "Tatt av" in page
    response = portal.post(
        f"/portal/queue/{made['id']}/close",
        {"outcome": "talked", "note": "avtalt ny kontakt i morgen"},
        token_from="/portal/queue/",
    )
    assert response.status_code == 302
    state = app.test_client().get(f"/api/v1/me/contact-requests/{made['id']}", headers=care.patient.headers)
    assert state.get_json()["state"] == "closed"


def test_the_second_responder_is_told_who_has_it(world, app, portal_as, portal):
    care = world.care_team()
    colleague = world.staff(care.team, agency=care.agency, name="Ola Vakt")
    made = contact_request(app.test_client(), care.patient)
    first = app.test_client()
    from tests.portal.conftest import Portal

    ola = Portal(app, first)
    assert ola.login(colleague).status_code == 302
    ola.post(f"/portal/queue/{made['id']}/acknowledge", token_from="/portal/queue/")
    siv = portal_as(care.member)
    response = siv.post(f"/portal/queue/{made['id']}/acknowledge", token_from="/portal/queue/")
    page = siv.client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Ola Vakt" in page
    # In bokmål, with the time as a person says it (never an ISO timestamp).
    assert re.search(r"Ola Vakt \([^)]+\) har denne forespørselen siden kl\. \d\d:\d\d\.", page)


def test_acknowledging_without_the_csrf_token_changes_nothing(world, app, portal_as):
    care = world.care_team()
    made = contact_request(app.test_client(), care.patient)
    portal = portal_as(care.member)
    assert portal.client.post(f"/portal/queue/{made['id']}/acknowledge").status_code == 400
    assert portal.get("/portal/queue/poll").get_json()["open"][0]["id"] == made["id"]


def test_another_teams_requests_are_not_in_my_queue(world, app, portal_as):
    care = world.care_team()
    other = world.care_team()
    contact_request(app.test_client(), other.patient, "hemmelig")
    portal = portal_as(care.member)
    assert "hemmelig" not in portal.text("/portal/queue/")
    assert portal.get("/portal/queue/poll").get_json()["open"] == []


def test_a_privacy_officer_has_no_queue(world, portal_as):
    care = world.care_team()
    officer = world.staff(care.team, role="privacy_officer", agency=care.agency)
    assert portal_as(officer).get("/portal/queue/").status_code == 403


def test_the_poll_is_304_while_the_queue_is_as_the_page_has_it(world, app, portal_as, clock):
    care = world.care_team()
    portal = portal_as(care.member)
    contact_request(app.test_client(), care.patient)
    first = portal.get("/portal/queue/poll")
    etag = first.headers["ETag"]
    again = portal.get("/portal/queue/poll", headers={"If-None-Match": etag})
    assert (again.status_code, again.data) == (304, b"")
    clock.advance(minutes=1)  # a minute longer waited: the page's minutes must move
    later = portal.get("/portal/queue/poll", headers={"If-None-Match": etag})
    assert later.status_code == 200 and later.headers["ETag"] != etag
    contact_request(app.test_client(), care.patient)
    newer = portal.get("/portal/queue/poll", headers={"If-None-Match": later.headers["ETag"]})
    assert len(newer.get_json()["open"]) == 2
    for odd in ('""', 'W/""', '"poll-x-1"', ","):  # an empty or foreign tag: the page, not an error
        answer = portal.get("/portal/queue/poll", headers={"If-None-Match": odd})
        assert answer.status_code == 200 and len(answer.get_json()["open"]) == 2, odd


def test_the_poll_moves_when_a_request_is_taken_or_escalated(world, app, portal_as, clock):
    from muli.contact import escalation
    from muli.extensions import db

    care = world.care_team()
    portal = portal_as(care.member)
    taken = contact_request(app.test_client(), care.patient)
    contact_request(app.test_client(), care.patient)
    etag = portal.get("/portal/queue/poll").headers["ETag"]
    assert portal.get("/portal/queue/poll", headers={"If-None-Match": etag}).status_code == 304
    portal.post(f"/portal/queue/{taken['id']}/acknowledge", token_from="/portal/queue/")
    after = portal.get("/portal/queue/poll", headers={"If-None-Match": etag})
    assert after.status_code == 200 and len(after.get_json()["open"]) == 1
    etag = after.headers["ETag"]
    with app.app_context():
        from muli.cli import system_ctx

        escalation.run_pass(system_ctx(), now=clock.now + timedelta(minutes=11), commit=db.session.commit)
        db.session.remove()
    escalated = portal.get("/portal/queue/poll", headers={"If-None-Match": etag})
    assert escalated.status_code == 200 and escalated.get_json()["open"][0]["escalation_level"] == 1
