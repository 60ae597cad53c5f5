"""Escalation rules: backup and coordinators, then the patient and the whole team, reminders."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from muli.contact import escalation
from muli.extensions import db
from muli.models.contact import ContactRequest
from tests.contact_support import SATURDAY_NIGHT, ask, escalations, message_rows, outbox, put_on_call, utc

URL = "/api/v1/staff/contact-requests"


@pytest.fixture
def night(world, clock, app):
    """Scenario 2: Ola primary, Per backup, Kristin coordinator; Kari asks at 01:40."""
    clock.set(SATURDAY_NIGHT)
    care = world.care_team()
    ola = world.staff(care.team, agency=care.agency, name="Ola")
    per = world.staff(care.team, agency=care.agency, name="Per")
    put_on_call(app, care.team, ola, utc(2026, 11, 20, 15), utc(2026, 11, 21, 7))
    put_on_call(app, care.team, per, utc(2026, 11, 20, 15), utc(2026, 11, 21, 7), "backup")
    care.ola, care.per = ola, per
    return care


def run(app, minutes_after: float) -> escalation.PassReport:
    with app.app_context():
        from muli.cli import system_ctx

        report = escalation.run_pass(
            system_ctx(), now=SATURDAY_NIGHT + timedelta(minutes=minutes_after), commit=db.session.commit
        )
        db.session.remove()
        return report


def recipients(app) -> list[str]:
    return sorted(m.recipient for m in outbox(app))


def test_nothing_happens_within_the_window(app, client, night):
    ask(client, night.patient)
    assert run(app, 9).total == 0


def test_after_the_window_the_backup_and_coordinators_are_alerted(app, client, night):
    ask(client, night.patient)
    assert run(app, 10).backup == 1
    alerted = {night.ola.staff.email, night.per.staff.email, night.coordinator.staff.email}
    assert set(recipients(app)) == alerted


def test_the_first_escalation_happens_once_however_often_the_worker_runs(app, client, night):
    request_id = ask(client, night.patient).json["id"]
    run(app, 10)
    run(app, 11)
    assert [e.kind for e in escalations(app, request_id)] == ["backup"]


def test_after_the_second_window_the_patient_is_told_to_call_116_117(app, client, night):
    request_id = ask(client, night.patient).json["id"]
    run(app, 10)
    run(app, 20)
    mine = client.get(f"/api/v1/me/contact-requests/{request_id}", headers=night.patient.headers).json
    assert "116 117" in mine["escalation"]["advice"]
    assert [m["author"] for m in mine["messages"]] == ["system"]
    assert "116 117" in mine["messages"][0]["body"]


def test_after_the_second_window_the_whole_team_is_alerted(app, client, night):
    ask(client, night.patient)
    run(app, 10)
    run(app, 20)
    team = {s.staff.email for s in (night.ola, night.per, night.member, night.coordinator)}
    assert {m.recipient for m in outbox(app) if m.dedupe_key.startswith("escalation-team")} == team


def test_a_worker_that_was_away_catches_up_on_both_steps_in_one_pass(app, client, night):
    request_id = ask(client, night.patient).json["id"]
    report = run(app, 45)
    assert (report.backup, report.team) == (1, 1)
    assert len(message_rows(app, request_id)) == 1


def test_an_acknowledged_request_is_not_escalated(app, client, night):
    request_id = ask(client, night.patient).json["id"]
    client.post(f"{URL}/{request_id}/acknowledge", headers=night.member.headers)
    assert run(app, 30).total == 0


def test_a_cancelled_request_is_not_escalated(app, client, night):
    request_id = ask(client, night.patient).json["id"]
    client.post(f"/api/v1/me/contact-requests/{request_id}/cancel", headers=night.patient.headers)
    assert run(app, 30).total == 0


def test_acknowledged_but_not_closed_after_twelve_hours_reminds_the_responder_once(app, client, night):
    request_id = ask(client, night.patient).json["id"]
    client.post(f"{URL}/{request_id}/acknowledge", headers=night.ola.headers)
    first, second = run(app, 12 * 60 + 1), run(app, 12 * 60 + 5)
    assert (first.reminder, second.reminder) == (1, 0)
    reminded = [m.recipient for m in outbox(app) if m.dedupe_key.startswith("reminder")]
    assert reminded == [night.ola.staff.email]


def test_a_closed_request_gets_no_reminder(app, client, night):
    request_id = ask(client, night.patient).json["id"]
    client.post(f"{URL}/{request_id}/close", json={"outcome": "talked"}, headers=night.ola.headers)
    assert run(app, 13 * 60).reminder == 0


def test_a_late_acknowledgement_still_stops_further_escalation(app, client, night):
    request_id = ask(client, night.patient).json["id"]
    run(app, 10)
    client.post(f"{URL}/{request_id}/acknowledge", headers=night.per.headers)
    assert run(app, 25).team == 0
    with app.app_context():
        assert db.session.get(ContactRequest, uuid.UUID(request_id)).escalation_level == 1


def test_the_escalate_command_runs_one_pass_as_of_the_given_time(client, runner, night):
    ask(client, night.patient)
    result = runner.invoke(args=["muli", "escalate", "--now", "2026-11-21T00:51:00Z", "--no-send"])
    assert "1 to backup" in result.output
