"""The weekly coordination meeting: the list, create for a date, the meeting page, sign."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField
from wtforms.validators import InputRequired

from muli.contact import requests as contact_requests
from muli.extensions import db
from muli.models.people import Agency, Team
from muli.patient import indicators, programme
from muli.platform.errors import MuliError
from muli.team import meetings
from muli.team.meetings import agenda
from muli.trust import access
from staff_portal.auth_state import login_required, portal_ctx
from staff_portal.common import chosen_team, my_teams, parse_id, shown_refusal
from staff_portal.errors import message_of

EVENT_NAMES = {
    "contact_requests": _l("contact requests"),
    "escalations": _l("escalations"),
    "admissions": _l("admissions"),
}


def event_names_for(ctx, teams) -> dict:
    """The agenda's event names, with the indicators the teams' programmes record (their
    titles come from the programme file, in bokmål and English)."""
    lang = "en" if str(get_locale() or "nb").startswith("en") else "nb"
    names = dict(EVENT_NAMES)
    for team in teams:
        for indicator in indicators.recorded_indicators(programme.for_team(ctx, team)):
            names[indicator["key"]] = indicator["title"][lang].lower()
    return names


class NewMeetingForm(FlaskForm):
    held_on = DateField(_l("Date of the meeting"), [InputRequired()])


@login_required
def meeting_list():
    ctx = portal_ctx()
    teams = my_teams(ctx)
    team = chosen_team(ctx, teams)
    page = meetings.list_meetings(ctx, team.id, cursor=request.args.get("cursor") or None, limit=20)
    form = NewMeetingForm()
    if request.method == "GET":
        form.held_on.data = ctx.now().date()
    elif form.validate_on_submit():
        try:
            meeting = meetings.create_meeting(ctx, team.id, form.held_on.data)
        except MuliError as error:
            db.session.rollback()
            shown_refusal(error)
            flash(message_of(error), "error")
        else:
            return redirect(url_for("portal.meeting", meeting_id=meeting.id))
    return render_template("staff_portal/meetings/list.html", page=page, team=team, teams=teams, form=form)


def _people(ctx, team_id):
    staff = contact_requests.team_staff(ctx, team_id)
    agencies = sorted(
        (ctx.session.get(Agency, a) for a in access.team_agency_ids(ctx, team_id)), key=lambda a: a.name
    )
    return staff, agencies


@login_required
def meeting(meeting_id: str, drafts: dict | None = None, status: int = 200):
    """The meeting page. `drafts` carries text a stale save would otherwise lose."""
    ctx = portal_ctx()
    view = meetings.get_meeting(ctx, parse_id(meeting_id))
    staff, agencies = _people(ctx, view.team_id)
    by_patient: dict = {}
    for action in view.actions:
        by_patient.setdefault(action.patient_id, []).append(action)
    return render_template(
        "staff_portal/meetings/page.html",
        m=view,
        staff=staff,
        agencies=agencies,
        actions_by_patient=by_patient,
        system_actions=[a for a in view.actions if a.system_issue],
        attending={a.staff_id for a in view.attendees if a.staff_id},
        guests="\n".join(
            f"{a.name} ; {a.agency_name}" if a.agency_name else a.name for a in view.attendees if a.guest
        ),
        event_names=event_names_for(ctx, [ctx.session.get(Team, view.team_id)]),
        review_months=agenda.REVIEW_MONTHS,
        drafts=drafts or {},
        default_due=view.held_on + timedelta(days=7),
    ), status


@login_required
def sign(meeting_id: str):
    ctx = portal_ctx()
    if FlaskForm().validate_on_submit():
        try:
            meetings.sign_meeting(ctx, parse_id(meeting_id))
        except MuliError as error:
            db.session.rollback()
            shown_refusal(error)
            flash(message_of(error), "error")
        else:
            flash(_("The meeting is signed and locked. Addenda can still be added."), "success")
    return redirect(url_for("portal.meeting", meeting_id=meeting_id))


@login_required
def system_issue_list():
    ctx = portal_ctx()
    team = chosen_team(ctx, my_teams(ctx))
    page = meetings.system_issues(ctx, team.id, cursor=request.args.get("cursor") or None, limit=50)
    return render_template("staff_portal/meetings/system_issues.html", page=page, team=team)


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/meetings/", view_func=meeting_list, endpoint="meetings", methods=["GET", "POST"])
    bp.add_url_rule("/meetings/<meeting_id>", view_func=meeting, endpoint="meeting")
    bp.add_url_rule("/meetings/<meeting_id>/sign", view_func=sign, endpoint="meeting_sign", methods=["POST"])
    bp.add_url_rule("/meetings/system-issues", view_func=system_issue_list, endpoint="system_issues")
