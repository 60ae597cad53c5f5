"""The patient app in a real browser at phone size: activation, sign-in, home, crisis plan."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.layout import wider_than_screen
from tests.browser.test_patient_app_support import (
    KARI_PLAN,
    PASSWORD,
    activate,
    enrol,
    put_crisis_plan,
    token,
    wait_for_worker,
    wait_until,
)


def test_a_patient_activates_with_the_code_and_reads_the_crisis_plan(
    live_server, phone, world, client, screenshot
):
    kari = enrol(world, client)
    activate(phone, live_server, kari)
    screenshot(phone, "home")
    put_crisis_plan(client, token(client, kari))
    phone.get_by_role("link", name="Når det er krise").click()
    phone.get_by_text("ring Siv (søster)").wait_for()
    assert phone.get_by_text("gå en tur rundt vannet").is_visible()
    call_siv = phone.get_by_role("link", name="Ring +47 400 00 000")
    assert call_siv.get_attribute("href") == "tel:+4740000000"
    expect(call_siv).to_have_accessible_description("Siv (søster)")
    screenshot(phone, "crisis-plan")


def test_home_has_four_tiles_and_the_emergency_numbers(live_server, phone, world, client):
    kari = enrol(world, client)
    activate(phone, live_server, kari)
    for name in (
        "Når det er krise",
        "Når du vil snakke med noen",
        "Når du vil prøve selv",
        "Når du trenger å skrive",
    ):
        assert phone.get_by_role("link", name=name).is_visible()
    sos = phone.locator("#sos")
    assert sos.locator("a[href='tel:113']").is_visible()
    assert sos.locator("a[href='tel:116117']").is_visible()


def test_emergency_numbers_are_on_every_screen(live_server, phone, world, client):
    kari = enrol(world, client)
    activate(phone, live_server, kari)
    for route in (
        "#/crisis",
        "#/contact",
        "#/mastery",
        "#/diary",
        "#/consents",
        "#/access-log",
        "#/settings",
    ):
        phone.goto(f"{live_server}/app/{route}")
        phone.locator("#sos a[href='tel:113']").wait_for()
        assert phone.locator("#sos a[href='tel:116117']").is_visible()


def test_the_session_survives_closing_the_app(live_server, phone, world, client):
    kari = enrol(world, client)
    activate(phone, live_server, kari)
    context = phone.context
    phone.close()
    again = context.new_page()
    again.goto(f"{live_server}/app/")
    again.get_by_role("heading", name="Hei, Kari!").wait_for()


def test_the_refresh_token_is_an_httponly_cookie_scripts_cannot_read(live_server, phone, world, client):
    kari = enrol(world, client)
    activate(phone, live_server, kari)
    cookies = {c["name"]: c for c in phone.context.cookies()}
    refresh = cookies["muli_refresh"]
    assert refresh["httpOnly"] is True
    assert refresh["sameSite"] == "Strict"
    assert refresh["path"] == "/api/v1/auth"
    assert "muli_refresh" not in phone.evaluate("document.cookie")
    stored = phone.evaluate("JSON.stringify(Object.assign({}, localStorage))")
    assert "eyJ" not in stored  # no JWT of any kind in storage


def test_logging_out_ends_the_session_on_this_phone(live_server, phone, world, client):
    kari = enrol(world, client)
    activate(phone, live_server, kari)
    phone.get_by_role("link", name="Innstillinger").first.click()
    phone.get_by_role("button", name="Logg ut").click()
    phone.get_by_role("button", name="Logg ut og slett fra telefonen").click()
    phone.get_by_role("heading", name="Logg inn").wait_for()
    phone.reload()
    phone.get_by_role("heading", name="Logg inn").wait_for()
    assert phone.evaluate("localStorage.getItem('muli.crisis')") is None


def test_a_patient_logs_in_with_username_and_password(live_server, phone, world, client):
    kari = enrol(world, client)
    activate(phone, live_server, kari)
    phone.context.clear_cookies()
    phone.evaluate("localStorage.clear()")
    phone.goto(f"{live_server}/app/")
    phone.get_by_label("Brukernavn").fill(kari.username)
    phone.get_by_label("Passord").fill("feil-passord-her")
    phone.get_by_role("button", name="Logg inn").click()
    phone.get_by_text("Feil brukernavn eller passord.").wait_for()
    phone.get_by_label("Passord").fill(PASSWORD)
    phone.get_by_role("button", name="Logg inn").click()
    phone.get_by_role("heading", name="Hei, Kari!").wait_for()


def test_a_used_activation_code_is_refused_plainly(live_server, phone, world, client):
    kari = enrol(world, client)
    activate(phone, live_server, kari)
    phone.context.clear_cookies()
    phone.evaluate("localStorage.clear()")
    kari.username = "someone-else"
    phone.goto(f"{live_server}/app/#/activate")
    phone.get_by_label("Kode fra teamet").fill(kari.code)
    phone.get_by_label("Brukernavn").fill("annen-bruker")
    phone.get_by_label("Velg passord").fill(PASSWORD)
    phone.get_by_label("Skriv passordet en gang til").fill(PASSWORD)
    phone.get_by_role("button", name="Aktiver").click()
    phone.get_by_text("Koden er brukt, utløpt eller feil").wait_for()


def test_the_patient_edits_the_crisis_plan(live_server, phone, world, client):
    kari = enrol(world, client)
    activate(phone, live_server, kari)
    phone.get_by_role("link", name="Når det er krise").click()
    phone.get_by_role("link", name="Endre kriseplanen").click()
    phone.get_by_label("Dette kan jeg gjøre selv").fill("gå en tur rundt vannet\nhøre på musikk")
    phone.get_by_label("Dette hjelper meg", exact=True).fill("At noen kjenner historien min.")
    phone.get_by_role("button", name="Lagre").click()
    phone.get_by_text("høre på musikk").wait_for()
    plan = client.get("/api/v1/me/crisis-plan", headers=token(client, kari)).get_json()
    assert plan["coping_strategies"] == ["gå en tur rundt vannet", "høre på musikk"]
    assert plan["what_helps"] == "At noen kjenner historien min."


def test_the_patient_approves_a_plan_the_team_proposed(live_server, phone, world, client):
    kari = enrol(world, client)
    activate(phone, live_server, kari)
    response = client.post(
        f"/api/v1/staff/patients/{kari.patient_id}/crisis-plan/proposals",
        json=KARI_PLAN,
        headers=kari.member.headers,
    )
    assert response.status_code == 201, response.get_json()
    phone.get_by_role("link", name="Når det er krise").click()
    phone.get_by_text("Nytt forslag til kriseplan.").click()
    # The proposal shows its content too: wait for the approval's answer, not for the text.
    with phone.expect_response(lambda r: r.url.endswith("/approve")) as approved:
        phone.get_by_role("button", name="Godkjenn", exact=True).click()
    assert approved.value.status == 200
    # The proposal's diff says "ring Siv (søster)" too: wait for it on the plan itself.
    phone.locator("#crisis-plan").get_by_text("ring Siv (søster)").wait_for()
    plan = client.get("/api/v1/me/crisis-plan", headers=token(client, kari)).get_json()
    assert plan["written_by"]["name"] == "Ola Nordmann"


def test_english_can_be_chosen(live_server, phone, world, client):
    kari = enrol(world, client)
    activate(phone, live_server, kari)
    phone.get_by_role("link", name="Innstillinger").first.click()
    phone.get_by_label("English").click()  # the app reloads in English at once: no checked state to verify
    phone.get_by_role("heading", name="Hi, Kari!").wait_for()
    assert phone.get_by_role("link", name="When it is a crisis").is_visible()
    assert phone.evaluate("document.documentElement.lang") == "en"


def test_the_app_fits_a_360_px_screen_and_asks_nothing_of_third_parties(live_server, phone, world, client):
    origins = set()
    phone.on("request", lambda request: origins.add(request.url.split("/")[2]))
    kari = enrol(world, client)
    activate(phone, live_server, kari)
    for route in ("", "#/crisis", "#/contact", "#/diary/new", "#/consents"):
        phone.goto(f"{live_server}/app/{route}")
        phone.locator("#main").locator("h2, p, form, section").first.wait_for()
        assert not (wide := wider_than_screen(phone)), (route, wide)
    assert origins == {live_server.split("/")[2]}


def test_the_app_is_served_with_a_strict_content_security_policy(client):
    response = client.get("/app/")
    response.close()
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "script-src 'self';" in policy
    assert "unsafe-inline" not in policy
    worker = client.get("/app/sw.js")
    assert worker.headers["Service-Worker-Allowed"] == "/app/"
    assert "__SHELL__" not in worker.get_data(as_text=True)


def test_a_proposal_not_approved_leaves_the_plan_as_it_was(live_server, phone, world, client):
    kari = enrol(world, client)
    activate(phone, live_server, kari)
    client.post(
        f"/api/v1/staff/patients/{kari.patient_id}/crisis-plan/proposals",
        json=KARI_PLAN,
        headers=kari.member.headers,
    )
    phone.get_by_role("link", name="Når det er krise").click()
    phone.get_by_text("Nytt forslag til kriseplan.").click()
    phone.get_by_role("button", name="Ikke godkjenn").click()
    # Declined on the server (a round trip), then shown without the buttons.
    expect(phone.get_by_role("button", name="Godkjenn", exact=True)).to_have_count(0)
    phone.get_by_role("link", name="Tilbake").click()
    phone.get_by_role("link", name="Endre kriseplanen").wait_for()
    assert phone.get_by_text("Nytt forslag til kriseplan.").count() == 0
    plan = client.get("/api/v1/me/crisis-plan", headers=token(client, kari)).get_json()
    assert plan["version"] == 0


def test_logging_out_with_no_network_revokes_the_session_when_back(live_server, phone, world, client):
    kari = enrol(world, client)
    activate(phone, live_server, kari)
    wait_for_worker(phone)
    phone.context.set_offline(True)
    phone.get_by_role("link", name="Innstillinger").first.click()
    phone.get_by_role("button", name="Logg ut").click()
    phone.get_by_role("button", name="Logg ut og slett fra telefonen").click()
    phone.get_by_role("heading", name="Logg inn").wait_for()
    assert phone.evaluate("localStorage.getItem('muli.logout_pending')") == "true"
    phone.context.set_offline(False)
    phone.reload()
    phone.get_by_role("heading", name="Logg inn").wait_for()
    wait_until(phone, "localStorage.getItem('muli.logout_pending') === null")
    assert "muli_refresh" not in {c["name"] for c in phone.context.cookies()}
    phone.reload()
    phone.get_by_role("heading", name="Logg inn").wait_for()
