"""Helpers for the patient-app browser tests: enrol a patient for real, activate in the app.

No tests here; the test_patient_app_*.py modules import these.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from datetime import date, timedelta

from muli.trust import national_id

PASSWORD = "stille-vann-rundt-fjellet"
BROWSER_TIMEOUT_MS = 30_000
_numbers = national_id.synthetic_numbers(date(1992, 3, 14), start=200)
_names = itertools.count(1)

KARI_PLAN = {
    "warning_signs": [{"sign": "Får ikke sove", "action": "ring Siv (søster)"}],
    "coping_strategies": ["gå en tur rundt vannet"],
    "people_to_ask": [{"name": "Siv (søster)", "phone": "+47 400 00 000"}],
    "what_helps": "At noen kjenner historien min.",
    "how_i_want_to_be_met": "Snakk rolig.",
}


@dataclass
class Enrolled:
    patient_id: str
    code: str
    team: object
    agency: object
    coordinator: object
    member: object
    username: str


def enrol(world, client, name: str = "Kari") -> Enrolled:
    """A team (DPS coordinator and nurse) and a patient enrolled through the API, not yet activated."""
    team = world.team()
    agency = world.agency(kind="dps")
    coordinator = world.staff(team, role="coordinator", agency=agency, name="Kim Koordinator")
    member = world.staff(team, role="member", agency=agency, name="Ola Nordmann")
    response = client.post(
        "/api/v1/staff/patients",
        json={
            "display_name": name,
            "national_id": next(_numbers),
            "team_id": str(team.id),
            "consents": [{"agency_id": str(agency.id), "scopes": ["crisis_plan", "contact_requests"]}],
            "trusted_contact_id": str(member.id),
            "criteria_confirmed": True,
        },
        headers=coordinator.headers,
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    return Enrolled(
        body["id"], body["activation_code"], team, agency, coordinator, member, f"kari{next(_names)}"
    )


def activate(page, live_server: str, enrolled: Enrolled) -> None:
    """Open the app, activate with the code, and land on the home screen."""
    # The suite shares a small machine with other test processes; waits are for slowness,
    # not for a feature that is absent (those fail all the same, only later).
    page.context.set_default_timeout(BROWSER_TIMEOUT_MS)
    page.set_default_timeout(BROWSER_TIMEOUT_MS)
    page.goto(f"{live_server}/app/")
    page.get_by_role("link", name="Jeg har fått en kode fra teamet").click()
    page.get_by_label("Kode fra teamet").fill(enrolled.code)
    page.get_by_label("Brukernavn").fill(enrolled.username)
    page.get_by_label("Velg passord").fill(PASSWORD)
    page.get_by_label("Skriv passordet en gang til").fill(PASSWORD)
    page.get_by_role("button", name="Aktiver").click()
    # Two Argon2 hashes (activate, then log in): slow on purpose, slower on a busy machine.
    page.get_by_role("heading", name="Hei, Kari!").wait_for(timeout=30_000)


def token(client, enrolled: Enrolled) -> dict:
    """Bearer headers for the patient, from a real login (as another device would)."""
    response = client.post("/api/v1/auth/token", json={"username": enrolled.username, "password": PASSWORD})
    assert response.status_code == 200, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['access_token']}"}


def put_crisis_plan(client, headers: dict, plan: dict = KARI_PLAN) -> None:
    etag = client.get("/api/v1/me/crisis-plan", headers=headers).headers["ETag"]
    response = client.put("/api/v1/me/crisis-plan", json=plan, headers={**headers, "If-Match": etag})
    assert response.status_code == 200, response.get_json()


def wait_until(page, expression: str, timeout: float = 30.0) -> None:
    """Poll a JS expression until it is true. (wait_for_function evaluates strings, which the
    app's CSP rightly forbids; evaluate goes through the DevTools protocol instead.)"""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout}s: {expression}")
        time.sleep(0.2)


def wait_for_worker(page) -> None:
    """The service worker is installed, has cached the shell and controls the page."""
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    wait_until(page, "navigator.serviceWorker.controller !== null")


def on_call_tonight(client, enrolled: Enrolled, now) -> None:
    """Ola is primary on call from an hour ago for twelve hours."""
    response = client.post(
        f"/api/v1/staff/teams/{enrolled.team.id}/on-call-shifts",
        json={
            "staff_id": str(enrolled.member.id),
            "starts_at": (now - timedelta(hours=1)).isoformat(),
            "ends_at": (now + timedelta(hours=11)).isoformat(),
            "level": "primary",
        },
        headers=enrolled.coordinator.headers,
    )
    assert response.status_code == 201, response.get_json()
