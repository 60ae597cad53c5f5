"""The portal's account pages (issue 15): my password and sessions; for administrators, every
staff account with disable, enable, new password, new authenticator secret and sessions."""

from __future__ import annotations

import re

from sqlalchemy import select

from muli.extensions import db
from muli.models.audit import AuditEvent
from tests.factories import PASSWORD
from tests.portal.conftest import Portal, csrf_token

NEW_PASSWORD = "a-brand-new-long-passphrase-9"


def actions(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)))


def test_a_staff_member_changes_their_password_and_is_signed_out_elsewhere(app, world, portal_as, clock):
    care = world.care_team()
    portal = portal_as(care.member)
    clock.advance(seconds=30)
    elsewhere = Portal(app, app.test_client())
    assert elsewhere.login(care.member).status_code == 302
    form = {"current_password": PASSWORD, "new_password": NEW_PASSWORD, "new_password_again": NEW_PASSWORD}
    wrong = portal.post("/portal/account/password", {**form, "current_password": "not it at all"})
    assert wrong.status_code == 400
    assert "Dette er ikke passordet ditt nå." in wrong.get_data(as_text=True)
    done = portal.post("/portal/account/password", form)
    assert done.status_code == 302
    assert portal.get("/portal/").status_code == 200  # this session carries on
    assert elsewhere.get("/portal/").status_code == 302  # every other ends
    clock.advance(seconds=30)
    assert Portal(app, app.test_client()).login(care.member, password=NEW_PASSWORD).status_code == 302
    assert actions(app).count("account.password_change") == 2  # a failed try, then the change


def test_my_account_lists_my_sessions_and_ends_another(app, world, portal_as, clock):
    care = world.care_team()
    portal = portal_as(care.member)
    clock.advance(seconds=30)
    other = Portal(app, app.test_client())
    other.login(care.member)
    page = portal.text("/portal/account/")
    assert "Min konto" in page and "denne" in page
    (end,) = re.findall(r'action="(/portal/account/sessions/[^"]+/end)"', page)
    assert portal.post(end, token_from="/portal/account/").status_code == 302
    assert other.get("/portal/").status_code == 302
    assert portal.get("/portal/").status_code == 200
    assert "session.end" in actions(app)


def test_an_administrator_cuts_an_account_off_from_the_portal(app, world, portal_as, clock):
    care = world.care_team()
    member = Portal(app, app.test_client())
    assert member.login(care.member).status_code == 302
    admin = world.staff(care.team, role="admin")
    clock.advance(seconds=30)
    portal = portal_as(admin)
    listing = portal.text("/portal/admin/accounts/")
    assert care.member.staff.display_name in listing
    page_url = f"/portal/admin/accounts/{care.member.account.id}"
    page = portal.text(page_url)
    assert "Økter" in page and "Staff portal" not in page  # Norwegian by default
    r = portal.post(f"{page_url}/disable", token_from=page_url)
    assert r.status_code == 302
    assert member.get("/portal/").status_code == 302
    assert "Deaktivert" in portal.text(page_url)
    portal.post(f"{page_url}/enable", token_from=page_url)
    clock.advance(seconds=30)
    assert Portal(app, app.test_client()).login(care.member).status_code == 302
    secret_page = portal.post(f"{page_url}/totp-reset", token_from=page_url).get_data(as_text=True)
    secret = re.search(r'data-testid="totp-secret">([A-Z2-7]+)<', secret_page).group(1)
    clock.advance(seconds=30)
    assert Portal(app, app.test_client()).login(care.member).status_code == 401  # the old secret

    class WithNewSecret:
        account = care.member.account
        totp_secret = secret

    assert Portal(app, app.test_client()).login(WithNewSecret).status_code == 302
    for action in ("account.disable", "account.enable", "account.totp_reset"):
        assert action in actions(app)


def test_a_forced_new_password_is_set_at_the_next_portal_sign_in(app, world, portal_as, clock):
    care = world.care_team()
    admin = world.staff(care.team, role="admin")
    page_url = f"/portal/admin/accounts/{care.member.account.id}"
    portal_as(admin).post(f"{page_url}/password-reset", token_from=page_url)
    clock.advance(seconds=30)
    member = Portal(app, app.test_client())
    asked = member.login(care.member)
    assert asked.status_code == 403
    assert "velge et nytt passord" in asked.get_data(as_text=True)
    page = member.client.get("/portal/login").get_data(as_text=True)
    import pyotp

    r = member.client.post(
        "/portal/login",
        data={
            "csrf_token": csrf_token(page),
            "username": care.member.account.username,
            "password": PASSWORD,
            "totp": pyotp.TOTP(care.member.totp_secret).at(clock.now),  # the same code: nothing was kept
            "new_password": NEW_PASSWORD,
            "new_password_again": NEW_PASSWORD,
        },
    )
    assert r.status_code == 302, r.get_data(as_text=True)
    assert member.get("/portal/").status_code == 200
    assert "account.password_reset" in actions(app) and "account.password_change" in actions(app)


def test_only_administrators_reach_the_account_pages(world, portal_as):
    care = world.care_team()
    portal = portal_as(care.coordinator)
    assert portal.get("/portal/admin/accounts/").status_code == 403
    url = f"/portal/admin/accounts/{care.member.account.id}"
    assert portal.post(f"{url}/disable", token_from="/portal/").status_code == 403
