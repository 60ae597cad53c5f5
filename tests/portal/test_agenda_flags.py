"""The meeting page flags, in words, overdue actions and crisis plans due for review with the
team; flagged patients come after those with news (issue 16, item 4)."""

from __future__ import annotations

import re
from datetime import date, timedelta

from tests.api.test_agenda_flags import _action, _meeting, _reviewed
from tests.portal.test_meetings import create_meeting

HELD_ON = date(2026, 11, 23)


def _headings(page: str) -> list[str]:
    return [
        re.sub(r"<[^>]+>", "", h).split(".", 1)[1].strip().split("\n")[0].strip()
        for h in re.findall(r'<h3 id="h-[^"]+">(.*?)</h3>', page, re.S)
    ]


def _setup(world, app):
    care = world.care_team()
    api = app.test_client()
    anna = world.patient(care.team, name="Anna", consents={care.agency: "all"})
    bodil = world.patient(care.team, name="Bodil", consents={care.agency: "all"})
    _reviewed(api, care.patient, HELD_ON - timedelta(days=3))
    _reviewed(api, anna, HELD_ON - timedelta(days=3))
    _reviewed(api, bodil, date(2026, 5, 4))
    earlier = _meeting(api, care, HELD_ON - timedelta(days=14))
    _action(api, care, earlier, anna, date(2026, 11, 16))
    _action(api, care, earlier, anna, date(2026, 11, 20))
    _action(api, care, earlier, care.patient, HELD_ON + timedelta(days=2))
    return care, anna, bodil


def test_the_agenda_names_overdue_actions_and_an_old_review_in_norwegian(world, app, portal_as):
    care, _, _ = _setup(world, app)
    portal = portal_as(care.coordinator)
    page = portal.text(create_meeting(portal, care, HELD_ON.isoformat()))
    assert "2 forfalte tiltak, eldste frist 16. nov. 2026" in page
    assert "Kriseplanen er ikke gjennomgått med teamet på over 3 måneder (sist 4. mai 2026)" in page
    assert 'aria-label="Trenger oppmerksomhet"' in page
    assert _headings(page) == ["Anna", "Bodil", care.patient.name]


def test_the_flags_read_in_english_too(world, app, portal_as):
    care, _, _ = _setup(world, app)
    portal = portal_as(care.coordinator)
    path = create_meeting(portal, care, HELD_ON.isoformat())
    portal.post("/portal/language/en", {"next": "/portal/"}, token_from="/portal/")
    page = portal.text(path)
    assert "2 overdue actions, the oldest due Nov 16, 2026" in page
    assert "Crisis plan not reviewed with the team for over 3 months (last May 4, 2026)" in page


def test_a_patient_without_a_reviewed_plan_is_flagged_in_words(world, portal_as):
    care = world.care_team()
    portal = portal_as(care.coordinator)
    page = portal.text(create_meeting(portal, care, HELD_ON.isoformat()))
    assert "Kriseplanen er ikke gjennomgått med teamet ennå" in page
