"""My teams' patients: the list, and the patient page (only what consent allows my agency)."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, render_template, request
from flask_babel import format_date, format_datetime, get_locale
from flask_babel import gettext as _

from muli.contact import requests as contact_requests
from muli.models.consent import EMERGENCY_SCOPES
from muli.models.people import Team
from muli.patient import diary, indicators, plans, programme
from muli.patient import record as patient_record
from muli.platform.errors import ConsentRequired
from muli.team import enrolment, meetings
from muli.team.meetings import agenda
from staff_portal import charts
from staff_portal.auth_state import login_required, portal_ctx
from staff_portal.common import SCOPE_NAMES, my_teams, parse_id
from staff_portal.views.meetings import event_names_for
from staff_portal.views.patient_forms import (
    EMERGENCY_NAMES,
    LIST_LABELS,
    PARTS,
    TEXT_LABELS,
    AdmissionForm,
    EmergencyForm,
    IndicatorEventForm,
    form_class_for,
    proposal_form,
)
from staff_portal.views.queue import KINDS, OUTCOMES

PAGE_SIZE = 50
DIARY_SHOWN = 10
CONTACTS_SHOWN = 10


@login_required
def patients():
    ctx = portal_ctx()
    page = enrolment.list_team_patients(ctx, cursor=request.args.get("cursor") or None, limit=PAGE_SIZE)
    teams = {t.id: t for t in my_teams(ctx)}
    return render_template(
        "staff_portal/patients/list.html",
        page=page,
        teams=teams,
        events=_since_last_meeting(ctx, teams.values()),
        event_names=event_names_for(ctx, teams.values()),
    )


def _since_last_meeting(ctx, teams) -> dict:
    """Per patient: contact requests, escalations and admissions since the team's last meeting,
    only those figures my agency's consent allows (none without consent)."""
    tomorrow = ctx.now().date() + timedelta(days=1)
    found: dict = {}
    recorded: set[str] = set()
    for team in teams:
        found.update(meetings.events_since(ctx, team.id, agenda.events_since_start(ctx, team, tomorrow)))
        recorded.update(agenda.recorded_kinds(ctx, team))
    return agenda.visible_figures(ctx, found, recorded)


def _crisis_versions(ctx, patient_id) -> list[dict]:
    """Every version, newest first. Read only after staff_crisis_plan granted (and audited) it."""
    plans.staff_crisis_plan(ctx, patient_id)
    return list(reversed(plans.all_versions(ctx, patient_id, "crisis")))


def form_sections(definition: dict, lang: str) -> list[dict]:
    """The crisis plan's sections in the programme's order, each with its label: the portal's
    own words for MULI's titles, the programme file's for a section it renames or adds."""
    template = {s["key"]: s["title"] for s in programme.crisis_sections(programme.default())}
    labels = {**LIST_LABELS, **TEXT_LABELS}
    out = []
    for s in programme.crisis_sections(definition):
        if s["kind"] == "numbers":
            continue
        own = s["key"] in labels and template.get(s["key"]) == s["title"]
        out.append(
            {
                "key": s["key"],
                "label": labels[s["key"]] if own else s["title"][lang],
                "kind": s["kind"],
                "hidden": s["hidden"],
                "extra": s["key"] not in programme.STANDARD_KINDS,
            }
        )
    return out


@login_required
def patient(patient_id: str, forms: dict | None = None, status: int = 200):
    ctx = portal_ctx()
    pid = parse_id(patient_id)
    try:
        view = patient_record.overview(ctx, pid)
    except ConsentRequired:
        form = (forms or {}).get("emergency") or EmergencyForm()
        return render_template("staff_portal/patients/locked.html", patient_id=pid, form=form), 403
    shown = ("crisis_plan", "mastery_plan", "shared_diary", "contact_requests")
    visible = {s for s in shown if s not in view["withheld"]}
    crisis_versions = _crisis_versions(ctx, pid) if "crisis_plan" in visible else []
    entries = None
    chart = None
    if "shared_diary" in visible:
        entries = diary.shared_entries(ctx, pid, cursor=request.args.get("diary") or None, limit=DIARY_SHOWN)
        chart = charts.mood_and_sleep(
            view["diary_points"] or [], _("Mood"), _("Sleep (hours)"), lambda d: format_date(d, "d.M.")
        )
    p = view["patient"]
    timeline = charts.admissions(
        view["admissions"], p["enrolled_on"], ctx.now().date(), lambda d: format_date(d, "MMM yy")
    )
    contacts = None
    if "contact_requests" in visible:
        contacts = contact_requests.history_for_patient(ctx, pid, limit=CONTACTS_SHOWN)
    forms = forms or {}
    # What the patient's programme records (MULI vold: police contacts...), with its events.
    definition = programme.for_team(ctx, ctx.session.get(Team, p["team"]["id"]))
    recorded = indicators.recorded_indicators(definition)
    lang = "en" if str(get_locale() or "nb").startswith("en") else "nb"
    indicator_names = {i["key"]: i["title"][lang] for i in recorded}
    indicator_events = indicators.patient_events(ctx, pid) if recorded else []
    indicator_form = forms.get("indicator") or IndicatorEventForm(formdata=None)
    indicator_form.indicator.choices = list(indicator_names.items())
    form_class = form_class_for(definition)
    sections = form_sections(definition, lang)
    # The mastery plan's sections in the programme's order, under its titles (MULI's as before).
    mastery_sections = (
        [("strategies", _("Strategies")), ("goals", _("Goals"))]
        if programme.is_default_mastery_plan(definition)
        else [
            (s["key"], programme.title(s, lang))
            for s in definition["mastery_plan"]["sections"]
            if not s["hidden"]
        ]
    )
    proposal = forms.get("proposal") or proposal_form(
        (view["crisis_plan"] or {}).get("document"), form_class=form_class
    )
    return render_template(
        "staff_portal/patients/page.html",
        view=view,
        p=p,
        visible=visible,
        crisis_versions=crisis_versions,
        entries=entries,
        chart=chart,
        timeline=timeline,
        contacts=contacts,
        kinds=KINDS,
        outcomes=OUTCOMES,
        proposal=proposal,
        proposal_open="proposal" in forms,
        mastery_sections=mastery_sections,
        list_sections=LIST_LABELS,
        text_sections=TEXT_LABELS,
        form_sections=sections,
        plan_sections=None if programme.is_default_crisis_plan(definition) else sections,
        parts=PARTS,
        admission_form=forms.get("admission") or AdmissionForm(formdata=None),
        recorded=recorded,
        indicator_names=indicator_names,
        indicator_events=indicator_events,
        indicator_form=indicator_form,
        programme_name=definition["name"][lang],
        lang=lang,
        emergency_form=forms.get("emergency") or EmergencyForm(formdata=None),
        offer_emergency=bool(set(view["withheld"]) & set(EMERGENCY_SCOPES)),
        emergency_names=EMERGENCY_NAMES,
        format_datetime=format_datetime,
        scope_names=SCOPE_NAMES,
    ), status


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/patients/", view_func=patients, endpoint="patients")
    bp.add_url_rule("/patients/<patient_id>", view_func=patient, endpoint="patient")
