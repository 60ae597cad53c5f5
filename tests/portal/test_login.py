import pyotp
import pytest

from tests.portal.conftest import Portal, csrf_token


def test_the_root_redirects_to_the_portal(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/portal/")


def test_an_anonymous_visitor_is_sent_to_sign_in(client):
    response = client.get("/portal/")
    assert response.status_code == 302
    assert "/portal/login" in response.headers["Location"]


def test_the_sign_in_page_is_in_bokmal_by_default(client):
    page = client.get("/portal/login").get_data(as_text=True)
    assert 'lang="nb"' in page
    assert "Brukernavn" in page


def test_staff_sign_in_with_password_and_totp(world, portal):
    care = world.care_team()
    response = portal.login(care.member)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/portal/")
    assert care.member.staff.display_name in portal.text("/portal/")


def test_the_session_cookie_is_httponly_and_samesite(world, portal):
    care = world.care_team()
    response = portal.login(care.member)
    (cookie,) = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_a_wrong_code_does_not_sign_in(world, portal):
    care = world.care_team()
    response = portal.login(care.member, code="000000")
    assert response.status_code == 401
    assert "Feil brukernavn, passord eller kode" in response.get_data(as_text=True)
    assert portal.get("/portal/").status_code == 302


def test_a_login_post_without_the_csrf_token_is_refused(world, client):
    care = world.care_team()
    response = client.post(
        "/portal/login",
        data={
            "username": care.member.account.username,
            "password": "correct-horse-battery-staple-7",
            "totp": pyotp.TOTP(care.member.totp_secret).now(),
        },
    )
    assert response.status_code == 400
    assert "text/html" in response.content_type
    assert client.get("/portal/").status_code == 302


def test_a_patient_cannot_sign_in_to_the_portal(world, portal):
    care = world.care_team()

    class PatientAsStaff:
        account = care.patient.account
        totp_secret = pyotp.random_base32()

    response = portal.login(PatientAsStaff)
    assert response.status_code == 401
    assert portal.get("/portal/").status_code == 302


def test_a_disabled_account_cannot_sign_in(app, world, portal):
    from muli.cli import system_ctx
    from muli.extensions import db
    from muli.models.accounts import Account
    from muli.trust import accounts

    care = world.care_team()
    with app.app_context():
        accounts.disable_account(system_ctx(), db.session.get(Account, care.member.account.id))
        db.session.commit()
    assert portal.login(care.member).status_code == 401


def test_disabling_an_account_ends_its_portal_session(app, world, portal_as, clock):
    from muli.cli import system_ctx
    from muli.extensions import db
    from muli.models.accounts import Account
    from muli.trust import accounts

    care = world.care_team()
    portal = portal_as(care.member)
    clock.advance(seconds=5)
    with app.app_context():
        accounts.disable_account(system_ctx(), db.session.get(Account, care.member.account.id))
        db.session.commit()
    assert portal.get("/portal/").status_code == 302


def test_repeated_failures_answer_a_friendly_page_and_lock_no_one_out(app, world, clock):
    care = world.care_team()
    attacker = Portal(app, app.test_client(), address="203.0.113.5")
    for _ in range(6):
        assert attacker.login(care.member, code="000000").status_code == 401
    response = attacker.login(care.member)  # the right password and code, from that address
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "1"
    assert "text/html" in response.content_type
    assert "Prøv igjen om 1 sekund." in response.get_data(as_text=True)
    # The same person at another address is let in at once.
    clock.advance(seconds=30)  # a fresh TOTP step
    assert Portal(app, app.test_client(), address="198.51.100.7").login(care.member).status_code == 302


@pytest.mark.parametrize(("minutes", "signed_in"), [(29, True), (31, False)])
def test_an_idle_session_ends_after_30_minutes(world, portal_as, clock, minutes, signed_in):
    care = world.care_team()
    portal = portal_as(care.member)
    clock.advance(minutes=minutes)
    response = portal.get("/portal/")
    assert (response.status_code == 200) is signed_in
    if not signed_in:
        assert "expired=1" in response.headers["Location"]


def test_a_session_ends_after_10_hours_however_active(world, portal_as, clock):
    care = world.care_team()
    portal = portal_as(care.member)
    for _ in range(20):
        clock.advance(minutes=29)
        assert portal.get("/portal/").status_code == 200
    clock.advance(minutes=29)
    assert portal.get("/portal/").status_code == 302


def test_sign_out_ends_the_session(world, portal_as):
    care = world.care_team()
    portal = portal_as(care.member)
    response = portal.post("/portal/logout", token_from="/portal/")
    assert response.status_code == 302
    assert portal.get("/portal/").status_code == 302


def test_sign_out_without_the_csrf_token_keeps_the_session(world, portal_as):
    care = world.care_team()
    portal = portal_as(care.member)
    assert portal.client.post("/portal/logout").status_code == 400
    assert portal.get("/portal/").status_code == 200


def test_english_can_be_chosen(world, portal_as):
    care = world.care_team()
    portal = portal_as(care.member)
    response = portal.post("/portal/language/en", {"next": "/portal/"}, token_from="/portal/")
    assert response.status_code == 302
    page = portal.text("/portal/")
    assert 'lang="en"' in page
    assert "Sign out" in page


def test_next_never_leads_off_site(world, portal):
    care = world.care_team()
    page = portal.get("/portal/login?next=//evil.example/").get_data(as_text=True)
    response = portal.client.post(
        "/portal/login",
        data={
            "csrf_token": csrf_token(page),
            "username": care.member.account.username,
            "password": "correct-horse-battery-staple-7",
            "totp": pyotp.TOTP(care.member.totp_secret).now(),
            "next": "//evil.example/",
        },
    )
    assert response.headers["Location"] == "/portal/"


def test_a_portal_404_is_an_html_page_and_the_api_keeps_problem_json(client):
    page = client.get("/portal/no-such-page")
    assert page.status_code == 404
    assert "text/html" in page.content_type
    api = client.get("/api/v1/no-such-thing")
    assert api.content_type == "application/problem+json"


def test_portal_pages_allow_only_their_own_scripts_and_styles(client):
    for path in ("/portal/login", "/portal/no-such-page"):
        csp = client.get(path).headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp
        assert "frame-ancestors 'none'" in csp


def test_the_portal_makes_no_third_party_requests():
    from pathlib import Path

    import staff_portal

    root = Path(staff_portal.__file__).parent
    for path in [*root.glob("templates/**/*.html"), *root.glob("static/*")]:
        text = path.read_text()
        assert "http://" not in text and "https://" not in text, path


def test_an_expired_session_on_a_form_post_returns_to_the_start_page_after_sign_in(world, portal_as, clock):
    care = world.care_team()
    portal = portal_as(care.member)
    page = portal.text("/portal/")
    clock.advance(minutes=31)
    response = portal.client.post(
        "/portal/queue/00000000-0000-0000-0000-000000000000/acknowledge",
        data={"csrf_token": csrf_token(page)},
    )
    assert response.status_code == 302
    assert "next=/portal/" in response.headers["Location"].replace("%2F", "/")
    assert "acknowledge" not in response.headers["Location"]
