"""Helpers for the portal browser tests (no tests here): sign in, make data through the API."""

from __future__ import annotations

import uuid

import pyotp
import pytest
import requests

from tests.factories import PASSWORD
from tests.portal.conftest import compile_catalogues


def sign_in(page, live_server: str, login) -> None:
    page.goto(f"{live_server}/portal/login")
    page.get_by_label("Brukernavn").fill(login.account.username)
    page.get_by_label("Passord").fill(PASSWORD)
    page.get_by_label("Kode fra autentiseringsappen").fill(pyotp.TOTP(login.totp_secret).now())
    page.get_by_role("button", name="Logg inn").click()
    page.wait_for_url(f"{live_server}/portal/")


def sign_out(page) -> None:
    page.get_by_role("button", name="Logg ut").click()


def contact_request(live_server: str, patient, message: str) -> dict:
    response = requests.post(
        f"{live_server}/api/v1/me/contact-requests",
        json={"kind": "call_me", "urgency": "crisis", "message": message, "callback_phone": "+4790000001"},
        headers={**patient.headers, "Idempotency-Key": str(uuid.uuid4())},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture(scope="session", autouse=True)
def portal_catalogues():
    """The portal's .mo files are build output; compile them as tests/portal does."""
    compile_catalogues()
