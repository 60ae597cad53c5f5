"""The portal's sign-in under attack (issue 13): the ward PC that signed in before still gets
in at once; the stranger's address waits, and its right password is not even checked; the
privacy officer sees it under "Mislykkede innlogginger og struping"."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.contact_support import SATURDAY_NIGHT
from tests.portal.conftest import Portal

pytestmark = pytest.mark.usefixtures("cheap_argon2")
ATTACKER = "203.0.113.66"


def hammer(attacker: Portal, login, clock, checked: int) -> list[int]:
    """`checked` wrong codes that are actually checked, waiting out each 429 (the clock)."""
    waits, failed = [], 0
    while failed < checked:
        answer = attacker.login(login, code="000000")
        if answer.status_code == 429:
            waits.append(int(answer.headers["Retry-After"]))
            clock.advance(seconds=waits[-1])
            continue
        assert answer.status_code == 401
        failed += 1
    return waits


def test_fifty_failures_do_not_keep_the_ward_pc_out(app, world, clock):
    clock.set(SATURDAY_NIGHT)
    care = world.care_team()
    ward_pc = Portal(app, app.test_client(), address="10.20.30.40")
    first = ward_pc.login(care.member)
    assert first.status_code == 302
    (device,) = [c for c in first.headers.getlist("Set-Cookie") if c.startswith("muli_device=")]
    assert "HttpOnly" in device and "SameSite=Strict" in device

    attacker = Portal(app, app.test_client(), address=ATTACKER)
    assert hammer(attacker, care.member, clock, 50)[:4] == [1, 2, 4, 8]

    clock.advance(seconds=30)
    assert ward_pc.login(care.member).status_code == 302
    # The stranger's address is waiting (5 minutes now): the right password and code are
    # not looked at.
    refused = attacker.login(care.member)
    assert refused.status_code == 429
    assert "For mange mislykkede forsøk" in refused.get_data(as_text=True)
    assert "muli_device" not in str(refused.headers.getlist("Set-Cookie"))


def test_the_privacy_officer_sees_failed_logins_and_throttling(app, world, clock, portal_as):
    clock.set(SATURDAY_NIGHT)
    care = world.care_team()
    attacker = Portal(app, app.test_client(), address=ATTACKER)
    hammer(attacker, care.member, clock, 8)
    assert attacker.login(care.member, code="000000").status_code == 429

    clock.set(datetime.now(UTC))  # the audit trail is stamped with the real time
    officer = portal_as(world.staff(role="privacy_officer"))
    page = officer.text("/portal/audit/logins")
    assert "Mislykkede innlogginger og struping" in page
    assert care.member.staff.display_name in page
    assert "203.0.113.0/24" in page and ATTACKER not in page
    row = page[page.index(care.member.staff.display_name) :]
    cells = [c.split(">")[-1] for c in row.split("</td>")[2:5]]
    assert cells == ["8", "3", "0"]  # failed; refused unchecked (2 waits + 1); succeeded
    # The tab is reachable from the access log.
    assert "/portal/audit/logins" in officer.text("/portal/audit/")
    # Clinicians may not look.
    clinician = Portal(app, app.test_client(), address="10.0.0.9")
    clock.advance(seconds=30)
    assert clinician.login(care.coordinator).status_code == 302
    assert clinician.get("/portal/audit/logins").status_code == 403
