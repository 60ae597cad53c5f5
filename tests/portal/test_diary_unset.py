"""The portal's patient page shows no mood or sleep the patient did not give (and shows 0,
which is an answer)."""

from __future__ import annotations

import re

DIARY = "/api/v1/me/diary"


def test_the_portal_shows_no_mood_or_sleep_that_was_not_given(app, world, portal_as):
    care = world.care_team()
    api = app.test_client()
    for body in (
        {"text": "Bare tekst her."},
        {"text": "Helt nede.", "mood": 0, "sleep_hours": 0},
    ):
        response = api.post(DIARY, json={**body, "shared_with_team": True}, headers=care.patient.headers)
        assert response.status_code == 201, response.json
    page = portal_as(care.member).text(f"/portal/patients/{care.patient.id}")
    entries = {
        text: meta
        for meta, text in re.findall(r'<article class="entry"><p class="muted">(.*?)</p><p>(.*?)</p>', page)
    }
    assert set(entries) == {"Bare tekst her.", "Helt nede."}
    assert not re.search(r"\d+/10|\d+ h|\d+ t\b", entries["Bare tekst her."]), entries
    assert "0/10" in entries["Helt nede."] and re.search(r"\b0 (h|t)\b", entries["Helt nede."]), entries
