"""The privacy officer downloads the newest signed checkpoint of the audit chain."""

import json


def test_the_privacy_officer_downloads_the_signed_checkpoint(world, portal_as, runner):
    care = world.care_team()
    officer = world.staff(role="privacy_officer", agency=care.agency)
    portal = portal_as(officer)
    page = portal.text("/portal/audit/")
    assert 'href="/portal/audit/checkpoint.json"' in page
    assert "Last ned signert kontrollpunkt" in page
    assert portal.get("/portal/audit/checkpoint.json").status_code == 404  # none written yet
    made = runner.invoke(args=["muli", "audit-checkpoint"])
    assert made.exit_code == 0, made.output
    response = portal.get("/portal/audit/checkpoint.json")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.get_data(as_text=True) == made.stdout.strip()  # stderr may hold log lines
    assert json.loads(response.get_data())["format"] == "muli-audit-checkpoint/1"


def test_only_the_privacy_officer_downloads_it(world, portal_as, runner):
    care = world.care_team()
    portal = portal_as(care.coordinator)
    assert runner.invoke(args=["muli", "audit-checkpoint"]).exit_code == 0
    assert portal.get("/portal/audit/checkpoint.json").status_code == 403
