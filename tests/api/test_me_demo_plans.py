"""The demo patient Kari has her own crisis plan and mastery plan, seeded once."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from muli.extensions import db
from muli.models.plans import PlanVersion


def _seed(runner) -> dict:
    result = runner.invoke(args=["muli", "seed-demo", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # the JSON alone (output mixes in the log lines on stderr)


def test_kari_has_a_crisis_plan_in_her_own_words(client, runner):
    _seed(runner)
    token = client.post(
        "/api/v1/auth/token", json={"username": "kari", "password": "Fjordvik-demo-2026"}
    ).json
    plan = client.get(
        "/api/v1/me/crisis-plan", headers={"Authorization": f"Bearer {token['access_token']}"}
    ).json
    assert plan["how_i_want_to_be_met"] == "Snakk rolig. Ikke si at jeg må legges inn med en gang."
    assert plan["people_to_ask"][0]["name"] == "Siv (søster)"
    assert plan["written_by"]["kind"] == "patient"


def test_seeding_twice_adds_no_plan_versions(app, runner):
    _seed(runner)
    _seed(runner)
    with app.app_context():
        assert db.session.scalar(select(func.count(PlanVersion.id))) == 2
