"""Outcomes: before/after enrolment annualised, response times, withdrawals; small counts hidden."""

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from muli.extensions import db
from muli.models.consent import ConsentChange
from muli.models.contact import ContactRequest
from muli.models.people import Admission, Patient
from muli.patient import record
from muli.platform.errors import Forbidden, NotFound
from muli.team import outcomes
from muli.trust import accounts

TODAY = date(2026, 11, 23)
ENROLLED = TODAY - timedelta(days=180)


def test_a_count_under_five_is_suppressed():
    assert outcomes.figure(4) == {"value": None, "suppressed": True}


def test_a_count_of_five_is_shown():
    assert outcomes.figure(5) == {"value": 5, "suppressed": False}


def test_zero_is_suppressed_like_any_count_under_five():
    assert outcomes.figure(0)["suppressed"] is True


def test_a_rate_resting_on_a_small_count_is_suppressed():
    assert outcomes.figure(12.0, count=3) == {"value": None, "suppressed": True}


def test_a_count_over_half_a_year_is_annualised():
    assert outcomes.annualised(3, 365.25 / 2) == 6.0


def test_a_period_under_thirty_days_gives_no_rate():
    assert outcomes.annualised(3, 29) is None


def test_the_90th_percentile_is_the_nearest_rank():
    assert outcomes.percentile([1, 2, 3, 4, 10], 90) == 10


@pytest.fixture
def team(world, clock):
    clock.set(datetime(2026, 11, 23, 12, 0, tzinfo=UTC))
    return world.care_team()


@pytest.fixture
def as_(ctx, team):
    def make(login):
        actor = accounts.actor_for(ctx, db.session.get(type(login.account), login.account.id))
        db.session.commit()
        return ctx.acting_as(actor)

    return make


@pytest.fixture
def five(world, team):
    """Five patients enrolled 180 days ago, each with 3 admissions the year before and 1 since."""
    ids = [team.patient.id] + [world.patient(team.team).id for _ in range(4)]
    for pid in ids:
        db.session.get(Patient, pid).enrolled_on = ENROLLED
        for days_before in (300, 200, 100):
            start = ENROLLED - timedelta(days=days_before)
            db.session.add(
                Admission(patient_id=pid, admitted_on=start, discharged_on=start + timedelta(days=2))
            )
        db.session.add(Admission(patient_id=pid, admitted_on=ENROLLED + timedelta(days=30)))
    db.session.commit()
    return ids


def indicator(result, key):
    return next(i for h in result["headings"] for i in h["indicators"] if i["key"] == key)


def values(figures):
    return {name: f["value"] for name, f in figures.items()}


def test_team_admissions_compare_the_year_before_with_the_annualised_time_since(team, as_, five):
    result = outcomes.team_outcomes(as_(team.coordinator), team.team.id)
    figures = values(indicator(result, "acute_admissions")["figures"])
    assert (figures["before_12_months"], figures["before_per_year"], figures["since_enrolment"]) == (
        15,
        3.0,
        5,
    )
    assert figures["since_per_year"] == round(5 * 365.25 / (5 * 180), 2)


def test_a_patients_own_small_counts_are_suppressed_but_the_direction_shows(team, as_, five):
    row = outcomes.team_outcomes(as_(team.member), team.team.id)["per_patient"][0]
    admissions = row["acute_admissions"]
    assert (admissions["before_12_months"], admissions["direction"]) == (
        {"value": None, "suppressed": True},
        "fewer",
    )


def test_patients_with_fewer_admissions_since_enrolment_are_counted(team, as_, five):
    result = outcomes.team_outcomes(as_(team.member), team.team.id)
    assert indicator(result, "acute_admissions")["figures"]["patients_with_fewer"]["value"] == 5


def test_bed_days_count_the_nights_of_each_stay(team, as_, five):
    figures = indicator(outcomes.team_outcomes(as_(team.member), team.team.id), "bed_days")["figures"]
    # 5 patients x 3 stays x 2 nights before; the stay since is still going: 150 nights each.
    assert (figures["before_12_months"]["value"], figures["since_enrolment"]["value"]) == (30, 750)


def test_two_involuntary_admissions_are_suppressed_for_the_team(ctx, team, as_, five):
    for admission in db.session.scalars(select(Admission).limit(2)):
        record.seal_admission(ctx.keys, admission, "PAM", True)
    db.session.commit()
    figures = indicator(outcomes.team_outcomes(as_(team.member), team.team.id), "involuntary_admissions")[
        "figures"
    ]
    assert figures["before_12_months"] == {"value": None, "suppressed": True}


def add_requests(team, waits_in_minutes, **extra):
    sent = datetime(2026, 11, 20, 23, 0, tzinfo=UTC)
    for minutes in waits_in_minutes:
        db.session.add(
            ContactRequest(
                patient_id=team.patient.id,
                team_id=team.team.id,
                kind="call_me",
                urgency="talk",
                routed_to="on_call",
                acknowledge_within_minutes=10,
                created_at=sent,
                acknowledged_at=sent + timedelta(minutes=minutes),
                state="acknowledged",
                **extra,
            )
        )
    db.session.commit()


def test_time_to_acknowledge_gives_the_median_and_90th_percentile(team, as_):
    add_requests(team, [1, 2, 3, 4, 10])
    figures = values(
        indicator(outcomes.team_outcomes(as_(team.member), team.team.id), "time_to_acknowledge")["figures"]
    )
    assert (figures["median_minutes"], figures["p90_minutes"]) == (3.0, 10.0)


def test_time_to_acknowledge_over_four_requests_is_suppressed(team, as_):
    add_requests(team, [1, 2, 3, 4])
    figures = indicator(outcomes.team_outcomes(as_(team.member), team.team.id), "time_to_acknowledge")[
        "figures"
    ]
    assert figures["median_minutes"] == {"value": None, "suppressed": True}


def test_escalated_requests_are_counted(team, as_):
    add_requests(team, [12, 15, 20, 25, 30], escalation_level=1)
    figures = indicator(outcomes.team_outcomes(as_(team.member), team.team.id), "escalations")["figures"]
    assert figures["requests_escalated"]["value"] == 5


def test_consent_withdrawals_are_counted_from_the_history(team, as_):
    for scope in ("crisis_plan", "mastery_plan", "shared_diary", "contact_requests", "meeting_notes"):
        db.session.add(
            ConsentChange(
                patient_id=team.patient.id, agency_id=team.agency.id, scope=scope, state="withdrawn"
            )
        )
    db.session.commit()
    figures = indicator(outcomes.team_outcomes(as_(team.member), team.team.id), "consent_withdrawals")[
        "figures"
    ]
    assert figures["withdrawals"]["value"] == 5


def test_indicators_sit_under_the_six_quality_headings_with_definitions_in_both_languages(team, as_):
    result = outcomes.team_outcomes(as_(team.member), team.team.id)
    assert [h["key"] for h in result["headings"]] == list(outcomes.HEADINGS)
    assert all(set(i["definition"]) == {"nb", "en"} for h in result["headings"] for i in h["indicators"])


def test_another_teams_outcomes_do_not_exist(world, team, as_):
    other = world.team()
    with pytest.raises(NotFound):
        outcomes.team_outcomes(as_(team.member), other.id)


def test_a_privacy_officer_does_not_see_outcomes(world, team, as_):
    officer = world.staff(team.team, role="privacy_officer")
    with pytest.raises(Forbidden):
        outcomes.team_outcomes(as_(officer), team.team.id)
