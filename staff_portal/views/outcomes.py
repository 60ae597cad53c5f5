"""Outcomes for a team: the indicators with their definitions, small counts hidden, charts."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

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
    "patients_with_fewer": _l("Patients with fewer admissions a year"),
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
BEFORE_AFTER = ("acute_admissions", "bed_days", "involuntary_admissions")


def _indicators(view: dict) -> dict:
    return {i["key"]: i for h in view["headings"] for i in h["indicators"]}


def _team_chart(view: dict, lang: str):
    found = _indicators(view)
    groups = []
    for key in BEFORE_AFTER:
        figures = found[key]["figures"]
        groups.append(
            (
                found[key]["title"][lang],
                [figures["before_per_year"]["value"], figures["since_per_year"]["value"]],
            )
        )
    return charts.bars(groups, [str(_l("Before enrolment, per year")), str(_l("Since enrolment, per year"))])


def _patient_chart(view: dict):
    groups = [
        (
            row["display_name"],
            [
                row["acute_admissions"]["before_12_months"]["value"],
                row["acute_admissions"]["since_per_year"]["value"],
            ],
        )
        for row in view["per_patient"]
    ]
    return charts.bars(groups, [str(_l("12 months before")), str(_l("Since, per year"))])


@login_required
def outcomes():
    ctx = portal_ctx()
    teams = my_teams(ctx)
    team = chosen_team(ctx, teams)
    view = outcome_service.team_outcomes(ctx, team.id)
    lang = "en" if str(get_locale()) == "en" else "nb"
    return render_template(
        "staff_portal/outcomes.html",
        view=view,
        team=team,
        teams=teams,
        lang=lang,
        figure_names=FIGURE_NAMES,
        directions=DIRECTIONS,
        team_chart=_team_chart(view, lang),
        patient_chart=_patient_chart(view),
    )


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/outcomes/", view_func=outcomes, endpoint="outcomes")
