"""Outcomes: before/after enrolment annualised, response times, withdrawals; small counts hidden."""

from datetime import UTC, date, datetime, timedelta

import pytest
from flask import current_app
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


def test_the_teams_own_row_shows_its_patients_numbers_beside_the_suppressed_aggregate(team, as_, five):
    for pid in five[1:]:  # one patient only: every team figure rests on too few
        db.session.get(Patient, pid).status = "ended"
    db.session.commit()
    result = outcomes.team_outcomes(as_(team.member), team.team.id)
    admissions = result["per_patient"][0]["acute_admissions"]
    team_figure = indicator(result, "acute_admissions")["figures"]["before_12_months"]
    assert (admissions["before_12_months"], admissions["direction"], team_figure["suppressed"]) == (
        {"value": 3, "suppressed": False},
        "fewer",
        True,
    )


def test_the_rows_are_those_of_patients_who_gave_my_agency_consent(world, team, as_, five):
    # team.patient consented to the team's agency; the other four consented to nobody.
    result = outcomes.team_outcomes(as_(team.member), team.team.id)
    assert ([r["patient_id"] for r in result["per_patient"]], result["per_patient_withheld"]) == (
        [team.patient.id],
        4,
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
    assert (figures["before_12_months"]["value"], figures["before_12_months"]["suppressed"]) == (None, True)


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


def test_time_to_acknowledge_gives_the_median_and_90th_percentile(team, as_, six):
    add_requests(team, [1, 2, 3, 4, 10])
    figures = values(
        indicator(outcomes.team_outcomes(as_(team.member), team.team.id), "time_to_acknowledge")["figures"]
    )
    assert (figures["median_minutes"], figures["p90_minutes"]) == (3.0, 10.0)


def test_time_to_acknowledge_over_four_requests_is_suppressed(team, as_, six):
    add_requests(team, [1, 2, 3, 4])
    figures = indicator(outcomes.team_outcomes(as_(team.member), team.team.id), "time_to_acknowledge")[
        "figures"
    ]
    assert (figures["median_minutes"]["value"], figures["median_minutes"]["suppressed"]) == (None, True)


def test_escalated_requests_are_counted(team, as_, six):
    add_requests(team, [12, 15, 20, 25, 30], escalation_level=1)
    figures = indicator(outcomes.team_outcomes(as_(team.member), team.team.id), "escalations")["figures"]
    assert figures["requests_escalated"]["value"] == 5


def test_consent_withdrawals_are_counted_from_the_history(team, as_, six):
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


def stays_of(pid, *spans):
    """Admissions of one patient: (days before enrolment admitted, days before enrolment discharged)."""
    keys = current_app.extensions["muli.keys"]
    for admitted, discharged in spans:
        admission = Admission(
            patient_id=pid,
            admitted_on=ENROLLED - timedelta(days=admitted),
            discharged_on=None if discharged is None else ENROLLED - timedelta(days=discharged),
        )
        keys.seal(admission, "facility", "PAM")  # stored encrypted, as the service does
        db.session.add(admission)


@pytest.fixture
def six(world, team):
    """Six patients enrolled 180 days ago, all consenting to the team's agency, no admissions yet."""
    ids = [team.patient.id] + [world.patient(team.team, consents={team.agency: "all"}).id for _ in range(5)]
    for pid in ids:
        db.session.get(Patient, pid).enrolled_on = ENROLLED
    db.session.commit()
    return ids


def row_of(result, pid):
    return next(r for r in result["per_patient"] if r["patient_id"] == pid)


def test_open_stays_overlapping_each_other_count_each_night_once(team, as_, six):
    # As the enrolment form records them: admission dates only, so every stay is open.
    stays_of(six[0], (300, None), (210, None), (120, None), (45, None))
    db.session.commit()
    row = row_of(outcomes.team_outcomes(as_(team.member), team.team.id), six[0])
    # One night is one night: from the first admission to the enrolment date, and then to today.
    assert (row["bed_days"]["before_12_months"]["value"], row["bed_days"]["since_enrolment"]["value"]) == (
        300,
        180,
    )


def test_overlapping_discharged_stays_are_merged_and_clipped_to_the_window(team, as_, six):
    # 400-350 lies half outside the 12 months; 200-100 and 150-50 overlap: 15 + 150 nights.
    stays_of(six[0], (400, 350), (200, 100), (150, 50))
    db.session.commit()
    row = row_of(outcomes.team_outcomes(as_(team.member), team.team.id), six[0])
    assert row["bed_days"]["before_12_months"]["value"] == 165


def test_no_patient_year_holds_more_nights_than_a_year(team, as_, six):
    for pid in six:
        stays_of(pid, (364, None), (300, 10), (200, None), (20, None))
    db.session.commit()
    figures = indicator(outcomes.team_outcomes(as_(team.member), team.team.id), "bed_days")["figures"]
    assert (figures["before_per_year"]["value"], figures["since_per_year"]["value"]) == (364.0, 365.25)


def test_an_open_stay_is_shown_as_open(team, as_, six):
    stays_of(six[0], (100, 90), (20, None))
    db.session.commit()
    result = outcomes.team_outcomes(as_(team.member), team.team.id)
    assert row_of(result, six[0])["open_stays"] == [
        {"admitted_on": ENROLLED - timedelta(days=20), "facility": "PAM"}
    ]


def test_one_patients_bed_days_are_not_shown_for_the_team(team, as_):
    # The finding: "Liggedøgn 12 måneder før innskriving: 675" for one identifiable patient.
    db.session.get(Patient, team.patient.id).enrolled_on = ENROLLED
    stays_of(team.patient.id, *[(d, d - 30) for d in (330, 280, 230, 180, 130, 80)])
    db.session.commit()
    result = outcomes.team_outcomes(as_(team.member), team.team.id)
    shown = [
        (i["key"], name)
        for h in result["headings"]
        for i in h["indicators"]
        for name, f in i["figures"].items()
        if not f["suppressed"]
    ]
    assert shown == []


def test_bed_days_resting_on_fewer_than_five_stays_are_suppressed(team, as_, six):
    stays_of(six[0], (100, 10), (300, 200))
    stays_of(six[1], (50, 5))
    db.session.commit()
    figures = indicator(outcomes.team_outcomes(as_(team.member), team.team.id), "bed_days")["figures"]
    assert (figures["before_12_months"], figures["before_per_year"]["suppressed"]) == (
        {"value": None, "suppressed": True, "definition": outcomes.FIGURE_DEFINITIONS["before_12_months"]},
        True,
    )


def test_the_headline_says_admissions_fell_in_five_of_six(team, as_, six):
    for pid in six[:5]:
        stays_of(pid, (300, 290), (100, 95))
    stays_of(six[5], (300, 290))
    stays_of(six[5], (-30, -35), (-60, -65))  # two since enrolment: more than before
    db.session.commit()
    headline = outcomes.team_outcomes(as_(team.member), team.team.id)["headline"]
    assert (headline["admissions_fell"]["value"], headline["patients_compared"]["value"]) == (5, 6)


def test_the_headline_is_suppressed_when_fewer_than_five_are_compared(team, as_, six):
    for pid in six[:4]:
        db.session.get(Patient, pid).enrolled_on = TODAY - timedelta(days=10)  # too early for a rate
    db.session.commit()
    headline = outcomes.team_outcomes(as_(team.member), team.team.id)["headline"]
    assert (headline["admissions_fell"]["suppressed"], headline["patients_compared"]["suppressed"]) == (
        True,
        True,
    )


def test_every_figure_carries_its_definition_in_both_languages(team, as_, six):
    result = outcomes.team_outcomes(as_(team.member), team.team.id)
    figures = [f for h in result["headings"] for i in h["indicators"] for f in i["figures"].values()]
    figures += [result["patients_counted"], *result["headline"].values()]
    assert len(figures) > 15
    assert all(set(f["definition"]) == {"nb", "en"} for f in figures)
