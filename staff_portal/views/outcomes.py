"""Outcomes for a team: the indicators with their definitions, small counts hidden, charts."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_babel import format_decimal, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from muli.patient import programme
from muli.team import outcomes as outcome_service
from staff_portal import charts
from staff_portal.auth_state import login_required, portal_ctx
from staff_portal.common import chosen_team, my_teams

FIGURE_NAMES = {
    "before_12_months": _l("12 months before enrolment"),
    "before_per_year": _l("Before, per patient per year"),
    "since_enrolment": _l("Since enrolment"),
    "since_per_year": _l("Since, per patient-year"),
    "patient_years_since": _l("Patient-years since enrolment"),
    "open_stays": _l("Open stays (no discharge date)"),
    "patients_with_fewer": _l("Patients with fewer admissions a year"),
    "patients_compared": _l("Patients enrolled long enough to compare"),
    "requests": _l("Requests"),
    "when_nobody_on_call": _l("Came in when nobody was on call"),
    "acknowledged": _l("Acknowledged"),
    "median_minutes": _l("Median, minutes"),
    "p90_minutes": _l("90th percentile, minutes"),
    "requests_escalated": _l("Requests escalated"),
    "withdrawals": _l("Withdrawals"),
    "patients_with_trusted_contact": _l("Patients with a trusted contact"),
    "patients_counted": _l("Patients counted"),
}
DIRECTIONS = {"fewer": _l("Fewer"), "same": _l("The same"), "more": _l("More")}
BEFORE_AFTER = outcome_service.BEFORE_AFTER


def number(value) -> str:
    """A figure in the reader's language: counts whole ("1 234"), rates with one decimal ("3,5")."""
    if value is None:
        return ""
    if isinstance(value, int):
        return format_decimal(value)
    return format_decimal(value, format="#,##0.0")


def _indicators(view: dict) -> dict:
    return {i["key"]: i for h in view["headings"] for i in h["indicators"]}


def _team_chart(view: dict, lang: str, keys: tuple[str, ...]):
    found = _indicators(view)
    groups = []
    for key in keys:
        figures = found[key]["figures"]
        groups.append(
            (
                found[key]["title"][lang],
                [figures["before_per_year"]["value"], figures["since_per_year"]["value"]],
            )
        )
    return charts.bars(
        groups, [str(_l("Before enrolment, per year")), str(_l("Since enrolment, per year"))], number
    )


def _patient_chart(view: dict, key: str | None = None):
    """Each patient's acute admissions (MULI), or a programme's recorded indicator (`key`)."""
    groups = [
        (
            row["display_name"],
            [
                (row["recorded"][key] if key else row["acute_admissions"])["before_12_months"]["value"],
                (row["recorded"][key] if key else row["acute_admissions"])["since_per_year"]["value"],
            ],
        )
        for row in view["per_patient"]
    ]
    return charts.bars(groups, [str(_l("12 months before")), str(_l("Since, per year"))], number)


def _recorded_columns(definition: dict, lang: str) -> list[dict]:
    """The per-patient table's columns for a programme that records indicators (MULI vold):
    each of them, in the programme's order, with its title in the reader's language."""
    return [
        {"key": i["key"], "title": programme.title(i, lang)}
        for i in definition["indicators"]
        if i["source"] == "recorded"
    ]


@login_required
def outcomes():
    ctx = portal_ctx()
    teams = my_teams(ctx)
    team = chosen_team(ctx, teams)
    view = outcome_service.team_outcomes(ctx, team.id)
    lang = "en" if str(get_locale()) == "en" else "nb"
    definition = programme.for_team(ctx, team)
    # A programme that records its own indicators (MULI vold) shows them per patient; the
    # event its criteria count leads (the chart, the direction), else its first indicator.
    columns = _recorded_columns(definition, lang)
    keys = [c["key"] for c in columns]
    event = definition["enrolment"].get("event")
    lead = next((c for c in columns if c["key"] == event), columns[0]) if columns else None
    before_after = [i for i in _indicators(view).values() if "before_per_year" in i["figures"]]
    counts = tuple(i["key"] for i in before_after if i["unit"] != "days")
    days = tuple(i["key"] for i in before_after if i["unit"] == "days")
    return render_template(
        "staff_portal/outcomes.html",
        view=view,
        team=team,
        teams=teams,
        lang=lang,
        figure_names=FIGURE_NAMES,
        directions=DIRECTIONS,
        number=number,
        # Admissions and bed-days apart: on one scale the nights would flatten the admissions.
        # Another programme's before/after indicators likewise: counts, and days apart.
        team_chart=_team_chart(view, lang, counts) if counts else None,
        bed_days_chart=_team_chart(view, lang, days) if days else None,
        count_title=_("Admissions, the team, per patient-year") if "acute_admissions" in counts else None,
        days_title=_("Bed-days, the team, per patient-year") if "bed_days" in days else None,
        patient_chart=_patient_chart(view, lead["key"] if lead else None),
        recorded_columns=columns,
        lead=lead,
        admissions_too="acute_admissions" in {i["key"] for i in definition["indicators"]} or not keys,
    )


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/outcomes/", view_func=outcomes, endpoint="outcomes")
