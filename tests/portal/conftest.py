"""Portal fixtures: compiled message catalogues, and a signed-in test client per staff login."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pyotp
import pytest

from muli.models.base import utcnow
from tests.factories import PASSWORD

ROOT = Path(__file__).resolve().parents[2]
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def compile_catalogues() -> None:
    """The .mo files are build output (git-ignored); tests build them like `make setup` does."""
    pybabel = Path(sys.executable).with_name("pybabel")
    subprocess.run(
        [str(pybabel), "-q", "compile", "-d", str(ROOT / "staff_portal" / "translations")], check=True
    )


@pytest.fixture(scope="session", autouse=True)
def _catalogues():
    compile_catalogues()


def csrf_token(html: str) -> str:
    match = CSRF.search(html)
    assert match, "the page has no CSRF token"
    return match.group(1)


class Portal:
    """A test client that signs in through the real form (password + TOTP)."""

    def __init__(self, app, client, address: str | None = None):
        self.app = app
        self.client = client
        if address:  # the client's address as the app sees it (REMOTE_ADDR)
            client.environ_base["REMOTE_ADDR"] = address

    def now(self):
        return self.app.extensions["muli.clock"]()

    def login(self, login, password: str | None = None, code: str | None = None):
        page = self.client.get("/portal/login")
        code = code or pyotp.TOTP(login.totp_secret).at(self.now())
        return self.client.post(
            "/portal/login",
            data={
                "csrf_token": csrf_token(page.get_data(as_text=True)),
                "username": login.account.username,
                "password": password or PASSWORD,
                "totp": code,
            },
        )

    def get(self, path: str, **kwargs):
        return self.client.get(path, **kwargs)

    def post(self, path: str, data: dict | None = None, *, token_from: str | None = None, **kwargs):
        """POST a form with the CSRF token taken from the page at `token_from` (default: `path`)."""
        page = self.client.get(token_from or path)
        form = {"csrf_token": csrf_token(page.get_data(as_text=True)), **(data or {})}
        return self.client.post(path, data=form, **kwargs)

    def text(self, path: str) -> str:
        return self.client.get(path).get_data(as_text=True)


@pytest.fixture
def portal(app, client):
    return Portal(app, client)


@pytest.fixture
def portal_as(app, portal):
    """portal_as(staff_login) → a Portal signed in as that staff member."""

    def sign_in(login):
        response = portal.login(login)
        assert response.status_code == 302, response.get_data(as_text=True)
        return portal

    return sign_in


__all__ = ["csrf_token", "utcnow"]
