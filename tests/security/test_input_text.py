"""Text the database cannot hold is refused at the door (API and portal), on both databases.

PostgreSQL refuses NUL in text columns; contract fuzzing reached that with an
emergency-access reason (a 500 there, while SQLite stored it). Now: 422 naming the field.
"""

from __future__ import annotations

import pytest

from tests.portal.conftest import Portal, compile_catalogues
from tests.security.scene import changed_tables, fingerprint

pytestmark = pytest.mark.security


@pytest.fixture(scope="module", autouse=True)
def _catalogues():
    compile_catalogues()


def test_a_nul_character_in_any_text_is_422_naming_the_field_and_changes_nothing(app, client, world):
    care = world.care_team()
    tries = [
        (care.coordinator.headers, f"/api/v1/staff/patients/{care.patient.id}/emergency-access",
         {"reason": "ingen svarer\x00 i krise"}, "reason"),
        (care.patient.headers, "/api/v1/me/diary", {"text": "i dag", "tags": ["søvn\x00"]}, "tags.0"),
        (care.patient.headers, "/api/v1/me/diary", {"text": "ok", "\x00": 1}, "\x00"),
    ]  # fmt: skip
    for headers, url, body, field in tries:
        before = fingerprint(app)
        r = client.post(url, headers=headers, json=body)
        assert r.status_code == 422, (url, r.get_json())
        assert field in r.get_json()["errors"]
        assert not changed_tables(before, fingerprint(app))


def test_text_without_nul_still_goes_through(client, world):
    care = world.care_team()
    r = client.post(
        f"/api/v1/staff/patients/{care.patient.id}/emergency-access",
        headers=care.coordinator.headers,
        json={"reason": "ingen svarer, i krise nå"},
    )
    assert r.status_code == 201


def test_a_nul_character_in_a_portal_form_is_refused_and_changes_nothing(app, client, world):
    care = world.care_team()
    portal = Portal(app, client)
    assert portal.login(care.member).status_code == 302
    page = f"/portal/patients/{care.patient.id}"
    before = fingerprint(app)
    r = portal.post(f"{page}/emergency-access", {"reason": "ingen svarer\x00 i krise"}, token_from=page)
    assert r.status_code == 400
    assert not changed_tables(before, fingerprint(app))
