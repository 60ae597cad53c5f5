"""Portal sessions kept on the server (issue 15): a copy of the cookie taken before sign-out,
or before a forced end, opens nothing; the cookie carries only a random id."""

from __future__ import annotations

import hashlib
import json
import zlib
from base64 import urlsafe_b64decode

from sqlalchemy import select

from muli.extensions import db
from muli.models.accounts import Account
from muli.models.sessions import PortalSession
from tests.portal.conftest import Portal


def session_cookie(portal: Portal) -> str:
    cookie = portal.client.get_cookie("session")
    assert cookie is not None
    return cookie.value


def with_cookie(app, value: str) -> Portal:
    """Another browser, holding a copy of the session cookie."""
    thief = Portal(app, app.test_client())
    thief.client.set_cookie("session", value, path="/")
    return thief


def cookie_payload(value: str) -> dict:
    """What the signed (not encrypted) Flask cookie says: anyone holding it can read this."""
    data = value.split(".")
    compressed = value.startswith(".")
    raw = data[1] if compressed else data[0]
    decoded = urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
    return json.loads(zlib.decompress(decoded) if compressed else decoded)


def test_a_copy_of_the_cookie_taken_before_sign_out_opens_nothing(app, world, portal_as, clock):
    care = world.care_team()
    portal = portal_as(care.member)
    patient_page = f"/portal/patients/{care.patient.id}"
    assert portal.get(patient_page).status_code == 200
    copy = session_cookie(portal)
    assert portal.post("/portal/logout", token_from="/portal/").status_code == 302
    clock.advance(minutes=19)
    thief = with_cookie(app, copy)
    response = thief.get(patient_page)
    assert response.status_code == 302
    assert "/portal/login" in response.headers["Location"]
    assert thief.get("/portal/").status_code == 302


def test_the_cookie_carries_a_random_id_kept_only_as_a_hash(app, world, portal_as):
    care = world.care_team()
    portal = portal_as(care.member)
    payload = cookie_payload(session_cookie(portal))
    assert str(care.member.account.id) not in json.dumps(payload)
    sid = payload["sid"]
    with app.app_context():
        row = db.session.scalars(select(PortalSession)).one()
        assert row.account_id == care.member.account.id
        assert row.token_hash == hashlib.sha256(sid.encode()).hexdigest()
        assert sid not in {row.token_hash, str(row.id)}


def test_sign_out_on_one_device_leaves_the_other_signed_in(app, world, portal_as, clock):
    care = world.care_team()
    desk = portal_as(care.member)
    tablet = Portal(app, app.test_client())
    clock.advance(seconds=30)  # a fresh code
    assert tablet.login(care.member).status_code == 302
    desk.post("/portal/logout", token_from="/portal/")
    assert desk.get("/portal/").status_code == 302
    assert tablet.get("/portal/").status_code == 200


def test_an_idle_session_is_ended_on_the_server(app, world, portal_as, clock):
    care = world.care_team()
    portal = portal_as(care.member)
    copy = session_cookie(portal)
    clock.advance(minutes=31)
    assert portal.get("/portal/").status_code == 302
    with app.app_context():
        row = db.session.scalars(select(PortalSession)).one()
        assert (row.ended_at, row.end_reason) == (clock.now, "idle")
    clock.advance(minutes=-30)  # even were the clock to step back, the session stays ended
    assert with_cookie(app, copy).get("/portal/").status_code == 302


def test_background_polling_does_not_keep_a_session_alive(app, world, portal_as, clock):
    care = world.care_team()
    portal = portal_as(care.member)
    with app.app_context():
        first_seen = db.session.scalars(select(PortalSession.last_seen_at)).one()
    clock.advance(minutes=20)
    portal.get("/portal/queue/poll")  # polls with touch=False, signed in or not
    with app.app_context():
        assert db.session.scalars(select(PortalSession.last_seen_at)).one() == first_seen


def test_a_forced_end_signs_out_every_device_and_every_copy(app, world, portal_as, clock):
    from muli.cli import system_ctx
    from muli.trust import sessions

    care = world.care_team()
    portal = portal_as(care.member)
    copy = session_cookie(portal)
    with app.app_context():
        sessions.end_all_sessions(system_ctx(), db.session.get(Account, care.member.account.id), "password")
        db.session.commit()
    assert portal.get("/portal/").status_code == 302
    assert with_cookie(app, copy).get("/portal/").status_code == 302
    # Signing in again works at once (the same second, often).
    clock.advance(seconds=30)
    assert portal.login(care.member).status_code == 302
    assert portal.get("/portal/").status_code == 200


def test_a_disabled_account_loses_every_portal_session_at_once(app, world, portal_as):
    from muli.cli import system_ctx
    from muli.trust import accounts

    care = world.care_team()
    portal = portal_as(care.member)
    with app.app_context():
        accounts.disable_account(system_ctx(), db.session.get(Account, care.member.account.id))
        db.session.commit()
        assert db.session.scalars(select(PortalSession.end_reason)).one() == "disabled"
    assert portal.get("/portal/").status_code == 302
