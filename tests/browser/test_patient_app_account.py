"""Issue 15 in the patient app: change my password in Settings, see where I am signed in and
sign out a lost phone."""

from __future__ import annotations

from tests.browser.test_patient_app_support import PASSWORD, activate, enrol

NEW_PASSWORD = "en helt ny og lang setning"


def test_a_patient_changes_their_password_and_signs_out_another_phone(live_server, phone, world, client):
    kari = enrol(world, client)
    activate(phone, live_server, kari)
    other = client.post("/api/v1/auth/token", json={"username": kari.username, "password": PASSWORD})
    assert other.status_code == 200, other.get_json()
    phone.get_by_role("link", name="Innstillinger").first.click()
    sessions = phone.locator("#my-sessions")
    sessions.get_by_text("(denne)").wait_for()
    assert sessions.locator("li").count() == 2
    sessions.get_by_role("button", name="Avslutt økten").click()
    phone.get_by_text("Økten er avsluttet.").wait_for()
    refreshed = client.post(
        "/api/v1/auth/refresh", headers={"Authorization": f"Bearer {other.get_json()['refresh_token']}"}
    )
    assert refreshed.status_code == 401

    form = phone.locator("#my-password")
    form.get_by_label("Passordet du har nå").fill("ikke passordet mitt")
    form.get_by_label("Nytt passord", exact=True).fill(NEW_PASSWORD)
    form.get_by_label("Nytt passord en gang til").fill(NEW_PASSWORD)
    form.get_by_role("button", name="Bytt passord").click()
    phone.get_by_text("Det er ikke passordet du har nå.").wait_for()
    form.get_by_label("Passordet du har nå").fill(PASSWORD)
    form.get_by_role("button", name="Bytt passord").click()
    phone.get_by_text("Passordet er byttet.").wait_for()
    login = client.post("/api/v1/auth/token", json={"username": kari.username, "password": NEW_PASSWORD})
    assert login.status_code == 200
