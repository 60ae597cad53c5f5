"""The demo tells MULI's story (issue 16, item 8): six patients with two years of admissions
before enrolment and months after, so the outcomes show "admissions fell in 5 of 6"; Kari's
past nights closed with outcomes; the police liaison's emergency access to review; Kari's
crisis plan last reviewed with the team four months ago; logins printed with name, role and
agency. Still synthetic, and a second run adds nothing."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from muli import demo
from muli.extensions import db
from muli.models.accounts import Account
from muli.models.audit import AuditEvent
from muli.models.base import Base
from muli.models.contact import ContactRequest
from muli.models.outbox import OutboxMessage
from muli.models.people import Admission, Patient
from muli.patient import plans
from muli.team import outcomes
from muli.trust import accounts, audit, audit_review, national_id

OSLO = ZoneInfo("Europe/Oslo")


def as_(ctx, username):
    account = db.session.scalars(select(Account).where(Account.username == username)).one()
    return ctx.acting_as(accounts.actor_for(ctx, account))


@pytest.fixture
def seeded(ctx):
    result = demo.seed(ctx)
    db.session.commit()
    return result


def test_six_patients_enrolled_6_to_14_months_ago_with_two_years_of_admissions_before(ctx, seeded):
    today = ctx.now().date()
    found = []
    # MULI's six (MULI vold's two young people are on a team of their own).
    for patient in db.session.scalars(select(Patient).where(Patient.team_id == _team_id(seeded))):
        first = db.session.scalar(
            select(func.min(Admission.admitted_on)).where(Admission.patient_id == patient.id)
        )
        found.append(
            (
                180 <= (today - patient.enrolled_on).days <= 430,
                (patient.enrolled_on - first).days >= 365,
                national_id.is_valid(ctx.keys.open(patient, "national_id")),
                ctx.keys.open(patient, "phone").startswith("+47000"),
                patient.created_at.date() == patient.enrolled_on,  # dated then, not today
            )
        )
    assert found == [(True, True, True, True, True)] * 6


def test_the_outcomes_say_admissions_fell_in_5_of_6(ctx, seeded):
    view = outcomes.team_outcomes(as_(ctx, "kristin"), _team_id(seeded))
    headline = view["headline"]
    assert (headline["admissions_fell"]["value"], headline["patients_compared"]["value"]) == (5, 6)


def test_the_outcomes_show_the_team_before_and_after_and_mats_in_hospital_now(ctx, seeded):
    view = outcomes.team_outcomes(as_(ctx, "siv"), _team_id(seeded))
    acute = next(i for h in view["headings"] for i in h["indicators"] if i["key"] == "acute_admissions")
    before, since = acute["figures"]["before_per_year"]["value"], acute["figures"]["since_per_year"]["value"]
    open_rows = [(r["display_name"], len(r["open_stays"])) for r in view["per_patient"] if r["open_stays"]]
    assert (since < before / 2, open_rows) == (True, [("Mats", 1)])


def test_karis_past_nights_are_closed_with_outcomes_and_dated_then(ctx, seeded):
    rows = db.session.scalars(select(ContactRequest).order_by(ContactRequest.created_at)).all()
    now = ctx.now()
    assert len(rows) == len(demo.PAST_NIGHTS)
    for row in rows:
        hour = row.created_at.astimezone(OSLO).hour
        assert (row.state, row.outcome is not None, row.routed_to) == ("closed", True, "on_call")
        assert (hour >= 22 or hour < 6, row.created_at < now - timedelta(days=1)) == (True, True)
        assert row.created_at < row.acknowledged_at < row.closed_at
        # The audit trail says when it happened, as the request does.
        made = db.session.scalars(
            select(AuditEvent.occurred_at).where(
                AuditEvent.action == "contact_request.create", AuditEvent.resource_id == str(row.id)
            )
        ).one()
        assert made == row.created_at


def test_the_past_nights_notifications_are_not_sent_again(ctx, seeded):
    pending = db.session.scalar(
        select(func.count()).select_from(OutboxMessage).where(OutboxMessage.state == "pending")
    )
    assert pending == 0


def test_one_emergency_access_by_the_police_liaison_waits_for_review(ctx, seeded):
    [window] = audit_review.emergency_accesses(as_(ctx, "lise")).items
    assert (window.staff_name, window.staff_agency_name, window.reason) == (
        "Pia Politikontakt",
        "Fjordvik politidistrikt",
        demo.EMERGENCY_REASON,
    )


def test_karis_crisis_plan_was_last_reviewed_with_the_team_four_months_ago(ctx, seeded):
    (kari,) = [p for p in db.session.scalars(select(Patient)) if ctx.keys.open(p, "display_name") == "Kari"]
    _plan, version = plans.current(ctx, kari.id, "crisis")
    days = (ctx.now().date() - version.last_reviewed_with_team_on).days
    assert (100 <= days <= 140, version.created_at.date() == version.last_reviewed_with_team_on) == (
        True,
        True,
    )


def test_seeding_twice_adds_nothing(ctx, seeded):
    def counts():
        return {
            t.name: db.session.scalar(select(func.count()).select_from(t))
            for t in Base.metadata.sorted_tables
        }

    before = counts()
    again = demo.seed(ctx)
    db.session.commit()
    assert (counts(), again) == (before, seeded)
    assert list(audit.verify(db.session)) == []


def test_the_printed_logins_name_each_person_their_role_and_agency(runner):
    out = runner.invoke(args=["muli", "seed-demo"]).output
    lines = {line.split()[0]: line for line in out.splitlines() if line.strip()}
    assert re.search(
        r"Pia Politikontakt\s+member\s+Fjordvik politidistrikt\s+Fjordvik-demo-2026", lines["pia"]
    )
    assert re.search(r"Kari\s+patient\s+Fjordvik-demo-2026", lines["kari"])


def _team_id(seeded):
    return uuid.UUID(seeded["team_id"])
